// dns_cluster-style discovery from outside the cluster: resolve a query name to its AAAA and
// A records, name one node per address (`basename@address`), and ask EPMD on each address
// whether that node is registered.

import ErlangDistribution
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One candidate node found through DNS and what EPMD on its address says about it.
public struct DiscoveredNode: Sendable {
    public enum Status: Sendable {
        /// Registered with EPMD at this distribution port.
        case registered(port: Int)
        /// EPMD answered but has no node of that name (with the names it has).
        case notRegistered(others: [String])
        /// EPMD did not answer.
        case unreachable(reason: String)
    }

    /// `basename@address`.
    public let name: String
    public let address: String
    /// 6 for AAAA, 4 for A.
    public let family: Int
    public var status: Status

    public init(name: String, address: String, family: Int, status: Status) {
        self.name = name
        self.address = address
        self.family = family
        self.status = status
    }

    public var isRegistered: Bool {
        if case .registered = status { return true }
        return false
    }

    /// One line: what EPMD said.
    public var statusText: String {
        switch status {
        case .registered(let port): return "registered, distribution port \(port)"
        case .notRegistered(let others):
            return "EPMD answers, \(name.split(separator: "@").first.map(String.init) ?? "?") not registered"
                + (others.isEmpty ? "" : " (registered: \(EPMDMessages.listed(others)))")
        case .unreachable(let reason): return "EPMD unreachable: \(reason)"
        }
    }

    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("node", .string(name)), ("address", .string(address)), ("family", .number(family))]
        switch status {
        case .registered(let port): pairs += [("registered", .bool(true)), ("port", .number(port))]
        case .notRegistered(let others): pairs += [("registered", .bool(false)), ("epmd_names", .array(others.map { .string($0) }))]
        case .unreachable(let reason): pairs += [("registered", .bool(false)), ("error", .string(reason))]
        }
        return .object(pairs)
    }
}

public enum Discovery {
    /// Every address of `query` through the system resolver: AAAA records first, then A
    /// records (one `getaddrinfo` per family, as `dns_cluster` asks `:inet_res` for both),
    /// without duplicates, in the resolver's order.
    public static func resolve(_ query: String) throws(DistributionError) -> [(address: String, family: Int)] {
        var out: [(String, Int)] = []
        var failures: [String] = []
        for (family, label) in [(AF_INET6, 6), (AF_INET, 4)] {
            switch lookup(query, family: family) {
            case .success(let addresses):
                for a in addresses where !out.contains(where: { $0.0 == a }) { out.append((a, label)) }
            case .failure(let reason):
                failures.append(reason)
            }
        }
        if out.isEmpty {
            throw DistributionError(.resolveFailed, "\(query) has no AAAA or A records (\(Set(failures).sorted().joined(separator: "; ")))")
        }
        return out
    }

    private enum LookupResult { case success([String]), failure(String) }

    private static func lookup(_ name: String, family: Int32) -> LookupResult {
        do {
            var addresses: [String] = []
            for address in try AddressResolver.resolve(name, port: 0, family: family) {
                if let text = address.ipAddress, !addresses.contains(text) { addresses.append(text) }
            }
            return .success(addresses)
        } catch {
            return .failure(error.description)
        }
    }

    /// The node names for `addresses`: `basename@address`.
    public static func nodeNames(basename: String, addresses: [String]) -> [String] {
        addresses.map { "\(basename)@\($0)" }
    }

    /// Resolves `query`, then asks EPMD on every address at once whether `basename` is registered.
    public static func discover(
        query: String, basename: String, epmdPort: Int, group: EventLoopGroup, timeout: TimeAmount = .seconds(3)
    ) async throws(DistributionError) -> [DiscoveredNode] {
        let addresses = try resolve(query)
        return await check(addresses: addresses, basename: basename, epmdPort: epmdPort, group: group, timeout: timeout)
    }

    /// Asks EPMD on each address, concurrently, whether `basename` is registered there.
    public static func check(
        addresses: [(address: String, family: Int)], basename: String, epmdPort: Int, group: EventLoopGroup,
        timeout: TimeAmount = .seconds(3)
    ) async -> [DiscoveredNode] {
        await withTaskGroup(of: (Int, DiscoveredNode).self) { tasks in
            for (index, entry) in addresses.enumerated() {
                tasks.addTask {
                    (index, await checkOne(entry, basename: basename, epmdPort: epmdPort, group: group, timeout: timeout))
                }
            }
            var nodes = [DiscoveredNode?](repeating: nil, count: addresses.count)
            for await (index, node) in tasks { nodes[index] = node }
            return nodes.enumerated().map { index, node in
                node ?? DiscoveredNode(name: "\(basename)@\(addresses[index].address)", address: addresses[index].address,
                                       family: addresses[index].family, status: .unreachable(reason: "no answer"))
            }
        }
    }

    /// The same, answers handed over in discovery order as they come: the caller waits for the
    /// first addresses only, not for the slowest EPMD (one that does not answer costs the whole
    /// timeout). Every check starts at once; unawaited ones are cancelled when `body` returns.
    public static func inOrder<T>(
        addresses: [(address: String, family: Int)], basename: String, epmdPort: Int, group: EventLoopGroup,
        timeout: TimeAmount = .seconds(3), _ body: ([Task<DiscoveredNode, Never>]) async throws -> T
    ) async rethrows -> T {
        let checks = addresses.map { entry in
            Task { await checkOne(entry, basename: basename, epmdPort: epmdPort, group: group, timeout: timeout) }
        }
        defer { for check in checks { check.cancel() } }
        return try await body(checks)
    }

    /// What EPMD on one address says about `basename`.
    static func checkOne(
        _ entry: (address: String, family: Int), basename: String, epmdPort: Int, group: EventLoopGroup, timeout: TimeAmount
    ) async -> DiscoveredNode {
        let status: DiscoveredNode.Status
        do {
            if let info = try await EPMDClient.lookup(alive: basename, host: entry.address, epmdPort: epmdPort,
                                                      group: group, timeout: timeout, suggestingPort: false) {
                status = .registered(port: info.port)
            } else {
                let names = (try? await EPMDClient.names(host: entry.address, epmdPort: epmdPort, group: group,
                                                          timeout: timeout)) ?? []
                status = .notRegistered(others: names.map(\.alive).sorted())
            }
        } catch {
            status = .unreachable(reason: error.description)
        }
        return DiscoveredNode(name: "\(basename)@\(entry.address)", address: entry.address, family: entry.family, status: status)
    }
}

/// Which discovered node(s) `beamsh --dns QUERY` works on.
public enum DiscoveryPick: Sendable, Equatable {
    /// The first registered node that accepts the connection, in discovery order.
    case firstReachable
    /// The Nth discovered node (1-based, as `beamsh discover` lists them).
    case index(Int)
    /// Every registered node (fan-out evaluation).
    case all
}

extension Discovery {
    /// The nodes to try, in order, for `pick`: only registered ones, or a clear error naming
    /// what DNS and EPMD said.
    public static func candidates(
        _ nodes: [DiscoveredNode], query: String, pick: DiscoveryPick
    ) throws(DistributionError) -> [DiscoveredNode] {
        func listing() -> String {
            nodes.enumerated().map { "\($0.offset + 1). \($0.element.name): \($0.element.statusText)" }.joined(separator: "; ")
        }
        switch pick {
        case .index(let n):
            guard nodes.indices.contains(n - 1) else {
                throw DistributionError(.notRegistered, "--pick \(n): \(query) gave \(nodes.count) node\(nodes.count == 1 ? "" : "s") (\(listing()))")
            }
            let node = nodes[n - 1]
            guard node.isRegistered else { throw unusable(node, pick: n) }
            return [node]
        case .firstReachable, .all:
            let registered = nodes.filter(\.isRegistered)
            if registered.isEmpty {
                let kind: DistributionError.Kind = nodes.allSatisfy { $0.statusKind == .epmdUnreachable } ? .epmdUnreachable : .notRegistered
                throw DistributionError(kind, "no node discovered through \(query) is registered with EPMD (\(listing()))")
            }
            return registered
        }
    }
}

extension Discovery {
    /// Why `--pick n` cannot use `node`, which is not registered.
    public static func unusable(_ node: DiscoveredNode, pick n: Int) -> DistributionError {
        DistributionError(node.statusKind, "--pick \(n): \(node.name): \(node.statusText)")
    }
}

extension DiscoveredNode {
    /// The error kind this status amounts to when the node was wanted.
    public var statusKind: DistributionError.Kind {
        switch status {
        case .registered: return .notRegistered
        case .notRegistered: return .notRegistered
        case .unreachable: return .epmdUnreachable
        }
    }
}
