// The mesh check: from one node's view of the cluster, connect hidden to every member at
// once, ask each whom it sees, and report the matrix, the missing and one-way links, the
// nodes DNS knows that are not in the cluster, and a summary line per node. One bad node
// never stops the report; the whole check takes about as long as the slowest node.

import ErlangDistribution
import ErlangTerm
import NIOConcurrencyHelpers
import NIOCore

/// How to run a cluster-wide view.
public struct ClusterOptions: Sendable {
    /// How to reach every node (cookie, EPMD port, timeouts). `addressOverride` and `port`
    /// apply to the seed only.
    public var connect: ConnectOptions
    /// The longest any one node may take for one step (connect, each RPC).
    public var timeout: Duration
    /// Nodes found through DNS (`--dns`), to name those that are not in the cluster.
    public var discovered: [DiscoveredNode]
    /// Where finished connections go instead of being closed at once; nil closes each when its
    /// node has answered.
    public var finished: FinishedConnections?
    /// `--eval` on every node runs only the core commands and the read-only allow-list.
    public var readOnly = false
    /// `--eval` may stop nodes (`--yes`); checked once for all before anything is sent.
    public var allowStops = false
    /// `--eval` also brings each value back as a term, for its JSON mapping (`--format json`).
    public var wantValues = false

    public init(connect: ConnectOptions, timeout: Duration = .seconds(10), discovered: [DiscoveredNode] = []) {
        self.connect = connect
        self.timeout = timeout
        self.discovered = discovered
    }

    /// The options for members other than the seed: their own names, through EPMD.
    var forMembers: ConnectOptions {
        var options = connect
        options.addressOverride = nil
        options.port = nil
        options.suggestsPort = false
        return options
    }
}

/// Connections a check is done with, kept open until the report is out. Closing a connection is
/// work for the node too (its side of the teardown, the `nodedown`): done while the other members
/// are still answering, it competes with them for CPU, and the seed's close would be a round trip
/// before the members are even asked. The command line lets its exit close them; the console
/// calls `closeAll()` after printing.
public final class FinishedConnections: Sendable {
    private let connections = NIOLockedValueBox<[NodeConnection]>([])

    public init() {}

    func add(_ connection: NodeConnection) {
        connections.withLockedValue { $0.append(connection) }
    }

    /// Closes every connection handed over so far, without waiting.
    public func closeAll() {
        for connection in connections.withLockedValue({ all in defer { all = [] }; return all }) {
            connection.closeNow()
        }
    }
}

/// A link that should be there and is not.
public struct LinkProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// `from` sees `to`, `to` does not see `from`.
        case oneWay
        /// Neither sees the other.
        case neither
        /// `from` does not see `to`, and `to` could not be asked.
        case missing
    }

    public let kind: Kind
    public let from: String
    public let to: String

    public var description: String {
        switch kind {
        case .oneWay: return "one-way link: \(from) sees \(to), \(to) does not see \(from)"
        case .neither: return "missing link: \(from) and \(to) do not see each other"
        case .missing: return "missing link: \(from) does not see \(to) (\(to) could not be asked)"
        }
    }
}

/// What happened when beamsh asked one node.
public enum NodeOutcome: Sendable {
    case reached(NodeSummary)
    case unreachable(DistributionError)

    public var summary: NodeSummary? {
        if case .reached(let s) = self { return s }
        return nil
    }
}

/// The cluster as seen from `seed`.
public struct ClusterReport: Sendable {
    public var seed: String
    /// Every node the seed or any member named, sorted.
    public var members: [String]
    public var outcomes: [String: NodeOutcome]
    public var problems: [LinkProblem]
    /// Found by DNS but not a member.
    public var outsiders: [DiscoveredNode]
    /// Found by DNS at another address of a member (a dual-stack name gives each node an AAAA
    /// and an A record, and so two names): the node there gave a member's name.
    public var otherAddresses: [(node: DiscoveredNode, member: String)] = []
    /// Why an outsider EPMD has could not be reached when it was probed: it may be a member whose
    /// links are down, or a node that is down; either way not one that was asked.
    public var outsiderErrors: [String: DistributionError] = [:]
    public var elapsed: Duration
    /// How the seed was reached when not by its name (`--address 127.0.0.1:4370`, `--port 9100`):
    /// the members are reached by theirs, which may not be reachable from here.
    public var seedRoute: String?

    /// Every member answered and every pair sees each other.
    public var isMeshComplete: Bool {
        problems.isEmpty && members.allSatisfy { outcomes[$0]?.summary != nil }
    }

    /// The mesh is complete and DNS found no node outside it.
    public var isComplete: Bool { isMeshComplete && outsiders.isEmpty }

    public var unreachable: [(name: String, error: DistributionError)] {
        members.compactMap { name in
            if case .unreachable(let e) = outcomes[name] { return (name, e) }
            return nil
        }
    }

    /// Computes the link problems among `members` from what each reached node sees.
    public static func linkProblems(members: [String], outcomes: [String: NodeOutcome]) -> [LinkProblem] {
        var problems: [LinkProblem] = []
        let views = connectedSets(outcomes)
        for (i, a) in members.enumerated() {
            for b in members[(i + 1)...] {
                let fromA = views[a].map { $0.contains(b) }
                let fromB = views[b].map { $0.contains(a) }
                switch (fromA, fromB) {
                case (true?, true?), (nil, nil), (true?, nil), (nil, true?): break
                case (true?, false?): problems.append(LinkProblem(kind: .oneWay, from: a, to: b))
                case (false?, true?): problems.append(LinkProblem(kind: .oneWay, from: b, to: a))
                case (false?, false?): problems.append(LinkProblem(kind: .neither, from: a, to: b))
                case (false?, nil): problems.append(LinkProblem(kind: .missing, from: a, to: b))
                case (nil, false?): problems.append(LinkProblem(kind: .missing, from: b, to: a))
                }
            }
        }
        return problems
    }

    /// What each reached node sees. The checks ask every pair of members: searching each list
    /// would make a cluster of N nodes cost N³ comparisons, so a long list becomes a set (for a
    /// short one, comparing short names is cheaper than hashing them).
    struct ConnectedView {
        private let list: [String]
        private let set: Set<String>?
        init(_ connected: [String]) {
            list = connected
            set = connected.count > 32 ? Set(connected) : nil
        }
        func contains(_ node: String) -> Bool { set?.contains(node) ?? list.contains(node) }
    }

    static func connectedSets(_ outcomes: [String: NodeOutcome]) -> [String: ConnectedView] {
        outcomes.compactMapValues { $0.summary.map { ConnectedView($0.connected) } }
    }

    // MARK: - Printing

    /// - parameter width: the terminal's width, or nil (no limit). In a narrower terminal the node
    ///   column gives way first, and the link matrix becomes a grid of one character per node
    ///   (column numbers written downwards), or, wider still than that, a line saying so.
    public func render(width: Int? = nil) -> String {
        var lines: [String] = []
        let reached = members.filter { outcomes[$0]?.summary != nil }.count
        // The mesh's verdict is about the mesh alone; what DNS found beside it is said apart.
        let dns = outsiders.isEmpty ? "" : ", \(outsiders.count) found by DNS outside it"
        lines.append("cluster seen from \(seed): \(members.count) node\(members.count == 1 ? "" : "s"), \(reached) reached, "
            + (isMeshComplete ? "mesh complete" : "mesh INCOMPLETE") + dns + " (\(Human.milliseconds(elapsed)))")
        lines.append("")
        var table = TextTable(header: ["#", "node", "otp", "elixir", "uptime", "processes", "memory", "run queue"],
                              rightAligned: [0, 5, 6, 7])
        for (i, name) in members.enumerated() {
            switch outcomes[name] {
            case .reached(let s)?:
                table.add(["\(i + 1)", name, s.otpRelease, s.elixirVersion ?? "-", Human.uptime(milliseconds: s.uptimeMilliseconds),
                           Human.count(s.processCount), Human.bytes(s.totalMemory), String(s.runQueue)])
            case .unreachable?, nil:
                table.add(["\(i + 1)", name, "-", "-", "-", "-", "-", "-"])
            }
        }
        // Narrower than the table: the node names are cut first, then uptime, Elixir and OTP give way.
        lines.append(table.render(maxWidth: width, narrowing: [.shrink(1, minimum: 16), .drop(4), .drop(3), .drop(2)]))
        lines.append("")
        lines.append("links (row sees column; ✓ yes, ✗ no, ? not asked):")
        let views = Self.connectedSets(outcomes)
        func cell(_ i: Int, _ j: Int) -> String {
            if i == j { return "·" }
            guard let view = views[members[i]] else { return "?" }
            return view.contains(members[j]) ? "✓" : "✗"
        }
        let labelWidth = String(members.count).count
        let spacedWidth = labelWidth + members.count * (labelWidth + 2)
        if width == nil || spacedWidth <= width! {
            var matrix = TextTable(header: [""] + members.indices.map { "\($0 + 1)" }, rightAligned: Set(0...members.count))
            for i in members.indices {
                var row = ["\(i + 1)"]
                row.reserveCapacity(members.count + 1)
                for j in members.indices { row.append(cell(i, j)) }
                matrix.add(row)
            }
            lines.append(matrix.render())
        } else if labelWidth + 1 + members.count <= width! {
            // One character per node; the column's number is read downwards in the header.
            let pad = String(repeating: " ", count: labelWidth + 1)
            for digit in (0..<labelWidth).reversed() {
                var header = pad
                for j in members.indices {
                    var n = j + 1
                    for _ in 0..<digit { n /= 10 }
                    header += n == 0 && digit > 0 ? " " : String(n % 10)
                }
                lines.append(header)
            }
            for i in members.indices {
                let label = String(i + 1)
                var row = String(repeating: " ", count: labelWidth - label.count) + label + " "
                for j in members.indices { row += cell(i, j) }
                lines.append(row)
            }
        } else {
            lines.append("(\(members.count) nodes do not fit \(width!) columns even one character each: the problems follow; "
                + "--format json has every node's links)")
        }
        if !problems.isEmpty || !unreachable.isEmpty || !outsiders.isEmpty || !otherAddresses.isEmpty { lines.append("") }
        for p in problems { lines.append(p.description) }
        for (name, error) in unreachable {
            // Connected, but its summary got no answer in time (its rex is stuck, the node is
            // overloaded) or failed: not the same trouble as a node that cannot be reached.
            let what = error.isCallTimeout ? "connected, not answering" : error.kind == .remoteCallFailed ? "connected, summary failed" : "unreachable"
            lines.append(error.description.hasPrefix(name) ? "\(what): \(error.description)" : "\(what): \(name): \(error.description)")
        }
        for o in outsiders {
            // Only a registered node is known to be outside; elsewhere nothing answers for it.
            let what: String
            switch o.status {
            case .registered: what = outsiderErrors[o.name] == nil ? "found by DNS, not in the cluster" : "found by DNS, registered but unreachable"
            case .notRegistered: what = "found by DNS, no such node there"
            case .unreachable: what = "found by DNS, could not be checked"
            }
            lines.append("\(what): \(o.name) (\(outsiderErrors[o.name]?.description ?? o.statusText))")
        }
        for (o, member) in otherAddresses { lines.append("found by DNS at another address of \(member): \(o.name)") }
        if let seedRoute, unreachable.contains(where: { $0.name != seed && !$0.error.isCallTimeout && $0.error.kind != .remoteCallFailed }) {
            lines.append("note: \(seed) was reached through \(seedRoute); the other members are reached by their own names and "
                + "addresses, which may not be reachable from here (run beamsh where the cluster's network is, such as a node's "
                + "container, to check their links)")
        }
        return lines.joined(separator: "\n")
    }

    private static func otherAddressJSON(_ entry: (node: DiscoveredNode, member: String)) -> JSONValue {
        guard case .object(let pairs) = entry.node.json else { return entry.node.json }
        return .object(pairs + [("same_node_as", .string(entry.member))])
    }

    public var json: JSONValue {
        .object([
            ("seed", .string(seed)),
            ("seed_route", JSONValue(seedRoute)),
            ("complete", .bool(isComplete)),
            ("mesh_complete", .bool(isMeshComplete)),
            ("elapsed_ms", .double(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)),
            ("nodes", .array(members.map { name in
                var pairs: [(String, JSONValue)] = [("node", .string(name))]
                switch outcomes[name] {
                case .reached(let s)?:
                    pairs.append(("reached", .bool(true)))
                    if case .object(let more) = s.json { pairs += more }
                case .unreachable(let e)?:
                    pairs += [("reached", .bool(false)), ("error", .string(e.description)), ("error_kind", .string("\(e.kind)"))]
                case nil:
                    pairs.append(("reached", .bool(false)))
                }
                return .object(pairs)
            })),
            ("link_problems", .array(problems.map {
                .object([("kind", .string($0.kind.jsonName)), ("from", .string($0.from)), ("to", .string($0.to))])
            })),
            ("dns_not_in_cluster", .array(outsiders.map { o in
                guard let error = outsiderErrors[o.name], case .object(let pairs) = o.json else { return o.json }
                return .object(pairs + [("unreachable", .string(error.description))])
            })),
            ("dns_other_addresses", .array(otherAddresses.map(Self.otherAddressJSON))),
        ])
    }
}

// MARK: - Running the check

public enum ClusterInspector {
    /// Connects to `seed` (or uses `seedConnection`), then to every member at once, and builds the report.
    /// Never throws: a seed that cannot be reached is reported like any other node.
    public static func inspect(
        seed: NodeName, seedConnection: NodeConnection? = nil, options: ClusterOptions, group: EventLoopGroup
    ) async -> ClusterReport {
        let clock = ContinuousClock()
        let started = clock.now
        let seedName = seed.description
        var outcomes: [String: NodeOutcome] = [:]
        var members: [String] = [seedName]

        // With DNS discovery the members are known up front: probe the registered ones while the
        // seed answers, so a healthy cluster costs one round of connections, not two. An outcome
        // is used only for a node the cluster itself names (the rest stay outsiders, and their
        // probes are cancelled unawaited, so a hanging outsider cannot hold up the report).
        var early: [String: Task<NodeOutcome, Never>] = [:]
        // What the probes that have finished found, for the DNS names that are no member: a
        // node that gives a member's name is that member at another address.
        let earlyOutcomes = NIOLockedValueBox<[String: NodeOutcome]>([:])
        for d in options.discovered where d.isRegistered && d.name != seedName && early[d.name] == nil {
            early[d.name] = Task {
                let outcome = await probe(d.name, port: nil, options: options, group: group)
                earlyOutcomes.withLockedValue { $0[d.name] = outcome }
                return outcome
            }
        }
        defer { for task in early.values { task.cancel() } }

        // The seed first: its view names the members.
        var seedOutcome: NodeOutcome
        var ownConnection: NodeConnection?
        var seedVersion = 0
        do {
            let connection: NodeConnection
            if let seedConnection {
                connection = seedConnection
            } else {
                connection = try await NodeConnection.connect(to: seed, options: options.connect, group: group)
                ownConnection = connection
            }
            seedVersion = connection.peer.version
            // Not through rex: the seed names the members, and a seed whose rex is stuck
            // would leave the whole report empty (a member's stuck rex is reported per member).
            seedOutcome = .reached(try await NodeSummary.fetch(from: connection, timeout: options.timeout, along: [], throughRex: false).summary)
        } catch let error as DistributionError {
            seedOutcome = .unreachable(error)
        } catch {
            seedOutcome = .unreachable(DistributionError(.connectionLost, "\(error)"))
        }
        if let ownConnection {
            if let finished = options.finished { finished.add(ownConnection) } else { await ownConnection.close() }
        }
        outcomes[seedName] = seedOutcome

        // Then everyone named, in rounds until no node names a new one.
        var pending = seedOutcome.summary?.connected ?? []
        while !pending.isEmpty {
            members += pending
            var round: [String: NodeOutcome] = [:]
            for name in pending {
                if let task = early.removeValue(forKey: name) { round[name] = await task.value }
            }
            let unprobed = pending.filter { round[$0] == nil }
            if !unprobed.isEmpty {
                // Ports from one EPMD NAMES per host: only when the seed speaks version 6, since
                // NAMES (unlike PORT_PLEASE2) does not say which versions a node speaks.
                let ports = seedVersion >= 6
                    ? await portsFromNames(unprobed, epmdPort: options.connect.epmdPort, group: group, timeout: options.timeout)
                    : [:]
                round.merge(await probeAll(unprobed, ports: ports, options: options, group: group)) { $1 }
            }
            outcomes.merge(round) { $1 }
            let known = Set(members)
            pending = Array(Set(round.values.flatMap { $0.summary?.connected ?? [] }).subtracting(known)).sorted()
        }
        members.sort()
        let memberSet = Set(members)
        // Every node DNS names outside the cluster is reported on its probe's outcome: it may
        // be a member at another address (it answers with its real name), or say why it is out.
        // A cluster of one node is done before such a probe is (bounded by the connect timeout).
        var finished = earlyOutcomes.withLockedValue { $0 }
        for d in options.discovered where !memberSet.contains(d.name) && finished[d.name] == nil {
            if let task = early[d.name] { finished[d.name] = await task.value }
        }
        var outsiders: [DiscoveredNode] = []
        var otherAddresses: [(node: DiscoveredNode, member: String)] = []
        var outsiderErrors: [String: DistributionError] = [:]
        for d in options.discovered where !memberSet.contains(d.name) {
            if case .unreachable(let error)? = finished[d.name], let member = error.reachedNode, memberSet.contains(member) {
                otherAddresses.append((d, member))
            } else {
                outsiders.append(d)
                if case .unreachable(let error)? = finished[d.name] { outsiderErrors[d.name] = error }
            }
        }
        var report = ClusterReport(
            seed: seedName, members: members, outcomes: outcomes,
            problems: ClusterReport.linkProblems(members: members, outcomes: outcomes),
            outsiders: outsiders, elapsed: clock.now - started)
        report.otherAddresses = otherAddresses
        report.outsiderErrors = outsiderErrors
        if let address = options.connect.addressOverride {
            report.seedRoute = "--address \(address)"
        } else if let port = options.connect.port {
            report.seedRoute = "--port \(port)"
        }
        return report
    }

    /// Connects to each node at once and fetches its summary; one outcome per node.
    static func probeAll(
        _ names: [String], ports: [String: Int] = [:], options: ClusterOptions, group: EventLoopGroup
    ) async -> [String: NodeOutcome] {
        await withTaskGroup(of: (String, NodeOutcome).self) { tasks in
            for name in names {
                tasks.addTask { (name, await probe(name, port: ports[name], options: options, group: group)) }
            }
            var out: [String: NodeOutcome] = [:]
            for await (name, outcome) in tasks { out[name] = outcome }
            return out
        }
    }

    /// Connects to one node and fetches its summary.
    static func probe(_ name: String, port: Int?, options: ClusterOptions, group: EventLoopGroup) async -> NodeOutcome {
        let outcome = await ClusterInspector.withNode(name, port: port, options: options, group: group) { connection in
            try await NodeSummary.fetch(from: connection, timeout: options.timeout)
        }
        switch outcome {
        case .success(let s): return .reached(s)
        case .failure(let e): return .unreachable(e)
        }
    }

    /// The distribution ports of `names` from one EPMD NAMES query per host that has several of
    /// them: nodes sharing a machine are looked up with one EPMD round trip, not one each. A host
    /// with a single node, an EPMD that does not answer, or a name it does not list is left to
    /// the usual PORT_PLEASE2 lookup (which also reports a missing node properly).
    static func portsFromNames(
        _ names: [String], epmdPort: Int, group: EventLoopGroup, timeout: Duration
    ) async -> [String: Int] {
        var byHost: [String: [NodeName]] = [:]
        for name in names {
            if let node = try? NodeName(parsing: name) { byHost[node.host, default: []].append(node) }
        }
        let shared = byHost.filter { $0.value.count > 1 }
        let nanoseconds = Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        return await withTaskGroup(of: [String: Int].self) { tasks in
            for (host, nodes) in shared {
                tasks.addTask {
                    guard let registered = try? await EPMDClient.names(
                        host: host, epmdPort: epmdPort, group: group, timeout: .nanoseconds(nanoseconds))
                    else { return [:] }
                    var ports: [String: Int] = [:]
                    for node in nodes {
                        if let entry = registered.first(where: { $0.alive == node.alive }) { ports[node.description] = entry.port }
                    }
                    return ports
                }
            }
            var all: [String: Int] = [:]
            for await ports in tasks { all.merge(ports) { $1 } }
            return all
        }
    }

    /// Connects to `name` as a hidden node, runs `body`, closes; every failure becomes a
    /// `DistributionError` naming the node.
    public static func withNode<T: Sendable>(
        _ name: String, port: Int? = nil, options: ClusterOptions, group: EventLoopGroup,
        _ body: @Sendable (NodeConnection) async throws -> T
    ) async -> Result<T, DistributionError> {
        let node: NodeName
        do {
            node = try NodeName(parsing: name)
        } catch {
            return .failure(DistributionError(.invalidName, "\(name): \(error)"))
        }
        let connection: NodeConnection
        do {
            var connect = options.forMembers
            connect.port = port
            connection = try await NodeConnection.connect(to: node, options: connect, group: group)
        } catch {
            return .failure(error)
        }
        defer {
            if let finished = options.finished { finished.add(connection) } else { connection.closeNow() }
        }
        do {
            return .success(try await body(connection))
        } catch let error as DistributionError {
            return .failure(error)
        } catch {
            return .failure(DistributionError(.connectionLost, "\(name): \(error)"))
        }
    }
}

extension LinkProblem.Kind {
    var jsonName: String {
        switch self {
        case .oneWay: return "one_way"
        case .neither: return "neither"
        case .missing: return "missing"
        }
    }
}
