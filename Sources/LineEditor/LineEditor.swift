// A line-edited prompt over libedit: emacs keys, Ctrl-R search, history and Tab completion.

import CEditLine

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads lines from the user with a prompt, emacs editing keys, incremental history search,
/// Tab completion and a persistent history, on top of libedit.
///
/// ```swift
/// let editor = LineEditor(configuration: .init(historyPath: LineEditor.defaultHistoryPath(
///     environment: ProcessInfo.processInfo.environment)))
/// loop: while true {
///     switch editor.readLine(prompt: "iex(app@host)1> ") {
///     case .line(let line): editor.addToHistory(line); evaluate(line)
///     case .interrupted: continue          // Ctrl-C: the line was cleared
///     case .endOfInput: break loop         // Ctrl-D on an empty line
///     }
/// }
/// ```
///
/// **Terminal or not.** When both the input and the output are terminals the editor uses
/// libedit. Otherwise (stdin piped, output redirected) it reads plain lines itself with `read(2)`,
/// without buffering past the newline, and never writes escape sequences: the prompt is written,
/// stripped of escape sequences, only when the output is a terminal. ``isInteractive`` tells which.
///
/// **Ctrl-C.** While ``readLine(prompt:)`` waits, the terminal's signal keys are switched off for
/// libedit's edit mode (`stty -isig`, edit mode only), so Ctrl-C arrives as the character `^C`;
/// it is bound to a command that clears the line and makes `readLine` return ``ReadResult/interrupted``.
/// No signal handler runs and no signal is raised: nothing can interrupt libedit half-way through
/// a redraw, and nothing reaches other processes of the group. Outside `readLine` the terminal is
/// in its normal mode and Ctrl-C raises `SIGINT` as usual: see
/// ``installInterruptHandler(_:)`` to be told about it during a remote evaluation. Ctrl-Z at the
/// prompt suspends the process the same way, with the terminal restored while it is stopped.
///
/// **Thread safety.** An instance is not safe for concurrent use: call its methods from one
/// thread at a time (typically a dedicated input thread, as `readLine` blocks). It is
/// `@unchecked Sendable` so that it can be created on one thread and handed to that thread.
/// ``completion`` is called on the thread running `readLine`. The static members are thread-safe.
public final class LineEditor: @unchecked Sendable {
    /// How an editor is set up.
    public struct Configuration: Sendable {
        /// Given to libedit (it selects the program's section of `~/.editrc`-style settings).
        public var programName: String
        /// The history file, or `nil` to keep the history in memory only.
        public var historyPath: String?
        /// The most entries kept, in memory and in the file (the oldest go first).
        public var maxHistoryEntries: Int
        /// The descriptor lines are read from. It is not closed by the editor.
        public var inputDescriptor: Int32
        /// The descriptor the prompt and the edited line are written to. It is not closed by the editor.
        public var outputDescriptor: Int32
        /// The characters that end the word Tab completes (see ``LineEditor/completion``). The
        /// default suits Elixir and Erlang: `.`, `:`, `_`, `?`, `!` and `@` are part of words, so
        /// `Enum.ma`, `:erlang.mem` and `lists:ma` are completed as one word.
        public var completionWordDelimiters: Set<Character>

        /// - parameters:
        ///   - programName: the name libedit knows the program by.
        ///   - historyPath: the history file, `nil` for none; see ``LineEditor/defaultHistoryPath(environment:)``.
        ///   - maxHistoryEntries: the bound on the history, at least 1.
        ///   - inputDescriptor: where lines come from (standard input by default).
        ///   - outputDescriptor: where the prompt goes (standard output by default).
        public init(
            programName: String = "beamsh",
            historyPath: String? = nil,
            maxHistoryEntries: Int = 1000,
            inputDescriptor: Int32 = STDIN_FILENO,
            outputDescriptor: Int32 = STDOUT_FILENO
        ) {
            self.programName = programName
            self.historyPath = historyPath
            self.maxHistoryEntries = max(1, maxHistoryEntries)
            self.inputDescriptor = inputDescriptor
            self.outputDescriptor = outputDescriptor
            self.completionWordDelimiters = Set(" \t\n()[]{}<>,;=+-*/|&^~%\\\"'`#")
        }
    }

    /// What ``LineEditor/readLine(prompt:)`` read.
    public enum ReadResult: Equatable, Sendable {
        /// A line, without its newline.
        case line(String)
        /// Ctrl-D on an empty line, or the end of a piped input.
        case endOfInput
        /// Ctrl-C at the prompt: the line was discarded.
        case interrupted
    }

    /// The configuration the editor was created with.
    public let configuration: Configuration

    /// Whether libedit edits the lines (input and output are terminals), or plain lines are read.
    public let isInteractive: Bool

    /// Whether Ctrl-C came with the Enter that ended the line ``readLine(prompt:)`` just returned,
    /// in the same read (keys sent together, or merged on a slow link). The prompt reads keys
    /// with the terminal's signals off, so that Ctrl-C was a character, not the `SIGINT` it
    /// would have been a moment later: the caller treats the line as interrupted right after
    /// Enter. What was typed after the line is dropped with it, as a terminal drops its input on
    /// an interrupt. Reset by each read.
    public private(set) var interruptFollowedLine = false

    /// When the last read gave the terminal back its normal mode, where Ctrl-C raises `SIGINT`
    /// again: an interrupt after this instant is for the line just read (in libedit's mode
    /// Ctrl-C is a key, so none comes during the read). Nil when the read did not edit (input
    /// that is no terminal, an end of input typed ahead). Taken before the history is saved: a
    /// Ctrl-C during that write is the line's too.
    public private(set) var terminalRestoredAt: ContinuousClock.Instant?

    /// Called on Tab with the text before the cursor; returns the candidates for the word being
    /// completed.
    ///
    /// Each candidate's ``CompletionCandidate/replacement`` is a **full replacement for the
    /// current word**, not a suffix: the word is the text after the last character of
    /// ``Configuration/completionWordDelimiters`` (for `x = Enum.ma` it is `Enum.ma`, so return
    /// `Enum.map` and `Enum.max`, labelled `map/2`, `max/1`...). One replacement replaces the
    /// word; several replace it with their longest common prefix when that adds something,
    /// otherwise their labels are listed under the prompt in columns (so Tab extends, and a
    /// second Tab lists, like IEx). No candidate rings the bell. Called on the thread running
    /// ``readLine(prompt:)``; it blocks editing until it returns, so answer quickly (cache).
    public var completion: (@Sendable (_ lineUpToCursor: String) -> [CompletionCandidate])?

    /// Lines for which this answers true are never recorded in the history (the console gives
    /// it the session's cookie: a line that holds the value is not written to disk, whatever
    /// its form).
    public var isSecret: (@Sendable (_ line: String) -> Bool)?

    // libedit state (interactive only).
    private var editLine: OpaquePointer?
    private var libeditHistory: OpaquePointer?
    private var inputFile: UnsafeMutablePointer<FILE>?
    private var outputFile: UnsafeMutablePointer<FILE>?
    private var promptBuffer: UnsafeMutablePointer<CChar>?
    private var wasInterrupted = false
    /// Columns the current prompt takes (escape sequences take none).
    private var promptWidth = 0

    // Text to show above the prompt while a line is edited (``showWhileReading(_:)``): queued
    // by any thread, written by the input thread's character reader, which a byte on
    // `wakeup` rouses from its poll.
    private let pendingLock = ProcessLock()
    private var pendingText = ""
    private var pendingDropped = 0
    /// From ``acceptOutputUntilLineRead()`` until the next ``readLine(prompt:)`` returns.
    private var acceptingOutput = false
    /// From ``acceptOutputUntilLineRead()`` until the next ``readLine(prompt:)`` returns, in plain
    /// mode too: when ``interruptReading()`` applies.
    private var readWindowOpen = false
    /// ``interruptReading()`` asked the read to end as Ctrl-C would.
    private var interruptRequested = false
    /// What the next interrupt shows (see ``interruptReading(echo:)``).
    private var interruptEcho = "^C\n"
    private var wakeup: (read: Int32, write: Int32)?
    /// Input taken from the terminal ahead of libedit (a paste's next lines, input given back
    /// after a question), read before the descriptor, in order.
    private var typeahead: [UInt8] = []
    private var typeaheadStart = 0
    /// No key of this line has been read yet, and whether one was waiting when its reading
    /// began (see ``readCharacter(_:into:)``).
    private var atFirstKey = false
    private var firstKeyWasWaiting = false
    /// Most text queued between two redraws; a writer in a loop cannot make beamsh grow.
    static let maxPendingText = 256 << 10

    // History state.
    private var historyFile: HistoryFile?
    private var newestEntry: String?
    private var unsavedEntries: [String] = []

    /// Sets up libedit when the input and output are terminals, and loads the history file.
    public init(configuration: Configuration) {
        self.configuration = configuration
        self.isInteractive = isatty(configuration.inputDescriptor) == 1 && isatty(configuration.outputDescriptor) == 1
        if let path = configuration.historyPath {
            historyFile = HistoryFile(path: path, maxEntries: configuration.maxHistoryEntries)
        }
        let loaded = historyFile?.load().suffix(configuration.maxHistoryEntries) ?? []
        newestEntry = loaded.last
        if isInteractive {
            setUpLibedit(history: Array(loaded))
        } else {
            // Plain reads wait on the input and on this pipe, so that they can be interrupted.
            wakeup = Self.makeWakeupPipe()
        }
    }

    /// A non-blocking pipe whose read end wakes the reading thread's poll.
    private static func makeWakeupPipe() -> (read: Int32, write: Int32)? {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return nil }
        for fd in ends {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return (ends[0], ends[1])
    }

    deinit {
        saveHistory()
        if let editLine {
            Terminal.willStopEditing(configuration.inputDescriptor)
            el_end(editLine)  // restores the terminal mode libedit found
        }
        if let libeditHistory { history_end(libeditHistory) }
        if let wakeup {
            close(wakeup.read)
            close(wakeup.write)
        }
        if let inputFile { fclose(inputFile) }
        if let outputFile { fclose(outputFile) }
        free(promptBuffer)
    }

    // MARK: - Reading

    /// Shows `prompt` and reads one line, blocking the calling thread.
    ///
    /// - parameters:
    ///   - prompt: the prompt. It may contain ANSI escape sequences (colours): they are marked for
    ///     libedit so that they take no column, and left out when the output is not a terminal.
    /// - returns: the line without its newline, ``ReadResult/endOfInput`` for Ctrl-D on an empty
    ///   line (or the end of a piped input), ``ReadResult/interrupted`` for Ctrl-C.
    public func readLine(prompt: String) -> ReadResult {
        guard let editLine else { return readPlainLine(prompt: prompt) }
        let (above, prompt) = PromptText.splitForEditing(prompt)
        if !above.isEmpty { writeAll(above, to: configuration.outputDescriptor) }
        setPrompt(PromptText.markingEscapes(prompt))
        promptWidth = PromptText.plain(prompt).unicodeScalars.count
        bindKeys(editLine)  // again: a changed `stty intr` rebinds the old key when libedit starts
        el_resize(editLine)  // pick up a window size change since the last line
        wasInterrupted = false
        interruptFollowedLine = false
        terminalRestoredAt = nil

        // Ctrl-D pressed between two lines (while the last one was evaluated, the terminal in its
        // normal mode) is an end of input waiting to be read: in libedit's mode it would arrive
        // as a NUL byte, a key that does nothing, and the operator's Ctrl-D would be lost.
        if endOfInputTypedAhead() {
            pendingLock.withLock { (acceptingOutput, readWindowOpen) = (false, false) }
            return .endOfInput
        }
        var count: Int32 = 0
        atFirstKey = true
        Terminal.willStartEditing(configuration.inputDescriptor)
        let characters = el_wgets(editLine, &count)
        Terminal.willStopEditing(configuration.inputDescriptor)
        terminalRestoredAt = .now
        // Text queued after the last redraw goes out now, under the entered line; later text is
        // the caller's to write (``showWhileReading(_:)`` returns false from here on).
        let (late, dropped) = pendingLock.withLock { () -> (String, Int) in
            (acceptingOutput, readWindowOpen) = (false, false)
            (interruptRequested, interruptEcho) = (false, "^C\n")
            defer { (pendingText, pendingDropped) = ("", 0) }
            return (pendingText, pendingDropped)
        }
        if !late.isEmpty || dropped > 0 { writeAll(Self.displayed(late, dropped: dropped), to: configuration.outputDescriptor) }

        if wasInterrupted { return .interrupted }
        guard let characters, count > 0 else { return .endOfInput }
        var scalars = String.UnicodeScalarView()
        for index in 0..<Int(count) {
            if let scalar = Unicode.Scalar(UInt32(bitPattern: Int32(characters[index]))) { scalars.append(scalar) }
        }
        var line = String(scalars)
        if line.hasSuffix("\n") { line.removeLast() }
        interruptFollowedLine = interruptTypedWithTheLine()
        return .line(line)
    }

    /// Takes what the terminal holds after the line just read (in the terminal's normal mode,
    /// a line at a time) into ``typeahead``; true, with all of it dropped as a terminal drops
    /// its input on an interrupt, when it holds the interrupt key.
    private func interruptTypedWithTheLine() -> Bool {
        let fd = configuration.inputDescriptor
        var taken: [UInt8] = []
        var waiting: Int32 = 0
        while taken.count < 1 << 20, ioctl(fd, UInt(FIONREAD), &waiting) == 0, waiting > 0 {
            var chunk = [UInt8](repeating: 0, count: min(Int(waiting), (1 << 20) - taken.count))
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            taken += chunk.prefix(n)
        }
        guard !taken.isEmpty else { return false }
        if taken.contains(Terminal.interruptCharacter(of: fd)) { return true }
        typeahead += taken
        return false
    }

    /// Whether an end of input (Ctrl-D on an empty line, in the terminal's normal mode) waits to
    /// be read, before anything else: it is read.
    private func endOfInputTypedAhead() -> Bool {
        guard typeaheadStart == typeahead.count else { return false }
        let fd = configuration.inputDescriptor
        var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var waiting: Int32 = 0
        guard poll(&ready, 1, 0) == 1, ready.revents & Int16(POLLIN) != 0,
              ioctl(fd, UInt(FIONREAD), &waiting) == 0, waiting == 0 else { return false }
        var byte: UInt8 = 0
        return read(fd, &byte, 1) == 0
    }

    /// Lets ``showWhileReading(_:)`` take text from now until the next ``readLine(prompt:)``
    /// returns: call it just before prompting, so that text which arrives while the prompt is
    /// being set up is shown as soon as it is drawn, not after the line.
    public func acceptOutputUntilLineRead() {
        pendingLock.withLock {
            readWindowOpen = true
            acceptingOutput = editLine != nil
        }
    }

    /// Shows `text` above the prompt while ``readLine(prompt:)`` is editing a line, as a terminal
    /// program's output should appear: the prompt and the half-typed line are redrawn under it,
    /// and the operator types on. Callable from any thread; returns at once.
    /// - returns: false outside ``acceptOutputUntilLineRead()``'s window (or when the terminal
    ///   cannot redraw, `TERM=dumb`): the caller writes the text itself, in its own order.
    public func showWhileReading(_ text: String) -> Bool {
        guard let wakeup, !Self.isDumbTerminal else { return false }
        let queued = pendingLock.withLock { () -> Bool in
            guard acceptingOutput else { return false }
            if pendingText.utf8.count + text.utf8.count <= Self.maxPendingText {
                pendingText += text
            } else {
                pendingDropped += text.utf8.count
            }
            return true
        }
        if queued {
            var byte: UInt8 = 1
            _ = write(wakeup.write, &byte, 1)  // full pipe (EAGAIN): a wakeup is pending anyway
        }
        return queued
    }

    /// Ends the line being read (or the next, once ``acceptOutputUntilLineRead()`` was called)
    /// as Ctrl-C at it would: `^C`, and ``readLine(prompt:)`` returns ``ReadResult/interrupted``.
    /// For a Ctrl-C that reached the program as a signal (pressed just before libedit took the
    /// terminal) while the read belongs to what it interrupted. Callable from any thread.
    /// - parameter echo: what shows where the line was (`^C` as for the key; a time limit
    ///   that ended the read shows just the line's end).
    public func interruptReading(echo: String = "^C\n") {
        guard let wakeup else { return }
        let requested = pendingLock.withLock { () -> Bool in
            guard readWindowOpen else { return false }
            interruptRequested = true
            interruptEcho = echo
            return true
        }
        if requested {
            var byte: UInt8 = 1
            _ = write(wakeup.write, &byte, 1)
        }
    }

    /// ``interruptReading(echo:)``, then waits until the read has ended (at most `limit`): for
    /// a message that must come after the read's line, not on it.
    public func interruptReadingAndWait(echo: String, limit: Duration = .milliseconds(300)) {
        interruptReading(echo: echo)
        let deadline = ContinuousClock.now + limit
        while pendingLock.withLock({ readWindowOpen }) && ContinuousClock.now < deadline { usleep(1_000) }
    }

    private static let isDumbTerminal: Bool = getenv("TERM").map { String(cString: $0) == "dumb" } ?? false

    /// Queued text as written: a line of its own, and what did not fit said.
    private static func displayed(_ text: String, dropped: Int) -> String {
        var out = text
        if !out.isEmpty && !out.hasSuffix("\n") { out += "\n" }
        if dropped > 0 { out += "** beamsh: \(dropped) more bytes of output arrived while at the prompt and were dropped\n" }
        return out
    }

    /// libedit's character reader (`EL_GETCFN`): waits for a key or for queued text; text is
    /// written over the prompt line, then libedit redraws the prompt and the line under it.
    /// Keys are decoded from UTF-8 here, as libedit's own reader does.
    private func readCharacter(_ editLine: OpaquePointer, into character: UnsafeMutablePointer<wchar_t>) -> Int32 {
        let input = configuration.inputDescriptor
        if atFirstKey {
            var waiting: Int32 = 0
            firstKeyWasWaiting = ioctl(input, UInt(FIONREAD), &waiting) == 0 && waiting > 0
        }
        while true {
            var fds = [pollfd(fd: input, events: Int16(POLLIN), revents: 0)]
            if let wakeup { fds.append(pollfd(fd: wakeup.read, events: Int16(POLLIN), revents: 0)) }
            // Input already taken comes first (and needs no wait).
            if typeaheadStart < typeahead.count { fds[0].revents = Int16(POLLIN) } else
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                return -1
            }
            if fds.count > 1, fds[1].revents != 0, let wakeup {
                var drain = [UInt8](repeating: 0, count: 64)
                while read(wakeup.read, &drain, drain.count) > 0 {}
                let (text, dropped, interrupt) = pendingLock.withLock { () -> (String, Int, Bool) in
                    defer { (pendingText, pendingDropped, interruptRequested) = ("", 0, false) }
                    return (pendingText, pendingDropped, interruptRequested)
                }
                if !text.isEmpty || dropped > 0 {
                    // Up to the first row of the prompt and clear to the end of the screen: the
                    // text replaces the prompt and the line (however many rows they wrap over),
                    // which EL_REFRESH then draws again below it, from where the cursor is.
                    let up = cursorRow(editLine)
                    let clear = "\r" + (up > 0 ? "\u{1B}[\(up)A" : "") + "\u{1B}[J"
                    writeAll(clear + Self.displayed(text, dropped: dropped), to: configuration.outputDescriptor)
                    _ = beamsh_el_refresh(editLine)
                }
                // As the Ctrl-C key does; no character ends el_wgets without one of its own.
                if interrupt {
                    _ = interruptCommand()
                    return 0  // end of input for el_wgets; readLine reports the interruption
                }
            }
            guard fds[0].revents != 0 else { continue }
            guard let first = readByte(input) else { return 0 }
            defer { atFirstKey = false }
            guard first >= 0x80 else {
                // Ctrl-D typed in the terminal's normal mode just after the check for one
                // (``endOfInputTypedAhead()``) and before libedit's mode took over: the terminal
                // hands it over as a NUL byte, already waiting when the line's reading begins.
                // (A Ctrl-@ pressed at the prompt comes later, and stays what it is.)
                character.pointee = wchar_t(first == 0 && atFirstKey && firstKeyWasWaiting ? 4 : first)
                return 1
            }
            // A UTF-8 sequence: its other bytes follow at once.
            let length = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1
            var bytes = [first]
            while bytes.count < length, let next = readByte(input) { bytes.append(next) }
            let scalar = String(decoding: bytes, as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}"
            character.pointee = wchar_t(bitPattern: scalar.value)
            return 1
        }
    }

    /// The row of the cursor within the prompt and the line being edited (0: the prompt's row),
    /// for a line that wraps at the terminal's width. Characters count one column each.
    private func cursorRow(_ editLine: OpaquePointer) -> Int {
        guard let info = el_wline(editLine)?.pointee, let start = info.buffer, let cursor = info.cursor else { return 0 }
        let columns = max(1, Terminal.columns(of: configuration.outputDescriptor))
        return (promptWidth + (cursor - start)) / columns
    }

    /// One byte from `fd`, or nil at the end of input or on an error.
    /// Waits until the input has a byte (false) or ``interruptReading()`` asked the read to end
    /// (true).
    private func waitForInput(orInterruptVia wakeup: (read: Int32, write: Int32)) -> Bool {
        while true {
            var fds = [pollfd(fd: configuration.inputDescriptor, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wakeup.read, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return false  // the read reports what is wrong
            }
            if fds[1].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                while read(wakeup.read, &drain, drain.count) > 0 {}
                if pendingLock.withLock({ () -> Bool in defer { interruptRequested = false }; return interruptRequested }) {
                    return true
                }
            }
            if fds[0].revents != 0 { return false }
        }
    }

    private func readByte(_ fd: Int32) -> UInt8? {
        if typeaheadStart < typeahead.count {
            defer {
                typeaheadStart += 1
                if typeaheadStart == typeahead.count { (typeahead, typeaheadStart) = ([], 0) }
            }
            return typeahead[typeaheadStart]
        }
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n == 1 { return byte }
            if n < 0, errno == EINTR { continue }
            return nil
        }
    }

    /// Reads up to a newline with `read(2)` one byte at a time, so nothing after the line is
    /// taken from a descriptor that other code may read next.
    private func readPlainLine(prompt: String) -> ReadResult {
        // Someone at a terminal on either side needs the prompt: typing with the output piped
        // (`beamsh NODE | tee log`) shows it through the pipe, as iex does.
        if isatty(configuration.outputDescriptor) == 1 || isatty(configuration.inputDescriptor) == 1 {
            writeAll(PromptText.plain(prompt), to: configuration.outputDescriptor)
        }
        defer {
            pendingLock.withLock {
                readWindowOpen = false
                (interruptRequested, interruptEcho) = (false, "^C\n")
            }
        }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            if let wakeup, waitForInput(orInterruptVia: wakeup) { return .interrupted }
            let n = read(configuration.inputDescriptor, &byte, 1)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return bytes.isEmpty ? .endOfInput : .line(String(decoding: bytes, as: UTF8.self)) }
            if byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return .line(String(decoding: bytes, as: UTF8.self))
    }

    // MARK: - Typed-ahead input

    /// Takes the input typed or pasted ahead of the next read (once it has arrived: up to 1 MiB,
    /// until none has come for 30 ms), so that a question asked next is answered by a key the
    /// operator presses after seeing it, never by the next line of a paste. ``giveBack(_:)``
    /// returns it, to be read after the answer as it would have been. Nothing without a
    /// terminal (a script's lines are the script) or when nothing is waiting, at once.
    public func takeTypeahead() -> [UInt8] {
        guard editLine != nil else { return [] }
        let fd = configuration.inputDescriptor
        var taken = Array(typeahead[typeaheadStart...])
        (typeahead, typeaheadStart) = ([], 0)
        while taken.count < 1 << 20 {
            var waiting: Int32 = 0
            if ioctl(fd, UInt(FIONREAD), &waiting) != 0 { break }
            if waiting == 0 {
                // The rest of a paste may still be on its way (a terminal writes it in pieces).
                var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard !taken.isEmpty, poll(&ready, 1, 30) > 0,
                      ioctl(fd, UInt(FIONREAD), &waiting) == 0, waiting > 0 else { break }
            }
            var chunk = [UInt8](repeating: 0, count: min(Int(waiting), (1 << 20) - taken.count))
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            taken += chunk.prefix(n)
        }
        return taken
    }

    /// Drops the input taken ahead of libedit (``takeTypeahead()`` and the keys read after a
    /// line): after an interrupt, as the terminal drops what it still holds. Not while a line
    /// is being read.
    public func discardTypeahead() {
        (typeahead, typeaheadStart) = ([], 0)
    }

    /// Whether input is waiting to be read (a paste's next lines), at a terminal.
    public var hasTypeahead: Bool {
        guard editLine != nil else { return false }
        if typeaheadStart < typeahead.count { return true }
        var waiting: Int32 = 0
        return ioctl(configuration.inputDescriptor, UInt(FIONREAD), &waiting) == 0 && waiting > 0
    }

    /// Input taken by ``takeTypeahead()``, read by the next ``readLine(prompt:)`` calls before
    /// anything typed since.
    public func giveBack(_ bytes: [UInt8]) {
        guard editLine != nil, !bytes.isEmpty else { return }
        typeahead = bytes + typeahead[typeaheadStart...]
        typeaheadStart = 0
    }

    // MARK: - History

    /// Records `line` in the history (recall with Up and Ctrl-R now, saved to the file later),
    /// unless ``shouldRecord(_:previous:)`` says no: blank lines, a repeat of the newest entry, and
    /// anything that looks like a cookie (``isLikelySecret(_:)``) or is one (``isSecret``) are skipped.
    public func addToHistory(_ line: String) {
        guard Self.shouldRecord(line, previous: newestEntry), isSecret?(line) != true else { return }
        newestEntry = line
        unsavedEntries.append(line)
        if unsavedEntries.count > configuration.maxHistoryEntries { unsavedEntries.removeFirst() }
        if let libeditHistory { _ = beamsh_history_enter(libeditHistory, line) }
    }

    /// Writes the entries added since the last save to the history file (nothing to do without
    /// one, or without new entries).
    ///
    /// Merge-safe: the file is locked, re-read, this session's new entries are appended, the
    /// result is cut to ``Configuration/maxHistoryEntries`` and written atomically, so sessions
    /// sharing the file keep each other's entries. Also called when the editor is deinitialized.
    /// - returns: the failure, if the file could not be written; the entries then stay pending
    ///   and the next save tries again. The history is a convenience: callers may ignore it.
    @discardableResult
    public func saveHistory() -> Result<Void, HistoryFileError> {
        guard let historyFile, !unsavedEntries.isEmpty else { return .success(()) }
        do {
            try historyFile.merge(appending: unsavedEntries)
        } catch {
            return .failure(error)
        }
        unsavedEntries.removeAll()
        return .success(())
    }

    // MARK: - libedit

    private func setUpLibedit(history loaded: [String]) {
        Terminal.ensureUTF8Locale()  // before el_init: libedit decides there whether input is UTF-8
        let input = fdopen(dup(configuration.inputDescriptor), "r")
        let output = fdopen(dup(configuration.outputDescriptor), "w")
        guard let input, let output,
            let editLine = el_init_fd(configuration.programName, input, output, output,
                                      configuration.inputDescriptor, configuration.outputDescriptor, configuration.outputDescriptor)
        else {
            if let input { fclose(input) }
            if let output { fclose(output) }
            return
        }
        inputFile = input
        outputFile = output
        self.editLine = editLine
        Terminal.remember(configuration.inputDescriptor)

        _ = beamsh_el_set_clientdata(editLine, Unmanaged.passUnretained(self).toOpaque())
        _ = beamsh_el_set_editor(editLine, "emacs")
        // No EL_SIGNAL: libedit's handlers re-send a signal to the whole process group with
        // kill(0, sig). Signal keys are off in edit mode instead; Ctrl-C, Ctrl-Z are commands.
        _ = beamsh_el_set_int(editLine, EL_SIGNAL, 0)
        _ = beamsh_el_setty_edit(editLine, "-isig")
        _ = beamsh_el_set_prompt(editLine, { editLine in
            guard let editLine, let editor = LineEditor.editor(of: editLine) else { return nil }
            return editor.promptBuffer
        }, CChar(PromptText.ignoreMarker.asciiValue!))

        let history = history_init()
        if let history {
            _ = beamsh_history_setsize(history, Int32(clamping: configuration.maxHistoryEntries))
            for entry in loaded { _ = beamsh_history_enter(history, entry) }
            _ = beamsh_el_set_history(editLine, history)
            libeditHistory = history
        }

        _ = beamsh_el_add_function(editLine, "beamsh-interrupt", "Discard the line (Ctrl-C)") { editLine, _ in
            guard let editLine, let editor = LineEditor.editor(of: editLine) else { return UInt8(CC_ERROR) }
            return editor.interruptCommand()
        }
        _ = beamsh_el_add_function(editLine, "beamsh-complete", "Complete the word before the cursor") { editLine, _ in
            guard let editLine, let editor = LineEditor.editor(of: editLine) else { return UInt8(CC_ERROR) }
            return editor.completeCommand(editLine)
        }
        _ = beamsh_el_add_function(editLine, "beamsh-delete-or-eof", "Delete the next character, or end the input on an empty line") { editLine, _ in
            guard let editLine, let editor = LineEditor.editor(of: editLine) else { return UInt8(CC_ERROR) }
            return editor.deleteOrEndOfInputCommand(editLine)
        }
        _ = beamsh_el_add_function(editLine, "beamsh-suspend", "Suspend beamsh (Ctrl-Z)") { editLine, _ in
            guard let editLine else { return UInt8(CC_ERROR) }
            return LineEditor.suspendCommand(editLine)
        }
        bindKeys(editLine)

        if let ends = Self.makeWakeupPipe() {
            wakeup = ends
            _ = beamsh_el_set_getcfn(editLine) { editLine, character in
                guard let editLine, let character, let editor = LineEditor.editor(of: editLine) else { return -1 }
                return editor.readCharacter(editLine, into: character)
            }
        }
    }

    private func bindKeys(_ editLine: OpaquePointer) {
        let bindings: [(String, String)] = [
            ("^C", "beamsh-interrupt"),
            ("^I", "beamsh-complete"),
            ("^D", "beamsh-delete-or-eof"),
            ("^Z", "beamsh-suspend"),
            ("^R", "em-inc-search-prev"),
            ("^S", "em-inc-search-next"),
            ("^U", "em-kill-line"),            // whatever `stty kill` is
            ("^W", "ed-delete-prev-word"),     // whatever `stty werase` is
            ("\\e[1;5C", "em-next-word"),      // Ctrl-Right
            ("\\e[1;5D", "ed-prev-word"),      // Ctrl-Left
            ("\\e[3~", "ed-delete-next-char"), // Delete
            ("\\e[H", "ed-move-to-beg"), ("\\e[F", "ed-move-to-end"),
            ("\\e[1~", "ed-move-to-beg"), ("\\e[4~", "ed-move-to-end"),
        ]
        for (key, command) in bindings { _ = beamsh_el_bind(editLine, key, command) }
    }

    private static func editor(of editLine: OpaquePointer) -> LineEditor? {
        guard let data = beamsh_el_get_clientdata(editLine) else { return nil }
        return Unmanaged<LineEditor>.fromOpaque(data).takeUnretainedValue()
    }

    private func setPrompt(_ prompt: String) {
        free(promptBuffer)
        promptBuffer = strdup(prompt)
    }

    /// Ctrl-C: shows `^C`, ends the line and makes `readLine` return `.interrupted`. Returning
    /// CC_EOF ends `el_wgets`; libedit starts from an empty buffer on the next call.
    private func interruptCommand() -> UInt8 {
        wasInterrupted = true
        let echo = pendingLock.withLock { () -> String in
            defer { interruptEcho = "^C\n" }
            return interruptEcho
        }
        if let outputFile {
            fputs(echo, outputFile)
            fflush(outputFile)
        }
        return UInt8(CC_EOF)
    }

    /// Ctrl-D: on an empty line, ends the input (a newline, so what follows starts on its own
    /// line); otherwise deletes the character under the cursor, and beeps at the end of the line.
    private func deleteOrEndOfInputCommand(_ editLine: OpaquePointer) -> UInt8 {
        guard let info = el_wline(editLine)?.pointee else { return UInt8(CC_ERROR) }
        if info.buffer == info.lastchar {
            if let outputFile {
                fputs("\n", outputFile)
                fflush(outputFile)
            }
            return UInt8(CC_EOF)
        }
        guard info.cursor != info.lastchar else { return UInt8(CC_REFRESH_BEEP) }
        _ = el_cursor(editLine, 1)
        el_deletestr(editLine, 1)
        return UInt8(CC_REFRESH)
    }

    /// Ctrl-Z: gives the terminal back its normal mode, stops the process like the `susp` key
    /// would, and takes the edit mode again when continued.
    private static func suspendCommand(_ editLine: OpaquePointer) -> UInt8 {
        _ = beamsh_el_set_int(editLine, EL_PREP_TERM, 0)
        // To this thread (`raise`, with the signal unblocked here: the line editor's thread
        // blocks signals), so the stop comes before the edit mode is taken again. Sent to the
        // process, another thread took it after this one had gone on: at `fg` the terminal came
        // back in the normal mode, without a prompt, echoing what was typed.
        var stop = sigset_t(), previous = sigset_t()
        sigemptyset(&stop)
        sigaddset(&stop, SIGTSTP)
        pthread_sigmask(SIG_UNBLOCK, &stop, &previous)
        raise(SIGTSTP)
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        _ = beamsh_el_set_int(editLine, EL_PREP_TERM, 1)
        return UInt8(CC_REDISPLAY)
    }

    private func completeCommand(_ editLine: OpaquePointer) -> UInt8 {
        guard let completion, let info = el_wline(editLine)?.pointee, let start = info.buffer, let cursor = info.cursor else {
            return UInt8(CC_REFRESH_BEEP)
        }
        var scalars = String.UnicodeScalarView()
        var pointer = start
        while pointer < cursor {
            if let scalar = Unicode.Scalar(UInt32(bitPattern: Int32(pointer.pointee))) { scalars.append(scalar) }
            pointer += 1
        }
        let lineUpToCursor = String(scalars)
        let action = CompletionLogic.action(
            lineUpToCursor: lineUpToCursor, candidates: completion(lineUpToCursor),
            delimiters: configuration.completionWordDelimiters)
        switch action {
        case .none:
            return UInt8(CC_REFRESH_BEEP)
        case .replace(let count, let text):
            if count > 0 { el_deletestr(editLine, Int32(count)) }
            var wide = text.unicodeScalars.map { wchar_t(bitPattern: $0.value) }
            wide.append(0)
            return el_winsertstr(editLine, wide) == 0 ? UInt8(CC_REFRESH) : UInt8(CC_REFRESH_BEEP)
        case .list(let candidates):
            guard let outputFile else { return UInt8(CC_REFRESH_BEEP) }
            let text = "\n" + CompletionLogic.columns(candidates, width: Terminal.columns(of: configuration.outputDescriptor))
            fputs(text, outputFile)
            fflush(outputFile)
            return UInt8(CC_REDISPLAY)  // prompt and line again, under the list
        }
    }
}

/// Writes all of `text` to `fd`, retrying short writes.
func writeAll(_ text: String, to fd: Int32) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0, errno == EINTR { continue }
        if n <= 0 { return }
        bytes = bytes.dropFirst(n)
    }
}
