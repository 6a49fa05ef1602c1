// Evaluating user code on the node without loading anything there: each expression runs in a
// fresh worker process spawned on the node (SPAWN_REQUEST, linked to our pid, with our I/O
// server as group leader). The worker runs `erl_eval:exprs/3` over a small constant driver
// (shipped pre-parsed; exprs/2 would first run erl_lint over all of it, more than half of a
// line's CPU on the node); the user's code travels as a binary
// in the driver's bindings and is parsed, evaluated and formatted by the node's own Elixir or
// Erlang. In a console the binding (and, for Elixir, the `Macro.Env`) stays on the node, in a
// holder process linked to our pid: each worker takes it from there and puts the new one back
// when it is done, so a large bound value never crosses the network, and killing a worker
// (Ctrl-C, timeout) never loses it. The first worker of a session starts the holder. A single
// one-shot evaluation starts none and passes the (empty) binding along instead.

import ErlangDistribution
import ErlangTerm
import NIOCore
import NIOConcurrencyHelpers

/// The syntax of what the user types.
public enum Language: String, Sendable, Hashable, CaseIterable {
    case elixir, erlang
}

/// The outcome of evaluating one complete expression.
public enum EvaluationResult: Sendable, Hashable {
    /// The value, printed by the node (`inspect/2` for Elixir, `io_lib:format("~tp")` for
    /// Erlang), and the value itself when it was asked for.
    case value(formatted: String, term: Term?)
    /// An exception, exit or throw, formatted by the node like its own shell does
    /// (`** (RuntimeError) boom`, `** exception error: ...`), or a refusal made here.
    case failure(formatted: String)

    public var isFailure: Bool { if case .failure = self { return true } else { return false } }
    /// IEx helpers such as `h/1`, `i/1` and `runtime_info/0` print what they have to say and
    /// return `IEx.dont_display_result()`, which IEx does not show; nor does beamsh.
    public static let notShown = EvaluationResult.value(formatted: "", term: nil)
    public var isNotShown: Bool { self == .notShown }
    /// The text to show the user.
    public var formatted: String {
        switch self {
        case .value(let f, _), .failure(let f): return f
        }
    }
}

/// One step of evaluation.
enum EvaluationStep: Sendable, Hashable {
    case done(EvaluationResult)
    /// The code is incomplete (an open `do`, bracket, string; no full stop in Erlang): read more.
    case incomplete
    /// Interrupted (Ctrl-C): the worker was killed; the binding is unchanged.
    case interrupted
    /// Interrupted, and the node has not confirmed the kill within ``ShellOptions/interruptWait``
    /// (frozen, overloaded, cut off): the console takes the prompt back anyway.
    case interruptedUnanswered
    /// Out of time; `silence` says how long the node has sent nothing, when that is long enough
    /// to suggest a frozen node (``NodeConnection/silenceNote``).
    case timedOut(Duration, silence: String? = nil)

    /// A kill is sent, or will be once the worker's pid is known; a node that does not answer
    /// (frozen) carries it out when it runs again, and a dropped connection ends the worker too.
    static func timedOutText(_ limit: Duration, silence: String? = nil) -> String {
        "** evaluation timed out after \(limit) (beamsh sent its worker on the node a kill)" + (silence.map { "; " + $0 } ?? "")
    }

    /// What an interrupted evaluation prints, as each shell says it: IEx's `** (EXIT) interrupted`,
    /// the Erlang shell's `** exception exit: killed` (its Ctrl-G `i` kills the evaluator too).
    static func interruptedText(_ language: Language) -> String {
        language == .erlang ? "** exception exit: killed" : "** (EXIT) interrupted"
    }

    static func interruptedUnansweredText(_ language: Language) -> String {
        (language == .erlang ? "** interrupted" : "** (EXIT) interrupted")
            + "; the node has not confirmed the kill (it may be frozen, overloaded or cut off)"
    }
}

/// A worker that checked for Elixir (``Evaluator/checksForElixir``) found none: nothing ran.
struct NodeWithoutElixir: Error {}

/// Holds a session's binding and runs expressions in workers on the node. One evaluation at a
/// time; ``interrupt()`` may be called from any thread.
final class Evaluator: @unchecked Sendable {
    let connection: NodeConnection
    let language: Language
    let io: IOServer
    let mailbox: Mailbox
    /// Keep the binding and environment between evaluations, on the node (a console); else
    /// every evaluation starts afresh from ``binding`` and ``environment``.
    var keepsState = false
    /// Nothing after this evaluation can use what it binds (one `--eval`): the node sends none
    /// of it back (a large value bound on the way to the result would cross the network).
    var dropsBinding = false
    /// The node's language is assumed (Elixir), not known: the worker first checks that the
    /// node has Elixir and, if not, answers ``NodeWithoutElixir`` without running anything. It
    /// saves a one-shot the round trip of asking first.
    var checksForElixir = false
    /// A worker that checked for Elixir found it (its answer was not `no_elixir`).
    private(set) var foundElixir = false
    /// The process on the node holding the binding and environment, once the first worker
    /// started it (``keepsState`` only).
    private var holder: Pid? {
        get { heldBy.withLockedValue { $0 } }
        set { heldBy.withLockedValue { $0 = newValue } }
    }
    private let heldBy = NIOLockedValueBox<Pid?>(nil)
    /// The holder the driver was sent to (workers get it from there).
    private let driverHeldBy = NIOLockedValueBox<Pid?>(nil)
    /// The holder, for Tab completion from the session's state; nil before the first evaluation.
    var heldBinding: Pid? { keepsState ? holder : nil }
    /// Advances with every evaluation: what completion learnt of the session (its aliases) is
    /// good until it moves.
    var evaluationGeneration: Int { running.withLockedValue { $0.generation } }
    /// The completion worker's code, parsed on first use (see SessionCompletion).
    let completionDriver = NIOLockedValueBox<Term?>(nil)
    /// The binding when it is not held on the node. Elixir: a keyword list; Erlang: erl_eval's
    /// orddict of `{Name, Value}` (or map).
    var binding: Term = .emptyList
    /// Elixir, when not held on the node: the `Macro.Env` after the last expression (`alias`,
    /// `import`, `require` stick); nil at first.
    var environment: Term = .nil
    /// The names bound in the session (for Tab completion), wherever the binding is.
    private(set) var boundNames: [String] = []
    /// Elixir: `inspect/2`'s `syntax_colors` (an empty list prints plain text).
    var syntaxColors: Term = .emptyList
    /// Elixir: recent results as `{N, Value}`, oldest first, for IEx's `v/1` (the worker puts
    /// them where `IEx.Helpers.v/1` looks). N counts successful evaluations, as IEx's prompt
    /// does. Bounded: results over ``historyValueLimit`` bytes are not kept (and end the
    /// history, so numbers stay contiguous), and the whole stays under ``historyLimit``.
    /// Erlang: the same for the shell's `v/1`, numbered as the shell numbers queries (every
    /// expression run counts; see ``queriesRun``); a result too large is left out.
    private(set) var history: [(number: Int, value: Term, size: Int)] = []
    private var evaluations = 0
    /// Elixir: the last result too large for the history (its number), which ended it.
    private var droppedResult: Int?
    /// Whether the line being evaluated names `v` (its history travels with it).
    private var lineNamesHistory = false
    /// Erlang: expressions run in the session so far (the next one is query `queriesRun + 1`,
    /// the number the console's prompt shows). Advanced by ``ShellCore`` for every line it answers.
    var queriesRun = 0
    /// Erlang: a failing expression ends the input (scripts, `--eval`); the console runs the
    /// rest of the line, as the shell does.
    var stopsAtFailure = true
    /// How many expressions the last evaluation ran: Erlang's `A = 1. B = 2.` is two (the
    /// shell's prompt number advances by each), a syntax error none.
    /// (Set to 1 when an evaluation starts: a worker that dies ran one; ShellCore sets it for
    /// what it answers without the evaluator.)
    var expressionsRun = 0
    /// Report each expression of an Erlang input on its own (one-shot modes): see ``earlierResults``.
    var splitsExpressions = false
    /// With ``splitsExpressions``, the results of the last input's expressions before its last
    /// one, in order (the evaluation's own result is the last one's).
    private(set) var earlierResults: [EvaluationResult] = []
    func takeEarlierResults() -> [EvaluationResult] {
        defer { earlierResults = [] }
        return earlierResults
    }
    static let historyEntries = 20  // IEx's default :history_size
    static let historyValueLimit = 64 * 1024
    static let historyLimit = 256 * 1024
    private var driver: Term?
    private var holderDriver: Term?
    private let running = NIOLockedValueBox(Running())
    /// Spawn requests given up before their reply came (a timeout or Ctrl-C on a node that did not
    /// answer): the worker a late reply names is killed at once.
    private let abandonedSpawns = NIOLockedValueBox(Set<Reference>())

    private struct Running {
        var worker: Pid?
        var interrupted = false
        var active = false
        /// Ctrl-C came while no evaluation ran (between Enter and the start of the evaluation,
        /// or during a core command): the next evaluation ends before it starts, unless the
        /// console read a line since (``clearPendingInterrupt(before:)``). When it came.
        var pendingAt: ContinuousClock.Instant?
        /// When Ctrl-C killed the worker (or will, once its pid is known).
        var interruptedAt: ContinuousClock.Instant?
        /// Counts evaluations: a timer set for one must not act on the next.
        var generation = 0
    }

    /// How long an interrupted evaluation waits for the node to confirm the kill before the
    /// console takes the prompt back (``ShellOptions/interruptWait``).
    let interruptWait: Duration
    /// Without a Ctrl-C, the wait for the worker wakes this often to notice one.
    static let interruptPoll: Duration = .milliseconds(250)

    init(connection: NodeConnection, language: Language, io: IOServer, mailbox: Mailbox, interruptWait: Duration) {
        self.connection = connection
        self.interruptWait = interruptWait
        self.language = language
        self.io = io
        self.mailbox = mailbox
    }

    /// Kills the running worker, if any; its evaluation ends as `.interrupted`. With none
    /// running, the next evaluation is interrupted as it starts (see ``Running/pending``).
    func interrupt() { interrupt(orNext: true) }

    /// Kills the running worker, if an evaluation is running; else does nothing (a Ctrl-C at a
    /// read answered between lines is that read's, not the next line's).
    func interruptRunning() { interrupt(orNext: false) }

    private func interrupt(orNext: Bool) {
        let io = self.io
        let (worker, endRead) = running.withLockedValue { r -> (Pid?, (@Sendable () -> Void)?) in
            guard r.active else {
                if orNext { r.pendingAt = r.pendingAt ?? .now }
                return (nil, nil)
            }
            r.interrupted = true
            r.interruptedAt = r.interruptedAt ?? .now
            // A read the evaluation waits on (`IO.gets`) ends too, and one on its way does not
            // start: else the loop would wait for the operator's Enter before it sees the
            // worker's end. (Under this lock: the evaluation's end allows reads again.)
            return (r.worker, io.interruptReads())
        }
        if let worker { try? connection.exit(worker, reason: .atom("kill"), from: mailbox.pid) }
        endRead?()
    }

    /// Forgets a Ctrl-C that came while nothing ran and before `instant` (when the console's
    /// read returned): the prompt answered it. One after it is for the line just read, however
    /// late the console gets here (a line editor gives the terminal back its Ctrl-C as it returns).
    func clearPendingInterrupt(before instant: ContinuousClock.Instant) {
        running.withLockedValue { r in
            if let at = r.pendingAt, at < instant { r.pendingAt = nil }
        }
    }

    /// Evaluates `code` (one or more complete expressions) with the session's binding.
    /// - parameters:
    ///   - line: the line number the node reports in errors (the prompt counter).
    ///   - wantTerm: also return the value as a term (for JSON output).
    ///   - timeout: nil waits until the expression ends or is interrupted.
    func evaluate(_ code: String, line: Int, wantTerm: Bool = false, timeout: Duration?) async throws -> EvaluationStep {
        expressionsRun = 1
        // Active from here: a Ctrl-C while the driver is fetched or the spawn is on its way
        // kills the worker as soon as its pid is known.
        let pending = running.withLockedValue { r -> Bool in
            defer { r = Running(worker: nil, interrupted: false, active: r.pendingAt == nil, generation: r.generation + 1) }
            return r.pendingAt != nil
        }
        if pending {
            expressionsRun = 0
            return .interrupted
        }
        defer {
            running.withLockedValue { r in
                r = Running(generation: r.generation)
                io.allowReads()
            }
            io.evaluationEnded()
        }
        let forms = try await driverForms()
        // erl_scan ends an expression at a full stop followed by white space.
        let code = language == .erlang && !code.hasSuffix("\n") ? code + "\n" : code
        let tag = connection.makeReference()
        let holder = self.holder
        var variables: [(String, Term)] = [
            ("Code", .binary(code)), ("BindingIn", binding), ("EnvIn", environment), ("Line", .integer(max(line, 1))),
            ("WantTerm", wantTerm ? .true : .false), ("ReplyTo", .pid(mailbox.pid)), ("Tag", .reference(tag)),
            ("KeepState", keepsState ? .true : dropsBinding ? .atom("discard") : .false), ("Holder", holder.map { .pid($0) } ?? .atom("none")),
            ("Merge", .atom(Atom(language.rawValue))),
            // The holder's loop, for the worker that starts it.
            ("HolderForms", keepsState && holder == nil ? try holderForms() : .atom("none")),
        ]
        // The values of `v/1` travel only with code that may ask for one (a line naming `v`).
        lineNamesHistory = Self.namesHistory(code, language: language)
        let entries: [Term] = lineNamesHistory ? history.map { .tuple([.integer($0.number), $0.value]) } : []
        variables += [("History", .list(TermList(entries))), ("HistoryLimit", .integer(Self.historyValueLimit))]
        switch language {
        case .elixir: variables += [("Width", .integer(io.geometry().columns)), ("Colors", syntaxColors)]
        case .erlang:
            variables += [("Query", .integer(queriesRun + 1)), ("Width", .integer(io.geometry().columns)),
                          ("StopAtFailure", stopsAtFailure ? .true : .false), ("SplitSteps", splitsExpressions ? .true : .false)]
        }
        variables.sort { $0.0 < $1.0 }
        let driverBinding: Term = .list(variables.map { .tuple([.atom($0.0), $0.1]) })

        // A holder that has the driver hands it to the worker on the node: each line then
        // sends its code and a few words, not the driver's 14 KB (Elixir) or 26 KB (Erlang).
        let (spawnForms, spawnBinding): (Term, Term)
        if let holder, driverHeldBy.withLockedValue({ $0 }) == holder {
            spawnForms = try bootstrapForms()
            spawnBinding = [
                .tuple([.atom("DriverBindings"), driverBinding]), .tuple([.atom("Holder"), .pid(holder)]),
                .tuple([.atom("ReplyTo"), .pid(mailbox.pid)]), .tuple([.atom("Tag"), .reference(tag)]),
            ]
        } else {
            (spawnForms, spawnBinding) = (forms, driverBinding)
        }
        let checked = checksForElixir && language == .elixir
        let requestID = try connection.requestSpawn(
            "erl_eval", "exprs", [checked ? Self.afterElixirCheck(spawnForms) : spawnForms, spawnBinding, .atom("none")],
            parent: mailbox.pid, groupLeader: mailbox.pid, options: [.link])

        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        // A read that waits on the operator (`IO.gets`) when the time is up ends then, as Ctrl-C
        // would end it: the evaluation is killed at its deadline, not after the operator answers
        // (whose answer would then be thrown away).
        let generation = running.withLockedValue { $0.generation }
        let endReadOnTime = timeout.map { limit in
            connection.eventLoop.scheduleTask(in: TimeAmount(limit)) { [running, io] in
                // (A cancel from this task may come after the loop has picked the timer up.)
                running.withLockedValue { $0.active && $0.generation == generation ? io.interruptReads(quietly: true) : nil }?()
            }
        }
        defer { endReadOnTime?.cancel() }
        var worker: Pid?
        while true {
            let now = clock.now
            let left = deadline.map { $0 - now }
            if let left, left <= .zero {
                if let worker {
                    try? connection.exit(worker, reason: .atom("kill"), from: mailbox.pid)
                } else {
                    abandonedSpawns.withLockedValue { _ = $0.insert(requestID) }
                }
                if let stalled = connection.stalledError(waitingFor: "the evaluation ran") { throw stalled }
                return .timedOut(timeout ?? .zero, silence: connection.silenceNote)
            }
            // A Ctrl-C is seen at the next wake-up; its kill gets a second to be confirmed (the
            // worker's exit), so a frozen node cannot keep the console from its prompt.
            var wait = Self.interruptPoll
            if let at = running.withLockedValue({ $0.interruptedAt }) {
                if now - at >= interruptWait {
                    // The confirmation may be here already, behind what kept this loop busy.
                    if let worker, await exitQueued(from: worker) { return .interrupted }
                    if worker == nil { abandonedSpawns.withLockedValue { _ = $0.insert(requestID) } }
                    return .interruptedUnanswered
                }
                wait = interruptWait - (now - at)
            }
            guard let signal = try await mailbox.receive(timeout: min(left ?? wait, wait)) else { continue }
            switch signal {
            case .message(_, let message):
                // Interrupted: a read that was on its way when Ctrl-C came asks nobody.
                if running.withLockedValue({ $0.interrupted }), io.refuseRead(message) { continue }
                if await io.handle(message) { continue }
                if let t = message.tupleElements, t.count == 2, t[0] == .reference(tag) {
                    // The holder this worker started, told before the reply.
                    if let h = t[1].tupleElements, h.count == 2, h[0] == .atom("holder"), case .pid(let started) = h[1] {
                        self.holder = started
                        // The driver, once, for the workers to come (see the spawn above).
                        if (try? connection.send(.tuple([.atom("driver"), forms]), to: started, from: mailbox.pid)) != nil {
                            driverHeldBy.withLockedValue { $0 = started }
                        }
                        continue
                    }
                    if checked {
                        if t[1] == .atom("no_elixir") { throw NodeWithoutElixir() }
                        foundElixir = true
                    }
                    if t[1] == .atom("no_driver") {
                        // The holder ended as this worker asked it for the driver: the binding is
                        // gone with it; the line runs again with the driver sent along.
                        self.holder = nil
                        boundNames = []
                        driverHeldBy.withLockedValue { $0 = nil }
                        return try await evaluate(code, line: line, wantTerm: wantTerm, timeout: timeout)
                    }
                    return accept(t[1])
                }
            case .spawnReply(let id, let result) where id == requestID:
                guard case .pid(let pid) = result else {
                    return .done(.failure(formatted: "** the node refused to start an evaluator: \(result)"))
                }
                worker = pid
                let interrupted = running.withLockedValue { r -> Bool in
                    r.worker = pid
                    return r.interrupted
                }
                if interrupted { try? connection.exit(pid, reason: .atom("kill"), from: mailbox.pid) }
            case .exit(let from, let reason) where from == worker:
                // The link tells us the worker ended; its result, if any, came before this.
                if running.withLockedValue({ $0.interrupted }) { return .interrupted }
                return .done(.failure(formatted: try await exitMessage(reason, worker: from)))
            case .spawnReply, .down, .exit:
                disposeOfLeftover(signal)  // a previous worker's end, its link, or a late spawn
            }
        }
    }

    /// Whether `worker`'s exit is among the signals already received; the others stay, in order.
    private func exitQueued(from worker: Pid) async -> Bool {
        var others: [Signal] = []
        defer { mailbox.putBack(others) }
        while let signal = try? await mailbox.receive(timeout: .zero) {
            if case .exit(let from, _) = signal, from == worker { return true }
            others.append(signal)
        }
        return false
    }

    /// A signal left from an earlier evaluation: a late spawn reply for a request given up on
    /// names a worker that must not run on, and is killed; the holder's end forgets it; anything
    /// else is dropped.
    func disposeOfLeftover(_ signal: Signal) {
        if case .exit(let from, _) = signal, from == holder {
            // Someone on the node ended the holder: the next worker starts another, empty one.
            holder = nil
            boundNames = []
            return
        }
        guard case .spawnReply(let id, .pid(let pid)) = signal,
              abandonedSpawns.withLockedValue({ $0.remove(id) }) != nil else { return }
        try? connection.exit(pid, reason: .atom("kill"), from: mailbox.pid)
    }

    /// Takes a driver reply apart, keeping the new binding (or, when the node holds it, its
    /// holder and names: `{held, Holder, Names}` in the binding's place).
    private func accept(_ reply: Term) -> EvaluationStep {
        if reply == .atom("incomplete") { return .incomplete }
        if let why = DistributionMessageCodec.undecodableReason(reply) {
            // The evaluation ran (in a console, what it bound is on the node); its reply is lost.
            return .done(.failure(formatted: "** the result is beyond what beamsh decodes: \(why)"))
        }
        let parts = reply.tupleElements ?? []
        earlierResults = []
        if language == .erlang, parts.count >= 6, parts[0] == .atom("error") {
            // {error, _, Text, Binding, Ran, Kept, Steps}: what ran keeps what it bound, and its values.
            keep(binding: parts[3])
            expressionsRun = parts[4].intValue ?? 0
            rememberQueries(parts[5])
            if splitsExpressions, let last = splitSteps(parts) { return .done(last) }
            return .done(.failure(formatted: Self.trimmed(parts[2].stringValue ?? "\(parts[2])")))
        }
        if parts.count >= 2, parts[0] == .atom("error") {
            // Erlang's scan error: {error, Text, unchanged, 0}.
            if parts.count >= 3 { keep(binding: parts[2]) }
            expressionsRun = parts.count >= 4 ? parts[3].intValue ?? 0 : 0
            var text = Self.trimmed(parts[1].stringValue ?? "\(parts[1])")
            // IEx's `v(-1) is out of bounds`, where the result asked for was too large to keep.
            if language == .elixir, lineNamesHistory, let dropped = droppedResult, evaluations - dropped < Self.historyEntries,
               Self.mentions(text, "is out of bounds") {
                text += "\n(beamsh keeps results of up to \(Self.historyValueLimit / 1024) KiB for v/1: result \(dropped) was larger, "
                    + "and v/1 reaches back to the results after it)"
            }
            return .done(.failure(formatted: text))
        }
        guard parts.count >= 4, parts[0] == .ok else {
            return .done(.failure(formatted: "** unexpected reply from the evaluator: \(reply)"))
        }
        let held = keep(binding: parts[3])
        switch language {
        case .elixir:
            // {ok, Value, Text, Binding, Env, History}
            if parts.count >= 5, !held { environment = parts[4] }
            if parts.count >= 6 { remember(parts[5]) }
            expressionsRun = 1
        case .erlang:
            // {ok, Value, Text, Binding, Ran, Kept, Steps}
            expressionsRun = parts.count >= 5 ? parts[4].intValue ?? 1 : 1
            if parts.count >= 6 { rememberQueries(parts[5]) }
            if splitsExpressions, let last = splitSteps(parts) { return .done(last) }
        }
        // Compared as printed too (colors aside): without `wantTerm` the driver sends no value, only its text.
        if language == .elixir, parts[1] == .atom("do not show this result in output")
            || Self.withoutColors(Self.trimmed(parts[2].stringValue ?? "")) == #":"do not show this result in output""# {
            return .done(.notShown)
        }
        let term: Term? = parts[1] == .atom("$beamsh_no_term") ? nil : parts[1]
        return .done(.value(formatted: Self.trimmed(parts[2].stringValue ?? ""), term: term))
    }

    /// Erlang input with several expressions (`A = 1. B = A + 1.`), when ``splitsExpressions``:
    /// each one's result but the last goes to ``earlierResults``, and the last is returned, so
    /// a one-shot prints a value per expression (a JSON document each) and a failure alone on
    /// standard error. nil when the reply has no steps (one expression).
    private func splitSteps(_ parts: [Term]) -> EvaluationResult? {
        guard parts.count >= 7, let steps = parts[6].listElements, steps.count > 1 else { return nil }
        let results = steps.map { step -> EvaluationResult in
            let s = step.tupleElements ?? []
            let text = Self.trimmed(s.count == 3 ? s[1].stringValue ?? "" : "")
            guard s.count == 3, s[0] == .ok else { return .failure(formatted: text) }
            return .value(formatted: text, term: s[2] == .atom("$beamsh_no_term") ? nil : s[2])
        }
        earlierResults = Array(results.dropLast())
        return results.last
    }

    /// Keeps a reply's binding, or the holder and names that stand for it; true for the latter.
    @discardableResult
    private func keep(binding reported: Term) -> Bool {
        if reported == .atom("unchanged") { return holder != nil }
        if let h = reported.tupleElements, h.count == 3, h[0] == .atom("held"), case .pid(let pid) = h[1] {
            holder = pid
            boundNames = Self.names(h[2].listElements ?? [])
            return true
        }
        binding = reported
        boundNames = Self.entries(of: reported).map(\.name)
        return false
    }

    /// Binding keys as variable names (Elixir's hygienic `{name, context}` keys are not typed).
    private static func names(_ keys: [Term]) -> [String] {
        keys.compactMap { if case .atom(let a) = $0 { return a.name } else { return nil } }
    }

    /// The bindings' names: erl_eval keeps them as an orddict of `{Name, Value}` (or a map on
    /// newer releases), Elixir as a keyword list.
    static func entries(of binding: Term) -> [(name: String, value: Term)] {
        var out: [(String, Term)] = []
        if let pairs = binding.listElements {
            for pair in pairs {
                if let t = pair.tupleElements, t.count == 2, let name = t[0].atomValue?.name { out.append((name, t[1])) }
            }
        } else if let map = binding.mapValue {
            for (key, value) in map { if let name = key.atomValue?.name { out.append((name, value)) } }
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// `text` without its SGR escape sequences (`ESC [ ... m`).
    static func withoutColors(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var inEscape = false
        var previous: Unicode.Scalar = " "
        for scalar in text.unicodeScalars {
            if inEscape {
                if scalar == "m" { inEscape = false }
            } else if scalar == "\u{1B}" {
                previous = scalar
                continue
            } else if scalar == "[" && previous == "\u{1B}" {
                inEscape = true
            } else {
                out.append(scalar)
            }
            previous = scalar
        }
        return String(out)
    }

    /// Whether `text` holds `phrase` (compared as bytes).
    static func mentions(_ text: String, _ phrase: String) -> Bool {
        let bytes = Array(text.utf8), wanted = Array(phrase.utf8)
        guard !wanted.isEmpty, wanted.count <= bytes.count else { return false }
        return (0...(bytes.count - wanted.count)).contains { bytes[$0..<($0 + wanted.count)].elementsEqual(wanted) }
    }

    /// Keeps `{keep, Size, Value}` for `v/1`; `too_large` ends the history.
    private func remember(_ kept: Term) {
        evaluations += 1
        guard let k = kept.tupleElements, k.count == 3, k[0] == .atom("keep"), let size = k[1].intValue else {
            history = []
            droppedResult = evaluations
            return
        }
        history.append((evaluations, k[2], size))
        trimHistory()
    }

    /// The newest ``historyEntries`` results, under ``historyLimit`` bytes in all.
    private func trimHistory() {
        var total = history.reduce(0) { $0 + $1.size }
        while history.count > Self.historyEntries || total > Self.historyLimit {
            total -= history.removeFirst().size
        }
    }

    /// Erlang: keeps `[{N, {keep, Size, Value} | too_large}]` for `v/1` (a value too large is
    /// simply not there to ask for).
    private func rememberQueries(_ kept: Term) {
        for entry in kept.listElements ?? [] {
            guard let e = entry.tupleElements, e.count == 2, let number = e[0].intValue,
                  let k = e[1].tupleElements, k.count == 3, k[0] == .atom("keep"), let size = k[1].intValue
            else { continue }
            remember(query: number, value: k[2], size: size)
        }
    }

    /// Erlang: keeps query `number`'s value; the shell keeps the last 20 queries' results.
    func remember(query number: Int, value: Term, size: Int) {
        history.append((number, value, size))
        history.removeAll { $0.number <= number - Self.historyEntries }
        trimHistory()
    }

    private static func trimmed(_ text: String) -> String {
        var t = Substring(text)
        while t.last == "\n" { t = t.dropLast() }
        return String(t)
    }

    /// How the worker's unexpected end (a linked process took it down) is shown, formatted by the
    /// node, in the shell's words: IEx's `** (EXIT from #PID<...>) shell process exited with
    /// reason: ...` (the worker is this line's shell process), the Erlang shell's `** exception exit`.
    private func exitMessage(_ reason: Term, worker: Pid) async throws -> String {
        switch language {
        case .elixir:
            let text = try? await connection.rpc("Elixir.Exception", "format_exit", [reason], timeout: .seconds(10))
            return "** (EXIT from #PID\(Term.localPidText(worker))) shell process exited with reason: " + (text?.stringValue ?? "\(reason)")
        case .erlang:
            let text = try? await connection.rpc("io_lib", "format", [.charlist("~tp"), [reason]], timeout: .seconds(10))
            return "** exception exit: " + (text.flatMap { Chardata.string($0) } ?? "\(reason)")
        }
    }

    /// The driver as abstract forms. They ship with beamsh (``DriverForms``, the node's own
    /// `erl_parse` output, checked against OTP 25 and 28 by a test), which saves a session two
    /// round trips; if that copy ever failed to decode, the node parses the source instead.
    private func driverForms() async throws -> Term {
        if let driver { return driver }
        let embedded = language == .elixir ? DriverForms.elixir : DriverForms.erlang
        if let forms = try? TermDecoder().decode(embedded) {
            driver = forms
            return forms
        }
        let forms = try await Self.parseDriver(language == .elixir ? Self.elixirDriver : Self.erlangDriver, on: connection)
        driver = forms
        return forms
    }

    /// Whether `code` may ask for an earlier result: it names `v` (`v(-1)`, `v(3)`, `v()`),
    /// outside strings and comments.
    static func namesHistory(_ code: String, language: Language) -> Bool {
        guard code.utf8.contains(UInt8(ascii: "v")) else { return false }
        let chars = Array(SourceScanner.codeOnly(code, language: language))
        for (i, c) in chars.enumerated() where c == "v" {
            let before: Character = i > 0 ? chars[i - 1] : " "
            let after: Character = i + 1 < chars.count ? chars[i + 1] : " "
            let partOfName = { (c: Character) in c.isLetter || c.isNumber || c == "_" || c == "@" }
            if !partOfName(before), before != ".", before != ":", !partOfName(after), after != ":" { return true }
        }
        return false
    }

    /// `forms` run only where `code:which('Elixir.Code')` finds Elixir, the question
    /// ``nodeHasElixir(_:timeout:)`` asks; elsewhere the worker answers `{Tag, no_elixir}` and
    /// ends normally (nothing in the node's log).
    static func afterElixirCheck(_ forms: Term) -> Term {
        func atom(_ name: Atom) -> Term { .tuple([.atom("atom"), 1, .atom(name)]) }
        func variable(_ name: Atom) -> Term { .tuple([.atom("var"), 1, .atom(name)]) }
        let which = CoreFormBuilder.call("code", "which", [atom("Elixir.Code")])
        let answer: Term = .tuple([.atom("op"), 1, .atom("!"), variable("ReplyTo"),
                                   .tuple([.atom("tuple"), 1, [variable("Tag"), atom("no_elixir")]])])
        return [.tuple([.atom("case"), 1, which, [
            .tuple([.atom("clause"), 1, [atom("non_existing")], .emptyList, [answer]]),
            .tuple([.atom("clause"), 1, [variable("_")], .emptyList, forms]),
        ]])]
    }

    /// The worker's first step when the holder has the driver (``DriverForms/bootstrap``).
    private func bootstrapForms() throws -> Term {
        if let bootstrap = bootstrapDriver.withLockedValue({ $0 }) { return bootstrap }
        let forms = try TermDecoder().decode(DriverForms.bootstrap)
        bootstrapDriver.withLockedValue { $0 = forms }
        return forms
    }
    private let bootstrapDriver = NIOLockedValueBox<Term?>(nil)

    /// The holder's loop as abstract forms (``DriverForms``, checked like the drivers).
    private func holderForms() throws -> Term {
        if let holderDriver { return holderDriver }
        let forms = try TermDecoder().decode(DriverForms.holder)
        holderDriver = forms
        return forms
    }

    /// `source` scanned and parsed by the node's own `erl_scan` and `erl_parse`.
    static func parseDriver(_ source: String, on connection: NodeConnection) async throws -> Term {
        let scanned = try await connection.rpc("erl_scan", "string", [.charlist(source)], timeout: .seconds(30))
        guard let s = scanned.tupleElements, s.count == 3, s[0] == .ok else {
            throw DistributionError(.remoteCallFailed, "the node could not scan the evaluator driver: \(scanned)")
        }
        let parsed = try await connection.rpc("erl_parse", "parse_exprs", [s[1]], timeout: .seconds(30))
        guard let p = parsed.tupleElements, p.count == 2, p[0] == .ok else {
            throw DistributionError(.remoteCallFailed, "the node could not parse the evaluator driver: \(parsed)")
        }
        return p[1]
    }

    // MARK: - Drivers (Erlang source, evaluated by erl_eval on the node)

    /// Both drivers' fetch of `Binding`, `Env` and `BeamshKnown` (every name the holder has) for
    /// the variables in `BeamshWanted`: from the holder, or BindingIn and EnvIn without one (or
    /// when it is gone).
    static let fetchFromHolder = """
        {Binding, Env, BeamshKnown} = case Holder of
          none -> {BindingIn, EnvIn, []};
          _ ->
            BeamshHeldRef = erlang:monitor(process, Holder),
            Holder ! {get, self(), BeamshHeldRef, BeamshWanted},
            receive
              {BeamshHeldRef, BeamshHeld} -> erlang:demonitor(BeamshHeldRef, [flush]), BeamshHeld;
              {'DOWN', BeamshHeldRef, _, _, _} -> {BindingIn, EnvIn, []}
            end
        end,
        """

    /// Both drivers' hand-over of what an evaluation bound (`BeamshChanged`; the whole `binding`
    /// and `env` to a new holder): binds `BeamshHolder`. A holder this worker starts is told to
    /// beamsh on its own, so beamsh knows it even if the reply turns out too large to read.
    static func keepInHolder(binding: String, env: String) -> String {
        """
        BeamshHolder = case Holder of
          none ->
            BeamshStarted = erlang:spawn(erl_eval, exprs, [HolderForms, [{'Binding', \(binding)}, {'Env', \(env)},
                                                                         {'Merge', Merge}, {'ReplyTo', ReplyTo}], none]),
            ReplyTo ! {Tag, {holder, BeamshStarted}},
            BeamshStarted;
          _ -> Holder ! {put, BeamshChanged, \(env)}, Holder
        end,
        """
    }

    /// Bound: Code (binary), BindingIn, EnvIn, Holder, KeepState, HolderForms, Merge, Line,
    /// Width, Colors, History, HistoryLimit, WantTerm, ReplyTo, Tag. The variables the code
    /// names and the environment come from Holder, or are BindingIn and EnvIn when there is
    /// none; with KeepState `true` what the code bound goes to Holder (started with HolderForms when
    /// there is none) and the reply carries `{held, Holder, AllNames}` in the binding's place
    /// and `held` in the environment's; with `discard`, `[]` and `nil` (a lone evaluation). `History` becomes IEx's history in the worker's process dictionary when the
    /// node has IEx and its `IEx.History` is the struct this driver knows (Elixir 1.14 and
    /// later keep `queue`, `size` and `start`); elsewhere `v/1` is simply unavailable.
    /// Incomplete input is what IEx calls incomplete: a parse error at the end of the input.
    /// An exception's stacktrace is pruned as IEx 1.14 prunes it: from the bottom, the frames
    /// up to Elixir's evaluation and the expression's own `erl_eval` frames go, then Elixir's
    /// internals anywhere; what raised inside a fun (`Enum.map`) keeps its frames.
    /// IEx 1.14's history `size` is the number of the newest entry, not how many it holds:
    /// `v(-N)` is looked up only while `size - N >= start - 1`.
    static let elixirDriver = """
        try 'Elixir.IEx.History':init() of
          #{queue := _, size := _, start := _} = BeamshHistory0 when History =/= [] ->
            put(iex_history, BeamshHistory0#{queue := queue:from_list(History), size := element(1, lists:last(History)),
                                             start := element(1, hd(History))});
          BeamshHistory0 -> put(iex_history, BeamshHistory0)
        catch _:_ -> ok
        end,
        BeamshResult = try
          BeamshOpts = [{file, <<"iex">>}, {line, Line}],
          case 'Elixir.Code':string_to_quoted(Code, BeamshOpts) of
            {error, {_, _, <<>>}} -> incomplete;
            {error, _} -> 'Elixir.Code':'string_to_quoted!'(Code, BeamshOpts);
            {ok, BeamshQuoted} ->
              % Only the variables the code names come from the holder (binding() takes all).
              % (No funs here: erl_eval spends thousands of reductions making each one.)
              BeamshWanted = case Holder =/= none andalso erlang:function_exported('Elixir.Macro', prewalker, 1) of
                false -> all;
                true ->
                  BeamshNodes = 'Elixir.Enum':to_list('Elixir.Macro':prewalker(BeamshQuoted)),
                  case [all || {binding, _, _} <- BeamshNodes] ++ [all || binding <- BeamshNodes] of
                    [] -> [BeamshName || {BeamshName, _, BeamshCtx} <- BeamshNodes, is_atom(BeamshName), is_atom(BeamshCtx)];
                    _ -> all
                  end
              end,
              \(fetchFromHolder)
              BeamshEnv = case Env of
                nil ->
                  BeamshEnv0 = 'Elixir.Code':env_for_eval([{file, <<"iex">>}]),
                  case code:ensure_loaded('Elixir.IEx.Helpers') of
                    {module, _} ->
                      element(3, 'Elixir.Code':eval_quoted_with_env(
                        {import, [{context, 'Elixir'}], [{'__aliases__', [{alias, false}], ['IEx', 'Helpers']}]},
                        [], BeamshEnv0));
                    _ -> BeamshEnv0
                  end;
                _ -> Env
              end,
              {BeamshValue, BeamshBinding, BeamshEnv1} =
                'Elixir.Code':eval_quoted_with_env(BeamshQuoted, Binding, BeamshEnv),
              BeamshText = 'Elixir.Kernel':inspect(BeamshValue, [{pretty, true}, {width, Width}, {syntax_colors, Colors}]),
              BeamshSize = erlang:external_size(BeamshValue),
              BeamshStored = case KeepState of
                false -> BeamshBinding;
                discard -> [];
                true ->
                  BeamshChanged = [BeamshP || BeamshP <- BeamshBinding, not lists:member(BeamshP, Binding)],
                  \(keepInHolder(binding: "BeamshBinding", env: "BeamshEnv1"))
                  {held, BeamshHolder, lists:usort(BeamshKnown ++ [BeamshK || {BeamshK, _} <- BeamshBinding])}
              end,
              {ok, case WantTerm of true -> BeamshValue; false -> '$beamsh_no_term' end,
               BeamshText, BeamshStored,
               case KeepState of true -> held; false -> BeamshEnv1; discard -> nil end,
               case BeamshSize =< HistoryLimit of true -> {keep, BeamshSize, BeamshValue}; false -> too_large end}
          end
        catch BeamshKind:BeamshReason:BeamshRawStack ->
          % As IEx: blamed first (FunctionClauseError's arguments and clauses, "did you mean"),
          % which also gives the top frame its arity back.
          {BeamshBlamed, BeamshStack} =
            try 'Elixir.Exception':blame(BeamshKind, BeamshReason, BeamshRawStack)
            catch _:_ -> {BeamshReason, BeamshRawStack}
            end,
          BeamshEntry = ['Elixir.Code', 'Elixir.Module.ParallelChecker', elixir],
          BeamshInternal = [elixir, elixir_expand, elixir_compiler, elixir_module, elixir_clauses, elixir_lexical,
                            elixir_def, elixir_map, elixir_erl, elixir_erl_clauses, elixir_erl_pass,
                            'Elixir.Kernel.ErrorHandler', 'Elixir.Module.ParallelChecker'],
          BeamshUp = lists:reverse(BeamshStack),
          BeamshFromEntry = case lists:dropwhile(fun(BeamshFrame) ->
                                   not lists:member(element(1, BeamshFrame), BeamshEntry) end, BeamshUp) of
                              [] -> BeamshUp;
                              BeamshFound -> BeamshFound
                            end,
          BeamshOwn = lists:dropwhile(fun(BeamshFrame) -> lists:member(element(1, BeamshFrame), [erl_eval, eval_bits]) end,
                        lists:dropwhile(fun(BeamshFrame) -> lists:member(element(1, BeamshFrame), BeamshEntry) end,
                                        BeamshFromEntry)),
          BeamshPruned = [BeamshFrame || BeamshFrame <- lists:reverse(BeamshOwn),
                                         not lists:member(element(1, BeamshFrame), BeamshInternal)],
          BeamshBanner =
            try BeamshBlamed of
              #{'__struct__' := 'Elixir.FunctionClauseError'} ->
                BeamshBlame = 'Elixir.FunctionClauseError':blame(BeamshBlamed,
                  fun(BeamshArg) -> 'Elixir.Kernel':inspect(BeamshArg, [{syntax_colors, Colors}]) end,
                  fun(#{'match?' := true, node := BeamshNode}) -> 'Elixir.Macro':to_string(BeamshNode);
                     (#{node := BeamshNode}) -> <<"-", ('Elixir.Macro':to_string(BeamshNode))/binary, "-">>
                  end),
                <<('Elixir.Exception':format_banner(BeamshKind, BeamshReason, BeamshStack))/binary, "    ",
                  (binary:replace(BeamshBlame, <<"\n">>, <<"\n    ">>, [global]))/binary>>;
              _ -> 'Elixir.Exception':format_banner(BeamshKind, BeamshBlamed, BeamshStack)
            catch _:_ -> 'Elixir.Exception':format_banner(BeamshKind, BeamshReason, BeamshStack)
            end,
          {error, case BeamshPruned of
                    [] -> BeamshBanner;
                    _ -> <<BeamshBanner/binary, "\n", ('Elixir.Exception':format_stacktrace(BeamshPruned))/binary>>
                  end}
        end,
        ReplyTo ! {Tag, BeamshResult},
        ok.
        """

    /// Bound: Code (binary), BindingIn, EnvIn (nil), Holder, KeepState, HolderForms, Merge,
    /// Line, WantTerm, ReplyTo, Tag (the binding's journey as in the Elixir driver; a scan
    /// error replies `unchanged` in the binding's place). Local calls the Erlang
    /// shell offers (`pid/3`, `i/0`, `memory/0`...) go to `shell_default`, as in the shell.
    /// Several full stops on one line are several expressions, evaluated in turn as the shell
    /// does (`A = 1. B = A + 1.`); nothing runs until the last one is complete, so a line
    /// that continues never evaluates its first part twice. A failure keeps the binding made
    /// by the expressions before it. Replies carry how many expressions ran (a syntax error
    /// runs none), which is what the shell's prompt number counts.
    static let erlangDriver = """
        BeamshFormatError = fun({BeamshLoc, BeamshMod, BeamshInfo}) ->
          BeamshWhere = case BeamshLoc of
            {BeamshL, BeamshC} -> io_lib:format("~b:~b", [BeamshL, BeamshC]);
            _ -> io_lib:format("~p", [BeamshLoc])
          end,
          unicode:characters_to_binary(io_lib:format("* ~ts: ~ts~n", [BeamshWhere, BeamshMod:format_error(BeamshInfo)]))
        end,
        BeamshScan = fun BeamshScan(BeamshChars, BeamshLine, BeamshAcc) ->
          case erl_scan:tokens([], BeamshChars, BeamshLine) of
            {done, {ok, BeamshTokens, BeamshNext}, BeamshRest} ->
              BeamshScan(BeamshRest, BeamshNext, [BeamshTokens | BeamshAcc]);
            {done, {eof, _}, _} when BeamshAcc =/= [] -> {ok, lists:reverse(BeamshAcc)};
            {done, {eof, _}, _} -> incomplete;
            {done, {error, BeamshError, _}, _} -> {error, BeamshFormatError(BeamshError)};
            {more, _} ->
              case erl_scan:string(BeamshChars) of
                {ok, [], _} when BeamshAcc =/= [] -> {ok, lists:reverse(BeamshAcc)};
                _ -> incomplete
              end
          end
        end,
        % Printed as the shell prints: depth 30, lines of at most 60 characters, the terminal's width.
        BeamshStrings = application:get_env(stdlib, shell_strings, true) =/= false,
        BeamshPrintDeep = fun(BeamshTerm, BeamshColumn, BeamshDepth) ->
          io_lib_pretty:print(BeamshTerm, [{column, BeamshColumn}, {line_length, Width}, {depth, BeamshDepth},
                                           {line_max_chars, 60}, {strings, BeamshStrings}, {encoding, unicode}])
        end,
        BeamshPrint = fun(BeamshTerm, BeamshColumn) -> BeamshPrintDeep(BeamshTerm, BeamshColumn, 30) end,
        % A local call is a shell command, as in the shell, wherever it is in the expression: the
        % binding commands f/0, f/1 and b/0 and rp/1 as the shell runs them (f/1's argument
        % unevaluated, a variable); else user_default's, then shell_default's function;
        % anything else is "undefined shell command" (OTP 28's shell_default would ask a shell
        % process that is not there, and fail with {erpc,notsup}).
        % (user_default only when loaded, as the shell asks: a module that is not there would be
        % looked for along the whole code path at every call.)
        BeamshLocal = fun
          BeamshLocal(f, [], _) -> {value, ok, erl_eval:new_bindings()};
          BeamshLocal(f, [{var, _, BeamshName}], BeamshBs) -> {value, ok, erl_eval:del_binding(BeamshName, BeamshBs)};
          BeamshLocal(f, [_], _) -> erlang:raise(error, function_clause, [{shell, f, 1, []}]);
          BeamshLocal(b, [], BeamshBs) ->
            [begin
               BeamshPrefix = io_lib:fwrite(<<"~ts = ">>, [BeamshName]),
               io:requests([{put_chars, unicode, BeamshPrefix},
                            {put_chars, unicode, BeamshPrint(BeamshValue, iolist_size(BeamshPrefix) + 1)}, nl])
             end || {BeamshName, BeamshValue} <- lists:sort(erl_eval:bindings(BeamshBs)),
                    not lists:prefix("$beamsh", atom_to_list(BeamshName))],
            {value, ok, BeamshBs};
          BeamshLocal(rp, [BeamshArg], BeamshBs) ->
            {[BeamshValue], BeamshBs1} = erl_eval:expr_list([BeamshArg], BeamshBs, {eval, BeamshLocal}),
            io:requests([{put_chars, unicode, BeamshPrintDeep(BeamshValue, 1, -1)}, nl]),
            {value, ok, BeamshBs1};
          BeamshLocal(BeamshF, BeamshArgs, BeamshBs) ->
            {BeamshAs, BeamshBs1} = erl_eval:expr_list(BeamshArgs, BeamshBs, {eval, BeamshLocal}),
            BeamshA = length(BeamshAs),
            {value,
             case erlang:function_exported(user_default, BeamshF, BeamshA) of
               true -> apply(user_default, BeamshF, BeamshAs);
               false ->
                 case code:ensure_loaded(shell_default) =:= {module, shell_default}
                      andalso erlang:function_exported(shell_default, BeamshF, BeamshA) of
                   true -> apply(shell_default, BeamshF, BeamshAs);
                   false -> erlang:error({shell_undef, BeamshF, BeamshA, []})
                 end
             end, BeamshBs1}
        end,
        % v(N), as the shell does it: before the expression runs, each v(N) becomes query N's value
        % (N a constant expression; N < 0 counts back from this query). One it cannot find stops
        % the expression with "* N: command not found" before anything runs, and does not count.
        % The value comes in as a variable no one can type ('$beamsh_v5'), bound for the
        % expression only.
        BeamshHistoryVar = fun(BeamshN) -> list_to_atom("$beamsh_v" ++ integer_to_list(BeamshN)) end,
        BeamshExpandHistory = fun BeamshExpandHistory({call, BeamshAnno, {atom, _, v}, [BeamshArg]}, BeamshNow, BeamshHistory) ->
            BeamshWant = try erl_eval:expr(BeamshArg, []) of
                           {value, BeamshN, _} when is_integer(BeamshN), BeamshN < 0 -> BeamshNow + BeamshN;
                           {value, BeamshN, _} -> BeamshN
                         catch _:_ -> none
                         end,
            case lists:keymember(BeamshWant, 1, BeamshHistory) of
              true -> {var, BeamshAnno, BeamshHistoryVar(BeamshWant)};
              false -> throw({'$beamsh_command_not_found', BeamshArg})
            end;
          BeamshExpandHistory(BeamshTuple, BeamshNow, BeamshHistory) when is_tuple(BeamshTuple) ->
            list_to_tuple(BeamshExpandHistory(tuple_to_list(BeamshTuple), BeamshNow, BeamshHistory));
          BeamshExpandHistory([BeamshHead | BeamshTail], BeamshNow, BeamshHistory) ->
            [BeamshExpandHistory(BeamshHead, BeamshNow, BeamshHistory) | BeamshExpandHistory(BeamshTail, BeamshNow, BeamshHistory)];
          BeamshExpandHistory(BeamshOther, _, _) -> BeamshOther
        end,
        % Each query's value, for v/1 later: {N, {keep, Size, Value}}, or {N, too_large}.
        BeamshKeep = fun(BeamshNow, BeamshValue) ->
          {BeamshNow, case erlang:external_size(BeamshValue) of
                        BeamshSize when BeamshSize =< HistoryLimit -> {keep, BeamshSize, BeamshValue};
                        _ -> too_large
                      end}
        end,
        BeamshPrepCheck = fun BeamshPrepCheck({call, BeamshA, {atom, _, f}, [{var, _, _}]}) -> {atom, BeamshA, ok};
                              BeamshPrepCheck(BeamshT) when is_tuple(BeamshT) ->
                                list_to_tuple(BeamshPrepCheck(tuple_to_list(BeamshT)));
                              BeamshPrepCheck([BeamshH | BeamshT]) -> [BeamshPrepCheck(BeamshH) | BeamshPrepCheck(BeamshT)];
                              BeamshPrepCheck(BeamshT) -> BeamshT
                           end,
        % One expression, as query number BeamshNow: {ok, Value, Text, Binding} |
        % {failed, Value, Text} (Value is what `catch` makes of the exception, as the shell keeps
        % it) | {not_found, Text} (nothing ran).
        BeamshEvalOne = fun(BeamshTokens, BeamshExprs0, BeamshBinding0, BeamshNow, BeamshHistory) ->
          % (Only an expression that names `v` is walked: a compiled look at its tokens.)
          try
            case lists:keymember(v, 3, BeamshTokens) of
              true ->
                {BeamshExpandHistory(BeamshExprs0, BeamshNow, BeamshHistory),
                 [BeamshHistoryVar(BeamshN) || {BeamshN, _} <- BeamshHistory]};
              false -> {BeamshExprs0, []}
            end
          of
            {BeamshExprs, BeamshHistoryVars} ->
              BeamshWithHistory = lists:foldl(fun({BeamshN, BeamshV}, BeamshB) ->
                                                erl_eval:add_binding(BeamshHistoryVar(BeamshN), BeamshV, BeamshB)
                                              end, BeamshBinding0,
                                              case BeamshHistoryVars of [] -> []; _ -> BeamshHistory end),
              % As the shell: checked first (an unbound variable is `* 1:1: variable 'X' is
              % unbound`, and the query's value is the exit it would have caused), with `f(X)`
              % read as `ok` for the check, as the shell's prep_check does: `f(V)` forgets V,
              % bound or not. (Only an expression that names `f` is walked.)
              BeamshChecked = case lists:keymember(f, 3, BeamshTokens) of
                true -> BeamshPrepCheck(BeamshExprs);
                false -> BeamshExprs
              end,
              case erl_eval:check_command(BeamshChecked, BeamshWithHistory) of
                {error, {_, _, BeamshLintWhat} = BeamshLintError} ->
                  {failed, {'EXIT', BeamshLintWhat}, BeamshFormatError(BeamshLintError)};
                _ ->
              try erl_eval:exprs(BeamshExprs, BeamshWithHistory, {eval, BeamshLocal}) of
                {value, BeamshValue, BeamshBinding1} ->
                  BeamshClean = lists:foldl(fun erl_eval:del_binding/2, BeamshBinding1, BeamshHistoryVars),
                  {ok, BeamshValue, unicode:characters_to_binary(BeamshPrint(BeamshValue, 1)), BeamshClean}
              catch BeamshClass:BeamshReason:BeamshStack ->
                {failed, case BeamshClass of
                           throw -> {'EXIT', {{nocatch, BeamshReason}, BeamshStack}};
                           _ -> {'EXIT', {BeamshReason, BeamshStack}}
                         end,
                 unicode:characters_to_binary(["** ",
                   erl_error:format_exception(BeamshClass, BeamshReason, BeamshStack,
                     #{column => 4, format_fun => BeamshPrint,
                       stack_trim_fun => fun(BeamshM, _, _) -> BeamshM =:= erl_eval end})])}
              end
              end
          catch throw:{'$beamsh_command_not_found', BeamshWhat} ->
            {not_found, unicode:characters_to_binary(io_lib:format("* ~ts: command not found", [erl_pp:expr(BeamshWhat)]))}
          end
        end,
        % Every expression of the input in turn (several full stops on a line are several
        % queries). A failure ends the input when StopAtFailure (scripts, --eval); at the console
        % the rest runs, as in the shell. Reply: {ok | error, Value, Text, Binding, Ran, Kept, Steps},
        % Steps each expression's {ok | failed, Text, Value} when there were several and SplitSteps
        % (one-shot modes print each), else [].
        BeamshEvalAll = fun BeamshEvalAll([BeamshTokens | BeamshMore], BeamshBinding0, BeamshTexts, BeamshRan, BeamshKept, BeamshHistory, BeamshFailed, BeamshSteps) ->
          BeamshNow = Query + BeamshRan,
          {BeamshStep, BeamshText, BeamshBinding1, BeamshRan1, BeamshKept1, BeamshHistory1, BeamshValue} =
            case erl_parse:parse_exprs(BeamshTokens) of
              {error, BeamshError} ->
                {failed, BeamshFormatError(BeamshError), BeamshBinding0, BeamshRan, BeamshKept, BeamshHistory, none};
              {ok, BeamshExprs} ->
                case BeamshEvalOne(BeamshTokens, BeamshExprs, BeamshBinding0, BeamshNow, BeamshHistory) of
                  {ok, BeamshV, BeamshT, BeamshB} ->
                    {ok, BeamshT, BeamshB, BeamshRan + 1, [BeamshKeep(BeamshNow, BeamshV) | BeamshKept],
                     [{BeamshNow, BeamshV} | BeamshHistory], BeamshV};
                  {failed, BeamshV, BeamshT} ->
                    {failed, BeamshT, BeamshBinding0, BeamshRan + 1, [BeamshKeep(BeamshNow, BeamshV) | BeamshKept],
                     [{BeamshNow, BeamshV} | BeamshHistory], none};
                  {not_found, BeamshT} ->
                    {failed, BeamshT, BeamshBinding0, BeamshRan, BeamshKept, BeamshHistory, none}
                end
            end,
          BeamshTexts1 = BeamshTexts ++ [BeamshText],
          BeamshFailed1 = BeamshFailed orelse BeamshStep =:= failed,
          BeamshSteps1 = [{BeamshStep, BeamshText, case WantTerm of true when BeamshStep =:= ok -> BeamshValue; _ -> '$beamsh_no_term' end}
                          | BeamshSteps],
          case BeamshMore of
            [_ | _] when BeamshStep =:= ok; not StopAtFailure ->
              BeamshEvalAll(BeamshMore, BeamshBinding1, BeamshTexts1 ++ [<<"\\n">>], BeamshRan1, BeamshKept1, BeamshHistory1, BeamshFailed1,
                            BeamshSteps1);
            _ ->
              {case BeamshFailed1 of true -> error; false -> ok end,
               case WantTerm of true when not BeamshFailed1 -> BeamshValue; _ -> '$beamsh_no_term' end,
               iolist_to_binary(BeamshTexts1), BeamshBinding1, BeamshRan1, lists:reverse(BeamshKept1),
               case BeamshSteps1 of [_ | [_ | _]] when SplitSteps -> lists:reverse(BeamshSteps1); _ -> [] end}
          end
        end,
        BeamshResult = case BeamshScan(unicode:characters_to_list(Code), {Line, 1}, []) of
          incomplete -> incomplete;
          {error, BeamshScanError} -> {error, BeamshScanError, unchanged, 0};
          {ok, BeamshForms} ->
            % Only the variables the code names come from the holder; all of them when it may
            % call f/0,1 or b/0 (it names an atom f or b), which act on the whole binding.
            BeamshWantsAll = lists:any(fun(BeamshTs) -> lists:keymember(f, 3, BeamshTs) orelse lists:keymember(b, 3, BeamshTs) end,
                                       BeamshForms),
            BeamshWanted = case BeamshWantsAll of
              true -> all;
              false -> lists:usort([BeamshN || BeamshTs <- BeamshForms, {var, _, BeamshN} <- BeamshTs])
            end,
            \(fetchFromHolder)
            BeamshOutcome = BeamshEvalAll(BeamshForms, Binding, [], 0, [], History, false, []),
            BeamshNew = element(4, BeamshOutcome),
            BeamshStored = case KeepState of
              false -> BeamshNew;
              discard -> [];
              true ->
                BeamshNewPairs = case BeamshNew of BeamshNewMap when is_map(BeamshNewMap) -> maps:to_list(BeamshNewMap); _ -> BeamshNew end,
                BeamshGivenPairs = case Binding of BeamshGivenMap when is_map(BeamshGivenMap) -> maps:to_list(BeamshGivenMap); _ -> Binding end,
                % What f/0,1 forgot goes too: the whole binding replaces the holder's.
                BeamshChanged = case BeamshWantsAll andalso Holder =/= none of
                  true -> Holder ! {replace, BeamshNew, nil}, [];
                  false -> [BeamshP || BeamshP <- BeamshNewPairs, not lists:member(BeamshP, BeamshGivenPairs)]
                end,
                \(keepInHolder(binding: "BeamshNew", env: "nil"))
                BeamshNewNames = [BeamshK || {BeamshK, _} <- BeamshNewPairs],
                {held, BeamshHolder, lists:usort(case BeamshWantsAll of true -> BeamshNewNames; false -> BeamshKnown ++ BeamshNewNames end)}
            end,
            setelement(4, BeamshOutcome, BeamshStored)
        end,
        ReplyTo ! {Tag, BeamshResult},
        ok.
        """

    /// Bound: Binding, Env, Merge (elixir or erlang: how a binding is updated), ReplyTo. The
    /// session's binding and environment between evaluations. A worker asks for the variables
    /// its code names (`{get, From, Ref, Names | all}` → `{Ref, {Subset, Env, AllNames}}`), so
    /// a large value is only copied to the workers that use it, and puts back what it bound
    /// (`{put, Changed, Env}`); an Erlang worker that may have run `f/0,1` replaces the whole
    /// (`{replace, Binding, Env}`).
    /// Linked to our pid, so it ends with the session or the connection.
    /// Bound: DriverBindings (the driver's own bindings), Holder, ReplyTo, Tag. Gets the driver
    /// from the holder and runs it; `{Tag, no_driver}` when the holder is gone or has none.
    static let bootstrapDriver = """
        BeamshRef = erlang:monitor(process, Holder),
        Holder ! {driver, self(), BeamshRef},
        receive
          {BeamshRef, BeamshForms} when is_list(BeamshForms) ->
            erlang:demonitor(BeamshRef, [flush]),
            erl_eval:exprs(BeamshForms, DriverBindings, none);
          {BeamshRef, _} -> erlang:demonitor(BeamshRef, [flush]), ReplyTo ! {Tag, no_driver};
          {'DOWN', BeamshRef, _, _, _} -> ReplyTo ! {Tag, no_driver}
        end.
        """

    static let holderDriver = """
        link(ReplyTo),
        % Named for whoever looks at the node's processes: `beamsh top` shows it as beamsh's,
        % and on OTP 27+ observer and `proc_lib:get_label/1` do too.
        put('$beamsh', {holder, node(ReplyTo)}),
        case erlang:function_exported(proc_lib, set_label, 1) of
          true -> proc_lib:set_label({beamsh, holder, node(ReplyTo)});
          false -> ok
        end,
        BeamshPairs = fun(BeamshB) when is_map(BeamshB) -> maps:to_list(BeamshB); (BeamshB) -> BeamshB end,
        BeamshHold = fun BeamshHold(BeamshBinding, BeamshEnv) ->
          receive
            {get, BeamshFrom, BeamshRef, BeamshWanted} ->
              % Compiled maps/lists functions, no comprehension: erl_eval interprets every
              % step of one, which made each line cost in proportion to the variables bound.
              BeamshAll = maps:from_list(BeamshPairs(BeamshBinding)),
              BeamshSubset = case {BeamshWanted, Merge} of
                {all, _} -> BeamshBinding;
                {_, elixir} -> maps:to_list(maps:with(BeamshWanted, BeamshAll));
                {_, erlang} -> lists:ukeysort(1, maps:to_list(maps:with(BeamshWanted, BeamshAll)))
              end,
              BeamshFrom ! {BeamshRef, {BeamshSubset, BeamshEnv, maps:keys(BeamshAll)}},
              BeamshHold(BeamshBinding, BeamshEnv);
            {put, BeamshChanged, BeamshNewEnv} ->
              BeamshMerged = lists:foldl(fun({BeamshK, BeamshV}, BeamshAcc) ->
                case Merge of
                  erlang -> erl_eval:add_binding(BeamshK, BeamshV, BeamshAcc);
                  elixir -> lists:keystore(BeamshK, 1, BeamshAcc, {BeamshK, BeamshV})
                end
              end, BeamshBinding, BeamshChanged),
              BeamshHold(BeamshMerged, BeamshNewEnv);
            {replace, BeamshNewBinding, BeamshNewEnv} -> BeamshHold(BeamshNewBinding, BeamshNewEnv);
            {driver, BeamshForms} -> put(beamsh_driver, BeamshForms), BeamshHold(BeamshBinding, BeamshEnv);
            {driver, BeamshFrom, BeamshRef} ->
              BeamshFrom ! {BeamshRef, get(beamsh_driver)},
              BeamshHold(BeamshBinding, BeamshEnv);
            _ -> BeamshHold(BeamshBinding, BeamshEnv)
          end
        end,
        BeamshHold(Binding, Env).
        """
}
