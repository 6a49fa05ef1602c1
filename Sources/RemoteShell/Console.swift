// The interactive console: prompt, continuation lines, evaluation, results, Ctrl-C.

import ErlangDistribution
import ErlangTerm
import NIOConcurrencyHelpers
import NIOCore

/// An interactive console on one node: `iex(app@host)1>` (Elixir) or `(app@host)1>` (Erlang).
///
/// Lines are read from ``ConsoleInput`` until the node's parser finds the expression complete
/// (continuation prompt `...(app@host)1>`), evaluated on the node in a worker process with the
/// session's binding, and the node's own formatting of the result or error is written to
/// ``ConsoleOutput``. `exit`, `:quit` or end of input leave; the remote node keeps running.
public final class Console: @unchecked Sendable {
    let core: ShellCore
    let input: ConsoleInput
    public var language: Language { core.language }
    /// The cookie and ports for `:cluster`, which connects to the other members; without
    /// them `:cluster` says it is unavailable.
    public var clusterOptions: ConnectOptions?
    /// For a console opened with `--dns`: the nodes DNS names, found again at each `:cluster`,
    /// so the mesh check names the ones outside the cluster as `beamsh cluster --dns` does.
    public var clusterDiscovery: (@Sendable () async -> [DiscoveredNode])?

    public static func make(
        connection: NodeConnection, options: ShellOptions, input: ConsoleInput, output: ConsoleOutput
    ) async throws -> Console {
        let language = try await ShellCore.resolveLanguage(options, connection)
        return Console(connection: connection, language: language, options: options, input: input, output: output)
    }

    public init(connection: NodeConnection, language: Language, options: ShellOptions, input: ConsoleInput, output: ConsoleOutput) {
        self.input = input
        core = ShellCore(connection: connection, language: language, options: options, input: input, output: output)
        // The binding stays on the node between lines (see Evaluator).
        core.evaluator.keepsState = true
        core.evaluator.stopsAtFailure = false
    }

    /// The prompt for expression number `counter`.
    public func prompt(counter: Int, continuation: Bool) -> String {
        let node = core.nodeName
        switch (language, continuation) {
        case (.elixir, false): return "iex(\(node))\(counter)> "
        case (.elixir, true): return "...(\(node))\(counter)> "
        case (.erlang, false): return "(\(node))\(counter)> "
        // (The Erlang shell repeats its prompt on a continued line; a marker says the line is
        // not complete yet, which is easy to miss otherwise: an Elixir line typed at an Erlang node.)
        case (.erlang, true): return "...(\(node))\(counter)> "
        }
    }

    /// The names bound in the session (for Tab completion at the prompt).
    public var boundVariables: [String] { core.evaluator.boundNames }

    /// For Tab completion, on the input thread, which it blocks (up to a second): the session's
    /// aliases and the fields of the map in `variable` (through `path`). Nil in Erlang or before
    /// the session holds anything.
    public func sessionContext(variable: String?, path: [String]) -> SessionContext? {
        // No line has said `alias` (or `as:`): the session has no aliases to ask the node for.
        if variable == nil, !mayHaveAliases.withLockedValue({ $0 }) { return SessionContext(fields: nil, aliases: [:]) }
        let evaluator = core.evaluator
        let promise = core.connection.eventLoop.makePromise(of: SessionContext?.self)
        promise.completeWithTask { try await evaluator.sessionContext(variable: variable, path: path, timeout: .seconds(1)) }
        return (try? promise.futureResult.wait()) ?? nil
    }

    /// The functions and macros a bare name may call in this session (what it imports, the
    /// special forms); nil before the session holds anything on the node.
    public func sessionImports() -> [ImportedFunction]? {
        let evaluator = core.evaluator
        let promise = core.connection.eventLoop.makePromise(of: SessionContext?.self)
        promise.completeWithTask { try await evaluator.sessionContext(variable: nil, path: [], timeout: .seconds(1)) }
        return ((try? promise.futureResult.wait()) ?? nil)?.imports
    }

    /// Whether a line of the session may have defined an alias (see ``mayAlias(_:)``).
    private let mayHaveAliases = NIOLockedValueBox(false)

    /// Whether Elixir `code` may define an alias: it says `alias`, or `as:` (`require M, as: N`),
    /// outside strings and comments.
    static func mayAlias(_ code: String) -> Bool {
        let words = SourceScanner.codeOnly(code, language: .elixir).split { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
        return words.contains { $0 == "alias" || $0 == "as:" }
    }

    /// See ``Evaluator/evaluationGeneration``.
    public var evaluationGeneration: Int { core.evaluator.evaluationGeneration }

    /// Whether the operator let a line that stops the node through: a lost connection after it
    /// is the node stopping as asked.
    public var letAStopThrough: Bool { core.stopLetThrough.withLockedValue { $0 } }

    /// Interrupts the evaluation in progress (call it on Ctrl-C): the worker on the node is
    /// killed, the console prints `** (EXIT) interrupted` (in Erlang `** exception exit: killed`)
    /// and prompts again, bindings intact.
    public func interrupt() {
        // A view in progress (`:cluster` waiting on a member that does not answer) is
        // abandoned; otherwise the evaluation is interrupted.
        if let abandon = abandonLocalCommand.withLockedValue({ $0 }) { abandon() } else { core.evaluator.interrupt() }
    }

    /// Set while a local command runs: ends its wait (Ctrl-C).
    private let abandonLocalCommand = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)

    /// The text of `command`, or nil when Ctrl-C abandoned it first. An abandoned command is
    /// cancelled and left to end on its own (a `:top` sampler is stopped on the node, `:cluster`
    /// closes its connections once they answer or time out); its text is dropped.
    func runUnlessInterrupted(_ command: @escaping @Sendable () async -> String) async -> String? {
        let task = Task { await command() }
        let result: String? = await withCheckedContinuation { continuation in
            let claimed = NIOLockedValueBox(false)
            @Sendable func finish(_ text: String?) {
                let first = claimed.withLockedValue { c in
                    defer { c = true }
                    return !c
                }
                if first { continuation.resume(returning: text) }
            }
            // Said first, then cancelled: a cancelled view ends at once with an error text of
            // its own, which must not take the place of "interrupted".
            abandonLocalCommand.withLockedValue { $0 = { finish(nil); task.cancel() } }
            Task { finish(await task.value) }
        }
        abandonLocalCommand.withLockedValue { $0 = nil }
        return result
    }

    /// Runs until the input ends or the user leaves. Throws ``DistributionError`` when the
    /// connection is lost (also while waiting at the prompt).
    public func run() async throws {
        defer { core.close() }
        var counter = 1
        var buffer = ""
        // The expression typed so far, read as its lines come: the stop guard looks at the whole
        // expression once it may be complete (a call split over lines, or after a string that
        // spans them, is still the call), and asks once per expression.
        var open = SourceScanner.OpenExpression(language: language)
        var stopAllowed = false
        func startExpression() {
            buffer = ""
            open = SourceScanner.OpenExpression(language: language)
            stopAllowed = false
        }
        let out = core.output
        while true {
            let prompt = prompt(counter: counter, continuation: !buffer.isEmpty)
            let result: ReadResult, readEnded: ContinuousClock.Instant
            do {
                (result, readEnded) = try await whileWaitingForTheOperator { try await self.readLineOrDisconnect(prompt) }
            } catch {
                out.write("\n")  // the lost connection's message goes under the half-typed line, not after it
                throw error
            }
            // A Ctrl-C from before the line was entered was answered by this prompt; one since
            // is for this line.
            core.evaluator.clearPendingInterrupt(before: readEnded)
            // Ctrl-C sent with the Enter (in one read) interrupts this line, as one a moment later would.
            if case .line = result, input.interruptCameWithLine() { core.evaluator.interrupt() }
            var line: String
            switch result {
            case .endOfInput where !buffer.isEmpty:
                // Ctrl-D on a continuation line: the unfinished expression is dropped, said as
                // IEx says `#iex:break`, and the prompt comes back (Ctrl-D again leaves). Leaving
                // with it silently lost an expression typed over several lines.
                out.write(paint(language == .erlang ? "* incomplete expression dropped (Ctrl-D)"
                                                    : "** (TokenMissingError) iex:\(counter): incomplete expression",
                                IEXColors.error) + "\n")
                startExpression()
                continue
            case .endOfInput: return
            case .interrupted:
                startExpression()
                continue
            case .line(let l): line = l
            }
            if buffer.isEmpty {
                let trimmed = line.trimmedWhitespace
                if trimmed == "exit" || trimmed == ":quit" || (language == .erlang && trimmed == "exit.") { return }
                if trimmed.isEmpty { continue }
                if let command = localCommand(trimmed) {
                    if let text = await runUnlessInterrupted(command) {
                        out.write(text.hasSuffix("\n") ? text : text + "\n")
                    } else {
                        out.write(paint(EvaluationStep.interruptedText(language), IEXColors.interrupt) + "\n")
                    }
                    continue
                }
            }
            if buffer.isEmpty, language == .elixir, line.trimmedWhitespace.hasPrefix("|>") {
                // IEx's pipe shorthand: an input that starts with `|>` pipes the previous result
                // (`v(-1)`); not after a match, where it would be read as piping into the pattern.
                if Self.isMatch(lastInput) {
                    out.write(paint("** (SyntaxError) iex:\(counter):1: pipe shorthand is not allowed immediately after a match "
                        + "expression in IEx. To make it work, surround the whole pipeline with parentheses ('|>')", IEXColors.error) + "\n")
                    continue
                }
                line = "v(-1) " + line
            }
            if !buffer.isEmpty, language == .elixir, line == "#iex:break" {
                // IEx's way out of an expression that will not close: the input so far is dropped.
                // The line exactly, as IEx reads it: indented, it is a heredoc's line or a comment.
                out.write(paint("** (TokenMissingError) iex:\(counter): incomplete expression", IEXColors.error) + "\n")
                startExpression()
                continue
            }
            open.add(line: line)
            let expression = buffer + line + "\n"
            if !stopAllowed, core.stopQuestion(expression) != nil {
                if open.isCertainlyIncomplete {
                    // Asked once the expression may be complete (a stop in a block, when the
                    // block ends); until then the node is not given it, so that a wrong guess
                    // of "incomplete" here cannot let the call run unasked.
                    buffer = expression
                    continue
                }
                let refusal: String?
                do {
                    refusal = try await whileWaitingForTheOperator {
                        try await self.unlessDisconnected { await self.core.stopGuardRefusal(expression) }
                    }
                } catch {
                    out.write("\n")  // under the unanswered question
                    throw error
                }
                if let refusal {
                    out.write(refusal + "\n")
                    startExpression()
                    continue
                }
                stopAllowed = true
            }
            buffer = expression
            if !mayHaveAliases.withLockedValue({ $0 }), language == .elixir, Self.mayAlias(buffer) {
                mayHaveAliases.withLockedValue { $0 = true }
            }
            await core.io.resumeAfterPrompt(answeringReads: true)
            // IEx numbers an input's lines from its prompt's number (`iex:3:`); the Erlang shell
            // from 1 for every input (`* 1:5: syntax error`).
            let step: EvaluationStep
            do {
                step = try await core.evaluate(buffer, line: language == .erlang ? 1 : counter, wantTerm: false,
                                               timeout: core.options.timeout)
            } catch {
                // An `IO.gets` line may be waiting on the operator: its prompt's line ends before
                // the message about the lost connection.
                input.endReadBeforeMessage()
                throw error
            }
            switch step {
            case .incomplete:
                continue
            case .done(let result):
                lastInput = buffer
                if !result.isNotShown {
                    out.write(paint(result.formatted, result.isFailure ? IEXColors.error : IEXColors.result) + "\n")
                }
                // As the shells count: IEx successful expressions, Erlang every expression run.
                switch language {
                case .elixir: if !result.isFailure { counter += 1 }
                case .erlang: counter += core.evaluator.expressionsRun
                }
            case .interrupted:
                out.write(paint(EvaluationStep.interruptedText(language), IEXColors.interrupt) + "\n")
                // The Erlang shell counts a query its Ctrl-G `i` killed, as any that failed.
                if language == .erlang { counter += 1 }
                // The rest of a paste goes with it, as the terminal drops its input on Ctrl-C.
                input.discardTypedAhead()
            case .interruptedUnanswered:
                out.write(paint(EvaluationStep.interruptedUnansweredText(language), IEXColors.interrupt) + "\n")
                input.discardTypedAhead()
            case .timedOut(let d, let silence):
                out.write(paint(EvaluationStep.timedOutText(d, silence: silence), IEXColors.error) + "\n")
            }
            startExpression()
        }
    }

    /// The last input that ran, for IEx's pipe shorthand.
    private var lastInput = ""

    /// Whether Elixir `input` is a match at its top (`x = ...`, `{a, b} = ...`): an `=` outside
    /// brackets and strings that is not part of `==`, `===`, `=~`, `<=`, `>=`, `!=`, `=>`.
    static func isMatch(_ input: String) -> Bool {
        let code = Array(SourceScanner.codeOnly(input, language: .elixir))
        var depth = 0
        for (i, c) in code.enumerated() {
            switch c {
            case "(", "[", "{": depth += 1
            case ")", "]", "}": depth -= 1
            case "=" where depth == 0:
                let before = i > 0 ? code[i - 1] : " "
                let after = i + 1 < code.count ? code[i + 1] : " "
                if !"=<>!~:".contains(before) && !"=~>".contains(after) { return true }
            default: break
            }
        }
        return false
    }

    /// Runs `wait` (reading the prompt's line, asking the stop guard's question) while processes
    /// the session started may write: they are answered at once, and what they wrote shows above
    /// the prompt (in a terminal) or once the operator has answered.
    private func whileWaitingForTheOperator<T>(_ wait: () async throws -> T) async throws -> T {
        let core = self.core
        input.willPrompt()  // before the IO task: nothing it answers waits for the line
        let ioAtPrompt = Task { await core.serveIOAtPrompt() }
        let result: Result<T, Error>
        do {
            result = .success(try await wait())
        } catch {
            result = .failure(error)
        }
        ioAtPrompt.cancel()
        await ioAtPrompt.value
        await core.io.resumeAfterPrompt(answeringReads: false)
        return try result.get()
    }

    /// `text` in `color` when colors are on (Elixir mode: IEx colors; the Erlang shell has none).
    private func paint(_ text: String, _ color: String) -> String {
        guard core.options.colors, language == .elixir, !text.isEmpty else { return text }
        return color + text + IEXColors.reset
    }

    /// The most processes `:top N` lists.
    static let maxTopCount = 1000

    /// `:help`'s text, each description broken between words under its own column where the
    /// terminal is narrower than a line.
    static func help(width: Int) -> String {
        let entries = [
            (":info", "node overview: versions, limits, memory by type, applications"),
            (":top [ORDER] [N]", "the N (default 20) busiest processes; ORDER is memory, reductions (default), message_queue or binary"),
            (":cluster", "mesh check of the node's cluster, with per-node health"),
            ("exit, :quit, Ctrl-D", "leave (the node keeps running)"),
            ("Ctrl-C", "abandons a view that is taking long, as it interrupts an evaluation"),
        ]
        let indent = 22
        return entries.map { name, text in
            let lines = TextTable.wrappingWords(text, width: max(20, width - indent))
            let first = name + String(repeating: " ", count: max(1, indent - name.count)) + lines[0]
            return ([first] + lines.dropFirst().map { String(repeating: " ", count: indent) + $0 }).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// `:help`, `:info`, `:top [memory|reductions|message_queue|binary] [N]` and `:cluster`: views the
    /// console answers itself, so the operator never leaves the session. Nil for other lines.
    func localCommand(_ line: String) -> (@Sendable () async -> String)? {
        let words = line.split(separator: " ").map(String.init)
        guard let command = words.first else { return nil }
        let connection = core.connection
        let columns = core.options.geometry().columns
        func view(_ body: @escaping @Sendable () async throws -> String) -> @Sendable () async -> String {
            return {
                do { return try await body() } catch { return "\(command): \(error)" }
            }
        }
        switch command {
        case ":help":
            return { Self.help(width: columns) }
        case ":info":
            return view { try await ClusterViews.info(connection: connection) }
        case ":top":
            // ORDER and N in either order, each at most once.
            var order: TopOrder?
            var count: Int?
            for word in words.dropFirst() {
                if let n = Int(word), n >= 1, n <= Self.maxTopCount, count == nil {
                    count = n
                } else if let o = TopOrder(rawValue: word), order == nil {
                    order = o
                } else {
                    return { "usage: :top [memory|reductions|message_queue|binary] [N], N from 1 to \(Self.maxTopCount)" }
                }
            }
            return view { [order, count] in
                try await ClusterViews.top(connection: connection, by: order ?? .reductions, count: count ?? 20, width: columns)
            }
        case ":cluster":
            guard let options = clusterOptions else { return { ":cluster is not available in this session" } }
            let discovery = clusterDiscovery
            return view {
                await ClusterViews.cluster(connection: connection, options: options, discovered: await discovery?() ?? [], width: columns)
            }
        default:
            return nil
        }
    }

    /// What `body` returns (it may wait for the operator: the stop guard's question), unless the
    /// connection is lost first, which ends the wait at once with the connection's error.
    private func unlessDisconnected<T: Sendable>(_ body: @escaping @Sendable () async -> T) async throws -> T {
        let connection = core.connection
        let claimed = NIOLockedValueBox(false)
        @Sendable func claim() -> Bool {
            claimed.withLockedValue { c in
                defer { c = true }
                return !c
            }
        }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            connection.closeFuture.whenSuccess { error in
                if claim() { continuation.resume(throwing: error) }
            }
            Task {
                let result = await body()
                if claim() { continuation.resume(returning: result) }
            }
        }
    }

    /// Reads a line on a thread of its own; the connection's loss ends the wait at once.
    /// The line and when the read ended: when a line editor gave Ctrl-C back to the terminal,
    /// else when the read returned, taken on the reading thread (not when this task resumes:
    /// a Ctrl-C a moment after Enter must not count as one from before the line).
    private func readLineOrDisconnect(_ prompt: String) async throws -> (ReadResult, ContinuousClock.Instant) {
        let input = self.input
        return try await unlessDisconnected {
            await onOwnThread {
                let result = input.readLine(prompt: prompt)
                let returned = ContinuousClock.now
                return (result, input.lineReadEndedAt.map { min($0, returned) } ?? returned)
            }
        }
    }
}
