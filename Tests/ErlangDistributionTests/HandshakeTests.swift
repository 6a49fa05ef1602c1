// The handshake state machine without sockets: recorded traces from real nodes replayed
// byte by byte, every status, and the failure paths.

import BeamTestSupport
@testable import ErlangDistribution
import Foundation
import NIOCore
import Testing

/// Replays a trace: the node's messages are drip-fed one byte at a time through the framer;
/// every message we produce must equal the recorded one.
private func replay(_ trace: HandshakeTrace) throws -> PeerInfo? {
    var machine = Handshake(localName: trace.localName, expectedPeer: trace.peerName, cookie: Cookie(trace.cookie),
                            creation: trace.creation, challenge: trace.challenge)
    var framer = DistributionFramer()
    var outbound: [[UInt8]] = []
    var peer: PeerInfo?
    func perform(_ actions: [HandshakeAction]) {
        for action in actions {
            switch action {
            case .send(let body): outbound.append(body)
            case .completed(let p): peer = p
            }
        }
    }
    perform(machine.start())
    var buffer = ByteBuffer()
    for message in trace.messages where !message.outbound {
        for byte in [UInt8(message.body.count >> 8), UInt8(message.body.count & 0xFF)] + message.body {
            buffer.writeInteger(byte)
            while let frame = try framer.next(&buffer) {
                guard case .handshake(let body) = frame else { Issue.record("unexpected frame"); return nil }
                perform(try machine.receive(body))
            }
        }
    }
    #expect(outbound == trace.messages.filter(\.outbound).map(\.body))
    return peer
}

private let vectorsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

@Suite(.ownThreads) struct HandshakeTests {
    @Test(arguments: ["handshake-otp25.trace", "handshake-otp28.trace"])
    func recordedTraceReplaysByteForByte(file: String) throws {
        let text = try String(contentsOf: vectorsDirectory.appendingPathComponent(file), encoding: .utf8)
        let trace = try HandshakeTrace(parsing: text)
        let peer = try #require(try replay(trace))
        #expect(peer.name == trace.peerName)
        #expect(peer.version == 6)
        #expect(!peer.negotiatedFlags.contains(.published), "we are hidden")
        #expect(peer.flags.isSuperset(of: .mandatory25))
    }

    @Test func freshTracesFromLiveNodesReplay() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime, mode: .long)
            defer { node.stop() }
            let trace = try HandshakeTrace.record(with: node, localName: "rec_\(TestNode.randomToken(6))@127.0.0.1",
                                                  challenge: 0xC0FFEE, creation: 0x1234_5678)
            #expect(trace.messages.count == 5, "name, status, challenge, reply, ack")
            #expect(try replay(HandshakeTrace(parsing: trace.text)) != nil)
            if let directory = ProcessInfo.processInfo.environment["BEAMSH_RECORD_TRACES"] {
                let name = runtime.label.hasPrefix("OTP 28") ? "handshake-otp28.trace" : "handshake-otp25.trace"
                try trace.text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
            }
        }
    }

    /// Our first message, checked against the protocol's layout rather than a recording of
    /// ourselves: `N`, 8 bytes of flags, 4 of creation, 2 of name length, the name. The flags
    /// hold everything OTP 26–28 require (`DFLAG_DIST_MANDATORY` = 0x4_0307_0F94, which
    /// includes OTP 25's 0x107_0F94) and not DFLAG_PUBLISHED (0x1): the console is hidden.
    @Test func sendNameFollowsTheProtocolLayout() throws {
        let name = "beamsh_layout@127.0.0.1"
        var machine = Handshake(localName: name, expectedPeer: "n@127.0.0.1",
                                cookie: Cookie("c"), creation: 0x0102_0304, challenge: 1)
        guard case .send(let body)? = machine.start().first else {
            Issue.record("the handshake does not start by sending")
            return
        }
        #expect(body.first == UInt8(ascii: "N"))
        let flags = body[1...8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(flags & 0x4_0307_0F94 == 0x4_0307_0F94, "\(String(flags, radix: 16))")
        #expect(flags & 0x1 == 0, "DFLAG_PUBLISHED")
        #expect(Array(body[9...12]) == [1, 2, 3, 4], "creation")
        #expect(Array(body[13...14]) == [0, UInt8(name.utf8.count)], "name length")
        #expect(Array(body[15...]) == Array(name.utf8))
    }

    @Test func digestMatchesTheBEAM() throws {
        let runtime = try #require(try ErlangRuntime.requireAll().first)
        let beam = try runtime.eval("io:format(\"~w\", [binary_to_list(erlang:md5([\"c00kie\" | integer_to_list(4294967295)]))]).")
        let ours = Handshake.digest(cookie: Cookie("c00kie"), challenge: 4_294_967_295)
        #expect(beam == "[" + ours.map(String.init).joined(separator: ",") + "]")
    }

    @Test func sendNameIsVersion6WithoutPublished() {
        var machine = Handshake(localName: "a@b", expectedPeer: nil, cookie: Cookie("c"), creation: 7, challenge: 1)
        guard case .send(let body)? = machine.start().first else { Issue.record("no message"); return }
        #expect(body.first == UInt8(ascii: "N"))
        var flags: UInt64 = 0
        for byte in body[1...8] { flags = flags << 8 | UInt64(byte) }
        let offered = DistributionFlags(rawValue: flags)
        #expect(!offered.contains(.published))
        #expect(offered.isSuperset(of: .mandatory26))
        #expect(!offered.contains(.distHeaderAtomCache) && !offered.contains(.fragments))
        #expect(Array(body[9...12]) == [0, 0, 0, 7])
        #expect(Array(body[13...]) == [0, 3] + Array("a@b".utf8))
    }

    /// ERTS sends MONITOR_P_EXIT (a monitored process's end, or `noproc` for one already gone)
    /// only to a peer whose flags hold both DIST_MONITOR (0x8) and DIST_MONITOR_NAME (0x20);
    /// with either missing it accepts our MONITOR_P and then drops the answer without a word
    /// (dist.c, `erts_dsig_send_m_exit`). Offering 0x8 alone is what made monitors never fire.
    @Test func offersBothMonitorFlagsSoTheNodeSendsMonitorExits() {
        #expect(DistributionFlags.monitorExit.rawValue == 0x8 | 0x20)
        #expect(DistributionFlags.beamshDefault.isSuperset(of: .monitorExit))
        var machine = Handshake(localName: "a@b", expectedPeer: nil, cookie: Cookie("c"), creation: 7, challenge: 1)
        guard case .send(let body)? = machine.start().first else { Issue.record("no message"); return }
        var flags: UInt64 = 0
        for byte in body[1...8] { flags = flags << 8 | UInt64(byte) }
        #expect(flags & 0x8 != 0, "DFLAG_DIST_MONITOR")
        #expect(flags & 0x20 != 0, "DFLAG_DIST_MONITOR_NAME")
    }

    @Test(arguments: [
        ("sok", HandshakeStatus.ok), ("sok_simultaneous", .okSimultaneous), ("snok", .nok),
        ("snot_allowed", .notAllowed), ("salive", .alive),
    ])
    func statusesParse(text: String, status: HandshakeStatus) throws {
        #expect(try Handshake.parseStatus(Array(text.utf8)) == status)
    }

    @Test func namedStatusCarriesNameAndCreation() throws {
        let message = Array("snamed:".utf8) + [0, 3] + Array("x@y".utf8) + [0, 0, 1, 2]
        #expect(try Handshake.parseStatus(message) == .named(name: "x@y", creation: 258))
        #expect(throws: HandshakeError.self) { try Handshake.parseStatus(Array("sweird".utf8)) }
    }

    @Test func refusingStatusesFailWithTheirKind() {
        for (status, kind) in [("snot_allowed", HandshakeError.Kind.notAllowed), ("snok", .nok), ("salive", .alreadyConnected)] {
            var machine = Handshake(localName: "a@b", expectedPeer: nil, cookie: Cookie("c"), creation: 1, challenge: 1)
            _ = machine.start()
            #expect { try machine.receive(Array(status.utf8)) } throws: { ($0 as? HandshakeError)?.kind == kind }
        }
        // "alive" is answered "false" before closing: the node keeps the connection it has.
        var machine = Handshake(localName: "a@b", expectedPeer: nil, cookie: Cookie("c"), creation: 1, challenge: 1)
        _ = machine.start()
        #expect { try machine.receive(Array("salive".utf8)) } throws: { ($0 as? HandshakeError)?.lastMessage == Array("sfalse".utf8) }
    }

    /// A valid challenge from a peer named `name` with flags of OTP 26+.
    private func challengeMessage(name: String, challenge: UInt32) -> [UInt8] {
        var m: [UInt8] = [UInt8(ascii: "N")]
        m.appendBigEndian(DistributionFlags.beamshDefault.union(.published).rawValue)
        m.appendBigEndian(challenge)
        m.appendBigEndian(UInt32(99))
        m.appendBigEndian(UInt16(name.utf8.count))
        return m + Array(name.utf8)
    }

    @Test func peerWithTheWrongCookieIsCaught() throws {
        var machine = Handshake(localName: "a@b", expectedPeer: "p@b", cookie: Cookie("ours"), creation: 1, challenge: 42)
        _ = machine.start()
        _ = try machine.receive(Array("sok".utf8))
        let reply = try machine.receive(challengeMessage(name: "p@b", challenge: 5))
        guard case .send(let body)? = reply.first else { Issue.record("no reply"); return }
        #expect(body.first == UInt8(ascii: "r"))
        #expect(Array(body[5...]) == Handshake.digest(cookie: Cookie("ours"), challenge: 5))
        #expect(machine.isAwaitingAcknowledgement)
        #expect(machine.closedError().kind == .cookieRejected, "a close now means our cookie was refused")
        let forged = [UInt8(ascii: "a")] + Handshake.digest(cookie: Cookie("theirs"), challenge: 42)
        #expect { try machine.receive(forged) } throws: { ($0 as? HandshakeError)?.kind == .peerAuthenticationFailed }
    }

    @Test func anotherNodeBehindTheAddressIsRefused() throws {
        var machine = Handshake(localName: "a@b", expectedPeer: "wanted@b", cookie: Cookie("c"), creation: 1, challenge: 1)
        _ = machine.start()
        _ = try machine.receive(Array("sok".utf8))
        #expect { try machine.receive(challengeMessage(name: "other@b", challenge: 1)) } throws: {
            ($0 as? HandshakeError)?.kind == .nameMismatch
        }
    }

    /// The challenge names the node in Latin-1 (`atom_to_binary(Node, latin1)` in dist_util):
    /// a host with an accent is the same name we asked for, and said right when it is not.
    @Test func theChallengesNameIsLatin1() throws {
        let latin1: [UInt8] = Array("p@".utf8) + [0xF1, 0x61, 0x6E, 0x64, 0xFA]  // p@ñandú
        func challenge(_ nameBytes: [UInt8]) -> [UInt8] {
            var m: [UInt8] = [UInt8(ascii: "N")]
            m.appendBigEndian(DistributionFlags.beamshDefault.union(.published).rawValue)
            m.appendBigEndian(UInt32(1))
            m.appendBigEndian(UInt32(99))
            m.appendBigEndian(UInt16(nameBytes.count))
            return m + nameBytes
        }
        var machine = Handshake(localName: "a@b", expectedPeer: "p@ñandú", cookie: Cookie("c"), creation: 1, challenge: 1)
        _ = machine.start()
        _ = try machine.receive(Array("sok".utf8))
        _ = try machine.receive(challenge(latin1))
        #expect(machine.isAwaitingAcknowledgement)
        var other = Handshake(localName: "a@b", expectedPeer: "q@ñandú", cookie: Cookie("c"), creation: 1, challenge: 1)
        _ = other.start()
        _ = try other.receive(Array("sok".utf8))
        #expect { try other.receive(challenge(latin1)) } throws: { ($0 as? HandshakeError)?.reachedNode == "p@ñandú" }
    }

    @Test func truncatedAndOutOfOrderMessagesAreErrors() throws {
        var machine = Handshake(localName: "a@b", expectedPeer: nil, cookie: Cookie("c"), creation: 1, challenge: 1)
        _ = machine.start()
        #expect(throws: HandshakeError.self) { try machine.receive([UInt8(ascii: "N"), 0, 0]) }
        var fresh = Handshake(localName: "a@b", expectedPeer: nil, cookie: Cookie("c"), creation: 1, challenge: 1)
        _ = fresh.start()
        _ = try fresh.receive(Array("sok".utf8))
        #expect(throws: HandshakeError.self) { try fresh.receive([UInt8(ascii: "N"), 1, 2, 3]) }
    }

    @Test func version5PeerGetsTheOldNameMessage() throws {
        var machine = Handshake(localName: "a@b", expectedPeer: "p@b", cookie: Cookie("c"), creation: 1, version: 5, challenge: 9)
        guard case .send(let body)? = machine.start().first else { Issue.record("no message"); return }
        #expect(body.first == UInt8(ascii: "n"))
        #expect(Array(body[1...2]) == [0, 5])
        _ = try machine.receive(Array("sok".utf8))
        var challenge: [UInt8] = [UInt8(ascii: "n"), 0, 5]
        challenge.appendBigEndian(UInt32(truncatingIfNeeded: DistributionFlags.mandatory25.rawValue))
        challenge.appendBigEndian(UInt32(77))
        challenge += Array("p@b".utf8)
        let reply = try machine.receive(challenge)
        guard case .send(let r)? = reply.first else { Issue.record("no reply"); return }
        #expect(Array(r[5...]) == Handshake.digest(cookie: Cookie("c"), challenge: 77))
        let ack = [UInt8(ascii: "a")] + Handshake.digest(cookie: Cookie("c"), challenge: 9)
        guard case .completed(let peer)? = try machine.receive(ack).first else { Issue.record("not completed"); return }
        #expect(peer.version == 5)
    }
}
