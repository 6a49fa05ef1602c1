// Framing: 2-byte lengths during the handshake, then 4-byte lengths where a zero length
// is a tick. Pure: it only cuts frames out of a buffer.

import NIOCore

struct DistributionFramer {
    enum Phase { case handshake, connected }
    enum Frame: Equatable {
        case handshake([UInt8])
        case tick
        case message([UInt8])
    }

    var phase: Phase = .handshake
    /// A peer claiming a larger frame is cut off instead of being buffered without end.
    let maxFrameSize: Int

    init(maxFrameSize: Int = 1 << 31) { self.maxFrameSize = maxFrameSize }

    /// The next whole frame in `buffer`, or nil until more bytes arrive.
    mutating func next(_ buffer: inout ByteBuffer) throws(DistributionProtocolError) -> Frame? {
        switch phase {
        case .handshake:
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return nil }
            // A TLS record (content type 20-23, then major version 3) where a handshake frame's
            // length should be: a length of 5,120 or more, which no handshake message has.
            if (20...23).contains(length >> 8), length & 0xFF == 3 {
                throw DistributionProtocolError(
                    "the port answered in TLS: the node runs distribution over TLS (-proto_dist inet_tls), which beamsh "
                        + "does not speak (or the port is another TLS server's)", answeredInTLS: true)
            }
            // Every handshake message starts with its tag (status, challenge, acknowledgement):
            // anything else is not a node talking (an HTTP server, a database), said at once
            // instead of waiting for the thousands of bytes its first two bytes seem to announce.
            if let tag = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt8.self), !Self.handshakeTags.contains(tag) {
                let start = buffer.getBytes(at: buffer.readerIndex, length: min(buffer.readableBytes, 16)) ?? []
                throw DistributionProtocolError("not an Erlang node's answer (\(EPMDMessages.describeStart(of: start))): is this port a node's distribution port?")
            }
            guard buffer.readableBytes >= 2 + Int(length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 2)
            return .handshake(buffer.readBytes(length: Int(length))!)
        case .connected:
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
            if length == 0 {
                buffer.moveReaderIndex(forwardBy: 4)
                return .tick
            }
            guard Int(length) <= maxFrameSize else {
                throw DistributionProtocolError("the node sent a frame of \(length) bytes, over the limit of \(maxFrameSize)")
            }
            // A frame's first byte says whether it can be read at all: judged before the rest
            // is buffered (a peer could otherwise make beamsh hold 2 GB it then throws away).
            if let header = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self), header != DistributionMessageCodec.passThrough {
                throw DistributionProtocolError(
                    "distribution message with header \(header): atom cache and fragments were not negotiated")
            }
            guard buffer.readableBytes >= 4 + Int(length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 4)
            return .message(buffer.readBytes(length: Int(length))!)
        }
    }

    /// The first byte of each message a node sends in the handshake: `s`tatus, a challenge
    /// (`N` in version 6, `n` in 5), `a`cknowledgement.
    static let handshakeTags: [UInt8] = [UInt8(ascii: "s"), UInt8(ascii: "N"), UInt8(ascii: "n"), UInt8(ascii: "a")]

    static func handshakeFrame(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendBigEndian(UInt16(body.count))
        return out + body
    }
}

/// When to send ticks and when to give up on a silent peer. Pure; fed the clock.
struct TickPolicy {
    /// Send a tick when we wrote nothing for this long.
    var sendInterval: TimeAmount
    /// The peer is dead when we read nothing for this long.
    var deadAfter: TimeAmount
    private(set) var lastRead: NIODeadline
    private(set) var lastWrite: NIODeadline

    init(now: NIODeadline, sendInterval: TimeAmount = .seconds(15), deadAfter: TimeAmount = .seconds(75)) {
        self.sendInterval = sendInterval
        self.deadAfter = deadAfter
        lastRead = now
        lastWrite = now
    }

    enum Decision: Equatable { case nothing, sendTick, peerDead }

    /// Adopts the peer's `net_ticktime`: it is judged silent after about that long, give or
    /// take a quarter, as a node judges its peers; and we write at least every quarter of it,
    /// as a node ticks, so that a peer streaming a long reply (it sends no ticks meanwhile,
    /// so none to answer) still hears from us in time. Never slower than `ceiling`.
    mutating func follow(peerTickTimeSeconds seconds: Int, ceiling: TimeAmount) {
        deadAfter = .milliseconds(Int64(seconds) * 1250)
        sendInterval = min(ceiling, .milliseconds(max(Int64(seconds) * 250, 250)))
    }

    mutating func didRead(at now: NIODeadline) { lastRead = now }
    mutating func didWrite(at now: NIODeadline) { lastWrite = now }

    /// What to do when a tick arrives: answer at once, so a peer with a short
    /// `net_ticktime` hears from us at its own pace.
    mutating func receivedTick(at now: NIODeadline) -> Decision {
        lastRead = now
        lastWrite = now
        return .sendTick
    }

    /// What to do on our timer.
    mutating func timerFired(at now: NIODeadline) -> Decision {
        if now - lastRead >= deadAfter { return .peerDead }
        if now - lastWrite >= sendInterval {
            lastWrite = now
            return .sendTick
        }
        return .nothing
    }
}
