// One mapping from failures to exit codes and messages, for every command.

import ArgumentParser
import ErlangDistribution
import NIOConcurrencyHelpers
import RemoteShell

#if canImport(Glibc)
@preconcurrency import Glibc
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
    /// The command line is wrong (`EX_USAGE`, as swift-argument-parser exits).
    case usage = 64
    /// The output could not be written (a full disk, a closed pipe): `EX_IOERR`.
    case outputFailure = 74

    init(_ error: DistributionError) {
        switch error.category {
        case .remote: self = .remoteFailure
        case .connect: self = .connectFailure
        case .authentication: self = .authenticationFailure
        }
    }
}

/// `TERM=dumb` (Emacs' shell buffers, some CI consoles): no colors, no cursor movement.
var isDumbTerminal: Bool { ProcessEnvironment.current["TERM"] == "dumb" }

/// Prints `beamsh: message` on standard error (and keeps it for ``FailureDocument``).
func printError(_ message: String) {
    FailureDocument.record(message)
    printErrorLine(message)
}

/// Prints a warning on standard error.
func printWarning(_ message: String) { printErrorLine("warning: " + message) }

private func printErrorLine(_ message: String) {
    PlainLineInput.endUnansweredPrompt()  // not after an `IO.gets` prompt on the same line
    var line = "beamsh: " + message + "\n"
    flushOutput()
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// The `errno` of the first failed flush of `print`'s buffer before the exit's own.
private let flushError = NIOLockedValueBox<Int32?>(nil)

/// Flushes `print`'s buffer (C's `stdout`) now, as a view that refreshes does after each frame;
/// false when that failed, whose `errno` ``exitNow(_:)`` then reports (the flush at exit finds
/// nothing left to write, and glibc keeps no `errno` for it).
@discardableResult
func flushOutput() -> Bool {
    errno = 0
    guard fflush(nil) != 0 else { return true }
    let code = errno != 0 ? errno : EIO
    flushError.withLockedValue { if $0 == nil { $0 = code } }
    return false
}

/// Leaves the process now with `status`, flushing output first.
func exitNow(_ status: ExitStatus) -> Never {
    // Input read ahead from a file and not used is left for whoever reads the file next.
    PlainLineInput.returnUnreadInput()
    // A script must be able to tell that its output was lost: a failed write turns success
    // into `outputFailure` (a failure keeps its own code).
    // errno only when this fflush failed: it is per thread and may be stale otherwise.
    errno = 0
    var lost: Int32 = fflush(nil) != 0 ? (errno != 0 ? errno : EIO) : 0
    if lost == 0, let failed = flushError.withLockedValue({ $0 }) { lost = failed }
    if lost == 0, let failed = StandardOutput.firstWriteError { lost = failed }
    if lost == 0, standardOutputFailed() { lost = EIO }  // an earlier `print` failed; glibc kept no errno
    if lost == 0 { FailureDocument.writeIfNeeded(status) }
    if lost != 0 {
        // A reader that stopped early (`| head -1`) is no news to the user.
        if lost != EPIPE { printError("could not write the output: \(String(cString: strerror(lost)))") }
        exit(status == .success ? ExitStatus.outputFailure.rawValue : status.rawValue)
    }
    fflush(nil)
    exit(status.rawValue)
}

/// Whether a write through `print` (C's `stdout`) has failed.
private func standardOutputFailed() -> Bool {
    nonisolated(unsafe) let stream = stdout
    return ferror(stream) != 0
}

/// Reports a connection-layer failure and exits with its code.
/// The NODE typed for the console: one that no node is registered as and that resembles a
/// command's name (`beamsh doctr`) is most likely a typo, which ``fail(_:)`` says.
let consoleNodeArgument = NIOLockedValueBox<String?>(nil)

func fail(_ error: DistributionError) -> Never {
    if error.kind == .notRegistered, let node = consoleNodeArgument.withLockedValue({ $0 }), let command = Beamsh.subcommandResembling(node) {
        // `beamsh --release DIR info`: the command was typed, after options that belong after it.
        printError(error.description + (command == node ? "; to run `beamsh \(command)`, give its options after it"
                                                        : "; did you mean `beamsh \(command)`?"))
        exitNow(ExitStatus(error))
    }
    if error.kind == .authenticationFailed, let source = cookieSourceInUse.withLockedValue({ $0 }) {
        printError(error.description + "; our cookie came from \(source)")
    } else {
        printError(error.description)
    }
    exitNow(ExitStatus(error))
}

/// Reports the failure of a connection's future and exits: a `DistributionError` with its own
/// code, anything else as a failure to connect.
func fail(_ error: any Error) -> Never {
    if let error = error as? DistributionError { fail(error) }
    printError("\(error)")
    exitNow(.connectFailure)
}

/// With `--format json`, a failure also leaves a JSON document on standard output,
/// `{"ok":false,"exit_code":N,"error":"..."}`, so a script reading stdout (`| jq`) sees one
/// document per expression or command, failures included, not an empty stream. The text is
/// what went to standard error. Not for usage errors (64): they are the script's own bug.
enum FailureDocument {
    private struct State {
        var enabled = false
        var messages: [String] = []
        /// The command printed a JSON document that already carries the failure (a cluster report).
        var reported = false
    }
    private static let state = NIOLockedValueBox(State())

    /// `--format json` is in effect.
    static func enable() { state.withLockedValue { $0.enabled = true } }
    /// The failure is already in a JSON document on standard output.
    static func markReported() { state.withLockedValue { $0.reported = true } }
    /// An error message shown to the user (also an evaluation's formatted exception).
    static func record(_ message: String) { state.withLockedValue { $0.messages.append(message) } }

    fileprivate static func writeIfNeeded(_ status: ExitStatus) {
        guard [.remoteFailure, .connectFailure, .authenticationFailure].contains(status) else { return }
        let document = state.withLockedValue { state -> JSONValue? in
            guard state.enabled, !state.reported, !state.messages.isEmpty else { return nil }
            return .object([("ok", .bool(false)), ("exit_code", .number(Int(status.rawValue))),
                            ("error", .string(state.messages.joined(separator: "\n")))])
        }
        guard var text = document?.serialized() else { return }
        text += "\n"
        text.withUTF8 { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }
}

/// Where the cookie of this run came from (never its value), for an error that blames it.
let cookieSourceInUse = NIOLockedValueBox<CookieSource?>(nil)

/// The connection closed after a call that stops the node was let through (`--yes`, or the
/// operator said yes): what was asked for, so success, with a note saying what happened.
func nodeStoppedAsAsked(_ node: String) -> Never {
    printError("\(node) closed the connection after the call that stops it, as asked")
    exitNow(.success)
}
