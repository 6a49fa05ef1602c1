// Reaching a node: resolve its host, ask EPMD for its port (unless given), connect to each
// address in turn, run the handshake. Each step is public so `beamsh doctor` can time it.

import ErlangTerm
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How to reach a node.
public struct ConnectOptions: Sendable {
    public var cookie: Cookie
    /// Our node name; by default a unique hidden console name in the target's naming mode.
    public var localName: NodeName?
    /// Our name without a host (`--name me`): the host follows the target's naming mode, as the
    /// default name's does. Ignored when `localName` is set.
    public var localAlive: String?
    /// Reach the node at this host instead of its name's host (a tunnel, a port-forward);
    /// the handshake still uses the node's own name.
    public var addressOverride: String?
    /// The distribution port: skips EPMD when set.
    public var port: Int?
    public var epmdPort: Int = 4369
    /// An unreachable EPMD's error suggests `--port`: not for nodes reached by their own names
    /// while the command's `--port` applies to another (a cluster's members).
    public var suggestsPort = true
    public var connectTimeout: TimeAmount = .seconds(5)
    public var handshakeTimeout: TimeAmount = .seconds(10)
    /// Send a tick when idle this long; peers with a shorter net_ticktime are answered tick for tick.
    public var tickInterval: TimeAmount = .seconds(15)
    /// Give up on a peer silent this long.
    public var deadAfter: TimeAmount = .seconds(75)
    public var decoderOptions = TermDecoder.Options()
    public var logger = Logger(label: "beamsh.distribution")
    /// Where a note for the operator goes (a `--name` of the other name form): the executable
    /// prints it as a warning; nil drops it.
    public var notice: (@Sendable (String) -> Void)?

    /// The name we connect to `target` with.
    public func ourName(for target: NodeName) -> NodeName {
        if let localName { return localName }
        if let localAlive, let name = try? NodeName(alive: localAlive, host: NodeName.consoleHost(for: target)) { return name }
        return NodeName.uniqueConsoleName(for: target)
    }

    public init(cookie: Cookie) { self.cookie = cookie }

    /// The EPMD port from `ERL_EPMD_PORT`, else 4369.
    public static func epmdPort(environment: [String: String]) -> Int {
        environment["ERL_EPMD_PORT"].flatMap(Int.init) ?? 4369
    }
}

// MARK: - Addresses

public enum AddressResolver {
    /// All addresses of `host` (IPv6 and IPv4, or only `family`) in the system resolver's order,
    /// on `port`. Brackets around an IPv6 literal are accepted.
    public static func resolve(_ host: String, port: Int, family: Int32 = AF_UNSPEC) throws(DistributionError) -> [SocketAddress] {
        // The port plays no part in the answer: one lookup serves EPMD's port and then the node's
        // (one DNS query per connection, not two). A cluster check resolves the same host for
        // every node on it, on the event loop: answers are reused for a few seconds (failures are
        // not kept).
        let key = CacheKey(host: host, family: family)
        let now = ContinuousClock.now
        var addresses: [SocketAddress]
        if let hit = cache.withLockedValue({ $0[key] }), now - hit.at < cacheLifetime {
            addresses = hit.addresses
        } else {
            addresses = try lookUp(host, family: family)
            cache.withLockedValue { $0[key] = (now, addresses) }
        }
        for index in addresses.indices { addresses[index].port = port }
        return addresses
    }

    private struct CacheKey: Hashable {
        var host: String
        var family: Int32
    }
    private static let cacheLifetime: Duration = .seconds(5)
    private static let cache = NIOLockedValueBox<[CacheKey: (at: ContinuousClock.Instant, addresses: [SocketAddress])]>([:])

    /// The addresses getaddrinfo gives for `host`, with port 0.
    private static func lookUp(_ host: String, family: Int32) throws(DistributionError) -> [SocketAddress] {
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_family = family
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &result)
        guard status == 0, let first = result else {
            let reason = String(cString: gai_strerror(status))
            throw DistributionError(.resolveFailed, "cannot resolve host \(Self.shown(name)): \(reason)" + Self.hint(for: name))
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let sockaddr = info.pointee.ai_addr {
                switch info.pointee.ai_family {
                case AF_INET:
                    let v4 = sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                    addresses.append(SocketAddress(v4, host: name))
                case AF_INET6:
                    let v6 = sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                    addresses.append(SocketAddress(v6, host: name))
                default: break
                }
            }
            cursor = info.pointee.ai_next
        }
        // getaddrinfo lists an address once per protocol on some systems.
        var seen = Set<String>()
        return addresses.filter { seen.insert($0.description).inserted }
    }

    /// The host as typed, quoted when blanks at its ends would not show.
    static func shown(_ host: String) -> String {
        host.first?.isWhitespace == true || host.last?.isWhitespace == true ? "\"\(host)\"" : host
    }

    /// What the user most likely meant, for a host that did not resolve.
    static func hint(for host: String) -> String {
        if host.first?.isWhitespace == true || host.last?.isWhitespace == true { return " (blanks around the name)" }
        if host.utf8.contains(UInt8(ascii: "@")) { return " (a host is wanted here, not a node name: the part after @)" }
        // `::1:4370` is one IPv6 address to getaddrinfo; a port goes after brackets.
        if host.utf8.filter({ $0 == UInt8(ascii: ":") }).count > 1, let colon = host.lastIndex(of: ":"),
           Int(host[host.index(after: colon)...]) != nil, isIPv6Address(String(host[..<colon])) {
            return " (an IPv6 address with a port is written [\(host[..<colon])]:\(host[host.index(after: colon)...]))"
        }
        // `app@host:4369`: a node's name has no port (`--address`, `--port`, `--epmd-port` say it).
        if host.utf8.filter({ $0 == UInt8(ascii: ":") }).count == 1, let colon = host.firstIndex(of: ":"),
           let port = Int(host[host.index(after: colon)...]) {
            return " (a node's name holds no port: write it with @\(host[..<colon]), and --address \(host) to reach the node "
                + "at that port, or --epmd-port \(port) for an EPMD there)"
        }
        return ""
    }

    /// Whether `text` is an IPv6 address as written in a URL's brackets (`::1`, `fd00::2`).
    static func isIPv6Address(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }

    /// Splits `HOST[:PORT]`, `[V6]:PORT` or a bare IPv6 address.
    public static func splitHostPort(_ text: String) -> (host: String, port: Int?) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            return (host, rest.first == ":" ? Int(rest.dropFirst()) : nil)
        }
        let colons = text.utf8.filter { $0 == UInt8(ascii: ":") }.count
        if colons == 1, let colon = text.firstIndex(of: ":") {
            return (String(text[..<colon]), Int(text[text.index(after: colon)...]))
        }
        return (text, nil)
    }
}

// MARK: - EPMD

public enum EPMDClient {
    /// Sends one request to EPMD at each address in turn until one answers; returns its whole reply.
    /// Runs on `eventLoop` as one chain: no thread hop between steps.
    /// - parameter suggestingPort: an unreachable EPMD's error says `--port` skips it (the
    ///   console's lookups; not `discover`'s, which has no `--port`, nor NAMES).
    static func exchange(
        _ request: [UInt8], addresses: [SocketAddress], on eventLoop: EventLoop, timeout: TimeAmount, suggestingPort: Bool = true
    ) -> EventLoopFuture<(reply: [UInt8], address: SocketAddress)> {
        /// `silent`: every address so far took the connection and said nothing.
        @Sendable func attempt(_ index: Int, failures: [String], silent: Bool) -> EventLoopFuture<(reply: [UInt8], address: SocketAddress)> {
            guard index < addresses.count else {
                let port = addresses.first?.port ?? 4369
                // (--port is the way around EPMD when connecting; NAMES has nothing to skip to.)
                let skip = !suggestingPort || request.count > 2 && request[2] == EPMDMessages.namesRequestTag ? "" : " Use --port to skip EPMD"
                let why = silent
                    ? "something took the connection on port \(port) but did not answer as EPMD (\(failures.joined(separator: "; "))): "
                        + "the host is overloaded, or what listens there is not EPMD?"
                    : "EPMD is not reachable on port \(port) (\(failures.joined(separator: "; "))): is a node running there, or is the port firewalled?"
                return eventLoop.makeFailedFuture(DistributionError(.epmdUnreachable, why + skip))
            }
            let address = addresses[index]
            return oneExchange(request, address: address, on: eventLoop, timeout: timeout)
                .map { (reply: $0, address: address) }
                .flatMapError { error in
                    // A reply that is not EPMD's is the answer: said as it is, not as EPMD being out of reach.
                    if let error = error as? DistributionError, error.kind == .protocolViolation {
                        return eventLoop.makeFailedFuture(DistributionError(.protocolViolation, "\(address.ipAddress ?? "?") port \(address.port ?? 0): \(error.description)"))
                    }
                    let saidNothing = (error as? DistributionError)?.kind == .timeout
                    return attempt(index + 1, failures: failures + ["\(address.ipAddress ?? "?"): \(describe(error))"],
                                   silent: silent && saidNothing)
                }
        }
        return attempt(0, failures: [], silent: true)
    }

    private static func oneExchange(
        _ request: [UInt8], address: SocketAddress, on eventLoop: EventLoop, timeout: TimeAmount
    ) -> EventLoopFuture<[UInt8]> {
        let promise = eventLoop.makePromise(of: [UInt8].self)
        // PORT2_RESP is complete once its lengths are read; a NAMES reply only when EPMD closes.
        let isNames = request.count > 2 && request[2] == EPMDMessages.namesRequestTag
        let collector = isNames
            ? CollectUntilClose(promise: promise, limit: EPMDMessages.namesReplyLimit) { _ in false }
            : CollectUntilClose(promise: promise, limit: EPMDMessages.portPleaseReplyLimit) { reply in
                EPMDMessages.portPleaseReplyIsComplete(reply)
            }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    promise.fail(error)
                case .success(let channel):
                    let timer = channel.eventLoop.scheduleTask(in: timeout) {
                        promise.fail(DistributionError(.timeout, "EPMD did not answer within \(timeout.nanoseconds / 1_000_000) ms"))
                        channel.close(promise: nil)
                    }
                    promise.futureResult.whenComplete { _ in timer.cancel() }
                    channel.writeAndFlush(channel.allocator.buffer(bytes: request)).whenFailure { promise.fail($0) }
                }
            }
        return promise.futureResult
    }

    /// A short human reason for a socket-level failure ("connection refused", "no route to
    /// host"), not NIO's description of the system call that failed.
    public static func describe(_ error: Error) -> String { classify(error).text }

    /// A short human reason for a socket-level failure, and whether it was a timeout.
    static func classify(_ error: Error) -> (text: String, isTimeout: Bool) {
        if let e = error as? DistributionError { return (e.description, e.kind == .timeout) }
        if let e = error as? IOError {
            return (String(cString: strerror(e.errnoCode)).lowercased(), e.errnoCode == ETIMEDOUT)
        }
        if let e = error as? ChannelError, case .connectTimeout = e { return ("timed out", true) }
        return ("\(error)", false)
    }

    /// The port and versions EPMD on `host` has for `alive`; nil when it is not registered.
    public static func lookup(
        alive: String, host: String, epmdPort: Int, on eventLoop: EventLoop, timeout: TimeAmount = .seconds(5),
        suggestingPort: Bool = true
    ) -> EventLoopFuture<EPMDNodeInfo?> {
        let addresses: [SocketAddress]
        do {
            addresses = try AddressResolver.resolve(host, port: epmdPort)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return exchange(EPMDMessages.portPleaseRequest(alive: alive), addresses: addresses, on: eventLoop, timeout: timeout,
                        suggestingPort: suggestingPort)
            .flatMapThrowing { reply, _ in
                do {
                    return try EPMDMessages.parsePortPleaseReply(reply)
                } catch {
                    throw DistributionError(.protocolViolation, "\(error)")
                }
            }
    }

    /// The nodes registered with EPMD on `host` (`epmd -names`).
    public static func names(
        host: String, epmdPort: Int, on eventLoop: EventLoop, timeout: TimeAmount = .seconds(5)
    ) -> EventLoopFuture<[EPMDRegistration]> {
        let addresses: [SocketAddress]
        do {
            addresses = try AddressResolver.resolve(host, port: epmdPort)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return exchange(EPMDMessages.namesRequest(), addresses: addresses, on: eventLoop, timeout: timeout)
            .flatMapThrowing { reply, _ in
                do {
                    return try EPMDMessages.parseNamesReply(reply)
                } catch {
                    throw DistributionError(.protocolViolation, "\(host) port \(epmdPort): \(error)")
                }
            }
    }

    /// ``lookup(alive:host:epmdPort:on:timeout:)`` from async code.
    public static func lookup(
        alive: String, host: String, epmdPort: Int, group: EventLoopGroup, timeout: TimeAmount = .seconds(5),
        suggestingPort: Bool = true
    ) async throws(DistributionError) -> EPMDNodeInfo? {
        try await awaitDistribution(lookup(alive: alive, host: host, epmdPort: epmdPort, on: group.next(), timeout: timeout,
                                           suggestingPort: suggestingPort))
    }

    /// ``names(host:epmdPort:on:timeout:)`` from async code.
    public static func names(
        host: String, epmdPort: Int, group: EventLoopGroup, timeout: TimeAmount = .seconds(5)
    ) async throws(DistributionError) -> [EPMDRegistration] {
        try await awaitDistribution(names(host: host, epmdPort: epmdPort, on: group.next(), timeout: timeout))
    }
}

/// Awaits a future whose failures are `DistributionError`s (anything else becomes one).
public func awaitDistribution<T: Sendable>(_ future: EventLoopFuture<T>) async throws(DistributionError) -> T {
    do {
        return try await future.get()
    } catch let error as DistributionError {
        throw error
    } catch {
        throw DistributionError(.connectionLost, EPMDClient.describe(error))
    }
}

/// Collects what EPMD sends until it closes, or until the reply is complete (a proxy or tunnel
/// may hold the connection open after it), and never more than `limit` bytes: whatever listens
/// on EPMD's port is not authenticated, and a reply without end would otherwise take all memory.
private final class CollectUntilClose: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let promise: EventLoopPromise<[UInt8]>
    private let isComplete: @Sendable ([UInt8]) -> Bool
    private let limit: Int
    private let bytes = NIOLockedValueBoxShim()

    init(promise: EventLoopPromise<[UInt8]>, limit: Int, isComplete: @escaping @Sendable ([UInt8]) -> Bool) {
        self.promise = promise
        self.limit = limit
        self.isComplete = isComplete
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        bytes.append(buffer.readBytes(length: buffer.readableBytes) ?? [])
        let received = bytes.value
        if received.count > limit {
            promise.fail(DistributionError(.protocolViolation,
                "the reply goes on past \(limit / 1024) KiB, more than EPMD ever sends (\(EPMDMessages.describeStart(of: received))): is this port EPMD's?"))
            context.close(promise: nil)
        } else if isComplete(received) {
            promise.succeed(received)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(bytes.value)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}


private final class NIOLockedValueBoxShim: Sendable {
    private let box = NIOLockedValueBox<[UInt8]>([])
    func append(_ more: [UInt8]) { box.withLockedValue { $0 += more } }
    var value: [UInt8] { box.withLockedValue { $0 } }
}

// MARK: - Connecting

extension NodeConnection {
    /// The outcome of each step, for `beamsh doctor` and error messages.
    public struct Route: Sendable {
        public var host: String
        public var addresses: [SocketAddress]
        public var epmd: EPMDNodeInfo?
        public var port: Int
    }

    /// Connects to `node` as a hidden node.
    public static func connect(
        to node: NodeName, options: ConnectOptions, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(DistributionError) -> NodeConnection {
        try await awaitDistribution(connect(to: node, options: options, on: group.next()))
    }

    /// Connects to `node` as a hidden node: EPMD, TCP and handshake as one chain on `eventLoop`.
    public static func connect(to node: NodeName, options: ConnectOptions, on eventLoop: EventLoop)
        -> EventLoopFuture<NodeConnection>
    {
        findRoute(to: node, options: options, on: eventLoop).flatMap { route in
            connect(to: node, route: route, options: options, on: eventLoop)
        }.flatMapErrorThrowing { error in
            throw throughAddress(error, options: options)
        }
    }

    /// `error` saying that the connection went through `--address`, when it did and the failure
    /// is of the kind a tunnel or port-forward that leads elsewhere (or nowhere) causes.
    static func throughAddress(_ error: any Error, options: ConnectOptions) -> any Error {
        guard let address = options.addressOverride, let e = error as? DistributionError,
              [.connectionLost, .connectionRefused, .nameMismatch, .protocolViolation, .timeout].contains(e.kind)
        else { return error }
        let hint = e.kind == .nameMismatch
            ? " (or --address \(address) leads to another node than meant: a tunnel's port mixed up?)"
            : " (reached through --address \(address): check that it leads to the node's distribution port, and that the tunnel's far end is up)"
        var said = DistributionError(e.kind, e.description + hint, reason: e.reason)
        said.reachedNode = e.reachedNode
        return said
    }

    /// Resolves the host and finds the port (EPMD unless `options.port` is set).
    public static func findRoute(
        to node: NodeName, options: ConnectOptions, group: EventLoopGroup
    ) async throws(DistributionError) -> Route {
        try await awaitDistribution(findRoute(to: node, options: options, on: group.next()))
    }

    public static func findRoute(to node: NodeName, options: ConnectOptions, on eventLoop: EventLoop)
        -> EventLoopFuture<Route>
    {
        let (host, port): (String, Int?)
        if let override = options.addressOverride {
            let split = AddressResolver.splitHostPort(override)
            (host, port) = (split.host, options.port ?? split.port)
        } else {
            (host, port) = (node.host, options.port)
        }
        if let port {
            return eventLoop.makeCompletedFuture {
                Route(host: host, addresses: try AddressResolver.resolve(host, port: port), epmd: nil, port: port)
            }
        }
        return EPMDClient.lookup(alive: node.alive, host: host, epmdPort: options.epmdPort, on: eventLoop,
                                 timeout: options.connectTimeout, suggestingPort: options.suggestsPort)
            .flatMap { info -> EventLoopFuture<Route> in
                guard let info else {
                    return EPMDClient.names(host: host, epmdPort: options.epmdPort, on: eventLoop, timeout: options.connectTimeout)
                        .map { Optional($0) }
                        .recover { _ in nil }  // the names are a help, not the answer
                        .flatMapThrowing { known in
                            let list = known.map { " (registered: \(EPMDMessages.listed($0.map(\.alive).sorted())))" } ?? ""
                            // Names are case-sensitive: `App` is not `app`.
                            let sameButCase = known?.first { $0.alive != node.alive && $0.alive.lowercased() == node.alive.lowercased() }
                            // Listed by NAMES just after PORT_PLEASE2 denied it: it registered in between.
                            let justNow = known?.contains { $0.alive == node.alive } == true
                            let port = options.epmdPort == 4369 ? "" : " port \(options.epmdPort)"
                            throw DistributionError(.notRegistered,
                                "node \(node.alive) is not registered with EPMD on \(host)\(port)\(list)"
                                + (justNow ? "; EPMD lists it now (it registered a moment ago?): try again"
                                   : sameButCase.map { "; did you mean \(PeerText.printable($0.alive, limit: 64))?" } ?? ""))
                        }
                }
                return eventLoop.makeCompletedFuture {
                    guard info.highestVersion >= 5 else {
                        throw DistributionError(.protocolViolation,
                            "node \(node) speaks distribution version \(info.highestVersion), beamsh needs 5 or 6")
                    }
                    return Route(host: host, addresses: try AddressResolver.resolve(host, port: info.port), epmd: info,
                                 port: info.port)
                }
            }
    }

    /// Connects to each address of `route` in turn and runs the handshake on the first that accepts.
    public static func connect(
        to node: NodeName, route: Route, options: ConnectOptions, group: EventLoopGroup
    ) async throws(DistributionError) -> NodeConnection {
        try await awaitDistribution(connect(to: node, route: route, options: options, on: group.next()))
    }

    public static func connect(to node: NodeName, route: Route, options: ConnectOptions, on eventLoop: EventLoop)
        -> EventLoopFuture<NodeConnection>
    {
        let localName = options.ourName(for: node)
        if localName.mode != node.mode {
            // A node checks only that a connecting node's name has a name and a host (and its
            // allow list), not its form (dist_util's is_name_ok): a hidden console of the other
            // form is accepted. The form is a guess from the host (a dot), and `-name x@localhost`
            // is a long name without one; so this is said, not refused.
            options.notice?("our name \(localName) has the form of \(localName.mode) and \(node)'s that of \(node.mode): "
                + "BEAM nodes do not mix the two, but a node accepts a connection from either; going on")
        }
        if localName.description == node.description {
            return eventLoop.makeFailedFuture(DistributionError(.invalidName,
                "our name \(localName) is the node's own name: a node does not connect to itself; pick another --name"))
        }
        let creation = UInt32.random(in: 1...UInt32.max)
        let version = (route.epmd?.highestVersion ?? 6) >= 6 ? 6 : 5

        @Sendable func attempt(_ index: Int, failures: [String], lastKind: DistributionError.Kind) -> EventLoopFuture<NodeConnection> {
            guard index < route.addresses.count else {
                // EPMD answers on both families; a node without `-proto_dist inet6_tcp` listens
                // on IPv4 only, so its port refuses every IPv6 address.
                let ipv6Only = route.epmd != nil && lastKind == .connectionRefused && !route.addresses.isEmpty
                    && route.addresses.allSatisfy { if case .v6 = $0 { true } else { false } }
                let hint = ipv6Only ? " (EPMD answered, the node's port did not: a node takes IPv6 connections only when started "
                    + "with -proto_dist inet6_tcp; reach this one by an IPv4 address or a host name)" : ""
                return eventLoop.makeFailedFuture(DistributionError(lastKind,
                    "cannot connect to \(node): \(failures.joined(separator: "; "))\(hint)"))
            }
            let address = route.addresses[index]
            let handshake = Handshake(localName: localName.description, expectedPeer: node.description,
                                      cookie: options.cookie, creation: creation, version: version)
            let promise = eventLoop.makePromise(of: NodeConnection.self)
            let handler = DistributionChannelHandler(
                handshake: handshake, localName: localName, handshakePromise: promise, tickInterval: options.tickInterval,
                deadAfter: options.deadAfter, decoder: TermDecoder(options: options.decoderOptions),
                logger: options.logger)
            let outcome = eventLoop.makePromise(of: NodeConnection.self)
            // Handed to the channel, which lives on `eventLoop` (the bootstrap's only loop).
            let loopBoundHandler = NIOLoopBoundBox.makeBoxSendingValue(handler, eventLoop: eventLoop)
            ClientBootstrap(group: eventLoop)
                .connectTimeout(options.connectTimeout)
                // A TCP-level option: at the socket level the same number is SO_DEBUG, which
                // needs CAP_NET_ADMIN, so every connection of an unprivileged user failed.
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(loopBoundHandler.value)
                    }
                }
                .connect(to: address)
                .whenComplete { result in
                    switch result {
                    case .failure(let error):
                        // No TCP connection at this address: try the next one.
                        promise.fail(error)
                        let (text, isTimeout) = EPMDClient.classify(error)
                        attempt(index + 1, failures: failures + ["\(address.ipAddress ?? "?") port \(route.port): \(text)"],
                                lastKind: isTimeout ? .timeout : .connectionRefused)
                            .cascade(to: outcome)
                    case .success(let channel):
                        // Connected: the handshake's outcome is final.
                        let timeout = channel.eventLoop.scheduleTask(in: options.handshakeTimeout) {
                            promise.fail(DistributionError(.timeout,
                                "the handshake with \(node) did not finish within \(options.handshakeTimeout.spokenSeconds)"))
                            channel.close(promise: nil)
                        }
                        promise.futureResult.whenComplete { result in
                            timeout.cancel()
                            if case .failure = result { channel.close(promise: nil) }
                        }
                        promise.futureResult.cascade(to: outcome)
                    }
                }
            return outcome.futureResult
        }
        // A cookie beyond ASCII reaches the node as its characters or as its UTF-8 bytes,
        // depending on the node's locale (`-setcookie café` is 'café' under a UTF-8 locale and
        // 'cafÃ©' under C): the other reading is tried once when the first is rejected.
        return attempt(0, failures: [], lastKind: .connectionRefused).flatMapError { error in
            guard let rejected = error as? DistributionError, rejected.kind == .authenticationFailed,
                  let other = options.cookie.otherReading else { return eventLoop.makeFailedFuture(error) }
            var retry = options
            retry.cookie = other
            return connect(to: node, route: route, options: retry, on: eventLoop)
        }
    }
}

extension TimeAmount {
    /// `5 s`, `1.5 s`, `0.25 s`: as the user gave it (`--connect-timeout 0.25`), not cut to whole seconds.
    var spokenSeconds: String {
        let milliseconds = nanoseconds / 1_000_000
        guard milliseconds % 1000 != 0 else { return "\(milliseconds / 1000) s" }
        var fraction = String(milliseconds % 1000)
        fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(milliseconds / 1000).\(fraction) s"
    }
}
