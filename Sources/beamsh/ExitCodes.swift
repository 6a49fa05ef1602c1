// Exit codes shared by every command (README, "Exit codes"), and the one-line error report.

import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a command's exit status means. The values are part of beamsh's interface.
enum BeamshExit {
    /// The remote evaluation or call failed, or the input was bad (e.g. `beamsh decode`).
    static let failed = ExitCode(ExitStatus.remoteFailure.rawValue)
    /// Could not connect: DNS, EPMD, refused, timeout, name mismatch.
    static let cannotConnect = ExitCode(ExitStatus.connectFailure.rawValue)
    /// The node rejected the cookie.
    static let authenticationRejected = ExitCode(ExitStatus.authenticationFailure.rawValue)

    /// Writes `beamsh: <command>: <message>` to standard error and returns `code` to throw,
    /// so every failure is one line that names the command.
    static func report(_ command: String, _ message: String, code: ExitCode = failed) -> ExitCode {
        // write(2) rather than the C `stderr` global, which Swift 6 treats as shared mutable state.
        let line = Array("beamsh: \(command): \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        return code
    }
}
