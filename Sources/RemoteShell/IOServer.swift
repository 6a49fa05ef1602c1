// beamsh's side of the Erlang I/O protocol: a local pid that acts as the group leader of the
// processes evaluating on the node, so their output is printed here and their reads are
// answered from the console.
// https://www.erlang.org/doc/apps/stdlib/io_protocol.html

import ErlangDistribution
import ErlangTerm
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Answers `{io_request, From, ReplyAs, Request}` messages arriving at a local pid with
/// `{io_reply, ReplyAs, Reply}`.
///
/// Output goes to ``ConsoleOutput`` synchronously before the reply is sent, so a remote
/// process's writes appear in the order it made them, and before anything it does after.
/// Reads (`get_line`, `get_chars`, `get_until`) ask the ``ConsoleInput`` with the request's
/// prompt. `{put_chars, Enc, M, F, A}` (what `io:format` sends) and `get_until` run their
/// function on the node by RPC: nothing here interprets Erlang.
///
/// Not thread-safe: one session task calls ``handle(_:)`` at a time.
public final class IOServer: @unchecked Sendable {
    /// The pid the node sees as group leader.
    public let pid: Pid
    /// Where the requests arrive (shared with the evaluation loop).
    let mailbox: Mailbox
    let connection: NodeConnection
    let input: ConsoleInput
    let output: ConsoleOutput
    let geometry: @Sendable () -> TerminalGeometry
    /// Reply to reads with binaries (`io:setopts([binary])`). IEx sets this on its group
    /// leader; `IEx.Server` waits forever on a list reply. Erlang's default is lists.
    public private(set) var binaryMode: Bool
    /// Input read but not yet consumed (get_chars, the rest after get_until), as bytes: piped
    /// data stays as it came (no line end added, no byte replaced).
    private var pending = PendingInput()
    /// End of input seen while reading ahead: the next read answers `eof` and clears it, so
    /// Ctrl-D ends one read, not every read for the rest of the session.
    private var pendingEOF = false
    /// Called when the operator presses Ctrl-C at a read's prompt: Ctrl-C during an evaluation
    /// interrupts it, even while it waits in `IO.gets` (a loop of reads would trap the operator).
    var onInterruptedRead: (@Sendable () -> Void)?
    /// While the console waits at its prompt, output is answered at once and shown above the
    /// prompt when the input can (a terminal), else its text is held here, up to
    /// `maxHeldOutput` bytes; a writer in a loop cannot make beamsh grow without bound.
    private var holdingOutput = false
    private var heldOutput = ""
    private var droppedOutput = 0
    static let maxHeldOutput = 256 << 10
    /// Read requests that arrived while the prompt had the terminal.
    private var deferredReads: [Term] = []
    /// Where log events go that the node's logger forwards to the group leader's node
    /// (see ``logLine(_:)``): nil, with the rest of the output, as IEx shows them; a one-shot
    /// mode points them at standard error, away from the results a script reads.
    var logOutput: ConsoleOutput?
    /// Log lines in IEx's colors (its console backend's: debug cyan, warnings yellow, errors red).
    var logColors = false

    public init(
        mailbox: Mailbox, connection: NodeConnection, input: ConsoleInput, output: ConsoleOutput,
        geometry: @escaping @Sendable () -> TerminalGeometry = { .default }, binaryMode: Bool
    ) {
        self.mailbox = mailbox
        self.pid = mailbox.pid
        self.connection = connection
        self.input = input
        self.output = output
        self.geometry = geometry
        self.binaryMode = binaryMode
    }

    /// Whether the evaluation's reads may ask the operator, and how to end the one that does.
    private enum ReadControl {
        case allowed
        /// A read is under way; calling this ends it as `.interrupted` (quietly: no `^C`).
        case reading(@Sendable (_ quietly: Bool) -> Void)
        /// Ctrl-C interrupted the evaluation: no read asks the operator until ``allowReads()``.
        case interrupted
    }
    private let readControl = NIOLockedValueBox(ReadControl.allowed)

    /// Ctrl-C interrupted the evaluation: the read under way ends as `.interrupted` (the line
    /// editor's as if Ctrl-C had been pressed at it, plain standard input's left to its thread),
    /// and a read that was on its way does not start. Returns what ends the read under way, for
    /// the caller to run once it holds no lock. Callable from any thread.
    /// - parameter quietly: the end is not a Ctrl-C (the evaluation's time is up): a line
    ///   editor shows no `^C`.
    func interruptReads(quietly: Bool = false) -> (@Sendable () -> Void)? {
        readControl.withLockedValue { control in
            defer { control = .interrupted }
            if case .reading(let end) = control { return { end(quietly) } }
            return nil
        }
    }

    /// An evaluation starts or has ended: reads ask the operator again.
    func allowReads() {
        readControl.withLockedValue { $0 = .allowed }
    }

    /// Answers `message` with an error if it is a request that reads: the evaluation that asked
    /// was interrupted, so nobody is to be asked for a line. True when it was such a request.
    func refuseRead(_ message: Term) -> Bool {
        guard case .tuple(let t) = message, t.count == 4, t[0] == .atom("io_request"),
            case .pid(let from) = t[1], Self.reads(t[3])
        else { return false }
        try? connection.send(.tuple([.atom("io_reply"), t[2], .tuple([.atom("error"), .atom("interrupted")])]),
                             to: from, from: pid)
        return true
    }

    /// Handles `message` if it is an I/O request and returns true; false for anything else.
    @discardableResult
    public func handle(_ message: Term) async -> Bool {
        if Self.isLogEvent(message), let line = await logLine(message) {
            writeLog(line)
            return true
        }
        guard case .tuple(let t) = message, t.count == 4, t[0] == .atom("io_request"),
            case .pid(let from) = t[1]
        else { return false }
        let reply = await answer(t[3])
        try? connection.send(.tuple([.atom("io_reply"), t[2], reply]), to: from, from: pid)
        return true
    }

    /// Handles `message` while the console waits at its prompt (`IO.puts` from a process the
    /// session started, say): output is answered at once, so no process on the node waits on
    /// the operator, and its text is shown above the prompt when the input can draw there, else
    /// held until ``resumeAfterPrompt()``; a read waits for it (the prompt has the terminal).
    /// True when `message` was an I/O request.
    func handleAtPrompt(_ message: Term) async -> Bool {
        if Self.isLogEvent(message), let line = await logLine(message) {
            holdingOutput = true
            defer { holdingOutput = false }
            writeLog(line)
            return true
        }
        guard case .tuple(let t) = message, t.count == 4, t[0] == .atom("io_request") else { return false }
        if Self.reads(t[3]) {
            deferredReads.append(message)
        } else {
            await answerHoldingOutput(message)
        }
        return true
    }

    /// Answers a request that does not read while the operator has the terminal: its text is
    /// shown above the prompt being edited, or held.
    private func answerHoldingOutput(_ message: Term) async {
        holdingOutput = true
        defer { holdingOutput = false }
        await handle(message)
    }

    /// Shows the output held while at the prompt; with `answeringReads`, also answers the reads
    /// that waited (before the next evaluation, in the order they came).
    func resumeAfterPrompt(answeringReads: Bool) async {
        writeHeldOutput()
        guard answeringReads else { return }
        let waiting = deferredReads
        deferredReads = []
        for message in waiting { await handle(message) }
    }

    private func writeHeldOutput() {
        if !heldOutput.isEmpty {
            output.write(heldOutput)
            heldOutput = ""
        }
        if droppedOutput > 0 {
            output.write("** beamsh: \(droppedOutput) more bytes of output arrived while at the prompt and were dropped\n")
            droppedOutput = 0
        }
    }

    /// The question the Erlang shell's pager (`c:i/0` and friends) asks before each page.
    static let pagerQuestion = "more (y/n)? (y) "

    /// Whether `request` reads input (alone or within `{requests, [...]}`).
    static func reads(_ request: Term) -> Bool {
        let r = request.tupleElements ?? []
        switch r.first?.atomValue?.name ?? "" {
        case "get_line", "get_chars", "get_until", "get_password": return true
        case "requests": return (r.count == 2 ? r[1].listElements ?? [] : []).contains(where: reads)
        default: return false
        }
    }

    // MARK: - Requests

    /// The reply to one request.
    func answer(_ request: Term) async -> Term {
        let r = request.tupleElements ?? []
        let name = r.first?.atomValue?.name ?? request.atomValue?.name ?? ""
        switch (name, r.count) {
        case ("put_chars", 3):
            guard let enc = IOEncoding(r[1]) else { return Self.requestError }
            return putChars(r[2], encoding: enc)
        case ("put_chars", 2):
            return putChars(r[1], encoding: .latin1)
        case ("put_chars", 5):
            guard let enc = IOEncoding(r[1]) else { return Self.requestError }
            return await putChars(module: r[2], function: r[3], arguments: r[4], encoding: enc)
        case ("put_chars", 4):
            return await putChars(module: r[1], function: r[2], arguments: r[3], encoding: .latin1)
        case ("get_line", 3):
            guard let enc = IOEncoding(r[1]) else { return Self.requestError }
            return await getLine(prompt: r[2], encoding: enc)
        case ("get_line", 2):
            return await getLine(prompt: r[1], encoding: .latin1)
        case ("get_chars", 4):
            guard let enc = IOEncoding(r[1]), let n = r[3].intValue else { return Self.requestError }
            return await getChars(prompt: r[2], count: n, encoding: enc)
        case ("get_chars", 3):
            guard let n = r[2].intValue else { return Self.requestError }
            return await getChars(prompt: r[1], count: n, encoding: .latin1)
        case ("get_until", 6):
            guard let enc = IOEncoding(r[1]) else { return Self.requestError }
            return await getUntil(prompt: r[2], module: r[3], function: r[4], extra: r[5], encoding: enc)
        case ("get_until", 5):
            return await getUntil(prompt: r[1], module: r[2], function: r[3], extra: r[4], encoding: .latin1)
        case ("get_password", 2):
            guard let enc = IOEncoding(r[1]) else { return Self.requestError }
            return await getLine(prompt: .emptyList, encoding: enc)
        case ("get_geometry", 2):
            let g = geometry()
            switch r[1].atomValue?.name {
            case "columns": return .integer(g.columns)
            // No rows when nobody can answer a pager (`--eval`, scripts): `c:h/1` prints all.
            case "rows": return g.rows > 0 ? .integer(g.rows) : .tuple([.atom("error"), .atom("enotsup")])
            default: return Self.requestError
            }
        case ("setopts", 2):
            return setOptions(r[1])
        case ("getopts", _):
            return [.tuple([.atom("binary"), binaryMode ? .true : .false]),
                    .tuple([.atom("encoding"), .atom("unicode")])]
        case ("requests", 2):
            var last: Term = .ok
            for sub in r[1].listElements ?? [] {
                last = await answer(sub)
                if last.isTagged(.error) { break }
            }
            return last
        default:
            return Self.requestError
        }
    }

    static let requestError: Term = .tuple([.atom("error"), .atom("request")])

    // MARK: - Log events

    /// OTP's logger sends a log event whose group leader is on another node to that node's
    /// `logger_proxy` (`{log, Level, Format, Args, Meta}` or `{log, Level, StringOrReport, Meta}`):
    /// a `Logger.error` or a crash report from a process the session started comes to beamsh,
    /// which holds that name, as it comes to the node running `iex --remsh` or `erl -remsh`.
    /// The node formats it (`logger_formatter`, which also runs a report's own callback), and
    /// the line is written as IEx's console backend writes one by default
    /// (`"\n$time $metadata[$level] $message\n"`, no metadata); empty for an event not shown. nil
    /// when `message` is no log event.
    /// A quick look, before ``logLine(_:)`` takes the message apart: every I/O request passes
    /// here, and the output path should not copy each one's elements or suspend for it.
    static func isLogEvent(_ message: Term) -> Bool {
        guard case .tuple(let t) = message, t.count == 4 || t.count == 5 else { return false }
        return t[0] == .atom("log")
    }

    func logLine(_ message: Term) async -> String? {
        guard let t = message.tupleElements, t.first == .atom("log"), t.count == 4 || t.count == 5,
              let level = t[1].atomValue, case .map(let meta) = t[t.count - 1]
        else { return nil }
        // An Elixir node's Logger leaves out OTP's SASL reports (a proc_lib crash report
        // repeats what the process's own report said) unless configured otherwise, as IEx shows.
        if binaryMode, let domain = meta.first(where: { $0.key == .atom("domain") })?.value.listElements,
           domain.starts(with: [.atom("otp"), .atom("sasl")]) {
            return ""
        }
        let body: Term
        if t.count == 5 {
            body = .tuple([t[2], t[3]])
        } else if case .map = t[2] {
            body = .tuple([.atom("report"), t[2]])
        } else if let pairs = t[2].listElements, !pairs.isEmpty, pairs.allSatisfy({ $0.tupleElements?.count == 2 }) {
            body = .tuple([.atom("report"), t[2]])
        } else {
            body = .tuple([.atom("string"), t[2]])
        }
        let event: Term = .map(TermMap([(key: .atom("level"), value: .atom(level)), (key: .atom("msg"), value: body),
                                         (key: .atom("meta"), value: .map(meta))]))
        let config: Term = .map(TermMap([(key: .atom("single_line"), value: .false), (key: .atom("template"), value: [.atom("msg")])]))
        var text: String?
        var note: String?
        if case .tuple(let b) = body, b[0] == .atom("string"), let plain = Chardata.string(b[1], encoding: .unicode) {
            // A plain message (`Logger.error("...")`): logger_formatter would return it as it is.
            text = plain
        } else if let reason = nodeFormattingSkipped() {
            text = Self.unformattedLogText(body)
            note = reason
        } else {
            do {
                text = try await elixirTranslation(level: level, message: t.count == 5 ? .tuple([t[2], t[3]]) : t[2], isFormat: t.count == 5)
                if text == nil {
                    let formatted = try await connection.rpc("logger_formatter", "format", [event, config], timeout: Self.logFormattingTimeout)
                    text = Chardata.string(formatted, encoding: .unicode) ?? "\(formatted)"
                }
            } catch let error as DistributionError where error.isCallTimeout {
                // The node's rex is stuck or buried: asking again for every event would hold
                // up the session (and its evaluation's answer) for seconds each.
                logFormattingPausedUntil = ContinuousClock.now + Self.logFormattingPause
                note = "the node did not format a log event within \(Human.seconds(Self.logFormattingTimeout)): its rpc server (rex) "
                    + "does not answer; log events are shown unformatted for the next \(Human.seconds(Self.logFormattingPause))"
                text = Self.unformattedLogText(body)
            } catch {
                text = "(a log event the node could not format: \(error)) " + Self.unformattedLogText(body)
            }
        }
        let time = meta.first(where: { $0.key == .atom("time") })?.value.intValue.map(Self.clockTime) ?? ""
        let name = level.name == "warning" ? "warning" : level.name
        let line = "\(time)[\(name)] \(text ?? "")"
        let color: String? = switch level.name {
        case "debug": "\u{1B}[36m"
        case "warning": "\u{1B}[33m"
        case "error", "critical", "alert", "emergency": IEXColors.error
        default: nil
        }
        // A note on how events are shown goes before the first event it is about.
        let noted = note.map { "\n(\($0))" } ?? ""
        guard logColors, let color else { return noted + "\n" + line + "\n" }
        return noted + "\n" + color + line + IEXColors.reset + "\n"
    }

    /// How long the node may take to format one log event (through `rex`).
    static let logFormattingTimeout: Duration = .seconds(2)
    /// After the node failed to format an event in time, events are shown unformatted this long.
    static let logFormattingPause: Duration = .seconds(30)
    /// With more signals than this waiting behind a log event, events are shown unformatted
    /// until the queue is short again: a process of the session that logs in a loop would
    /// otherwise put a round trip per event between the evaluation and its answer.
    static let logBacklogLimit = 64
    private var logFormattingPausedUntil: ContinuousClock.Instant?
    private var logBacklogNoted = false

    /// nil when the node is to format the event. Otherwise the event is shown unformatted,
    /// with a note the first time in a row (`.some(nil)` when no note is due).
    private func nodeFormattingSkipped() -> String?? {
        if let until = logFormattingPausedUntil {
            if ContinuousClock.now < until { return .some(nil) }
            logFormattingPausedUntil = nil
        }
        let waiting = mailbox.queuedCount
        guard waiting > Self.logBacklogLimit else {
            logBacklogNoted = false
            return nil
        }
        defer { logBacklogNoted = true }
        return .some(logBacklogNoted ? nil
            : "\(waiting) messages wait behind this log event: log events are shown unformatted until they catch up")
    }

    /// An event as it came, when the node cannot format it: `io_lib:format`'s plain cases
    /// formatted here, else the format and its arguments (or the report) in Erlang syntax.
    static func unformattedLogText(_ body: Term) -> String {
        guard case .tuple(let b) = body, b.count == 2 else { return ErlangFormatter().format(body) }
        if b[0] == .atom("report") { return ErlangFormatter().format(b[1]) }
        if b[0] == .atom("string") { return Chardata.string(b[1]) ?? ErlangFormatter().format(b[1]) }
        if let text = SimpleFormat.format(b[0], b[1]) { return text }
        return "io_lib:format(\(ErlangFormatter().format(b[0])), \(ErlangFormatter().format(b[1])))"
    }

    /// On an Elixir node, the event as its Logger words it (`Logger.Translator`: a crashed
    /// process is `Process #PID<...> raised an exception` with the exception as IEx prints it):
    /// an Erlang format and its arguments, or a report with a label (`proc_lib` crashes,
    /// `gen_server` ends). nil when the translator has nothing to say or the node has no Elixir.
    private func elixirTranslation(level: Atom, message: Term, isFormat: Bool) async throws -> String? {
        guard binaryMode else { return nil }  // an Erlang console: the node's own words
        let kind: Term
        let translated: Term
        if isFormat {
            (kind, translated) = (.atom("format"), message)
        } else if case .map(let report) = message, let label = report.first(where: { $0.key == .atom("label") })?.value,
                  let data = report.first(where: { $0.key == .atom("report") })?.value {
            (kind, translated) = (.atom("report"), .tuple([label, data]))
        } else {
            return nil
        }
        let reply: Term
        do {
            reply = try await connection.rpc("Elixir.Logger.Translator", "translate",
                                             [.atom("debug"), .atom(level), kind, translated], timeout: Self.logFormattingTimeout)
        } catch let error as DistributionError where error.isCallTimeout {
            throw error
        } catch {
            return nil  // (the translator failed: logger_formatter words it instead)
        }
        guard let parts = reply.tupleElements, parts.count >= 2, parts[0] == .ok  // {ok, Text} or {ok, Text, Metadata}
        else { return nil }
        return Chardata.string(parts[1], encoding: .unicode)
    }

    /// `HH:MM:SS.mmm ` in local time for logger's `time` (microseconds of system time).
    static func clockTime(_ microseconds: Int) -> String {
        var seconds = time_t(microseconds / 1_000_000)
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return "" }
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(Int(parts.tm_hour), 2)):\(padded(Int(parts.tm_min), 2)):\(padded(Int(parts.tm_sec), 2))."
            + "\(padded(microseconds / 1000 % 1000, 3)) "
    }

    private func writeLog(_ line: String) {
        guard !line.isEmpty else { return }
        if let logOutput {
            logOutput.write(line)
        } else {
            _ = put(line)
        }
    }

    private func putChars(_ chars: Term, encoding: IOEncoding) -> Term {
        // Straight to the output, bytes as they arrived, unless the prompt has the terminal.
        if !holdingOutput, let pieces = Chardata.utf8Pieces(chars, encoding: encoding) {
            output.write(utf8: pieces)
            return .ok
        }
        // Not UTF-8 where UTF-8 was announced is an error, as the node's own group leader
        // answers it (`IO.puts(<<0xFF>>)` raises there), not text with replacement characters.
        guard let text = Chardata.string(chars, encoding: encoding, strict: true) else {
            return .tuple([.atom("error"), .atom("put_chars")])
        }
        return put(text)
    }

    private func put(_ text: String) -> Term {
        if !holdingOutput {
            output.write(text)
        } else if heldOutput.isEmpty && droppedOutput == 0 && input.showWhileReading(text) {
            // shown above the prompt at once (a terminal); else held for after the line
        } else if heldOutput.utf8.count + text.utf8.count <= Self.maxHeldOutput {
            heldOutput += text
        } else {
            droppedOutput += text.utf8.count
        }
        return .ok
    }

    private func putChars(module: Term, function: Term, arguments: Term, encoding: IOEncoding) async -> Term {
        guard let m = module.atomValue, let f = function.atomValue, let args = arguments.listElements else {
            return Self.requestError
        }
        // `io:format`'s plain cases are formatted here, saving a round trip to the node.
        if m == "io_lib", f == "format", encoding == .unicode, args.count == 2,
           let formatted = SimpleFormat.format(args[0], args[1]) {
            return put(formatted)
        }
        let text: Term
        do {
            text = try await connection.call(m, f, args)
        } catch {
            return .tuple([.atom("error"), function])
        }
        if text.isTagged("badrpc") { return .tuple([.atom("error"), function]) }
        return putChars(text, encoding: encoding)
    }

    private func setOptions(_ options: Term) -> Term {
        for option in options.listElements ?? [options] {
            switch option {
            case .atom(let a) where a.name == "binary": binaryMode = true
            case .atom(let a) where a.name == "list": binaryMode = false
            case .tuple(let t) where t.count == 2 && t[0] == .atom("binary"):
                binaryMode = t[1] == .true
            default: break  // encoding, echo, expand_fun: accepted, nothing to change here
            }
        }
        return .ok
    }

    // MARK: - Reading

    /// One line from the pending buffer or the console, with its "\n" when it has one (the
    /// last line of piped input may not), or end of input, or `.interrupted`.
    private func nextLine(prompt: Term) async -> InputRead {
        if let line = pending.firstLineLength() { return .data(pending.take(line)) }
        if pendingEOF {
            pendingEOF = false
            return .endOfInput
        }
        let promptText = Chardata.prompt(prompt)
        let result = await readServingOutput(prompt: promptText)
        switch result {
        case .data(let bytes):
            return .data(pending.take(pending.count) + bytes)
        case .endOfInput:
            if !pending.isEmpty {
                pendingEOF = true
                return .data(pending.take(pending.count))
            }
            // OTP 28's shell pager (`i()`, `regs()` past 100 lines) asks again and again at end of
            // input; with nobody to answer, the answer is its default: yes, everything prints.
            if promptText == Self.pagerQuestion { return .data(Array("y\n".utf8)) }
            return .endOfInput
        case .interrupted:
            pending.removeAll()
            return .interrupted
        }
    }

    /// Input typed beyond what the evaluation read is dropped when it ends: a later
    /// evaluation's `IO.gets` (a confirmation question) must not take it unseen. Piped input is
    /// given back to the input: it is data, for the next `--eval`, or for whatever reads the same
    /// input after beamsh (`IO.read(:stdio, 2)` takes a line to count its characters).
    func evaluationEnded() {
        if input.isInteractive { pending.removeAll() } else { input.giveBack(pending.take(pending.count)) }
        pendingEOF = false
    }

    /// Reads a line for a read request, which the evaluation loop waits on. Meanwhile output from
    /// other processes is answered at once, as at the prompt (shown above this read's prompt in a
    /// terminal, else held until the line is in): a process printing while `IO.gets` waits must
    /// not wait on the operator. Anything else arriving (other reads, the evaluation's own
    /// messages) is put back for the evaluation loop, in order.
    /// `bytes`: a counted read of that many bytes (``ConsoleInput/readBytes(prompt:count:)``),
    /// else a line.
    private func readServingOutput(prompt: String, bytes: Int? = nil) async -> InputRead {
        let input = self.input
        let read: @Sendable () -> InputRead = {
            if let bytes { return input.readBytes(prompt: prompt, count: bytes) }
            return input.readInput(prompt: prompt)
        }
        // A file answers at once: read here, with no thread, and nothing to serve meanwhile.
        if input.readsWithoutWaiting, readControl.withLockedValue({ control -> Bool in
            if case .interrupted = control { return false }
            return true
        }) {
            return read()
        }
        input.willPrompt()
        // Ctrl-C may come at any point from here on: before the read starts (it then does not),
        // or while it waits.
        let abandonable = input.readsMayBeAbandoned
        let mayRead = readControl.withLockedValue { control -> Bool in
            if case .interrupted = control { return false }
            if !abandonable { control = .reading({ quietly in quietly ? input.endReadQuietly() : input.interruptRead() }) }
            return true
        }
        guard mayRead else {
            onInterruptedRead?()
            return .interrupted
        }
        let serving = Task { await self.answerOutputUntilCancelled() }
        let result = await readOffThread(ended: InputRead.endOfInput, interrupted: .interrupted, until: connection,
                                         abandon: abandonable ? { [readControl] give in
            let interrupted = readControl.withLockedValue { control -> Bool in
                if case .interrupted = control { return true }
                control = .reading({ _ in give() })
                return false
            }
            if interrupted { give() }
        } : nil, read: read)
        readControl.withLockedValue { control in
            if case .reading = control { control = .allowed }
        }
        serving.cancel()
        mailbox.putBack(await serving.value)
        writeHeldOutput()
        if case .interrupted = result { onInterruptedRead?() }
        return result
    }

    /// Answers output requests from the mailbox until cancelled; returns every other signal taken.
    /// (Runs while the request being answered waits on the operator, so nothing else touches
    /// this server meanwhile.)
    private func answerOutputUntilCancelled() async -> [Signal] {
        var others: [Signal] = []
        while !Task.isCancelled {
            guard let signal = try? await mailbox.receive() else { break }  // cancelled, or the connection is gone
            if case .message(_, let message) = signal, case .tuple(let t) = message, t.count == 4,
               t[0] == .atom("io_request"), !Self.reads(t[3]) {
                await answerHoldingOutput(message)
            } else {
                others.append(signal)
            }
        }
        return others
    }

    private func getLine(prompt: Term, encoding: IOEncoding) async -> Term {
        switch await nextLine(prompt: prompt) {
        case .data(let bytes):
            return Chardata.reply(bytes, binary: binaryMode, encoding: encoding, typed: input.isInteractive)
                ?? .tuple([.atom("error"), .atom("collect_line")])
        case .endOfInput: return .atom("eof")
        case .interrupted: return .tuple([.atom("error"), .atom("interrupted")])
        }
    }

    /// `count` characters (bytes for a `latin1` request, as `file:read/2` and `IO.binread` send).
    private func getChars(prompt: Term, count: Int, encoding: IOEncoding) async -> Term {
        // Counted as they come, not by going over the whole buffer for every line read. Bytes
        // for a `latin1` read of piped input; typed text is characters either way.
        let bytesWanted = encoding == .latin1 && !input.isInteractive
        func available() -> Int { bytesWanted ? pending.count : pending.characters }
        while available() < count && !pendingEOF {
            switch await readServingOutput(prompt: Chardata.prompt(prompt), bytes: bytesWanted ? count - available() : nil) {
            case .data(let bytes): pending.append(bytes)
            case .endOfInput: pendingEOF = true
            case .interrupted:
                pending.removeAll()
                return .tuple([.atom("error"), .atom("interrupted")])
            }
        }
        if pending.isEmpty {
            pendingEOF = false
            return .atom("eof")
        }
        let taken: [UInt8]
        if bytesWanted {
            taken = pending.take(min(count, pending.count))
        } else {
            // Not UTF-8: an error, as the node's own standard input gives, rather than bytes replaced.
            guard let length = pending.utf8Length(ofCharacters: min(count, pending.characters)) else {
                pending.removeAll()
                return .tuple([.atom("error"), .atom("collect_chars")])
            }
            taken = pending.take(length)
        }
        return Chardata.reply(taken, binary: binaryMode, encoding: encoding, typed: input.isInteractive)
            ?? .tuple([.atom("error"), .atom("collect_chars")])
    }

    /// `get_until`: feeds lines to `M:F(Continuation, Chars, Extra...)` on the node until it says
    /// `{done, Result, Rest}`; what `io:read/1` and `io:fread/2` send.
    private func getUntil(prompt: Term, module: Term, function: Term, extra: Term, encoding _: IOEncoding) async -> Term {
        guard let m = module.atomValue, let f = function.atomValue, let extraArgs = extra.listElements else {
            return Self.requestError
        }
        var continuation: Term = .emptyList
        while true {
            let chars: Term
            switch await nextLine(prompt: prompt) {
            case .data(let bytes): chars = .charlist(String(decoding: bytes, as: UTF8.self))
            case .endOfInput: chars = .atom("eof")
            case .interrupted: return .tuple([.atom("error"), .atom("interrupted")])
            }
            let result: Term
            do {
                result = try await connection.call(m, f, [continuation, chars] + extraArgs)
            } catch {
                return .tuple([.atom("error"), .atom("get_until")])
            }
            let parts = result.tupleElements ?? []
            if parts.count == 3, parts[0] == .atom("done") {
                // A rest of `eof` is the end of input this read was just given: used up.
                if let rest = Chardata.string(parts[2]), !rest.isEmpty {
                    pending.prepend(Array(rest.utf8))
                }
                return parts[1]
            }
            if parts.count == 2, parts[0] == .atom("more") {
                continuation = parts[1]
                if chars == .atom("eof") { return .atom("eof") }
                continue
            }
            return .tuple([.atom("error"), .atom("get_until")])
        }
    }
}

/// Input read but not yet consumed, as bytes. What is consumed is cut off at an offset, so a
/// `latin1` `get_chars` taking a large piped file a chunk at a time does not shift the rest for
/// every chunk; characters are counted as bytes arrive (UTF-8 lead bytes; whether they are
/// valid is checked when they are taken).
struct PendingInput {
    private var bytes: [UInt8] = []
    private var start = 0
    /// Characters in the unconsumed bytes.
    private(set) var characters = 0

    var count: Int { bytes.count - start }
    var isEmpty: Bool { start == bytes.count }

    mutating func append(_ more: [UInt8]) {
        bytes += more
        characters += Self.leadBytes(more[...])
    }

    mutating func prepend(_ more: [UInt8]) {
        bytes = more + bytes[start...]
        start = 0
        characters += Self.leadBytes(more[...])
    }

    mutating func removeAll() { (bytes, start, characters) = ([], 0, 0) }

    /// The length of the first line with its "\n", or nil when no whole line is pending.
    func firstLineLength() -> Int? {
        bytes[start...].firstIndex(of: UInt8(ascii: "\n")).map { $0 - start + 1 }
    }

    /// The first `length` bytes, consumed.
    mutating func take(_ length: Int) -> [UInt8] {
        let taken = Array(bytes[start..<(start + length)])
        start += length
        characters -= Self.leadBytes(taken[...])
        if start == bytes.count {
            removeAll()
        } else if start >= 1 << 16, start * 2 >= bytes.count {
            bytes.removeFirst(start)
            start = 0
        }
        return taken
    }

    /// How many bytes the first `n` characters take, or nil when they are not valid UTF-8.
    func utf8Length(ofCharacters n: Int) -> Int? {
        var end = start
        var seen = 0
        while end < bytes.count {
            if bytes[end] & 0xC0 != 0x80 {
                if seen == n { break }
                seen += 1
            }
            end += 1
        }
        return String(validating: bytes[start..<end], as: UTF8.self) == nil ? nil : end - start
    }

    private static func leadBytes(_ slice: ArraySlice<UInt8>) -> Int { slice.reduce(0) { $0 + ($1 & 0xC0 != 0x80 ? 1 : 0) } }
}
