// The NIO side of a connection: it only moves bytes. Framing is `DistributionFramer`, the
// handshake is `Handshake`, ticks are `TickPolicy`, routing is `NodeConnection`.

import ErlangTerm
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

final class DistributionChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var framer = DistributionFramer()
    private var buffer: ByteBuffer?
    private var handshake: Handshake
    private var tickPolicy: TickPolicy?
    private var tickTask: RepeatedTask?
    private let handshakePromise: EventLoopPromise<NodeConnection>
    private let localName: NodeName
    private let tickInterval: TimeAmount
    private var deadAfter: TimeAmount
    private let decoder: TermDecoder
    private let logger: Logger
    /// Set once the handshake completes.
    private var connection: NodeConnection?

    init(handshake: Handshake, localName: NodeName, handshakePromise: EventLoopPromise<NodeConnection>,
         tickInterval: TimeAmount, deadAfter: TimeAmount, decoder: TermDecoder, logger: Logger)
    {
        self.localName = localName
        self.handshake = handshake
        self.handshakePromise = handshakePromise
        self.tickInterval = tickInterval
        self.deadAfter = deadAfter
        self.decoder = decoder
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        for action in handshake.start() { perform(action, context: context) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
        if tickPolicy != nil {
            let now = NIODeadline.now()
            tickPolicy?.didRead(at: now)
            connection?.hearing.withLockedValue { $0.last = now }
        }
        do {
            while var current = buffer, let frame = try framer.next(&current) {
                buffer = current
                try handle(frame, context: context)
            }
            if buffer?.readableBytes == 0 { buffer = nil } else { buffer?.discardReadBytes() }
        } catch let error as HandshakeError {
            if let last = error.lastMessage { perform(.send(last), context: context) }
            fail(DistributionError(error), context: context)
        } catch let error as DistributionError {
            fail(error, context: context)
        } catch let error as DistributionProtocolError where error.answeredInTLS {
            var failure = DistributionError(.protocolViolation, error.description)
            failure.answeredInTLS = true
            fail(failure, context: context)
        } catch {
            fail(DistributionError(.protocolViolation, "the node sent something beamsh cannot read: \(error)"), context: context)
        }
    }

    private func handle(_ frame: DistributionFramer.Frame, context: ChannelHandlerContext) throws {
        switch frame {
        case .handshake(let body):
            for action in try handshake.receive(body) { perform(action, context: context) }
        case .tick:
            if tickPolicy?.receivedTick(at: .now()) == .sendTick { writeTick(context: context) }
        case .message(let body):
            let decoded: (control: Term, message: ControlMessage?)
            do {
                decoded = try DistributionMessageCodec.decode(body[...], decoder: decoder)
            } catch let error as TermDecodingError {
                throw DistributionError(.protocolViolation, "undecodable distribution message: \(error)")
            }
            logger.trace("control message in", metadata: ["control": "\(ErlangFormatter().format(decoded.control))"])
            if let message = decoded.message {
                connection?.handle(message)
            } else {
                logger.debug("ignoring control message beamsh does not handle", metadata: ["control": "\(decoded.control)"])
            }
        }
    }

    private func perform(_ action: HandshakeAction, context: ChannelHandlerContext) {
        switch action {
        case .send(let body):
            let bytes = DistributionFramer.handshakeFrame(body)
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        case .completed(let peer):
            framer.phase = .connected
            // Created here, on the event loop, so no message after the handshake can miss it.
            let connection = NodeConnection(channel: context.channel, peer: peer, localName: localName,
                                            creation: handshake.creation, logger: logger)
            self.connection = connection
            connection.hearing.withLockedValue { $0 = (.now(), deadAfter) }
            startTicking(context: context)
            handshakePromise.succeed(connection)
        }
    }

    private func startTicking(context: ChannelHandlerContext) {
        tickPolicy = TickPolicy(now: .now(), sendInterval: tickInterval, deadAfter: deadAfter)
        let check = min(tickInterval, .seconds(1))
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        // Weak: the timer must not keep a removed handler alive.
        let loopBoundSelf = NIOLoopBound(WeakReference(self), eventLoop: context.eventLoop)
        tickTask = context.eventLoop.scheduleRepeatedTask(initialDelay: check, delay: check) { _ in
            guard let self = loopBoundSelf.value.object else { return }
            let context = loopBoundContext.value
            switch self.tickPolicy?.timerFired(at: .now()) {
            case .sendTick?: self.writeTick(context: context)
            case .peerDead?:
                self.fail(DistributionError(.connectionLost,
                    "\(self.connection?.peer.name ?? "the node") stopped answering (no data or tick for \(self.deadAfter.spokenSeconds))"),
                    context: context)
            case .nothing?, nil: break
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let peer = event as? PeerTickTime {
            var policy = tickPolicy ?? TickPolicy(now: .now(), sendInterval: tickInterval, deadAfter: deadAfter)
            policy.follow(peerTickTimeSeconds: peer.seconds, ceiling: tickInterval)
            deadAfter = policy.deadAfter
            if tickPolicy != nil { tickPolicy = policy }
            connection?.hearing.withLockedValue { $0.deadAfter = deadAfter }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func writeTick(context: ChannelHandlerContext) {
        var tick = context.channel.allocator.buffer(capacity: 4)
        tick.writeInteger(UInt32(0))
        context.writeAndFlush(wrapOutboundOut(tick), promise: nil)
    }

    private var failure: DistributionError?

    private func fail(_ error: DistributionError, context: ChannelHandlerContext) {
        if failure == nil { failure = error }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        tickTask?.cancel()
        if let connection {
            connection.connectionLost(failure ?? DistributionError(.connectionLost,
                "the connection to \(connection.peer.name) closed (the node stopped or the network dropped)"))
        } else {
            handshakePromise.fail(failure ?? DistributionError(handshake.closedError()))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let peer = connection?.peer.name ?? handshake.expectedPeer ?? "the node"
        guard let io = error as? IOError else {
            fail(DistributionError(.connectionLost, "the connection to \(peer) failed: \(error)"), context: context)
            return
        }
        // The socket's own words, not NIO's call site: a reset is what a node killed mid-call
        // (or a dropped network) looks like.
        let what = io.errnoCode == ECONNRESET || io.errnoCode == EPIPE
            ? "was reset (the node stopped or the network dropped)" : "failed (\(String(cString: strerror(io.errnoCode))))"
        fail(DistributionError(.connectionLost, "the connection to \(peer) \(what)"), context: context)
    }
}

/// A weak reference as a value, for handing an object to a closure without keeping it alive.
struct WeakReference<Object: AnyObject> {
    weak var object: Object?
    init(_ object: Object) { self.object = object }
}

/// The peer's `net_ticktime` in seconds (see ``NodeConnection/followPeerTickTime(timeout:)``).
struct PeerTickTime: Sendable {
    var seconds: Int
}
