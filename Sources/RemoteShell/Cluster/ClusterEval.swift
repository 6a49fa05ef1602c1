// `beamsh cluster NODE --eval EXPR`: one expression on every member at once, a table of
// node → result. Each member runs it with the console's own one-shot evaluator
// (``OneShotEvaluator``) in the node's own language: the code travels as data, a worker process
// linked to us evaluates it (killed when the time is up, gone when the connection closes, so a
// slow expression never lingers on 50 nodes), its output comes here rather than into the node's
// log, and the node's own `inspect/2` or `io_lib:format("~tp")` prints the value.

import ErlangDistribution
import ErlangTerm
import NIOConcurrencyHelpers
import NIOCore

/// The fan-out's evaluation on one member.
public enum FanoutEvaluator {
    /// Why `expression` must not be sent to every node, or nil. Each node evaluates it in its
    /// own language, so a call that stops a node is looked for in both syntaxes; it is refused
    /// unless `allowStops` (`--yes`): with no prompt to ask at, the answer is no. In read-only
    /// mode it must be allowed in at least one syntax (each node checks its own again).
    public static func refusal(_ expression: String, allowStops: Bool, readOnly: Bool) -> String? {
        if !allowStops, let call = FootgunGuard.dangerousCall(in: expression, language: .elixir)
            ?? FootgunGuard.dangerousCall(in: expression, language: .erlang) {
            return "not evaluated: \(call) would stop every node it runs on (pass --yes to allow it)"
        }
        if readOnly, let refusal = CoreCommands.readOnlyRefusal(expression, language: .elixir),
           CoreCommands.readOnlyRefusal(expression, language: .erlang) != nil {
            return refusal
        }
        return nil
    }

    /// What one member made of the expression.
    public struct Evaluation: Sendable {
        /// nil when the evaluation ended before the node's language was known.
        public var language: Language?
        public var result: EvaluationResult
        /// What the evaluation printed (`IO.puts`, `io:format`), at most ``outputLimit`` bytes.
        public var output: String
        /// The value's JSON mapping (``TermJSON``), when asked for and the evaluation gave one.
        public var valueJSON: String?
    }

    /// Output kept per node; the report of 50 nodes stays readable and bounded.
    public static let outputLimit = 16 << 10

    /// Evaluates `expression` on the node at the other end of `connection`, in its language
    /// (Elixir when it has Elixir). Stops are refused unless `allowStops` (the fan-out asked no
    /// one); reads from the expression get end of input. Throws only when the connection fails.
    public static func evaluate(
        _ expression: String, on connection: NodeConnection, timeout: Duration, readOnly: Bool, allowStops: Bool,
        wantValue: Bool = false
    ) async throws -> Evaluation {
        let output = CappedOutput(limit: outputLimit)
        var options = ShellOptions(readOnly: readOnly, stopGuard: allowStops ? .allow : .refuse, timeout: timeout)
        options.geometry = { TerminalGeometry(columns: 80, rows: 0) }  // no rows: nothing pages
        func valueJSON(_ result: EvaluationResult) -> String? {
            guard case .value(_, let term?) = result else { return nil }
            var json = TermJSON.Options()
            json.localNode = connection.peerNodeAtom
            return TermJSON(options: json).encode(term)
        }
        // A read-only core command (`Node.list()`, the everyday question) is its BIF calls, in
        // one round trip, whatever the node's language; anything else goes to an evaluator.
        var coreAlreadyTried = false
        switch try await OneShotEvaluator.answerLoneCoreCommand(expression, connection: connection, options: options, wantTerm: wantValue) {
        case .answered(let result):
            return Evaluation(language: .elixir, result: result, output: "", valueJSON: valueJSON(result))
        case .nodeWithoutElixir(let result):
            return Evaluation(language: .erlang, result: result, output: "", valueJSON: valueJSON(result))
        case .callFailed: coreAlreadyTried = true
        case .notAnswered: break
        }
        let evaluator = try await OneShotEvaluator.make(connection: connection, options: options, output: output)
        defer { evaluator.close() }
        let result = try await evaluator.evaluateOnce(expression, wantTerm: wantValue, coreAlreadyTried: coreAlreadyTried)
        return Evaluation(language: evaluator.knownLanguage, result: result, output: output.text, valueJSON: valueJSON(result))
    }
}

/// Keeps the first `limit` bytes written (cut between characters) and says how many more
/// were dropped.
final class CappedOutput: ConsoleOutput, @unchecked Sendable {
    private let limit: Int
    private let state = NIOLockedValueBox((kept: "", keptBytes: 0, dropped: 0))
    init(limit: Int) { self.limit = limit }

    func write(_ text: String) {
        state.withLockedValue { s in
            var room = limit - s.keptBytes
            guard s.dropped == 0, room > 0 else {
                s.dropped += text.utf8.count
                return
            }
            var end = text.unicodeScalars.startIndex
            for scalar in text.unicodeScalars {
                let size = UTF8.width(scalar)
                guard size <= room else { break }
                room -= size
                end = text.unicodeScalars.index(after: end)
            }
            let kept = String(text.unicodeScalars[..<end])
            s.kept += kept
            s.keptBytes += kept.utf8.count
            s.dropped += text.utf8.count - kept.utf8.count
        }
    }

    /// Only what still fits is turned into text: the rest is counted.
    func write(utf8 pieces: [ArraySlice<UInt8>]) {
        var room = state.withLockedValue { limit - $0.keptBytes }
        var shown: [ArraySlice<UInt8>] = []
        var counted = 0
        for piece in pieces {
            if room > 0 {
                // Up to a character boundary a little past the room: write(_:) cuts exactly.
                var take = min(piece.count, room + 4)
                while take < piece.count, take > 0, piece[piece.startIndex + take] & 0xC0 == 0x80 { take -= 1 }
                shown.append(piece.prefix(take))
                room -= take
                counted += piece.count - take
            } else {
                counted += piece.count
            }
        }
        write(shown.map { String(decoding: $0, as: UTF8.self) }.joined())
        if counted > 0 { state.withLockedValue { $0.dropped += counted } }
    }

    var text: String {
        state.withLockedValue { s in
            guard s.dropped > 0 else { return s.kept }
            let newline = s.kept.isEmpty || s.kept.hasSuffix("\n") ? "" : "\n"
            return s.kept + newline + "... (\(s.dropped) more bytes of output not shown)\n"
        }
    }
}

/// One node's line in the fan-out table.
public struct FanoutResult: Sendable {
    public enum Outcome: Sendable {
        case value(String)
        case failed(String)
        case unreachable(DistributionError)
        /// The address reached another node of the list (a dual-stack DNS name gives each node
        /// two names): evaluated there, not twice.
        case sameNode(as: String)
    }

    public let node: String
    public let language: Language?
    public let outcome: Outcome
    /// What the evaluation printed on this node (bounded, see ``FanoutEvaluator/outputLimit``).
    public let output: String
    /// The value's JSON mapping, with `--format json`.
    public let valueJSON: String?

    public init(node: String, language: Language?, outcome: Outcome, output: String = "", valueJSON: String? = nil) {
        self.node = node
        self.language = language
        self.outcome = outcome
        self.output = output
        self.valueJSON = valueJSON
    }

    /// 0 value, 1 evaluation failed, 2 could not connect, 3 cookie rejected.
    public var exitCode: Int32 {
        switch outcome {
        case .value, .sameNode: return 0
        case .failed: return 1
        case .unreachable(let e):
            switch e.category {
            case .remote: return 1
            case .connect: return 2
            case .authentication: return 3
            }
        }
    }
}

/// The fan-out over a whole cluster.
public struct FanoutReport: Sendable {
    public var seed: String
    public var expression: String
    public var results: [FanoutResult]
    public var elapsed: Duration

    /// `seed` is where the member list came from: a node name, or the DNS query.
    public init(seed: String, expression: String, results: [FanoutResult], elapsed: Duration) {
        self.seed = seed
        self.expression = expression
        self.results = results
        self.elapsed = elapsed
    }

    /// The worst of the nodes' exit codes.
    public var exitCode: Int32 { results.map(\.exitCode).max() ?? 0 }

    /// - parameter terminalWidth: the terminal's width, or nil: in a terminal, node names longer
    ///   than a third of it (16 columns at least) are cut with "…", so the results keep their room.
    public func render(terminalWidth: Int? = nil) -> String {
        let natural = (results.map(\.node.count) + ["node".count]).max()!
        let width = terminalWidth.map { min(natural, max(16, $0 / 3)) } ?? natural
        func pad(_ s: String) -> String {
            s.count > width ? String(s.prefix(width - 1)) + "…" : s + String(repeating: " ", count: width - s.count)
        }
        var lines = [pad("node") + "  result"]
        for r in results {
            var text: String
            switch r.outcome {
            case .value(let v): text = v
            case .failed(let e): text = "ERROR " + e
            case .unreachable(let e): text = "UNREACHABLE " + e.description
            case .sameNode(let other): text = "(another address of \(other), evaluated there)"
            }
            // What the node printed comes first, as the console shows it; multi-line results
            // stay readable: continuation lines go under the result column.
            if !r.output.isEmpty { text = r.output + (r.output.hasSuffix("\n") ? "" : "\n") + text }
            // (By scalars: Swift's "\r\n" is one Character, which a split at "\n" would miss.)
            let parts = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
                .map { String(String.UnicodeScalarView($0.last == "\r" ? $0.dropLast() : $0[...])) }
            lines.append(pad(r.node) + "  " + (parts.first ?? ""))
            for more in parts.dropFirst() { lines.append(String(repeating: " ", count: width + 2) + more) }
        }
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        .object([
            ("seed", .string(seed)), ("expression", .string(expression)), ("exit_code", .number(Int(exitCode))),
            ("results", .array(results.map { r in
                var pairs: [(String, JSONValue)] = [("node", .string(r.node))]
                switch r.outcome {
                case .value(let v):
                    pairs += [("ok", .bool(true)), ("result", .string(v))]
                    if let value = r.valueJSON { pairs.append(("value", .raw(value))) }
                case .failed(let e): pairs += [("ok", .bool(false)), ("error", .string(e))]
                case .unreachable(let e): pairs += [("ok", .bool(false)), ("unreachable", .string(e.description))]
                case .sameNode(let other): pairs += [("ok", .bool(true)), ("same_node_as", .string(other))]
                }
                if let language = r.language { pairs.append(("language", .string(language.rawValue))) }
                if !r.output.isEmpty { pairs.append(("output", .string(r.output))) }
                return .object(pairs)
            })),
        ])
    }
}

extension ClusterInspector {
    /// The members as `seed` sees them: `[node() | nodes()]`, sorted. Asked by a process of
    /// beamsh's own, not `rex`: a seed whose rex is stuck still names the others.
    public static func members(of connection: NodeConnection, timeout: Duration) async throws -> [String] {
        let others = try await connection.callWithoutRex("erlang", "nodes", [], timeout: timeout, purpose: "the cluster's members")
        return ([connection.peer.name] + (others.listElements?.compactMap { $0.atomValue?.name } ?? [])).sorted()
    }

    /// Evaluates `expression` on every member of `seed`'s cluster at once: the nodes the seed
    /// sees, then any node one of them sees that the seed does not (a partitioned cluster is when
    /// a fan-out matters most), as the mesh check walks them.
    /// `seedConnection`: one already open to `seed`, closed here too.
    public static func evaluateEverywhere(
        _ expression: String, seed: NodeName, seedConnection open: NodeConnection? = nil, options: ClusterOptions,
        group: EventLoopGroup
    ) async throws(DistributionError) -> FanoutReport {
        let clock = ContinuousClock()
        let started = clock.now
        let seedConnection: NodeConnection
        if let open { seedConnection = open } else { seedConnection = try await NodeConnection.connect(to: seed, options: options.connect, group: group) }
        defer { seedConnection.closeNow() }
        let names: [String]
        do {
            names = try await members(of: seedConnection, timeout: options.timeout)
        } catch let error as DistributionError {
            throw error
        } catch {
            throw DistributionError(.connectionLost, "\(error)")
        }
        var nodes = names
        for d in options.discovered where d.isRegistered && !nodes.contains(d.name) { nodes.append(d.name) }
        var results = await evaluate(expression, on: nodes, reusing: seedConnection, options: options, group: group,
                                     followingLinks: true)
        // A node DNS names that EPMD does not know (or whose EPMD does not answer) gets its row
        // too: "which version runs where" must not look complete with a node missing.
        let evaluated = Set(results.map(\.node))
        for d in options.discovered where !d.isRegistered && !evaluated.contains(d.name) {
            results.append(FanoutResult(node: d.name, language: nil,
                                        outcome: .unreachable(DistributionError(d.statusKind, "\(d.name): \(d.statusText)"))))
        }
        results.sort { $0.node < $1.node }
        return FanoutReport(seed: seed.description, expression: expression, results: results, elapsed: clock.now - started)
    }

    /// Evaluates `expression` on each of `nodes` at once (`reusing` an open connection to one
    /// of them), sorted by node name. `followingLinks`: each node is also asked for `nodes()`,
    /// and a node named there that was not asked yet gets the expression as soon as its name is
    /// heard, while the others still evaluate (on a partitioned cluster the nodes beyond the
    /// seed's view run it at the same time, not after the first ones finish).
    public static func evaluate(
        _ expression: String, on nodes: [String], reusing seedConnection: NodeConnection?, options: ClusterOptions,
        group: EventLoopGroup, followingLinks: Bool = false
    ) async -> [FanoutResult] {
        enum Event: Sendable {
            /// A node's `nodes()` arrived (empty if it could not be asked); its evaluation goes on.
            case links([String], evaluation: Task<FanoutResult, Never>)
            case result(FanoutResult)
        }
        var results: [FanoutResult] = []
        await withTaskGroup(of: Event.self) { tasks in
            var asked = Set<String>()
            func start(_ name: String) {
                asked.insert(name)
                tasks.addTask {
                    guard followingLinks else {
                        return .result(await evaluateOne(expression, on: name, reusing: seedConnection, options: options, group: group,
                                                         onLinks: nil))
                    }
                    let (heard, sink) = AsyncStream.makeStream(of: [String].self)
                    let evaluation = Task {
                        defer { sink.finish() }
                        return await evaluateOne(expression, on: name, reusing: seedConnection, options: options, group: group,
                                                 onLinks: { sink.yield($0) })
                    }
                    var linked: [String] = []
                    for await names in heard {
                        linked = names
                        break
                    }
                    return .links(linked, evaluation: evaluation)
                }
            }
            for name in nodes where !asked.contains(name) { start(name) }
            while let event = await tasks.next() {
                switch event {
                case .links(let linked, let evaluation):
                    for name in linked.sorted() where !asked.contains(name) { start(name) }
                    tasks.addTask { .result(await evaluation.value) }
                case .result(let result):
                    results.append(result)
                }
            }
        }
        // A name whose address answered as another node of the list is that node again.
        let evaluated = Set(results.compactMap { r -> String? in
            if case .unreachable = r.outcome { return nil }
            return r.node
        })
        results = results.map { r in
            guard case .unreachable(let error) = r.outcome, let other = error.reachedNode, evaluated.contains(other) else { return r }
            return FanoutResult(node: r.node, language: nil, outcome: .sameNode(as: other))
        }
        return results.sorted { $0.node < $1.node }
    }

    /// The expression on one node. `onLinks`, when given, hears the node's `nodes()` (asked
    /// alongside the evaluation, on the same connection, by a process of beamsh's own) as soon as it answers.
    private static func evaluateOne(
        _ expression: String, on name: String, reusing seedConnection: NodeConnection?, options: ClusterOptions,
        group: EventLoopGroup, onLinks: (@Sendable ([String]) -> Void)?
    ) async -> FanoutResult {
        let body: @Sendable (NodeConnection) async throws -> FanoutEvaluator.Evaluation = { c in
            async let linksTold: Void = {
                guard let onLinks else { return }
                // Not through rex, as the evaluation does not: a node whose rex is stuck
                // still gets its row without waiting out the timeout.
                let reply = try? await c.callWithoutRex("erlang", "nodes", [], timeout: options.timeout, purpose: "its links")
                onLinks(reply?.listElements?.compactMap { $0.atomValue?.name } ?? [])
            }()
            let evaluation = try await FanoutEvaluator.evaluate(
                expression, on: c, timeout: options.timeout, readOnly: options.readOnly, allowStops: options.allowStops,
                wantValue: options.wantValues)
            await linksTold
            return evaluation
        }
        let result: Result<FanoutEvaluator.Evaluation, DistributionError>
        if let seedConnection, name == seedConnection.peer.name {
            do { result = .success(try await body(seedConnection)) } catch let e as DistributionError {
                result = .failure(e)
            } catch { result = .failure(DistributionError(.connectionLost, "\(error)")) }
        } else {
            result = await ClusterInspector.withNode(name, options: options, group: group, body)
        }
        switch result {
        case .success(let e):
            let outcome: FanoutResult.Outcome = e.result.isFailure ? .failed(e.result.formatted) : .value(e.result.formatted)
            return FanoutResult(node: name, language: e.language, outcome: outcome, output: e.output, valueJSON: e.valueJSON)
        case .failure(let error) where error.kind == .remoteCallFailed:
            // The node was reached; a call the evaluator needed failed or ran out of time.
            return FanoutResult(node: name, language: nil, outcome: .failed("** " + error.description))
        case .failure(let e): return FanoutResult(node: name, language: nil, outcome: .unreachable(e))
        }
    }
}
