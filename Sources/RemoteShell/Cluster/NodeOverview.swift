// What one node says about itself, read through BIFs that are on every node (`rex` calls,
// nothing loaded): the one-line summary `beamsh cluster` prints per node, and the expanded
// view of `beamsh info`.

import ErlangDistribution
import ErlangTerm

/// The per-node line of the cluster report.
public struct NodeSummary: Sendable {
    public var name: String
    /// The nodes this node is connected to (`nodes()`: visible nodes only).
    public var connected: [String]
    public var otpRelease: String
    /// nil on a node without Elixir.
    public var elixirVersion: String?
    public var uptimeMilliseconds: Int
    public var processCount: Int
    public var totalMemory: Int
    public var runQueue: Int

    public var json: JSONValue {
        .object([
            ("otp_release", .string(otpRelease)), ("elixir", JSONValue(elixirVersion)),
            ("uptime_ms", .number(uptimeMilliseconds)), ("processes", .number(processCount)),
            ("memory_total", .number(totalMemory)), ("run_queue", .number(runQueue)),
            ("nodes", .array(connected.map { .string($0) })),
        ])
    }

    /// The summary in one round trip: `lists:zipwith3(fun erlang:apply/3, Modules, Functions,
    /// Arguments)` through `rex` applies every BIF of ``summaryCalls`` on the node and returns the
    /// results in order. Only BIFs and `lists` (always loaded), no interpreter: on a warm
    /// connection it costs the node 0.12 ms of CPU where `erl_eval` took 0.26 ms. The
    /// Elixir version needs one more call only when Elixir is loaded but not started as an
    /// application. Falls back to one RPC per item if the node answers in another shape.
    public static func fetch(from connection: NodeConnection, timeout: Duration) async throws -> NodeSummary {
        try await fetch(from: connection, timeout: timeout, along: []).summary
    }

    /// The summary and the results of `extraCalls`, in the same `rex` call: the summary's calls
    /// come first, so its run queue is read before anything else runs for beamsh.
    static func fetch(
        from connection: NodeConnection, timeout: Duration, along extraCalls: [(module: String, function: String, arguments: [Term])],
        throughRex: Bool = true
    ) async throws -> (summary: NodeSummary, extra: [Term]) {
        guard let all = try await applyAll(summaryCalls + extraCalls, on: connection, timeout: timeout, throughRex: throughRex) else {
            // Another shape (not expected from any OTP): one call per item.
            let summary = try await fetchItemByItem(from: connection, timeout: timeout)
            var extra: [Term] = []
            for call in extraCalls {
                extra.append(try await connection.rpc(Atom(call.module), Atom(call.function), call.arguments, timeout: timeout))
            }
            return (summary, extra)
        }
        let v = Array(all.prefix(summaryCalls.count))
        var elixir: String?
        if let key = v[6].tupleElements, key.count == 2, let version = key[1].stringValue {
            elixir = version
        } else if v[7] == .atom(.true) {
            elixir = try await connection.rpc("Elixir.System", "version", [], timeout: timeout).stringValue
        }
        return (NodeSummary(
            name: connection.peer.name,
            connected: v[0].listElements?.compactMap { $0.atomValue?.name } ?? [],
            otpRelease: v[1].stringValue ?? "?",
            elixirVersion: elixir,
            uptimeMilliseconds: v[2].tupleElements?.first?.intValue ?? 0,
            processCount: v[3].intValue ?? 0,
            totalMemory: v[4].intValue ?? 0,
            runQueue: v[5].intValue ?? 0), Array(all.dropFirst(summaryCalls.count)))
    }

    /// Applies `calls` on the node in one `rex` call (`lists:zipwith3(fun erlang:apply/3, ...)`)
    /// and returns their results in order, or nil when the node answers in another shape.
    /// Without `throughRex`, a process of beamsh's own on the node makes the call (see
    /// `callWithoutRex`): it answers while `rex` is stuck, for a little more of the node's CPU
    /// (an `erl_eval` step), which a cluster check of many members does not spend.
    static func applyAll(
        _ calls: [(module: String, function: String, arguments: [Term])], on connection: NodeConnection, timeout: Duration,
        throughRex: Bool = true
    ) async throws -> [Term]? {
        let arguments: [Term] = [.export(ExportFun(module: "erlang", function: "apply", arity: 3)),
                                 .list(calls.map { .atom(Atom($0.module)) }), .list(calls.map { .atom(Atom($0.function)) }),
                                 .list(calls.map { .list($0.arguments) })]
        let reply = throughRex
            ? try await connection.rpcOfOurs("lists", "zipwith3", arguments, timeout: timeout, purpose: "the node's summary")
            : try await connection.callWithoutRex("lists", "zipwith3", arguments, timeout: timeout, purpose: "the node's summary")
        if !throughRex, let caught = reply.tupleElements, caught.count == 2, caught[0] == .atom("EXIT") {
            // A call that failed on the node (the application controller did not answer, say):
            // said now, not asked again item by item through rex.
            throw DistributionError(.remoteCallFailed, "the node's summary failed on \(connection.peer.name)", reason: caught[1])
        }
        guard let results = reply.listElements, results.count == calls.count else { return nil }
        return results
    }

    /// The calls behind the summary, in the order ``fetch`` reads their results.
    static let summaryCalls: [(module: String, function: String, arguments: [Term])] = [
        ("erlang", "nodes", []),
        ("erlang", "system_info", [.atom("otp_release")]),
        ("erlang", "statistics", [.atom("wall_clock")]),
        ("erlang", "system_info", [.atom("process_count")]),
        ("erlang", "memory", [.atom("total")]),
        ("erlang", "statistics", [.atom("run_queue")]),
        ("application", "get_key", [.atom("elixir"), .atom("vsn")]),
        // A BIF; `code:is_loaded/1` would be a call to the code server.
        ("erlang", "module_loaded", [.atom("Elixir.System")]),
    ]

    /// The summary with a handful of concurrent RPCs, one per item.
    static func fetchItemByItem(from connection: NodeConnection, timeout: Duration) async throws -> NodeSummary {
        async let nodes = connection.rpc("erlang", "nodes", [], timeout: timeout)
        async let release = connection.rpc("erlang", "system_info", [.atom("otp_release")], timeout: timeout)
        async let wallClock = connection.rpc("erlang", "statistics", [.atom("wall_clock")], timeout: timeout)
        async let processes = connection.rpc("erlang", "system_info", [.atom("process_count")], timeout: timeout)
        async let memory = connection.rpc("erlang", "memory", [.atom("total")], timeout: timeout)
        async let runQueue = connection.rpc("erlang", "statistics", [.atom("run_queue")], timeout: timeout)
        async let elixir = elixirVersion(on: connection, timeout: timeout)
        return NodeSummary(
            name: connection.peer.name,
            connected: (try await nodes).listElements?.compactMap { $0.atomValue?.name } ?? [],
            otpRelease: (try await release).stringValue ?? "?",
            elixirVersion: try await elixir,
            uptimeMilliseconds: (try await wallClock).tupleElements?.first?.intValue ?? 0,
            processCount: (try await processes).intValue ?? 0,
            totalMemory: (try await memory).intValue ?? 0,
            runQueue: (try await runQueue).intValue ?? 0)
    }

    /// Elixir's version when Elixir is on the node: `application:get_key(elixir, vsn)`, else
    /// `'Elixir.System':version()` when the module is loaded; nil otherwise.
    public static func elixirVersion(on connection: NodeConnection, timeout: Duration) async throws -> String? {
        let key = try await connection.rpc("application", "get_key", [.atom("elixir"), .atom("vsn")], timeout: timeout)
        if let t = key.tupleElements, t.count == 2, let v = t[1].stringValue { return v }
        let loaded = try await connection.rpc("erlang", "module_loaded", [.atom("Elixir.System")], timeout: timeout)
        guard loaded == .atom(.true) else { return nil }
        return try await connection.rpc("Elixir.System", "version", [], timeout: timeout).stringValue
    }
}

/// `beamsh info NODE`: the summary expanded.
public struct NodeInfo: Sendable {
    public struct Usage: Sendable {
        public var name: String
        public var used: Int
        public var limit: Int?
    }

    public var name: String
    public var otpRelease: String
    public var ertsVersion: String
    public var elixirVersion: String?
    public var systemArchitecture: String
    public var uptimeMilliseconds: Int
    public var schedulers: Int
    public var schedulersOnline: Int
    public var dirtyCPUSchedulers: Int
    public var runQueue: Int
    public var usage: [Usage]
    /// `erlang:memory()` in its own order.
    public var memory: [(type: String, bytes: Int)]
    /// Running applications: name, version, description.
    public var applications: [(name: String, version: String, description: String)]
    public var visibleNodes: [String]

    /// One call (``NodeSummary/applyAll``) by a process of beamsh's own, not `rex`: a node whose
    /// rpc server is stuck is described all the same. The summary's BIFs come first, so its run
    /// queue is read before anything else beamsh asks for runs, then everything else.
    public static func fetch(from connection: NodeConnection, timeout: Duration) async throws -> NodeInfo {
        let items = ["version", "system_architecture", "schedulers", "schedulers_online", "dirty_cpu_schedulers",
                     "process_count", "process_limit", "port_count", "port_limit", "atom_count", "atom_limit",
                     "ets_count"]
        let calls: [(module: String, function: String, arguments: [Term])] =
            items.map { ("erlang", "system_info", [.atom(Atom($0))]) }
            + [("erlang", "memory", []), ("application", "which_applications", [])]
        let (s, r) = try await NodeSummary.fetch(from: connection, timeout: timeout, along: calls, throughRex: false)
        let erts = r[0], arch = r[1], schedulers = r[2], online = r[3], dirty = r[4]
        let c = r[5...11].map { $0.intValue ?? -1 }
        let memory = r[12], apps = r[13]
        func limit(_ v: Int) -> Int? { v < 0 ? nil : v }
        return NodeInfo(
            name: s.name, otpRelease: s.otpRelease, ertsVersion: erts.stringValue ?? "?",
            elixirVersion: s.elixirVersion, systemArchitecture: arch.stringValue ?? "?",
            uptimeMilliseconds: s.uptimeMilliseconds, schedulers: schedulers.intValue ?? 0,
            schedulersOnline: online.intValue ?? 0, dirtyCPUSchedulers: dirty.intValue ?? 0,
            runQueue: s.runQueue,
            usage: [
                Usage(name: "processes", used: c[0], limit: limit(c[1])),
                Usage(name: "ports", used: c[2], limit: limit(c[3])),
                Usage(name: "atoms", used: c[4], limit: limit(c[5])),
                // No limit shown: OTP documents `ets_limit` as partly obsolete (tables are
                // limited by memory), so a share of it would be a false alarm or false comfort.
                Usage(name: "ETS tables", used: c[6], limit: nil),
            ],
            memory: memory.listElements?.compactMap { item in
                guard let t = item.tupleElements, t.count == 2, let k = t[0].atomValue, let v = t[1].intValue else { return nil }
                return (k.name, v)
            } ?? [],
            applications: apps.listElements?.compactMap { item in
                guard let t = item.tupleElements, t.count == 3, let n = t[0].atomValue else { return nil }
                return (n.name, t[2].stringValue ?? "?", t[1].stringValue ?? "")
            }.sorted { $0.name < $1.name } ?? [],
            visibleNodes: s.connected)
    }

    /// The printable view.
    public func render() -> String {
        var lines: [String] = []
        let versions = "OTP \(otpRelease) (erts \(ertsVersion))" + (elixirVersion.map { ", Elixir \($0)" } ?? "")
        lines.append("\(name): \(versions), up \(Human.uptime(milliseconds: uptimeMilliseconds))")
        lines.append("system: \(systemArchitecture)")
        lines.append("schedulers: \(schedulersOnline)/\(schedulers) online, \(dirtyCPUSchedulers) dirty CPU; run queue \(runQueue)")
        lines.append("nodes: " + (visibleNodes.isEmpty ? "none" : visibleNodes.sorted().joined(separator: ", ")))
        lines.append("")
        var limits = TextTable(header: ["resource", "used", "limit", "use"], rightAligned: [1, 2, 3])
        for u in usage {
            let share = u.limit.map { $0 > 0 ? Human.fixed(Double(u.used) * 100 / Double($0), 1) + "%" : "-" } ?? "-"
            limits.add([u.name, Human.count(u.used), u.limit.map(Human.count) ?? "-", share])
        }
        lines.append(limits.render())
        lines.append("")
        var mem = TextTable(header: ["memory", "bytes", ""], rightAligned: [1, 2])
        for m in memory { mem.add([m.type, Human.count(m.bytes), Human.bytes(m.bytes)]) }
        lines.append(mem.render())
        lines.append("")
        var apps = TextTable(header: ["application", "version", "description"])
        for a in applications { apps.add([a.name, a.version, a.description]) }
        lines.append(apps.render())
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        .object([
            ("node", .string(name)), ("otp_release", .string(otpRelease)), ("erts", .string(ertsVersion)),
            ("elixir", JSONValue(elixirVersion)), ("system_architecture", .string(systemArchitecture)),
            ("uptime_ms", .number(uptimeMilliseconds)), ("schedulers", .number(schedulers)),
            ("schedulers_online", .number(schedulersOnline)), ("dirty_cpu_schedulers", .number(dirtyCPUSchedulers)),
            ("run_queue", .number(runQueue)),
            // Keys as identifiers: "ETS tables" is "ets_tables".
            ("limits", .object(usage.map { ($0.name.lowercased().replacing(" ", with: "_"),
                                            .object([("used", .number($0.used)), ("limit", JSONValue($0.limit))])) })),
            ("memory", .object(memory.map { ($0.type, .number($0.bytes)) })),
            ("applications", .array(applications.map { .object([("name", .string($0.name)), ("version", .string($0.version))]) })),
            ("nodes", .array(visibleNodes.map { .string($0) })),
        ])
    }
}
