// The console's two ends, abstracted so the terminal (LineEditor over libedit, or a plain
// stdin reader) plugs in, and tests feed lines and read a buffer.

import ErlangDistribution
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The outcome of asking the user for one line.
public enum ReadResult: Sendable, Hashable {
    /// A line, without its line terminator.
    case line(String)
    /// Ctrl-D at an empty prompt, or the end of the input stream.
    case endOfInput
    /// Ctrl-C while reading: the current input is dropped.
    case interrupted
}

/// Where the console reads lines from. `readLine` blocks the calling thread until the user
/// answers; the session calls it from a thread of its own, never from the event loop.
public protocol ConsoleInput: Sendable {
    func readLine(prompt: String) -> ReadResult
    /// A line that answers a question (`IO.gets`, the stop guard's `[y/N]`), not a command:
    /// it is kept out of the history, where a typed password or a `y` has no business.
    func readReply(prompt: String) -> ReadResult
    /// Reads the answer to a question beamsh asks (the stop guard's), which input typed ahead
    /// must not answer.
    func readAnswer(prompt: String) -> ReadResult
    /// Shows `text` (output of a process the session started) while a line is being read, above
    /// the prompt, which is drawn again under it. False when this input cannot (not a terminal,
    /// or not reading right now): the console then shows the text after the line.
    func showWhileReading(_ text: String) -> Bool
    /// The console is about to prompt: ``showWhileReading(_:)`` may take text from now until the
    /// line is read.
    func willPrompt()
    /// Whether a read may be left unfinished on its thread when Ctrl-C interrupts the evaluation
    /// that asked for it (plain standard input in a one-shot mode, which exits soon after). A
    /// line editor handles Ctrl-C itself and must never be left reading.
    var readsMayBeAbandoned: Bool { get }
    /// Whether a read never waits on anyone (standard input is a file): it is then made where
    /// it is asked for, with no thread of its own.
    var readsWithoutWaiting: Bool { get }
    /// Ends the read under way, or the next one if ``willPrompt()`` was called and it has not
    /// started yet, as Ctrl-C at it would (`.interrupted`): the evaluation that asked was
    /// interrupted by a Ctrl-C the terminal sent as a signal. Callable from any thread.
    func interruptRead()
    /// Ends the read under way as ``interruptRead()`` does, for a reason other than Ctrl-C (the
    /// evaluation's time is up): a line editor shows no `^C` for it.
    func endReadQuietly()
    /// Ends a read under way (an `IO.gets` line the operator is typing) and returns once it has
    /// ended, so that what is written next (the connection was lost) starts on a line of its own.
    func endReadBeforeMessage()
    /// A read for the node's I/O requests (`IO.gets`, `IO.binread`): the bytes as they came,
    /// the line's "\n" included when it had one (a stream's last line may have none), so
    /// piped data reaches the node unchanged. By default the reply line and a "\n".
    func readInput(prompt: String) -> InputRead
    /// A read for a request that counts bytes (`get_chars` of piped data, as `IO.binread` and
    /// `file:read/2` send): up to `count` bytes as they come, whatever lines they hold, and none
    /// beyond. By default ``readInput(prompt:)``.
    func readBytes(prompt: String, count: Int) -> InputRead
    /// Takes back bytes read and not used, to be read again first. By default they are dropped.
    func giveBack(_ bytes: [UInt8])
    /// Whether an operator types the input (a line editor): text typed beyond what an
    /// evaluation read is then dropped when it ends, not handed to a later evaluation's read.
    var isInteractive: Bool { get }
    /// Whether Ctrl-C came together with the Enter of the line ``readLine(prompt:)`` just
    /// returned (a line editor reads it as a key then, not as a signal): the line is to be
    /// interrupted as it starts.
    func interruptCameWithLine() -> Bool
    /// When the read ``readLine(prompt:)`` just returned gave Ctrl-C back to the terminal (a
    /// line editor's terminal mode ends): a `SIGINT` after it is for that line. Nil: when the
    /// read returned.
    var lineReadEndedAt: ContinuousClock.Instant? { get }
    /// Drops input typed or pasted ahead that the terminal no longer holds (a line editor may
    /// have taken it): after Ctrl-C interrupted an evaluation, the rest of a paste must not run,
    /// as a terminal drops its own input on an interrupt. Called between reads.
    func discardTypedAhead()
}

extension ConsoleInput {
    public func interruptCameWithLine() -> Bool { false }
    public var lineReadEndedAt: ContinuousClock.Instant? { nil }
    public func discardTypedAhead() {}
}

/// What a read for the node's I/O requests got.
public enum InputRead: Sendable, Hashable {
    /// Bytes as read, up to and including the line's "\n" (none after a stream's last line).
    case data([UInt8])
    case endOfInput
    case interrupted
}

extension ConsoleInput {
    public func readReply(prompt: String) -> ReadResult { readLine(prompt: prompt) }
    public func readAnswer(prompt: String) -> ReadResult { readReply(prompt: prompt) }
    public func showWhileReading(_ text: String) -> Bool { false }
    public func willPrompt() {}
    public var readsMayBeAbandoned: Bool { false }
    public var readsWithoutWaiting: Bool { false }
    public func interruptRead() {}
    public func endReadQuietly() { interruptRead() }
    public func endReadBeforeMessage() {}
    public var isInteractive: Bool { false }
    public func readBytes(prompt: String, count: Int) -> InputRead { readInput(prompt: prompt) }
    public func giveBack(_ bytes: [UInt8]) {}
    public func readInput(prompt: String) -> InputRead {
        switch readReply(prompt: prompt) {
        case .line(let line): return .data(Array((line + "\n").utf8))
        case .endOfInput: return .endOfInput
        case .interrupted: return .interrupted
        }
    }
}

/// Where the console writes text: the result of each evaluation, remote output, prompts of
/// non-interactive readers. Called in order from one task at a time.
public protocol ConsoleOutput: Sendable {
    func write(_ text: String)
    /// Writes UTF-8 text given as pieces (remote output as it arrived: a binary's bytes are
    /// written from the received message, not copied into a string first).
    func write(utf8 pieces: [ArraySlice<UInt8>])
}

extension ConsoleOutput {
    public func write(utf8 pieces: [ArraySlice<UInt8>]) {
        write(pieces.map { String(decoding: $0, as: UTF8.self) }.joined())
    }
}

/// The terminal size the node is told (`io:columns/0`, `io:rows/0`, `get_geometry`).
public struct TerminalGeometry: Sendable, Hashable {
    public var columns: Int
    public var rows: Int
    public init(columns: Int, rows: Int) {
        self.columns = columns
        self.rows = rows
    }
    public static let `default` = TerminalGeometry(columns: 80, rows: 24)
}

// MARK: - Implementations

/// Standard output (or error), written through unbuffered.
public struct StandardOutput: ConsoleOutput {
    private let fd: Int32
    public init(fileDescriptor: Int32 = 1) { self.fd = fileDescriptor }
    public static let error = StandardOutput(fileDescriptor: 2)
    private static let writeError = NIOLockedValueBox<Int32?>(nil)
    /// The `errno` of the first failed write to standard output, if any: the command line exits
    /// with an error rather than pretend its output arrived.
    public static var firstWriteError: Int32? { writeError.withLockedValue { $0 } }
    /// Called once, on the first failed write to standard output (a closed pipe, a full disk):
    /// a one-shot run stops there rather than evaluate on for output nobody receives.
    nonisolated(unsafe) public static var onFirstWriteError: (@Sendable (Int32) -> Void)?

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(bytes: $0) }
    }

    public func write(utf8 pieces: [ArraySlice<UInt8>]) {
        for piece in pieces { piece.withUnsafeBufferPointer { write(bytes: $0) } }
    }

    private func write(bytes all: UnsafeBufferPointer<UInt8>) {
        var bytes = all[...]
        while !bytes.isEmpty {
            let n = writeFD(fd, all.baseAddress.map { $0 + bytes.startIndex }, bytes.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let code = n < 0 ? errno : EIO
                if fd == 1, Self.writeError.withLockedValue({ previous in
                    defer { if previous == nil { previous = code } }
                    return previous == nil
                }) {
                    Self.onFirstWriteError?(code)
                }
                return
            }
            bytes = bytes.dropFirst(n)
        }
    }
}

/// Collects everything written; for tests and for capturing one-shot output.
public final class OutputBuffer: ConsoleOutput, @unchecked Sendable {
    private let lock = NIOLock()
    private var buffer = ""
    public init() {}
    public func write(_ text: String) {
        lock.lock()
        buffer += text
        lock.unlock()
    }
    public var text: String {
        lock.lock()
        defer { lock.unlock() }
        return buffer
    }
    /// Returns and clears what was written.
    public func take() -> String {
        lock.lock()
        defer { lock.unlock() }
        let t = buffer
        buffer = ""
        return t
    }
}

/// Lines from standard input without editing, for when no terminal line editor is in use.
/// The prompt is written to `promptOutput` (nothing when nil).
public struct PlainLineInput: ConsoleInput {
    public var promptOutput: ConsoleOutput?
    public init(promptOutput: ConsoleOutput? = StandardOutput()) { self.promptOutput = promptOutput }
    public var readsMayBeAbandoned: Bool { true }
    /// A line of ``readInput(prompt:)`` without its line end.
    public func readLine(prompt: String) -> ReadResult {
        guard case .data(var bytes) = readInput(prompt: prompt) else { return .endOfInput }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return .line(String(decoding: bytes, as: UTF8.self))
    }

    /// Reads with read(2), not through stdio: a read abandoned on Ctrl-C would hold stdin's
    /// stdio lock while it blocks, and every `fflush(NULL)` (before exit, say) would wait on it.
    /// Nothing past the line is taken from the input for good (see ``StandardInput``).
    public func readInput(prompt: String) -> InputRead {
        writePrompt(prompt)
        defer { Self.unanswered.withLockedValue { $0 = nil } }
        return StandardInput.line()
    }

    public func readBytes(prompt: String, count: Int) -> InputRead {
        writePrompt(prompt)
        defer { Self.unanswered.withLockedValue { $0 = nil } }
        return StandardInput.bytes(upTo: count)
    }

    public var readsWithoutWaiting: Bool { StandardInput.isFile }
    public func giveBack(_ bytes: [UInt8]) { StandardInput.giveBack(bytes) }

    private func writePrompt(_ prompt: String) {
        // Noted first: a message about to be printed (a lost connection) ends the prompt's line.
        if !prompt.isEmpty, !prompt.hasSuffix("\n") { Self.unanswered.withLockedValue { $0 = promptOutput } }
        promptOutput?.write(prompt)
    }

    /// Gives back what was read from standard input but not used, when it is a file: a command
    /// run after beamsh on the same input (`(beamsh NODE --eval ...; cat) < file`) reads on
    /// from where beamsh's evaluations stopped.
    public static func returnUnreadInput() { StandardInput.returnUnread() }

    /// Where a prompt waits for its line (none when no read is under way).
    private static let unanswered = NIOLockedValueBox<ConsoleOutput?>(nil)

    /// Ends the line of a prompt still waiting for its answer, so that a message printed now
    /// (the connection was lost meanwhile) starts on a line of its own.
    public static func endUnansweredPrompt() {
        unanswered.withLockedValue { output in
            output?.write("\n")
            output = nil
        }
    }
}

/// Feeds a fixed list of answers, then end of input. For tests and scripts.
public final class ScriptedInput: ConsoleInput, @unchecked Sendable {
    private let lock = NIOLock()
    private var answers: [ReadResult]
    private var prompts: [String] = []
    /// Called with each prompt before the answer is returned (tests use it to act mid-session).
    public var onPrompt: (@Sendable (String) -> Void)?
    /// Answers as an operator would type them (``ConsoleInput/isInteractive``).
    public var typed = false
    public var isInteractive: Bool { typed }

    public init(_ answers: [ReadResult]) { self.answers = answers }
    public convenience init(lines: [String]) { self.init(lines.map { .line($0) }) }

    public func readLine(prompt: String) -> ReadResult {
        lock.lock()
        prompts.append(prompt)
        let answer = answers.isEmpty ? .endOfInput : answers.removeFirst()
        let hook = onPrompt
        lock.unlock()
        hook?(prompt)
        return answer
    }

    /// Every prompt asked so far, in order.
    public var promptsSeen: [String] {
        lock.lock()
        defer { lock.unlock() }
        return prompts
    }
}

/// Reads a reply to the node's IO request on a thread of its own, so no Swift concurrency
/// thread waits on the user. With `connection`, a connection lost meanwhile ends the wait at
/// once (as end of input: the session then finds the connection gone) instead of at the
/// operator's next Enter; the read itself is left to finish on its thread.
/// With `abandon`, the read can also be given up as `.interrupted` by calling what it is handed.
func readOffThread(
    _ input: ConsoleInput, prompt: String, until connection: NodeConnection? = nil,
    abandon: ((@escaping @Sendable () -> Void) -> Void)? = nil
) async -> ReadResult {
    await readOffThread(ended: ReadResult.endOfInput, interrupted: .interrupted, until: connection, abandon: abandon) {
        input.readReply(prompt: prompt)
    }
}

/// ``readOffThread(_:prompt:until:abandon:)`` for any read: `ended` when the connection
/// closes first, `interrupted` when abandoned.
func readOffThread<R: Sendable>(
    ended: R, interrupted: R, until connection: NodeConnection?,
    abandon: ((@escaping @Sendable () -> Void) -> Void)?, read: @escaping @Sendable () -> R
) async -> R {
    let claimed = NIOLockedValueBox(false)
    @Sendable func claim() -> Bool {
        claimed.withLockedValue { c in
            defer { c = true }
            return !c
        }
    }
    return await withCheckedContinuation { continuation in
        connection?.closeFuture.whenSuccess { _ in
            if claim() { continuation.resume(returning: ended) }
        }
        abandon? {
            if claim() { continuation.resume(returning: interrupted) }
        }
        startThread {
            // Given up before it began (Ctrl-C on its way): it takes no line from the input.
            guard !claimed.withLockedValue({ $0 }) else { return }
            let result = read()
            if claim() { continuation.resume(returning: result) }
        }
    }
}

private func writeFD(_ fd: Int32, _ pointer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, pointer, count)
}

/// What `body` returns, computed on a new thread: a blocking read (the operator's answer) does
/// not hold one of Swift concurrency's few threads meanwhile.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        startThread { continuation.resume(returning: body()) }
    }
}

/// Runs `body` on a new detached thread (without Foundation's `Thread`).
func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    #if canImport(Darwin)
    var thread: pthread_t?
    #else
    var thread = pthread_t()
    #endif
    let rc = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, box)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    pthread_detach(thread)
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and newlines.
    var trimmedWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}

/// beamsh's standard input for the node's reads. A file is read 64 KB at a time (a line is
/// then no system call of its own, and no thread), and what was read ahead but not used is
/// given back at exit by moving the file's position back. A pipe or terminal is read a byte at
/// a time for lines (what follows a line is left where it is, for whoever reads next), and at
/// most the bytes asked for by a counted read. The end of a file is asked about again at each
/// read (a file that grows is read on).
enum StandardInput {
    /// Bytes read (or given back) and not used yet, from `start`.
    private static let state = NIOLockedValueBox((buffer: [UInt8](), start: 0))

    /// Whether standard input is a regular file (`< file`).
    static let isFile: Bool = {
        var status = stat()
        return fstat(STDIN_FILENO, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }()

    static func line() -> InputRead {
        guard isFile else {
            // Bytes given back first (a line among them, or a line's start), then the pipe a byte
            // at a time, outside the lock: a read abandoned on Ctrl-C may block for good.
            let (head, complete) = state.withLockedValue { s -> ([UInt8], Bool) in
                if let newline = s.buffer[s.start...].firstIndex(of: UInt8(ascii: "\n")) { return (take(&s, upTo: newline + 1), true) }
                return (take(&s, upTo: s.buffer.count), false)
            }
            if complete { return .data(head) }
            if case .data(let rest) = lineByBytes() { return .data(head + rest) }
            return head.isEmpty ? .endOfInput : .data(head)
        }
        return state.withLockedValue { s in
            // Where the search for a line end goes on from: the bytes before it hold none (a
            // long line is searched once, not again after each block).
            var searched = s.start
            while true {
                if let newline = s.buffer[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                    return .data(take(&s, upTo: newline + 1))
                }
                searched = s.buffer.count - s.start
                guard fill(&s) else { return s.start == s.buffer.count ? .endOfInput : .data(take(&s, upTo: s.buffer.count)) }
                searched += s.start
            }
        }
    }

    static func bytes(upTo count: Int) -> InputRead {
        guard count > 0 else { return .data([]) }
        let buffered = state.withLockedValue { s -> [UInt8]? in
            if s.start == s.buffer.count, isFile, !fill(&s) { return [] }
            return s.start == s.buffer.count ? nil : take(&s, upTo: min(s.buffer.count, s.start + count))
        }
        if let buffered { return buffered.isEmpty ? .endOfInput : .data(buffered) }
        var chunk = [UInt8](repeating: 0, count: min(count, 1 << 16))
        while true {
            let n = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            return n <= 0 ? .endOfInput : .data(Array(chunk[..<n]))
        }
    }

    /// Puts `bytes`, taken but not used (by the node's I/O server), back in front of the input.
    static func giveBack(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        state.withLockedValue { s in
            s.buffer = bytes + s.buffer[s.start...]
            s.start = 0
        }
    }

    static func returnUnread() {
        guard isFile else { return }
        state.withLockedValue { s in
            let unread = s.buffer.count - s.start
            if unread > 0, lseek(STDIN_FILENO, off_t(-unread), SEEK_CUR) >= 0 { (s.buffer, s.start) = ([], 0) }
        }
    }

    private static func lineByBytes() -> InputRead {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(STDIN_FILENO, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return bytes.isEmpty ? .endOfInput : .data(bytes) }
            bytes.append(byte)
            if byte == UInt8(ascii: "\n") { return .data(bytes) }
        }
    }

    /// Reads up to 64 KB more (dropping what was used); false at the end of the file (or an error).
    private static func fill(_ s: inout (buffer: [UInt8], start: Int)) -> Bool {
        if s.start > 0 {
            s.buffer.removeFirst(s.start)
            s.start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            s.buffer += chunk[..<n]
            return true
        }
    }

    private static func take(_ s: inout (buffer: [UInt8], start: Int), upTo end: Int) -> [UInt8] {
        let taken = Array(s.buffer[s.start..<end])
        s.start = end
        if s.start == s.buffer.count { (s.buffer, s.start) = ([], 0) }
        return taken
    }
}
