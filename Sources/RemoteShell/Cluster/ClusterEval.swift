// `beamsh cluster NODE --eval EXPR`: one expression on every member at once, a table of
// node → result. The user's code always travels as data (a binary or a charlist argument),
// never spliced into source: Elixir nodes run `Code.eval_string/3`, Erlang nodes
// `erl_scan:string/1` + `erl_parse:parse_exprs/1` + `erl_eval:exprs/2`, and each result is
// printed by the node's own `inspect/2` or `io_lib:format("~tp")`.

import ErlangDistribution
import ErlangTerm
import NIOCore

/// Evaluates expressions on one node by RPC with the node's own evaluator.
/// (A small stand-in until RemoteShell's evaluator is merged; same approach.)
public struct FanoutEvaluator: Sendable {
    public enum Language: Sendable { case elixir, erlang }

    /// What an evaluation produced.
    public enum Outcome: Sendable {
        /// The node's own rendering of the value.
        case value(String)
        /// The evaluation raised: the node's own rendering of the error.
        case failed(String)
    }

    public let connection: NodeConnection
    public let language: Language
    public let timeout: Duration
    /// Only the core commands and the read-only allow-list, checked in the node's own language.
    public var readOnly = false

    public init(connection: NodeConnection, language: Language, timeout: Duration, readOnly: Bool = false) {
        self.connection = connection
        self.language = language
        self.timeout = timeout
        self.readOnly = readOnly
    }

    /// Elixir when the node runs it, else Erlang.
    public static func detect(on connection: NodeConnection, timeout: Duration, readOnly: Bool = false) async throws -> FanoutEvaluator {
        let elixir = try await NodeSummary.elixirVersion(on: connection, timeout: timeout) != nil
        return FanoutEvaluator(connection: connection, language: elixir ? .elixir : .erlang, timeout: timeout, readOnly: readOnly)
    }

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

    public func evaluate(_ source: String) async throws -> Outcome {
        if readOnly { return try await evaluateReadOnly(source) }
        switch language {
        case .elixir: return try await evaluateElixir(source)
        case .erlang: return try await evaluateErlang(source)
        }
    }

    /// Read-only: the line runs only as a core expression, its BIFs called through rex. Its text
    /// never reaches the node's evaluator, where an interpolation inside a string literal
    /// (`"#{...}"`) would run whatever it holds.
    private func evaluateReadOnly(_ source: String) async throws -> Outcome {
        let syntax = CoreCommands.syntax(of: source, on: language == .elixir ? .elixir : .erlang)
        if let refusal = CoreCommands.readOnlyRefusal(source, language: syntax) { return .failed("** " + refusal) }
        guard let expression = CoreCommands.readOnlyExpression(source, language: syntax) else {
            return .failed("** read-only: not a core command; not evaluated")
        }
        let value: Term
        do {
            value = try await CoreCommands.evaluate(expression, on: connection, timeout: timeout)
        } catch let error as DistributionError where error.kind == .remoteCallFailed && !error.isCallTimeout {
            guard let reason = error.reason else { return .failed("** " + error.description) }
            return .failed("** (badrpc) " + (try await erlangText(reason)))
        }
        switch language {
        case .elixir:
            let text = try await connection.rpc("Elixir.Kernel", "inspect", [value, .emptyList], timeout: timeout)
            return .value(text.stringValue ?? "?")
        case .erlang:
            return .value(try await erlangText(value))
        }
    }

    private func evaluateElixir(_ source: String) async throws -> Outcome {
        // A read-only core command (`Node.list()`, `Process.info(pid)`, `:erlang.memory()`...)
        // needs no compiling on every member: its BIFs are called directly. A failing call goes
        // the usual way below (it only reads), so the node words the exception.
        if let expression = CoreCommands.readOnlyExpression(source, language: .elixir) {
            do {
                let value = try await CoreCommands.evaluate(expression, on: connection, timeout: timeout)
                let text = try await connection.rpc("Elixir.Kernel", "inspect", [value, .emptyList], timeout: timeout)
                return .value(text.stringValue ?? "?")
            } catch let error as DistributionError where error.kind == .remoteCallFailed && !error.isCallTimeout {}
        }
        let result = try await connection.call("Elixir.Code", "eval_string", [.binary(source), .emptyList, .emptyList], timeout: timeout)
        if let reason = badrpcReason(result) {
            // {'EXIT', {Exception, Stacktrace}}: let the node write its own banner.
            let (exception, stack) = exitParts(reason)
            let banner = try await connection.call("Elixir.Exception", "format_banner", [.atom("error"), exception, stack], timeout: timeout)
            if let text = banner.stringValue { return .failed(text) }
            return .failed(try await erlangText(reason))
        }
        guard let pair = result.tupleElements, pair.count == 2 else { return .failed("unexpected reply: \(result)") }
        let text = try await connection.rpc("Elixir.Kernel", "inspect", [pair[0], .emptyList], timeout: timeout)
        return .value(text.stringValue ?? "?")
    }

    private func evaluateErlang(_ source: String) async throws -> Outcome {
        var text = source.trimmingCharacters(in: " \n\t")
        if !text.hasSuffix(".") { text += "." }
        let scanned = try await connection.rpc("erl_scan", "string", [.charlist(text)], timeout: timeout)
        guard let s = scanned.tupleElements, s.count == 3, s[0] == .ok else {
            return .failed("syntax error: " + (try await errorInfo(scanned)))
        }
        let parsed = try await connection.rpc("erl_parse", "parse_exprs", [s[1]], timeout: timeout)
        guard let p = parsed.tupleElements, p.count == 2, p[0] == .ok else {
            return .failed("syntax error: " + (try await errorInfo(parsed)))
        }
        let result = try await connection.call("erl_eval", "exprs", [p[1], .emptyList], timeout: timeout)
        if let reason = badrpcReason(result) {
            let (exception, _) = exitParts(reason)
            return .failed("exception: " + (try await erlangText(exception)))
        }
        guard let v = result.tupleElements, v.count == 3 else { return .failed("unexpected reply: \(result)") }
        return .value(try await erlangText(v[1]))
    }

    /// `io_lib:format("~tp", [Term])` on the node, as UTF-8 text.
    func erlangText(_ term: Term) async throws -> String {
        let chars = try await connection.rpc("io_lib", "format", [.charlist("~tp"), [term]], timeout: timeout)
        let flat = try await connection.rpc("unicode", "characters_to_binary", [chars], timeout: timeout)
        return flat.stringValue ?? "?"
    }

    /// `{error, {Location, Module, Descriptor}, ...}` → the module's own `format_error/1` text.
    private func errorInfo(_ reply: Term) async throws -> String {
        guard let t = reply.tupleElements, t.count >= 2, let info = t[1].tupleElements, info.count == 3,
              let module = info[1].atomValue else { return try await erlangText(reply) }
        let chars = try await connection.rpc(module, "format_error", [info[2]], timeout: timeout)
        let flat = try await connection.rpc("unicode", "characters_to_binary", [chars], timeout: timeout)
        return flat.stringValue ?? "?"
    }

    private func badrpcReason(_ term: Term) -> Term? {
        guard let t = term.tupleElements, t.count == 2, t[0] == .atom("badrpc") else { return nil }
        return t[1]
    }

    private func exitParts(_ reason: Term) -> (Term, Term) {
        if let e = reason.tupleElements, e.count == 2, e[0] == .atom("EXIT"),
           let inner = e[1].tupleElements, inner.count == 2 {
            return (inner[0], inner[1])
        }
        return (reason, .emptyList)
    }
}

/// One node's line in the fan-out table.
public struct FanoutResult: Sendable {
    public enum Outcome: Sendable {
        case value(String)
        case failed(String)
        case unreachable(DistributionError)
    }

    public let node: String
    public let language: FanoutEvaluator.Language?
    public let outcome: Outcome

    /// 0 value, 1 evaluation failed, 2 could not connect, 3 cookie rejected.
    public var exitCode: Int32 {
        switch outcome {
        case .value: return 0
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

    public func render() -> String {
        let width = (results.map(\.node.count) + ["node".count]).max()!
        func pad(_ s: String) -> String { s + String(repeating: " ", count: width - s.count) }
        var lines = [pad("node") + "  result"]
        for r in results {
            let text: String
            switch r.outcome {
            case .value(let v): text = v
            case .failed(let e): text = "ERROR " + e
            case .unreachable(let e): text = "UNREACHABLE " + e.description
            }
            // Multi-line results stay readable: continuation lines go under the result column.
            let parts = text.split(separator: "\n", omittingEmptySubsequences: false)
            lines.append(pad(r.node) + "  " + (parts.first.map(String.init) ?? ""))
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
                case .value(let v): pairs += [("ok", .bool(true)), ("result", .string(v))]
                case .failed(let e): pairs += [("ok", .bool(false)), ("error", .string(e))]
                case .unreachable(let e): pairs += [("ok", .bool(false)), ("unreachable", .string(e.description))]
                }
                return .object(pairs)
            })),
        ])
    }
}

extension ClusterInspector {
    /// The members as `seed` sees them: `[node() | nodes()]`, sorted.
    public static func members(of connection: NodeConnection, timeout: Duration) async throws -> [String] {
        let others = try await connection.rpc("erlang", "nodes", [], timeout: timeout)
        return ([connection.peer.name] + (others.listElements?.compactMap { $0.atomValue?.name } ?? [])).sorted()
    }

    /// Evaluates `expression` on every member of `seed`'s cluster at once.
    public static func evaluateEverywhere(
        _ expression: String, seed: NodeName, options: ClusterOptions, group: EventLoopGroup
    ) async throws(DistributionError) -> FanoutReport {
        let clock = ContinuousClock()
        let started = clock.now
        let seedConnection = try await NodeConnection.connect(to: seed, options: options.connect, group: group)
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
        let results = await evaluate(expression, on: nodes, reusing: seedConnection, options: options, group: group)
        return FanoutReport(seed: seed.description, expression: expression, results: results, elapsed: clock.now - started)
    }

    /// Evaluates `expression` on each of `nodes` at once (`reusing` an open connection to one
    /// of them), sorted by node name.
    public static func evaluate(
        _ expression: String, on nodes: [String], reusing seedConnection: NodeConnection?, options: ClusterOptions,
        group: EventLoopGroup
    ) async -> [FanoutResult] {
        await withTaskGroup(of: FanoutResult.self) { tasks in
            for name in nodes {
                tasks.addTask {
                    let body: @Sendable (NodeConnection) async throws -> (FanoutEvaluator.Language?, FanoutEvaluator.Outcome) = { c in
                        var language: FanoutEvaluator.Language?
                        do {
                            let evaluator = try await FanoutEvaluator.detect(on: c, timeout: options.timeout, readOnly: options.readOnly)
                            language = evaluator.language
                            return (language, try await evaluator.evaluate(expression))
                        } catch let error as DistributionError where error.kind == .remoteCallFailed {
                            // The node was reached; a call failed or ran out of time.
                            let text = error.isCallTimeout
                                ? "** no answer within \(options.timeout) (the evaluation may still be running on the node)"
                                : "** " + error.description
                            return (language, .failed(text))
                        }
                    }
                    let result: Result<(FanoutEvaluator.Language?, FanoutEvaluator.Outcome), DistributionError>
                    if let seedConnection, name == seedConnection.peer.name {
                        do { result = .success(try await body(seedConnection)) } catch let e as DistributionError {
                            result = .failure(e)
                        } catch { result = .failure(DistributionError(.connectionLost, "\(error)")) }
                    } else {
                        result = await ClusterInspector.withNode(name, options: options, group: group, body)
                    }
                    switch result {
                    case .success((let language, .value(let v))): return FanoutResult(node: name, language: language, outcome: .value(v))
                    case .success((let language, .failed(let e))): return FanoutResult(node: name, language: language, outcome: .failed(e))
                    case .failure(let e): return FanoutResult(node: name, language: nil, outcome: .unreachable(e))
                    }
                }
            }
            var all: [FanoutResult] = []
            for await r in tasks { all.append(r) }
            return all.sorted { $0.node < $1.node }
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
