// What the interactive console and the one-shot modes share: one local pid that is both the
// I/O server (group leader of every evaluation) and where results come back, the evaluator
// with its binding, and the checks made here before anything reaches the node.

import ErlangDistribution
import ErlangTerm
import NIOCore
import NIOConcurrencyHelpers

/// What to do with a line that would stop the remote node (`System.halt`, `:init.stop`, `q()`...).
public enum StopGuard: Sendable {
    /// Evaluate it (`--yes`).
    case allow
    /// Refuse it with a message (non-interactive without `--yes`).
    case refuse
    /// Ask: the callback gets the question (naming the node) and answers true to go ahead.
    case ask(@Sendable (String) async -> Bool)
}

/// Settings shared by the console and the one-shot evaluator.
public struct ShellOptions: Sendable {
    /// The syntax; nil picks Elixir when the node has Elixir, else Erlang.
    public var language: Language?
    /// Only the core commands and the read-only allow-list (``CoreCommands/readOnlyAllowList``).
    public var readOnly = false
    public var stopGuard: StopGuard
    /// Per evaluation; nil waits as long as it takes (interactive default).
    public var timeout: Duration?
    /// The terminal size told to the node; asked again before each evaluation.
    public var geometry: @Sendable () -> TerminalGeometry = { .default }
    /// IEx's colors in the interactive console (results yellow with IEx's syntax colors,
    /// errors red); set when stdout is a terminal and `NO_COLOR` is unset.
    public var colors = false
    /// How long a Ctrl-C waits for the node to confirm its worker's kill before the prompt comes
    /// back anyway (reported as not confirmed): a frozen node cannot hold the console.
    public var interruptWait: Duration = .seconds(1)
    /// Where log lines go that the node's logger forwards from the session's processes
    /// (`Logger.error`, crash reports); nil: with the rest of the output, as in IEx.
    public var logOutput: ConsoleOutput?

    public init(language: Language? = nil, readOnly: Bool = false, stopGuard: StopGuard = .refuse, timeout: Duration? = nil) {
        self.language = language
        self.readOnly = readOnly
        self.stopGuard = stopGuard
        self.timeout = timeout
    }
}

/// Whether the node runs Elixir (its `Elixir.Code` module is on the code path). Loads nothing.
public func nodeHasElixir(_ connection: NodeConnection, timeout: Duration = .seconds(10)) async throws -> Bool {
    let path = try await connection.callWithoutRex("code", "which", [.atom("Elixir.Code")], timeout: timeout,
                                                   purpose: "to see whether it runs Elixir")
    return path != .atom("non_existing")
}

extension NodeConnection {
    /// `module:function(arguments...)` run on the node in a process of beamsh's own (spawned, as
    /// an evaluation's worker is: `erl_eval:expr/3` over the call's abstract forms, nothing
    /// loaded), not through `rex`: it answers while the node's rpc server is blocked or buried in
    /// calls, which is when an operator needs a console most. A call that raises returns what
    /// `catch` makes of it (`{'EXIT', Reason}`). Throws `remoteCallFailed` when no answer comes in time.
    public func callWithoutRex(_ module: Atom, _ function: Atom, _ arguments: [Term], timeout: Duration,
                               purpose: String) async throws -> Term {
        let mailbox = makeMailbox()
        defer { mailbox.close() }
        let tag = makeReference()
        var builder = CoreFormBuilder()
        let call = CoreFormBuilder.call(module, function, arguments.map { builder.variable($0) })
        let replyTo = builder.variable(.pid(mailbox.pid))
        let message: Term = .tuple([.atom("tuple"), 1, [builder.variable(.reference(tag)), .tuple([.atom("catch"), 1, call])]])
        let form: Term = .tuple([.atom("op"), 1, .atom("!"), replyTo, message])
        let request = try requestSpawn("erl_eval", "expr", [form, builder.bindings, .atom("none")],
                                       parent: mailbox.pid, groupLeader: mailbox.pid, options: [.link])
        var worker: Pid?
        defer { if let worker { try? exit(worker, reason: .atom("kill"), from: mailbox.pid) } }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let left = deadline - clock.now
            guard left > .zero, let signal = try await mailbox.receive(timeout: left) else {
                if let stalled = stalledError(waitingFor: "\(module):\(function)/\(arguments.count) ran") { throw stalled }
                throw DistributionError(.remoteCallFailed, "\(peer.name) took the connection but did not answer beamsh's call within "
                    + "\(Human.seconds(timeout)) (\(module):\(function)/\(arguments.count), \(purpose)): the node is overloaded",
                    reason: .atom("timeout"))
            }
            switch signal {
            case .spawnReply(let id, .pid(let pid)) where id == request: worker = pid
            case .spawnReply(let id, let refused) where id == request:
                throw DistributionError(.remoteCallFailed, "\(peer.name) refused to start a process (\(purpose))", reason: refused)
            case .message(_, let reply):
                guard let t = reply.tupleElements, t.count == 2, t[0] == .reference(tag) else { continue }
                worker = nil  // done
                return t[1]
            case .exit(let from, let reason) where from == worker:
                throw DistributionError(.remoteCallFailed, "\(module):\(function)/\(arguments.count) failed on \(peer.name)", reason: reason)
            default: continue
            }
        }
    }
}

extension NodeConnection {
    /// ``rpc(_:_:_:groupLeader:timeout:)`` for a call beamsh makes for itself, not one the
    /// operator asked for: no answer in time is said as what it means to the operator (the node
    /// took the connection but its rpc server does not answer), the call named only in passing.
    /// - parameter advice: what still works without rex, added to the message.
    func rpcOfOurs(
        _ module: Atom, _ function: Atom, _ arguments: [Term], timeout: Duration, purpose: String, advice: String? = nil
    ) async throws -> Term {
        do {
            return try await rpc(module, function, arguments, timeout: timeout)
        } catch let error as DistributionError where error.isCallTimeout {
            throw DistributionError(.remoteCallFailed, "\(peer.name) took the connection but did not answer beamsh's call within "
                + "\(Human.seconds(timeout)) (\(module):\(function)/\(arguments.count), \(purpose)): its rpc server (rex) is "
                + "blocked or the node is overloaded" + (advice.map { "; \($0)" } ?? ""), reason: error.reason)
        }
    }
}

final class ShellCore: @unchecked Sendable {
    let connection: NodeConnection
    let language: Language
    let options: ShellOptions
    let mailbox: Mailbox
    let io: IOServer
    let evaluator: Evaluator
    let output: ConsoleOutput

    init(connection: NodeConnection, language: Language, options: ShellOptions, input: ConsoleInput, output: ConsoleOutput) {
        self.connection = connection
        self.language = language
        self.options = options
        self.output = output
        // Registered as `logger_proxy`, the name OTP's logger forwards a remote group leader's
        // log events to (see ``IOServer/logLine(_:)``).
        mailbox = connection.makeMailbox(registeredAs: Atom("logger_proxy"))
        io = IOServer(mailbox: mailbox, connection: connection, input: input, output: output,
                      geometry: options.geometry, binaryMode: language == .elixir)
        io.logOutput = options.logOutput
        io.logColors = options.colors
        evaluator = Evaluator(
            connection: connection, language: language, io: io, mailbox: mailbox, interruptWait: options.interruptWait)
        io.onInterruptedRead = { [evaluator] in evaluator.interruptRunning() }
        evaluator.syntaxColors = options.colors ? IEXColors.syntaxColors : .emptyList
    }

    static func resolveLanguage(_ options: ShellOptions, _ connection: NodeConnection) async throws -> Language {
        if let language = options.language { return language }
        // A quick question: a node that cannot answer it in 10 s is not going to run a console;
        // a shorter --timeout bounds it too.
        return try await nodeHasElixir(connection, timeout: min(options.timeout ?? .seconds(10), .seconds(10))) ? .elixir : .erlang
    }

    var nodeName: String { connection.peer.name }

    /// Serves I/O requests while the console waits at its prompt, until cancelled (see
    /// ``IOServer/handleAtPrompt(_:)``). Anything else arriving meanwhile is a previous
    /// evaluation's leftover (a late reply, a worker's end) and is dropped, as the evaluation
    /// loop would drop it.
    func serveIOAtPrompt() async {
        while !Task.isCancelled {
            guard let signal = try? await evaluator.mailbox.receive() else { return }
            if case .message(_, let message) = signal {
                _ = await io.handleAtPrompt(message)
            } else {
                evaluator.disposeOfLeftover(signal)
            }
        }
    }

    /// The question the stop guard asks, or nil when `line` stops nothing.
    func stopQuestion(_ line: String) -> (call: String, question: String)? {
        guard let call = FootgunGuard.dangerousCall(in: line, language: language) else { return nil }
        return (call, "\(call) stops the remote node \(nodeName), not this console. Evaluate it? [y/N] ")
    }

    /// nil when `code` may run; else the refusal to show.
    func stopGuardRefusal(_ code: String) async -> String? {
        // Read-only refuses every stop itself, and its message is the one that applies (--yes
        // would not change it).
        if options.readOnly { return nil }
        guard let (call, question) = stopQuestion(code) else { return nil }
        switch options.stopGuard {
        case .allow:
            stopLetThrough.withLockedValue { $0 = true }
            return nil
        case .refuse: return "** not evaluated: \(call) would stop the remote node \(nodeName) (pass --yes to allow it)"
        case .ask(let confirm):
            guard await confirm(question) else { return "** not evaluated: \(call) (the node \(nodeName) keeps running)" }
            stopLetThrough.withLockedValue { $0 = true }
            return nil
        }
    }

    /// Whether a line that stops the node was let through (`--yes`, or the operator said yes):
    /// the connection closing afterwards is then what was asked for, not a failure.
    let stopLetThrough = NIOLockedValueBox(false)

    /// Why a documentation lookup may not run in read-only mode: it may only read. `h` loads a
    /// module that is not loaded yet (which runs its `@on_load`), and the names it is given
    /// become atoms on the node. Asked with BIFs that change nothing: an atom that does not
    /// exist is not made to, and a module that is not loaded is not loaded.
    private func documentationRefusal(_ lookup: CoreCommands.DocumentationLookup, timeout: Duration?) async -> String? {
        let wait = min(timeout ?? .seconds(10), .seconds(10))
        func exists(_ name: String) async -> Bool {
            (try? await connection.rpc("erlang", "binary_to_existing_atom", [.binary(Binary(Array(name.utf8))), .atom("utf8")],
                                       timeout: wait)) != nil
        }
        guard let module = lookup.module else { return nil }
        let shown = module.hasPrefix("Elixir.") ? String(module.dropFirst(7)) : ":" + module
        guard await exists(module),
              (try? await connection.rpc("erlang", "module_loaded", [.atom(Atom(module))], timeout: wait)) == .atom(.true) else {
            return "\(shown) is not loaded on the node (or does not exist), and h would load it, which runs its @on_load"
        }
        if let function = lookup.function, !(await exists(function)) {
            return "\(shown) has no function \(function) (h would add the name to the node's atoms)"
        }
        return nil
    }

    /// Evaluates one chunk of input: read-only check, core commands on Erlang-only nodes,
    /// pasted pid literals, then the node's own evaluator. With `wholeInput` nothing can follow
    /// the code (an `--eval` argument): Erlang code gets the full stop it may lack.
    func evaluate(_ code: String, line: Int, wantTerm: Bool, timeout: Duration?, wholeInput: Bool = false) async throws -> EvaluationStep {
        let step = try await evaluateCounted(code, line: line, wantTerm: wantTerm, timeout: timeout, wholeInput: wholeInput)
        // The Erlang shell numbers queries by the expressions run (its prompt), whoever ran them.
        if case .done = step { evaluator.queriesRun += evaluator.expressionsRun }
        return step
    }

    private func evaluateCounted(_ code: String, line: Int, wantTerm: Bool, timeout: Duration?, wholeInput: Bool) async throws -> EvaluationStep {
        if options.readOnly, language == .elixir, let lookup = CoreCommands.documentationLookup(code) {
            if let refusal = await documentationRefusal(lookup, timeout: timeout) {
                evaluator.expressionsRun = 0
                return .done(.failure(formatted: "** read-only: \(refusal); not evaluated"))
            }
        } else if options.readOnly {
            let trimmed = code.trimmedWhitespace
            let syntax = CoreCommands.syntax(of: trimmed, on: language)
            if let refusal = CoreCommands.readOnlyRefusal(trimmed, language: syntax) {
                evaluator.expressionsRun = 0
                return .done(.failure(formatted: "** " + refusal))
            }
            guard let expression = CoreCommands.parse(trimmed, language: syntax) else { return .incomplete }
            evaluator.expressionsRun = 1
            return .done(try await runCore(expression, wantTerm: wantTerm, timeout: timeout))
        }
        if language == .erlang, let refused = ErlangShellCommand(code: SourceScanner.codeOnly(code, language: .erlang)) {
            // Said before the node's parser reads it as something else (`-record(...)` as a
            // subtraction, a definition as a syntax error at `->`).
            evaluator.expressionsRun = 0
            return .done(.failure(formatted: refused.refusal))
        }
        if language == .erlang, let step = try await evaluateElixirCoreInErlangMode(code, wantTerm: wantTerm, timeout: timeout) {
            return step
        }
        if language == .erlang, let call = SourceScanner.elixirRemoteCall(inErlang: code) {
            // An Elixir call in Erlang mode: said at once, rather than a syntax error (or, at
            // the prompt, a continuation prompt waiting for a full stop that would not help).
            evaluator.expressionsRun = 0
            let erlangForm = "\(call.module):\(ErlangFormatter().format(.atom(Atom(call.function))))(...)"
            // A core command in a pipe (`Process.list() |> length()`): the pipe is what only Elixir reads.
            let piped = Evaluator.mentions(SourceScanner.codeOnly(code, language: .elixir), "|>")
            return .done(.failure(formatted: options.language == .erlang
                ? "** Erlang mode (--erlang): \(call.alias).\(call.function)(...) is Elixir syntax; in Erlang it is \(erlangForm)"
                : piped
                ? "** \(nodeName) runs Erlang only (no Elixir): the Elixir-syntax core commands work there, alone or nested as "
                    + "arguments (length(Process.list())), but pipes (|>), operators and variables need Elixir on the node"
                : "** \(call.alias).\(call.function)(...) is Elixir syntax, and \(nodeName) runs Erlang only (no Elixir): write "
                    + "Erlang calls (lists:seq(1, 3)); the Elixir-syntax core commands (Node.list(), Process.info(pid), ...) work too"))
        }
        // The whole input at once: a pid in a string that spans lines is text, not a literal.
        var rewritten = SourceScanner.rewritePidLiterals(code, language: language)
        if wholeInput, language == .elixir, rewritten.trimmedWhitespace.isEmpty {
            // An empty line shows nothing at IEx's prompt either (a comment shows `nil` there, as here).
            evaluator.expressionsRun = 0
            return .done(.notShown)
        }
        var fullStopAdded = false
        if wholeInput, language == .erlang {
            if Self.erlangEnding(of: rewritten) == .empty {
                evaluator.expressionsRun = 0
                return .done(.notShown)
            }
            let ended = Self.withFullStop(rewritten)
            fullStopAdded = ended != rewritten
            rewritten = ended
        }
        let step = try await evaluator.evaluate(rewritten, line: line, wantTerm: wantTerm, timeout: timeout)
        // `{a,` (in --eval, or a script's last lines): the error is at the full stop beamsh added,
        // which the user never typed; it says what they did type was incomplete.
        if fullStopAdded, case .done(.failure(let text)) = step, text.hasPrefix("* "), text.hasSuffix(": syntax error before: '.'") {
            return .done(.failure(formatted: String(text.dropLast(": syntax error before: '.'".count)) + ": incomplete expression"))
        }
        return step
    }

    /// A line that is not Erlang but an Elixir core command (`Node.list()`, `Process.info(pid)`,
    /// `:erlang.memory()` ...), run as BIF calls through rex: core commands work in Elixir syntax
    /// on every node. Only calls on the read-only allow-list run this way: they are quick reads,
    /// while anything else (`:timer.sleep(...)`, `:init.stop()`) would bypass what the worker
    /// gives an evaluation (Ctrl-C, the timeout's kill) and the Erlang stop guard. nil when
    /// `code` is Erlang or not a core command.
    private func evaluateElixirCoreInErlangMode(_ code: String, wantTerm: Bool, timeout: Duration?) async throws -> EvaluationStep? {
        var trimmed = code.trimmedWhitespace
        // Erlang hands end every line with a full stop: `Node.list().` is the core command too.
        if trimmed.hasSuffix("."), !trimmed.hasSuffix(".."), CoreCommands.parse(trimmed, language: .erlang) == nil {
            trimmed = String(trimmed.dropLast()).trimmedWhitespace
        }
        guard CoreCommands.syntax(of: trimmed, on: .erlang) == .elixir,
              let expression = CoreCommands.parse(trimmed, language: .elixir, modulesAsAtoms: false)
        else { return nil }
        // Only quick reads run this way: calls on the read-only allow-list, and not the two that
        // copy unbounded state (they could run for long, out of reach of Ctrl-C).
        if let ((m, f, a), _) = CoreCommands.readOnlyObjection(in: expression) {
            evaluator.expressionsRun = 0
            // As Erlang writes the names: 'Elixir.Enum':count(...), with quotes where needed.
            let (module, function) = (ErlangFormatter().format(.atom(m)), ErlangFormatter().format(.atom(f)))
            return .done(.failure(formatted: "** Erlang mode: Elixir syntax runs only the core commands (Node.list(), "
                + "Process.info(pid), :erlang.memory(), ...); write \(module):\(function)/\(a) in Erlang syntax, as \(module):\(function)(...)."))
        }
        evaluator.expressionsRun = 1
        return .done(try await runCore(expression, wantTerm: wantTerm, timeout: timeout))
    }

    /// Erlang `source` ending in a full stop: one is put right after the last code character
    /// when it lacks one (before a trailing `% comment`, on the same line, so the node's messages
    /// keep their line numbers).
    static func withFullStop(_ source: String) -> String {
        guard case .open(let end) = erlangEnding(of: source) else { return source }
        var characters = Array(source)
        characters.insert(".", at: end)
        return String(characters)
    }

    enum ErlangEnding: Equatable {
        case empty, fullStop
        /// Still open; `end` is the offset (in characters) just after its last code character.
        case open(end: Int)
    }

    /// How Erlang source ends, strings and comments aside: nothing but comments and white
    /// space, a full stop, or an expression still open (`$.` is a character, not a full stop).
    static func erlangEnding(of source: String) -> ErlangEnding {
        let code = Array(source.split(separator: "\n", omittingEmptySubsequences: false)
            .map { SourceScanner.codeOnly(String($0), language: .erlang) }.joined(separator: "\n"))
        guard let last = code.lastIndex(where: { !$0.isWhitespace }) else { return .empty }
        return code[last] == "." ? .fullStop : .open(end: last + 1)
    }

    /// A lone read-only core command in Elixir syntax (`Node.list()`, `Process.info(pid)`,
    /// `:erlang.memory()`...) run through rex without the evaluator, its value printed by the node
    /// as the evaluator prints it; nil when `code` is anything else, or when a call fails: the
    /// evaluator then runs the line again (it only reads) and reports the exception as IEx does.
    func evaluateReadOnlyCore(_ code: String, wantTerm: Bool, timeout: Duration?) async throws -> EvaluationResult? {
        // (A session's `alias` may give a module name another meaning: the evaluator reads those.)
        guard let expression = CoreCommands.readOnlyExpression(code, language: .elixir, modulesAsAtoms: false) else { return nil }
        do {
            if !wantTerm {
                return .value(formatted: try await awaitDistribution(CoreCommands.submitPrinted(
                    expression, printer: corePrinter, on: connection, timeout: timeout ?? .seconds(3600))), term: nil)
            }
            let value = try await CoreCommands.evaluate(expression, on: connection, timeout: timeout ?? .seconds(3600))
            return .value(formatted: try await formatTerm(value, pretty: true), term: value)
        } catch let error as DistributionError where error.kind == .remoteCallFailed && !error.isCallTimeout {
            return nil
        }
    }

    /// A core command as BIF calls through rex, printed by the node.
    private func runCore(_ expression: CoreExpression, wantTerm: Bool, timeout: Duration?) async throws -> EvaluationResult {
        let value: Term
        do {
            if !wantTerm {
                return .value(formatted: try await awaitDistribution(CoreCommands.submitPrinted(
                    expression, printer: corePrinter, on: connection, timeout: timeout ?? .seconds(3600))), term: nil)
            }
            value = try await CoreCommands.evaluate(expression, on: connection, timeout: timeout ?? .seconds(3600))
        } catch let error as DistributionError where error.kind == .remoteCallFailed {
            // Said as the node's shell says an exception (IEx's `** (ArgumentError) ...`, the
            // Erlang shell's `** exception error: bad argument`), not as the raw
            // `{badrpc, {'EXIT', ...}}` term. Our own timeout (no reply) is said as it is.
            guard let reason = error.reason, !error.isCallTimeout else { return .failure(formatted: "** " + error.description) }
            var printOptions = ErlangFormatter.Options()
            printOptions.localNode = connection.peerNodeAtom
            printOptions.unicode = true
            let text = try await BadRPC.describe(reason, on: connection, printer: ErlangFormatter(options: printOptions),
                                                 elixir: language == .elixir).get()
            return .failure(formatted: text.hasPrefix("** ") ? text : "** " + text)
        }
        return .value(formatted: try await formatTerm(value, pretty: true), term: wantTerm ? value : nil)
    }

    /// Prints a term on the node: `inspect/2` on Elixir, `io_lib:format("~tp")` on Erlang.
    func formatTerm(_ term: Term, pretty: Bool) async throws -> String {
        switch language {
        case .elixir:
            return try await Self.inspect(term, pretty: pretty, on: connection, options: options)
        case .erlang:
            return try await awaitDistribution(Self.submitErlangFormat(term, pretty: pretty, on: connection))
        }
    }

    /// `io_lib:format("~tp")` (`~tw` when not pretty) on the node, as a future on the
    /// connection's event loop.
    static func submitErlangFormat(_ term: Term, pretty: Bool, on connection: NodeConnection) -> EventLoopFuture<String> {
        connection.submitRPC("io_lib", "format", [.charlist(pretty ? "~tp" : "~tw"), [term]], timeout: .seconds(30))
            .map { Chardata.string($0) ?? "" }
    }

    func close() {
        mailbox.close(reason: .atom("shutdown"))
    }

    /// `Kernel.inspect/2` on the node, at the terminal's width, in IEx's colors when they are on.
    static func inspect(_ term: Term, pretty: Bool, on connection: NodeConnection, options: ShellOptions) async throws -> String {
        try await awaitDistribution(submitInspect(term, pretty: pretty, on: connection, options: options))
    }

    /// The same as a future on the connection's event loop.
    static func submitInspect(_ term: Term, pretty: Bool, on connection: NodeConnection, options: ShellOptions) -> EventLoopFuture<String> {
        connection.submitRPC("Elixir.Kernel", "inspect", [term, inspectOptions(pretty: pretty, options)], timeout: .seconds(30))
            .map { $0.stringValue ?? "" }
    }

    /// `inspect/2`'s options as the evaluator prints: pretty at the terminal's width, in IEx's colors when on.
    static func inspectOptions(pretty: Bool, _ options: ShellOptions) -> Term {
        [
            .tuple([.atom("pretty"), pretty ? .true : .false]),
            .tuple([.atom("width"), .integer(options.geometry().columns)]),
            .tuple([.atom("syntax_colors"), options.colors && pretty ? IEXColors.syntaxColors : .emptyList]),
        ]
    }

    /// How this session prints a value on the node (see ``formatTerm(_:pretty:)``).
    var corePrinter: CorePrinter {
        language == .elixir ? .inspect(options: Self.inspectOptions(pretty: true, options)) : .erlang(pretty: true)
    }
}
