// Process-wide terminal state: locale, the mode to restore at exit, window size, and SIGINT
// outside the prompt.

import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex for the few process-wide values below (no Foundation, no Synchronization
/// availability constraints).
final class ProcessLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// The terminal as the whole process sees it.
enum Terminal {
    private static let lock = ProcessLock()
    /// The mode each terminal descriptor had before libedit first touched it.
    nonisolated(unsafe) private static var savedModes: [Int32: termios] = [:]
    /// The descriptors libedit has in raw mode right now (inside `el_wgets`).
    nonisolated(unsafe) private static var editing: Set<Int32> = []
    nonisolated(unsafe) private static var exitHookInstalled = false

    /// Remembers the current mode of `fd`, to restore it if the process exits while a line is
    /// being edited, and installs the `atexit` hook once.
    static func remember(_ fd: Int32) {
        var mode = termios()
        guard tcgetattr(fd, &mode) == 0 else { return }
        lock.withLock {
            if savedModes[fd] == nil { savedModes[fd] = mode }
            if !exitHookInstalled {
                exitHookInstalled = true
                atexit { Terminal.restoreEditingTerminals() }
                restoreBeforeDying(of: [SIGTERM, SIGHUP])
            }
        }
    }

    static func willStartEditing(_ fd: Int32) {
        _ = lock.withLock { editing.insert(fd) }
    }

    /// The key that interrupts (`stty intr`, Ctrl-C unless changed).
    static func interruptCharacter(of fd: Int32) -> UInt8 {
        var mode = termios()
        guard tcgetattr(fd, &mode) == 0 else { return 0x03 }
        let key = withUnsafeBytes(of: mode.c_cc) { $0[Int(VINTR)] }
        return key == 0 ? 0x03 : key  // (0 is _POSIX_VDISABLE: no key; Ctrl-C is still ours at the prompt)
    }

    static func willStopEditing(_ fd: Int32) {
        _ = lock.withLock { editing.remove(fd) }
    }

    nonisolated(unsafe) private static var fatalSignalSources: [any DispatchSourceSignal] = []

    /// A `kill` (SIGTERM: `timeout`, a watchdog) or a hang-up (SIGHUP) while a line is edited
    /// would leave the terminal raw (no echo, no line editing) for the shell that started beamsh:
    /// the mode is put back, then the signal ends the process as it would have. Signals the
    /// process inherited as ignored (`nohup`) stay ignored. Called with `lock` held.
    private static func restoreBeforeDying(of signals: [Int32]) {
        for number in signals {
            let previous = signal(number, SIG_IGN)
            // SIG_DFL is 0: a nil handler.
            if let previous {
                signal(number, previous)
                continue
            }
            let source = DispatchSource.makeSignalSource(signal: number, queue: DispatchQueue(label: "beamsh.terminal.fatal-signal"))
            source.setEventHandler {
                Terminal.restoreEditingTerminals()
                signal(number, SIG_DFL)
                kill(getpid(), number)
            }
            source.resume()
            fatalSignalSources.append(source)
        }
    }

    /// Puts back the saved mode of every terminal that is in libedit's raw mode.
    static func restoreEditingTerminals() {
        let modes = lock.withLock { editing.compactMap { fd in savedModes[fd].map { (fd, $0) } } }
        for (fd, mode) in modes {
            var mode = mode
            tcsetattr(fd, TCSANOW, &mode)
        }
    }

    /// The width of the terminal on `fd`, 80 when unknown.
    static func columns(of fd: Int32) -> Int {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// libedit decodes multi-byte input only when `LC_CTYPE` is UTF-8 at `el_init` time. Takes the
    /// user's locale (`setlocale(LC_CTYPE, "")`), and `C.UTF-8` when that is not UTF-8 (the `C`
    /// locale of a bare container). Only `LC_CTYPE` changes: number and date formats stay as they are.
    static func ensureUTF8Locale() {
        lock.withLock {
            if isUTF8() { return }
            if setlocale(LC_CTYPE, "") != nil, isUTF8() { return }
            if setlocale(LC_CTYPE, "C.UTF-8") != nil, isUTF8() { return }
            _ = setlocale(LC_CTYPE, "C.utf8")
        }
    }

    private static func isUTF8() -> Bool {
        guard let codeset = nl_langinfo(nl_item(CODESET)) else { return false }
        let name = String(cString: codeset).lowercased()
        return name == "utf-8" || name == "utf8"
    }
}

// MARK: - Ctrl-C outside the prompt

extension LineEditor {
    private static let interruptLock = ProcessLock()
    nonisolated(unsafe) private static var interruptSource: (any DispatchSourceSignal)?

    /// Calls `handler` on each `SIGINT` (Ctrl-C in the terminal) instead of letting it end the
    /// process: for the console to interrupt a remote evaluation.
    ///
    /// At the prompt Ctrl-C does not raise `SIGINT` (``readLine(prompt:)`` returns
    /// ``ReadResult/interrupted`` instead), so `handler` runs only while no line is read. It runs on
    /// a private serial dispatch queue, never inside a signal handler, so it may do anything
    /// (send a message, take locks). The signal's disposition is set to ignore, and a dispatch
    /// source is told about it. Installing again replaces the handler. Thread-safe.
    /// - parameters:
    ///   - handler: called once per `SIGINT` received.
    public static func installInterruptHandler(_ handler: @escaping @Sendable () -> Void) {
        interruptLock.withLock {
            interruptSource?.cancel()
            signal(SIGINT, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue(label: "beamsh.line-editor.sigint"))
            source.setEventHandler(handler: handler)
            source.resume()
            interruptSource = source
        }
    }

    /// Stops calling the handler of ``installInterruptHandler(_:)`` and gives `SIGINT` its default
    /// action (ending the process) back. Thread-safe.
    public static func removeInterruptHandler() {
        interruptLock.withLock {
            interruptSource?.cancel()
            interruptSource = nil
            signal(SIGINT, SIG_DFL)
        }
    }

    /// Puts every terminal an editor is reading from back in the mode it had before editing.
    ///
    /// Done automatically when `readLine` returns, when an editor is deinitialized, and at
    /// `exit()` (an `atexit` hook), so the console only needs it on paths that skip those: a
    /// handler for a fatal signal that calls `_exit`. Thread-safe.
    public static func restoreTerminal() {
        Terminal.restoreEditingTerminals()
    }
}
