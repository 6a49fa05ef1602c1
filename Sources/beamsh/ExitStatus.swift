// One mapping from failures to exit codes and messages, for every command.

import ArgumentParser
import ErlangDistribution

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// beamsh's exit codes, the same for every command.
enum ExitStatus: Int32 {
    case success = 0
    /// The remote evaluation or call failed, or the input was bad.
    case remoteFailure = 1
    /// Could not connect: DNS, EPMD, refused, timeout, name mismatch.
    case connectFailure = 2
    /// The node rejected our cookie (or we rejected its answer).
    case authenticationFailure = 3

    init(_ error: DistributionError) {
        switch error.category {
        case .remote: self = .remoteFailure
        case .connect: self = .connectFailure
        case .authentication: self = .authenticationFailure
        }
    }
}

/// Prints `beamsh: message` on standard error.
func printError(_ message: String) {
    var line = "beamsh: " + message + "\n"
    fflush(nil)
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// Prints a warning on standard error.
func printWarning(_ message: String) { printError("warning: " + message) }

/// Leaves the process now with `status`, flushing output first.
func exitNow(_ status: ExitStatus) -> Never {
    fflush(nil)
    exit(status.rawValue)
}

/// Reports a connection-layer failure and exits with its code.
func fail(_ error: DistributionError) -> Never {
    printError(error.description)
    exitNow(ExitStatus(error))
}
