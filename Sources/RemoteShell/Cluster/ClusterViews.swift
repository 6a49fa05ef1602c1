// The cluster views as printable text, for the interactive console's `:top`, `:cluster` and
// `:info` commands: the operator never leaves the session. Each takes the console's live
// connection; `cluster` opens hidden connections to the other members itself.

import ErlangDistribution
import NIOCore
import NIOPosix

public enum ClusterViews {
    /// `:info`: the node overview (schedulers, limits, memory by type, applications).
    public static func info(connection: NodeConnection, timeout: Duration = .seconds(10)) async throws -> String {
        try await NodeInfo.fetch(from: connection, timeout: timeout).render()
    }

    /// `:cluster`: the mesh check seen from the connected node. `options` carries the cookie
    /// for the other members (the console's own `ConnectOptions`).
    public static func cluster(
        connection: NodeConnection, options: ConnectOptions, discovered: [DiscoveredNode] = [], timeout: Duration = .seconds(10),
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton, width: Int? = nil
    ) async -> String {
        let seed = (try? NodeName(parsing: connection.peer.name)) ?? NodeName.uniqueConsoleName(for: connection.localName)
        let report = await ClusterInspector.inspect(
            seed: seed, seedConnection: connection, options: ClusterOptions(connect: options, timeout: timeout, discovered: discovered),
            group: group)
        return report.render(width: width)
    }

    /// `:top`: one refresh of the busiest processes (`interval` is the reductions window).
    public static func top(
        connection: NodeConnection, by order: TopOrder = .reductions, count: Int = 20, interval: Duration = .seconds(1),
        width: Int? = nil
    ) async throws -> String {
        let top = try await ProcessTop(connection: connection)
        return try await top.sample(by: order, count: count, interval: interval).render(width: width)
    }
}
