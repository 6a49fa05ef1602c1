// `--eval EXPR`, stdin scripts and JSON output: expressions evaluated one after another with
// the binding carried between them, remote output printed in order before each result.

import ErlangDistribution
import ErlangTerm
import NIOConcurrencyHelpers
import NIOCore

/// Evaluates expressions on a node without a prompt. Create one per connection; evaluate one
/// expression at a time.
///
/// ```swift
/// let evaluator = try await OneShotEvaluator.make(connection: connection)
/// let result = try await evaluator.evaluate("Enum.sum(1..10)")
/// ```
public final class OneShotEvaluator: @unchecked Sendable {
    /// The core and whether Ctrl-C came: behind a lock, since ``interrupt()`` comes from a
    /// signal's thread while the core may be replaced (see ``replaceCore(with:)``).
    private let state: NIOLockedValueBox<(core: ShellCore, interrupted: Bool)>
    var core: ShellCore { state.withLockedValue { $0.core } }
    /// The language expressions are read in: Elixir while it is only assumed (see ``knownLanguage``).
    public var language: Language { core.language }
    /// The node's language once known: given, asked, or learnt from an evaluation; nil while
    /// Elixir is only assumed.
    public var knownLanguage: Language? { languageAssumed ? nil : core.language }
    /// Made by ``make(connection:options:output:input:)`` without asking the node: the first
    /// evaluation runs as Elixir in a worker that checks for Elixir first, and goes again as
    /// Erlang on a node without it. Asking first would cost every `--eval` a round trip.
    private var languageAssumed = false
    /// What a core in the other language is made with.
    private let makeCore: @Sendable (Language) -> ShellCore

    /// Whether a line that stops the node was let through (`--yes`): a lost connection after it
    /// is the node stopping as asked.
    public var letAStopThrough: Bool { core.stopLetThrough.withLockedValue { $0 } }

    /// - parameters:
    ///   - language: the syntax; use ``make(connection:options:output:input:)`` to detect it.
    ///   - output: where remote output (`IO.puts`, `io:format`) goes, in order.
    ///   - input: answers `IO.gets` and friends; end of input by default.
    public init(
        connection: NodeConnection, language: Language, options: ShellOptions = ShellOptions(timeout: .seconds(60)),
        output: ConsoleOutput = StandardOutput(), input: ConsoleInput = ScriptedInput([])
    ) {
        let makeCore: @Sendable (Language) -> ShellCore = {
            ShellCore(connection: connection, language: $0, options: options, input: input, output: output)
        }
        self.makeCore = makeCore
        state = NIOLockedValueBox((makeCore(language), false))
    }

    /// Like the initializer, in the node's language when `options.language` is nil: Elixir is
    /// assumed until the first evaluation, which finds out (see ``knownLanguage``).
    public static func make(
        connection: NodeConnection, options: ShellOptions = ShellOptions(timeout: .seconds(60)),
        output: ConsoleOutput = StandardOutput(), input: ConsoleInput = ScriptedInput([])
    ) async throws -> OneShotEvaluator {
        let evaluator = OneShotEvaluator(connection: connection, language: options.language ?? .elixir, options: options,
                                         output: output, input: input)
        evaluator.languageAssumed = options.language == nil
        return evaluator
    }

    /// Settles an assumed language by asking the node, for what must know it before anything
    /// runs (a script's lines, the stop guard's question, read-only checks).
    private func confirmLanguage() async throws {
        guard languageAssumed else { return }
        let language = try await ShellCore.resolveLanguage(core.options, core.connection)
        languageAssumed = false
        if language != core.language { replaceCore(with: language) }
    }

    /// The same evaluator in `language`: the old core's process ends (nothing ran in it). A
    /// Ctrl-C that came before stays: the new core's next evaluation ends as interrupted at once.
    private func replaceCore(with language: Language) {
        let fresh = makeCore(language)
        let (old, interrupted) = state.withLockedValue { s in
            defer { s.core = fresh }
            return (s.core, s.interrupted)
        }
        fresh.evaluator.keepsState = old.evaluator.keepsState
        fresh.evaluator.splitsExpressions = old.evaluator.splitsExpressions
        old.close()
        if interrupted { fresh.evaluator.interrupt() }
    }

    /// `source` run as Elixir by a worker that checks for Elixir first, when the language is
    /// assumed and nothing needs it known beforehand; nil when it did not run (no Elixir on the
    /// node, now known, or the language had to be asked first): the caller runs it as usual.
    private func evaluateAssumingElixir(_ source: String, wantTerm: Bool, timeout: Duration??) async throws -> EvaluationResult? {
        guard languageAssumed else { return nil }
        // A line the stop guard or read-only mode would judge: judged in the node's own language.
        if core.options.readOnly || core.stopQuestion(source) != nil {
            try await confirmLanguage()
            return nil
        }
        let evaluator = core.evaluator
        evaluator.checksForElixir = true
        defer { evaluator.checksForElixir = false }
        do {
            let result = try await evaluateGuarded(source, wantTerm: wantTerm, timeout: timeout)
            // Known once a worker got past the check; a line that started none (a blank one), or
            // ended before its worker answered (a timeout, Ctrl-C), leaves the question open.
            if evaluator.foundElixir { languageAssumed = false }
            return result
        } catch is NodeWithoutElixir {
            languageAssumed = false
            replaceCore(with: .erlang)
            return nil
        }
    }

    /// What ``answerLoneCoreCommand(_:connection:options:wantTerm:)`` did.
    public enum LoneCoreOutcome: Sendable {
        /// The value, printed by the node's `inspect` as the evaluator would print it.
        case answered(EvaluationResult)
        /// Not a lone read-only core command: the evaluator runs the line.
        case notAnswered
        /// Its call failed (the error carries `badrpc`'s reason): the evaluator runs the line (it
        /// only reads) and reports the exception as IEx does (see
        /// ``evaluateOnce(_:wantTerm:timeout:coreAlreadyTried:)``).
        case callFailed(DistributionError)
        /// The node has no Elixir (its `Kernel.inspect` is undefined): go on in Erlang, without
        /// asking the node again which language it speaks; the value printed as the Erlang path prints it.
        case nodeWithoutElixir(EvaluationResult)
    }

    /// The only expression of a run (`--eval 'Node.list()'`, a health check) when it is a
    /// read-only core command in Elixir syntax and the language is left to the node: its BIFs
    /// are called at once and the value printed by `Kernel.inspect`, without first asking the
    /// node whether it has Elixir (`code:which/1`, a round trip): an undefined `inspect`
    /// answers that question instead.
    /// What it prints is what ``evaluateOnce(_:wantTerm:timeout:)`` prints on an Elixir node.
    public static func answerLoneCoreCommand(
        _ source: String, connection: NodeConnection, options: ShellOptions, wantTerm: Bool
    ) async throws -> LoneCoreOutcome {
        guard let answer = submitLoneCoreCommand(source, connection: connection, options: options, wantTerm: wantTerm) else {
            return .notAnswered
        }
        return try await awaitDistribution(answer)
    }

    /// ``answerLoneCoreCommand(_:connection:options:wantTerm:)`` as a future on the connection's
    /// event loop (every call made from there, no thread hop between them); nil when `source` is
    /// not such a command. Fails only when the connection does, or on a call's timeout.
    public static func submitLoneCoreCommand(
        _ source: String, connection: NodeConnection, options: ShellOptions, wantTerm: Bool
    ) -> EventLoopFuture<LoneCoreOutcome>? {
        guard let expression = loneCoreCommand(source, options: options) else { return nil }
        let loop = connection.eventLoop
        let timeout = options.timeout ?? .seconds(3600)
        if !wantTerm {
            // Printed on the node in one call: only the text travels (see CoreCommands.submitPrinted).
            let inspect = CorePrinter.inspect(options: ShellCore.inspectOptions(pretty: true, options))
            return CoreCommands.submitPrinted(expression, printer: inspect, on: connection, timeout: timeout)
                .map { LoneCoreOutcome.answered(.value(formatted: $0, term: nil)) }
                .flatMapError { error -> EventLoopFuture<LoneCoreOutcome> in
                    guard let failed = error as? DistributionError, failed.kind == .remoteCallFailed, !failed.isCallTimeout else {
                        return loop.makeFailedFuture(error)
                    }
                    guard isUndefinedInspect(failed.reason) else { return loop.makeSucceededFuture(.callFailed(failed)) }
                    return CoreCommands.submitPrinted(expression, printer: .erlang(pretty: true), on: connection, timeout: timeout)
                        .map { .nodeWithoutElixir(.value(formatted: $0, term: nil)) }
                        .flatMapErrorThrowing { error in
                            guard let failed = error as? DistributionError, failed.kind == .remoteCallFailed, !failed.isCallTimeout else { throw error }
                            return .callFailed(failed)
                        }
                }
        }
        return CoreCommands.submit(expression, on: connection, timeout: timeout)
            .map { Result<Term, DistributionError>.success($0) }
            .flatMapErrorThrowing { error in
                guard let failed = error as? DistributionError, failed.kind == .remoteCallFailed, !failed.isCallTimeout else { throw error }
                return .failure(failed)
            }
            .flatMap { called -> EventLoopFuture<LoneCoreOutcome> in
                switch called {
                case .failure(let failed):
                    return loop.makeSucceededFuture(.callFailed(failed))
                case .success(let value):
                    return ShellCore.submitInspect(value, pretty: true, on: connection, options: options)
                        .map { LoneCoreOutcome.answered(.value(formatted: $0, term: wantTerm ? value : nil)) }
                        .flatMapError { error -> EventLoopFuture<LoneCoreOutcome> in
                            guard let failed = error as? DistributionError, failed.kind == .remoteCallFailed,
                                  isUndefinedInspect(failed.reason)
                            else { return loop.makeFailedFuture(error) }
                            return submitErlangValue(value, on: connection, wantTerm: wantTerm).map { .nodeWithoutElixir($0) }
                        }
                }
            }
    }

    /// ``submitLoneCoreCommand(_:connection:options:wantTerm:)`` for a run that has nothing
    /// else to evaluate (no evaluator to hand the line to): a node without Elixir prints the
    /// value with `io_lib:format("~tp")`, as the Erlang path does; a failed call is said as the
    /// node says it (`Exception.format/3`, or `erl_error` without Elixir), where the evaluator's
    /// path would run the line again to say it as IEx does. Text only (no term for JSON).
    public static func submitLoneCoreCommandAlone(
        _ source: String, connection: NodeConnection, options: ShellOptions
    ) -> EventLoopFuture<EvaluationResult>? {
        guard let outcome = submitLoneCoreCommand(source, connection: connection, options: options, wantTerm: false) else { return nil }
        let loop = connection.eventLoop
        return outcome.flatMap { outcome in
            switch outcome {
            case .answered(let result):
                return loop.makeSucceededFuture(result)
            case .notAnswered:
                preconditionFailure("submitLoneCoreCommand answers the lines it takes")
            case .nodeWithoutElixir(let result):
                return loop.makeSucceededFuture(result)
            case .callFailed(let error):
                guard let reason = error.reason else { return loop.makeSucceededFuture(.failure(formatted: "** " + error.description)) }
                var printOptions = ErlangFormatter.Options()
                printOptions.localNode = connection.peerNodeAtom
                printOptions.unicode = true
                return BadRPC.describe(reason, on: connection, printer: ErlangFormatter(options: printOptions), elixir: true)
                    .map { .failure(formatted: $0.hasPrefix("** ") ? $0 : "** " + $0) }
            }
        }
    }

    /// What a lone core command returned on a node without Elixir
    /// (``LoneCoreOutcome/nodeWithoutElixir(value:)``), printed as the Erlang path prints a value,
    /// so the line need not run again.
    public static func submitErlangValue(_ value: Term, on connection: NodeConnection, wantTerm: Bool)
        -> EventLoopFuture<EvaluationResult>
    {
        ShellCore.submitErlangFormat(value, pretty: true, on: connection).map { .value(formatted: $0, term: wantTerm ? value : nil) }
    }

    /// Whether ``submitLoneCoreCommand(_:connection:options:wantTerm:)`` answers `source`
    /// (known before connecting).
    public static func answersAlone(_ source: String, options: ShellOptions) -> Bool {
        loneCoreCommand(source, options: options) != nil
    }

    /// A line that is Erlang as well (`node()`, `"abc"`, `{a, 1}`) is left to the evaluator: on a
    /// node without Elixir it is read as Erlang, where it may mean something else.
    private static func loneCoreCommand(_ source: String, options: ShellOptions) -> CoreExpression? {
        guard options.language == nil, FootgunGuard.dangerousCall(in: source, language: .elixir) == nil,
              CoreCommands.parse(source.trimmedWhitespace, language: .erlang) == nil
        else { return nil }
        // (Not knowing the node's language yet, `L` may be an Erlang variable: no module names.)
        return CoreCommands.readOnlyExpression(source, language: .elixir, modulesAsAtoms: false)
    }

    /// `{'EXIT', {undef, [{'Elixir.Kernel', inspect, _, _} | _]}}`: the node has no Elixir.
    static func isUndefinedInspect(_ reason: Term?) -> Bool {
        guard case .tuple(let exit)? = reason, exit.count == 2, exit[0] == .atom("EXIT"),
              case .tuple(let error) = exit[1], error.count == 2, error[0] == .atom("undef"),
              case .tuple(let frame)? = error[1].listElements?.first, frame.count >= 2
        else { return false }
        return frame[0] == .atom("Elixir.Kernel") && frame[1] == .atom("inspect")
    }

    /// Evaluates complete source text (one or more expressions; Erlang's last full stop may be left out).
    /// Incomplete input, a refused stop, a timeout are failures. Throws only when the
    /// connection fails.
    /// - parameters:
    ///   - wantTerm: also return the value as a term (for `--format json`).
    ///   - timeout: overrides the options' timeout for this call.
    public func evaluate(_ source: String, wantTerm: Bool = false, timeout: Duration?? = nil) async throws -> EvaluationResult {
        if let result = try await evaluateAssumingElixir(source, wantTerm: wantTerm, timeout: timeout) { return result }
        if let refusal = await core.stopGuardRefusal(source) { return .failure(formatted: refusal) }
        return try await evaluateGuarded(source, wantTerm: wantTerm, timeout: timeout)
    }

    /// ``evaluate(_:wantTerm:timeout:)`` once the stop guard has let `source` through.
    private func evaluateGuarded(_ source: String, wantTerm: Bool, timeout: Duration??) async throws -> EvaluationResult {
        let limit = timeout ?? core.options.timeout
        // The text is all there is, so an Erlang expression without its full stop is complete
        // (`--eval 'erlang:nodes()'`), not a line waiting for more.
        switch try await core.evaluate(source, line: 1, wantTerm: wantTerm, timeout: limit, wholeInput: true) {
        case .done(let result): return result
        case .incomplete:
            return .failure(formatted: "** incomplete expression: " + source.trimmedWhitespace)
        case .interrupted: return .failure(formatted: EvaluationStep.interruptedText(language))
        case .interruptedUnanswered: return .failure(formatted: EvaluationStep.interruptedUnansweredText(language))
        case .timedOut(let d, let silence): return .failure(formatted: EvaluationStep.timedOutText(d, silence: silence))
        }
    }

    /// Evaluates `source` like ``evaluate(_:wantTerm:timeout:)``, for an evaluator that runs this
    /// one expression only (nothing after it can ask for its result with `v/1`). A health check
    /// such as `--eval 'Node.list()'` only reads: on a node known to run Elixir, a lone read-only
    /// core command in Elixir syntax has its BIFs called directly, so the node neither spawns an
    /// evaluator nor compiles the line (about 2 ms of its CPU), and the node's `inspect` prints the
    /// value as the evaluator would. (Before the language is known,
    /// ``answerLoneCoreCommand(_:connection:options:wantTerm:)`` does that; this leaves the line
    /// to the evaluator.)
    /// With `coreAlreadyTried`, the BIF calls failed in
    /// ``answerLoneCoreCommand(_:connection:options:wantTerm:)`` already: the evaluator runs the
    /// line at once.
    public func evaluateOnce(_ source: String, wantTerm: Bool = false, timeout: Duration?? = nil,
                             coreAlreadyTried: Bool = false) async throws -> EvaluationResult {
        let dropsBinding = !keepsBindingsOnNode
        if languageAssumed {
            // (A lone core command is answered before the language is known: see
            // answerLoneCoreCommand. Anything else goes to the evaluator.)
            core.evaluator.dropsBinding = dropsBinding
            defer { core.evaluator.dropsBinding = false }
            if let result = try await evaluateAssumingElixir(source, wantTerm: wantTerm, timeout: timeout) { return result }
        }
        // (The stop guard first, as for every line: what it asks about does not depend on the path.)
        if let refusal = await core.stopGuardRefusal(source) { return .failure(formatted: refusal) }
        core.evaluator.dropsBinding = dropsBinding
        defer { core.evaluator.dropsBinding = false }
        if core.language == .elixir, !coreAlreadyTried,
           let result = try await core.evaluateReadOnlyCore(source, wantTerm: wantTerm, timeout: timeout ?? core.options.timeout) {
            return result
        }
        return try await evaluateGuarded(source, wantTerm: wantTerm, timeout: timeout)
    }

    /// Evaluates a script expression by expression (lines accumulate until the node's parser
    /// finds them complete), calling `onResult` after each, and stops at the first failure.
    /// Returns false when a failure stopped it (or the script ended inside an expression).
    public func evaluateScript(
        _ script: String, wantTerm: Bool = false, onResult: (EvaluationResult) -> Void
    ) async throws -> Bool {
        // Lines are read in the node's language before any of them runs.
        try await confirmLanguage()
        keepsBindingsOnNode = true
        var buffer = ""
        var line = 1
        var startLine = 1
        // Lines by scalars: Swift's "\r\n" is one Character, which a split at "\n" would not see
        // (a script written on Windows would run as one expression); the "\r" goes too.
        let lines = script.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String(String.UnicodeScalarView($0.last == "\r" ? $0.dropLast() : $0[...])) }
        let comment: Character = core.language == .elixir ? "#" : "%"
        var open = SourceScanner.OpenExpression(language: core.language)
        for (index, text) in lines.enumerated() {
            defer { line += 1 }
            if buffer.isEmpty {
                // Blank lines and whole-line comments between expressions are no expression
                // (each would print `nil`, and be a `null` document in JSON).
                if text.allSatisfy(\.isWhitespace) || text.trimmedWhitespace.first == comment { continue }
                startLine = line
                open = SourceScanner.OpenExpression(language: core.language)
            }
            buffer += text + "\n"
            open.add(line: text)
            // A line that starts with a binary operator (`|> Enum.sum()`, `++ [2]`, `<> "x"`,
            // `and ok?`, `.field`) continues this expression, as `elixir file.exs` reads it.
            if core.language == .elixir,
               let next = lines[(index + 1)...].first(where: { !$0.allSatisfy(\.isWhitespace) && $0.trimmedWhitespace.first != comment }),
               SourceScanner.continuesAnExpression(next) {
                continue
            }
            // An expression that is certainly still open needs no round trip to hear so: a
            // 20-line `defmodule` is one question to the node, not twenty (over a tunnel, each
            // costs its round trip). The last line always goes, for the node to judge.
            if index < lines.count - 1, open.isCertainlyIncomplete { continue }
            // The stop guard reads the whole expression: a call split over lines, or after a
            // string that spans them, is still the call.
            if let refusal = await core.stopGuardRefusal(buffer) {
                onResult(.failure(formatted: refusal))
                return false
            }
            let step = try await core.evaluate(buffer, line: startLine, wantTerm: wantTerm, timeout: core.options.timeout)
            switch step {
            case .incomplete: continue
            case .done(let result):
                takeEarlierResults().forEach(onResult)
                onResult(result)
                if result.isFailure { return false }
            case .interrupted:
                onResult(.failure(formatted: EvaluationStep.interruptedText(language)))
                return false
            case .interruptedUnanswered:
                onResult(.failure(formatted: EvaluationStep.interruptedUnansweredText(language)))
                return false
            case .timedOut(let d, let silence):
                onResult(.failure(formatted: EvaluationStep.timedOutText(d, silence: silence)))
                return false
            }
            buffer = ""
        }
        if !buffer.allSatisfy(\.isWhitespace) {
            onResult(.failure(formatted: "** incomplete expression at the end of the script (from line \(startLine))"))
            return false
        }
        return true
    }

    /// Keep the binding on the node between evaluations (in a process that ends with this
    /// evaluator), rather than passing it along with each: for several expressions that share
    /// variables (``evaluateScript(_:wantTerm:onResult:)`` turns it on). Off, a single
    /// evaluation starts nothing beyond its worker.
    public var keepsBindingsOnNode: Bool {
        get { core.evaluator.keepsState }
        set { core.evaluator.keepsState = newValue }
    }

    /// Erlang input with several expressions (`A = 1. B = A + 1.`) reports each one's result:
    /// an evaluation returns the last one's, and ``takeEarlierResults()`` gives the others, to
    /// print before it (a value, or a JSON document, per expression; a failure alone). Off, the
    /// values are one text, as the console shows them.
    public var reportsEachExpression: Bool {
        get { core.evaluator.splitsExpressions }
        set { core.evaluator.splitsExpressions = newValue }
    }

    /// With ``reportsEachExpression``, the results of the last evaluation's expressions before
    /// its last one, in order (then none until the next evaluation).
    public func takeEarlierResults() -> [EvaluationResult] { core.evaluator.takeEarlierResults() }

    /// Kills the running evaluation (Ctrl-C); it ends as a failure.
    public func interrupt() {
        let core = state.withLockedValue { s in
            s.interrupted = true
            return s.core
        }
        core.evaluator.interrupt()
    }

    /// Ends the local process; nothing it started stays on the node.
    public func close() { core.close() }
}
