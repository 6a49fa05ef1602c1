// The distribution handshake, initiating side, as a value-type state machine.
// https://www.erlang.org/doc/apps/erts/erl_dist_protocol.html#distribution-handshake
// lib/kernel/src/dist_util.erl
//
// It is fed whole handshake frames (the 2-byte length already stripped) and answers with
// actions; it never touches a socket, so it is tested with recorded bytes.

import Crypto

/// The status the peer sends after our name (`recv_status` in dist_util.erl).
public enum HandshakeStatus: Hashable, Sendable {
    /// "ok": the handshake continues.
    case ok
    /// "ok_simultaneous": the peer was connecting to us too and lets ours win.
    case okSimultaneous
    /// "nok": the peer is connecting to us and its attempt wins; this one stops.
    case nok
    /// "not_allowed": the peer refuses us (missing mandatory flags, short/long name mix, allow list).
    case notAllowed
    /// "alive": the peer already has a connection from a node of our name.
    case alive
    /// "named:": the peer chose our name (only after NAME_ME).
    case named(name: String, creation: UInt32)
}

/// What the peer told us about itself.
public struct PeerInfo: Hashable, Sendable {
    public let name: String
    public let flags: DistributionFlags
    public let creation: UInt32
    /// Flags both sides have: what the connection may use.
    public let negotiatedFlags: DistributionFlags
    public let version: Int
}

public enum HandshakeAction: Hashable, Sendable {
    /// Send this handshake message (the framer adds the 2-byte length).
    case send([UInt8])
    /// The handshake is done; switch to 4-byte framing.
    case completed(PeerInfo)
}

/// Why a handshake failed. Never contains the cookie.
public struct HandshakeError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case unexpectedMessage
        case malformed
        case notAllowed
        case nok
        case alreadyConnected
        case nameMismatch
        /// The peer's digest of our challenge was wrong: it does not share our cookie.
        case peerAuthenticationFailed
        /// The peer closed after our challenge reply: it rejected our cookie.
        case cookieRejected
        case closedEarly
    }
    public let kind: Kind
    private let detail: String
    /// For `nameMismatch`: the name the node gave (it is that node, at an address we were told
    /// was another's).
    public let reachedNode: String?
    /// A handshake message the protocol wants sent before the connection closes (for
    /// `alreadyConnected`, the `sfalse` that answers status `alive`).
    public let lastMessage: [UInt8]?

    init(_ kind: Kind, _ detail: String, reachedNode: String? = nil, lastMessage: [UInt8]? = nil) {
        self.kind = kind
        self.detail = detail
        self.reachedNode = reachedNode
        self.lastMessage = lastMessage
    }

    public var description: String { detail }
}

/// The initiating side of the handshake.
public struct Handshake: Sendable {
    private enum State: Sendable {
        /// Nothing sent yet.
        case idle
        /// Our name is sent; waiting for the peer's status.
        case awaitingStatus
        /// Status was ok; waiting for the peer's challenge.
        case awaitingChallenge
        /// Our digest and challenge are sent; waiting for the peer's digest of `ourChallenge`.
        case awaitingAcknowledgement(ourChallenge: UInt32, peer: PeerInfo)
        case complete
        case failed
    }

    private var state: State = .idle
    public let localName: String
    public let expectedPeer: String?
    public let flags: DistributionFlags
    public let creation: UInt32
    /// 6 (OTP 23+) unless the peer's EPMD entry says it only speaks 5.
    public let version: Int
    private let cookie: Cookie
    private let challenge: UInt32

    /// - parameters:
    ///   - localName: our full node name.
    ///   - expectedPeer: the name we meant to reach; a different name in the challenge is an error.
    ///   - challenge: our challenge to the peer; injected so recorded traces replay.
    public init(
        localName: String, expectedPeer: String?, cookie: Cookie, flags: DistributionFlags = .beamshDefault,
        creation: UInt32, version: Int = 6, challenge: UInt32 = UInt32.random(in: 0...UInt32.max)
    ) {
        self.localName = localName
        self.expectedPeer = expectedPeer
        self.cookie = cookie
        self.flags = version >= 6 ? flags : flags.subtracting([.handshake23])
        self.creation = creation
        self.version = version
        self.challenge = challenge
    }

    /// True while a closed socket means the peer refused our cookie.
    public var isAwaitingAcknowledgement: Bool {
        if case .awaitingAcknowledgement = state { return true }
        return false
    }

    /// Starts the handshake: our name message.
    public mutating func start() -> [HandshakeAction] {
        precondition({ if case .idle = state { true } else { false } }(), "handshake already started")
        state = .awaitingStatus
        var body: [UInt8] = []
        let name = Array(localName.utf8)
        if version >= 6 {
            body.append(UInt8(ascii: "N"))
            body.appendBigEndian(flags.rawValue)
            body.appendBigEndian(creation)
            body.appendBigEndian(UInt16(name.count))
        } else {
            body.append(UInt8(ascii: "n"))
            body.appendBigEndian(UInt16(5))
            body.appendBigEndian(UInt32(truncatingIfNeeded: flags.rawValue))
        }
        body += name
        return [.send(body)]
    }

    /// Feeds one handshake message from the peer.
    public mutating func receive(_ message: [UInt8]) throws(HandshakeError) -> [HandshakeAction] {
        do throws(HandshakeError) {
            switch state {
            case .awaitingStatus:
                return try receiveStatus(message)
            case .awaitingChallenge:
                return try receiveChallenge(message)
            case .awaitingAcknowledgement(let ourChallenge, let peer):
                return try receiveAcknowledgement(message, ourChallenge: ourChallenge, peer: peer)
            case .idle, .complete, .failed:
                throw HandshakeError(.unexpectedMessage, "unexpected handshake message \(message.first.map { String($0) } ?? "(empty)")")
            }
        } catch {
            state = .failed
            throw error
        }
    }

    /// The connection closed during the handshake: the error that explains it.
    public func closedError() -> HandshakeError {
        switch state {
        case .awaitingAcknowledgement:
            return HandshakeError(.cookieRejected, "authentication failed: the node rejected our cookie")
        case .awaitingStatus:
            return HandshakeError(.closedEarly, "the node closed the connection before answering our name (is it a distribution port?)")
        case .awaitingChallenge:
            return HandshakeError(.closedEarly, "the node closed the connection during the handshake")
        case .idle, .complete, .failed:
            return HandshakeError(.closedEarly, "connection closed")
        }
    }

    // MARK: - Steps

    private mutating func receiveStatus(_ message: [UInt8]) throws(HandshakeError) -> [HandshakeAction] {
        guard message.first == UInt8(ascii: "s") else {
            throw HandshakeError(.unexpectedMessage, "expected a status message, got tag \(message.first ?? 0)")
        }
        let status = try Self.parseStatus(message)
        switch status {
        case .ok, .okSimultaneous, .named:
            state = .awaitingChallenge
            return []
        case .nok:
            throw HandshakeError(.nok, "the node is already setting up a connection to this name (status nok)")
        case .notAllowed:
            throw HandshakeError(.notAllowed,
                "the node refused the connection (not_allowed): its allow list (net_kernel:allow/1) does not name \(localName), "
                + "or it requires a capability beamsh lacks")
        case .alive:
            // A unique name per run makes this a real clash: the other connection is somebody
            // else's. The protocol wants "true" (drop the old one and go on) or "false" (keep
            // it, give up): "false", so a live connection is never hijacked.
            state = .failed
            throw HandshakeError(.alreadyConnected,
                                 "the node already has a connection from \(localName) (status alive): pick another --name, or leave it out for a unique one",
                                 lastMessage: Array("sfalse".utf8))
        }
    }

    static func parseStatus(_ message: [UInt8]) throws(HandshakeError) -> HandshakeStatus {
        let text = String(decoding: message.dropFirst(), as: UTF8.self)
        switch text {
        case "ok": return .ok
        case "ok_simultaneous": return .okSimultaneous
        case "nok": return .nok
        case "not_allowed": return .notAllowed
        case "alive": return .alive
        default:
            let named = Array("named:".utf8)
            if message.count >= 1 + named.count + 2, Array(message[1..<(1 + named.count)]) == named {
                var reader = ByteReader(message, from: 1 + named.count)
                if let length = reader.u16(), let name = reader.bytes(Int(length)), let creation = reader.u32() {
                    return .named(name: String(decoding: name, as: UTF8.self), creation: creation)
                }
            }
            throw HandshakeError(.malformed, "unknown handshake status \"\(PeerText.printable(text, limit: 40))\"")
        }
    }

    private mutating func receiveChallenge(_ message: [UInt8]) throws(HandshakeError) -> [HandshakeAction] {
        var reader = ByteReader(message, from: 1)
        let peerFlags: DistributionFlags
        let peerChallenge: UInt32
        let peerCreation: UInt32
        let peerName: [UInt8]
        let peerVersion: Int
        switch message.first {
        case UInt8(ascii: "N"):
            guard let f = reader.u64(), let c = reader.u32(), let cr = reader.u32(), let n = reader.u16(),
                let name = reader.bytes(Int(n))
            else { throw HandshakeError(.malformed, "truncated challenge message") }
            (peerFlags, peerChallenge, peerCreation, peerName, peerVersion) = (DistributionFlags(rawValue: f), c, cr, name, 6)
        case UInt8(ascii: "n"):
            guard let v = reader.u16(), let f = reader.u32(), let c = reader.u32() else {
                throw HandshakeError(.malformed, "truncated challenge message")
            }
            (peerFlags, peerChallenge, peerCreation, peerName, peerVersion) =
                (DistributionFlags(rawValue: UInt64(f)), c, 0, reader.rest, Int(v))
        default:
            throw HandshakeError(.unexpectedMessage, "expected a challenge, got tag \(message.first ?? 0)")
        }
        // The challenge carries the name as `atom_to_binary(Node, latin1)` (dist_util's
        // send_challenge): each byte is a code point, which only differs from UTF-8 past ASCII.
        let name = peerName.withUnsafeBytes { String(latin1: $0) }
        // A node name is an atom (at most 255 characters) with an '@', and prints as itself:
        // anything else is not a node's, and is shown escaped (it arrives before authentication).
        guard peerName.count <= 255, peerName.contains(UInt8(ascii: "@")), PeerText.isPlain(name) else {
            throw HandshakeError(.malformed, "the peer's challenge names no node: \"\(PeerText.printable(name, limit: 80))\"")
        }
        if let expected = expectedPeer, expected != name {
            throw HandshakeError(.nameMismatch,
                                 "reached node \(name), not \(expected): use the name the node was started with (\(name))",
                                 reachedNode: name)
        }
        let peer = PeerInfo(name: name, flags: peerFlags, creation: peerCreation,
                            negotiatedFlags: flags.intersection(peerFlags), version: peerVersion)
        state = .awaitingAcknowledgement(ourChallenge: challenge, peer: peer)
        var reply: [UInt8] = [UInt8(ascii: "r")]
        reply.appendBigEndian(challenge)
        reply += Self.digest(cookie: cookie, challenge: peerChallenge)
        return [.send(reply)]
    }

    private mutating func receiveAcknowledgement(
        _ message: [UInt8], ourChallenge: UInt32, peer: PeerInfo
    ) throws(HandshakeError) -> [HandshakeAction] {
        guard message.first == UInt8(ascii: "a"), message.count == 17 else {
            throw HandshakeError(.unexpectedMessage, "expected the challenge acknowledgement")
        }
        // Constant-time compare: the digest proves the peer knows the cookie.
        let expected = Self.digest(cookie: cookie, challenge: ourChallenge)
        var difference: UInt8 = 0
        for (a, b) in zip(expected, message[1...]) { difference |= a ^ b }
        guard difference == 0 else {
            throw HandshakeError(.peerAuthenticationFailed,
                "authentication failed: the node's answer to our challenge is wrong (it has a different cookie)")
        }
        state = .complete
        return [.completed(peer)]
    }

    /// `md5(Cookie ++ integer_to_list(Challenge))` (dist_util:gen_digest/2).
    public static func digest(cookie: Cookie, challenge: UInt32) -> [UInt8] {
        var md5 = Insecure.MD5()
        md5.update(data: cookie.bytes)
        md5.update(data: Array(String(challenge).utf8))
        return Array(md5.finalize())
    }
}

// MARK: - Byte helpers

/// Bounds-checked big-endian reads over a byte array.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], from offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }
    var rest: [UInt8] { offset < bytes.count ? Array(bytes[offset...]) : [] }

    mutating func u8() -> UInt8? { integer(UInt8.self) }
    mutating func u16() -> UInt16? { integer(UInt16.self) }
    mutating func u32() -> UInt32? { integer(UInt32.self) }
    mutating func u64() -> UInt64? { integer(UInt64.self) }

    mutating func bytes(_ n: Int) -> [UInt8]? {
        guard n >= 0, remaining >= n else { return nil }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    private mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value: T = 0
        for i in 0..<size { value = value << 8 | T(bytes[offset + i]) }
        offset += size
        return value
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
