// Framing, ticks, control messages, EPMD replies, node names and cookies: no sockets.

@testable import ErlangDistribution
import ErlangTerm
import Foundation
import NIOCore
import Testing

@Suite struct FramerTests {
    @Test func cutsHandshakeThenConnectedFramesAcrossPartialReads() throws {
        var framer = DistributionFramer()
        var buffer = ByteBuffer(bytes: [0, 3, 0x73, 0x6F])
        #expect(try framer.next(&buffer) == nil, "incomplete")
        buffer.writeBytes([0x6B])
        #expect(try framer.next(&buffer) == .handshake(Array("sok".utf8)))
        framer.phase = .connected
        buffer.writeBytes([0, 0, 0, 0, 0, 0, 0, 2, 112])
        #expect(try framer.next(&buffer) == .tick)
        #expect(try framer.next(&buffer) == nil)
        buffer.writeBytes([131])
        #expect(try framer.next(&buffer) == .message([112, 131]))
    }

    /// A TLS record where the handshake's first frame should be (a node with `-proto_dist
    /// inet_tls` answers our plain name with an alert) is said as TLS at its first two bytes.
    @Test func aTLSAnswerIsToldApart() throws {
        for start: [UInt8] in [[21, 3, 3, 0, 2, 2, 10], [22, 3, 1], [21, 3]] {
            var framer = DistributionFramer()
            var buffer = ByteBuffer(bytes: start)
            do {
                _ = try framer.next(&buffer)
                Issue.record("\(start) read as a frame")
            } catch {
                #expect(error.answeredInTLS && error.description.hasPrefix("the port answered in TLS"), "\(start): \(error)")
            }
        }
        // Not TLS: another first byte, or another version byte.
        for start: [UInt8] in [[0, 3, 0x73], [21, 2, 0x73], [24, 3, 0x73]] {
            var framer = DistributionFramer()
            var buffer = ByteBuffer(bytes: start)
            do {
                _ = try framer.next(&buffer)
            } catch {
                #expect(!error.answeredInTLS, "\(start): \(error)")
            }
        }
    }

    @Test func refusesAFrameOverTheLimitBeforeBufferingIt() {
        var framer = DistributionFramer(maxFrameSize: 1024)
        framer.phase = .connected
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xF0])
        #expect(throws: DistributionProtocolError.self) { try framer.next(&buffer) }
    }

    /// A large frame that no reader could take (not a pass-through message) is refused on its
    /// first byte, not after the rest of it has been buffered.
    @Test func refusesAnUnreadableFrameOnItsFirstByte() throws {
        var framer = DistributionFramer()
        framer.phase = .connected
        var buffer = ByteBuffer(bytes: [0x40, 0, 0, 0])  // 1 GiB declared
        #expect(try framer.next(&buffer) == nil, "the header alone says nothing yet")
        buffer.writeBytes([131])
        #expect(throws: DistributionProtocolError("distribution message with header 131: atom cache and fragments were not negotiated")) {
            try framer.next(&buffer)
        }
    }
}

@Suite struct TickPolicyTests {
    @Test func sendsWhenIdleAndDeclaresSilentPeersDead() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var policy = TickPolicy(now: start, sendInterval: .seconds(15), deadAfter: .seconds(75))
        #expect(policy.timerFired(at: start + .seconds(5)) == .nothing)
        #expect(policy.timerFired(at: start + .seconds(15)) == .sendTick)
        #expect(policy.timerFired(at: start + .seconds(16)) == .nothing, "just sent one")
        policy.didRead(at: start + .seconds(60))
        #expect(policy.timerFired(at: start + .seconds(100)) != .peerDead)
        #expect(policy.timerFired(at: start + .seconds(136)) == .peerDead)
    }

    /// A peer with net_ticktime 4 hears from us at least every second even when it sends no
    /// ticks (it is busy streaming a reply), and is judged silent after 5 s; a long ticktime
    /// does not slow our ticks beyond their ceiling.
    @Test func followsThePeersTicktime() {
        let start = NIODeadline.uptimeNanoseconds(0)
        var policy = TickPolicy(now: start, sendInterval: .seconds(15), deadAfter: .seconds(75))
        policy.follow(peerTickTimeSeconds: 4, ceiling: .seconds(15))
        #expect(policy.sendInterval == .seconds(1) && policy.deadAfter == .seconds(5))
        policy.didRead(at: start + .milliseconds(900))
        #expect(policy.timerFired(at: start + .milliseconds(900)) == .nothing)
        #expect(policy.timerFired(at: start + .seconds(1)) == .sendTick, "no reads or writes of ticks needed to trigger it")
        #expect(policy.timerFired(at: start + .seconds(6)) == .peerDead)
        var long = TickPolicy(now: start)
        long.follow(peerTickTimeSeconds: 600, ceiling: .seconds(15))
        #expect(long.sendInterval == .seconds(15) && long.deadAfter == .seconds(750))
    }

    @Test func answersEveryTickSoShortTicktimesAreMet() {
        let start = NIODeadline.uptimeNanoseconds(0)
        var policy = TickPolicy(now: start)
        #expect(policy.receivedTick(at: start + .seconds(1)) == .sendTick)
        #expect(policy.lastRead == start + .seconds(1))
    }
}

@Suite struct ControlMessageTests {
    let a = Pid(node: "a@h", id: 1, serial: 0, creation: 5)
    let b = Pid(node: "b@h", id: 2, serial: 0, creation: 6)
    var ref: Reference { Reference(node: "a@h", creation: 5, ids: [1, 2, 3]) }

    @Test func everyMessageRoundTripsThroughTheWireForm() throws {
        let messages: [ControlMessage] = [
            .link(from: a, to: b), .send(to: b, message: .atom("hi")), .exit(from: a, to: b, reason: .atom("kill")),
            .unlink(from: a, to: b), .regSend(from: a, to: "rex", message: [1, 2]), .groupLeader(from: a, to: b),
            .exit2(from: a, to: b, reason: .atom("interrupt")), .monitorProcess(from: a, to: .pid(b), reference: ref),
            .demonitorProcess(from: a, to: .atom("rex"), reference: ref),
            .monitorProcessExit(from: .pid(b), to: a, reference: ref, reason: .atom("noproc")),
            .sendSender(from: a, to: b, message: .tuple([.reference(ref), 42])),
            .spawnRequest(requestID: ref, from: a, groupLeader: a, module: "erlang", function: "node", arity: 0,
                          options: [.atom("monitor")], arguments: []),
            .spawnReply(requestID: ref, to: a, flags: 2, result: .pid(b)),
            .aliasSend(from: a, alias: ref, message: .atom("x")),
            .unlinkID(id: 7, from: a, to: b), .unlinkIDAck(id: 7, from: b, to: a),
        ]
        for message in messages {
            let bytes = try DistributionMessageCodec.encode(message)
            #expect(bytes.first == 112)
            #expect(try DistributionMessageCodec.decode(bytes[...]).message == message)
        }
    }

    @Test func unknownOperationsAreIgnoredAndMalformedOnesRejected() throws {
        var unknown: [UInt8] = [112]
        try TermEncoder.encodeVersioned(.tuple([99, .atom("x")]), into: &unknown)
        #expect(try DistributionMessageCodec.decode(unknown[...]).message == nil)

        var malformed: [UInt8] = [112]
        try TermEncoder.encodeVersioned(.tuple([1, .atom("not_a_pid"), .atom("x")]), into: &malformed)
        #expect(throws: DistributionProtocolError.self) { try DistributionMessageCodec.decode(malformed[...]) }

        #expect(throws: DistributionProtocolError.self) { try DistributionMessageCodec.decode([131, 68][...]) }
        #expect(throws: (any Error).self) { try DistributionMessageCodec.decode([112, 131, 200][...]) }
        var trailing = try DistributionMessageCodec.encode(.link(from: a, to: b))
        trailing.append(0)
        #expect(throws: (any Error).self) { try DistributionMessageCodec.decode(trailing[...]) }
    }
}

@Suite struct EPMDMessageTests {
    @Test func portPleaseRequestAndReplies() throws {
        #expect(EPMDMessages.portPleaseRequest(alive: "app") == [0, 4, 122, 97, 112, 112])
        let ok: [UInt8] = [119, 0, 0x1F, 0x90, 77, 0, 0, 6, 0, 6, 0, 3] + Array("app".utf8) + [0, 0]
        let info = try #require(try EPMDMessages.parsePortPleaseReply(ok))
        #expect(info.port == 8080)
        #expect(info.highestVersion == 6 && info.lowestVersion == 6)
        #expect(info.alive == "app")
        #expect(try EPMDMessages.parsePortPleaseReply([119, 1]) == nil)
        #expect(throws: EPMDError.self) { try EPMDMessages.parsePortPleaseReply([119, 0, 1]) }
        #expect(throws: EPMDError.self) { try EPMDMessages.parsePortPleaseReply([]) }
        // Another server on the port: its words, not its bytes.
        do {
            _ = try EPMDMessages.parsePortPleaseReply(Array("HTTP/1.1 400 Bad Request\r\n".utf8))
            Issue.record("an HTTP reply parsed as EPMD's")
        } catch {
            #expect("\(error)".contains("is not EPMD's (it starts with \"HTTP/1.1 400 Bad\")"), "\(error)")
        }
        #expect(EPMDMessages.describeStart(of: [0, 1, 200]) == "it starts with bytes [0, 1, 200]")
    }

    @Test func namesReply() throws {
        let reply: [UInt8] = [0, 0, 0x11, 0x11] + Array("name a at port 1\nname b_2 at port 65000\n".utf8)
        #expect(try EPMDMessages.parseNamesReply(reply) == [
            EPMDRegistration(alive: "a", port: 1), EPMDRegistration(alive: "b_2", port: 65000),
        ])
        #expect(try EPMDMessages.parseNamesReply([0, 0, 0x11, 0x11]) == [], "no node registered")
        // Not EPMD: a service that answers anything else is named as such, not "no nodes".
        #expect(throws: EPMDError.self) { try EPMDMessages.parseNamesReply(reply + Array("garbage\n".utf8)) }
        #expect(throws: EPMDError.self) { try EPMDMessages.parseNamesReply(Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8)) }
    }
}

@Suite struct NodeNameTests {
    @Test func splitsAtTheFirstAt() throws {
        let v6 = try NodeName(parsing: "app@fdaa:0:1da8:a7b:ac2:f901:4bf7:2")
        #expect(v6.alive == "app")
        #expect(v6.host == "fdaa:0:1da8:a7b:ac2:f901:4bf7:2")
        #expect(v6.mode == .long && v6.isIPv6Address)
        #expect(try NodeName(parsing: "app@10.0.0.1").mode == .long)
        #expect(try NodeName(parsing: "app@web.example.com").mode == .long)
        #expect(try NodeName(parsing: "app@web").mode == .short)
        #expect(try NodeName(parsing: "app", defaultHost: "myhost").description == "app@myhost")
        // Each mistake is named for what it is.
        for (text, message) in [("", "the node name is empty"), ("@host", "node name has nothing before '@'"),
                                ("app@", "node name has nothing after '@'"), ("x@y@host", "node name has more than one '@'"),
                                ("app@vm ", "the host 'vm ' has a blank or a control character in it"),
                                ("app@v\u{1B}[2Jm", "the host 'v\\e[2Jm' has a blank or a control character in it"),
                                ("a b@host", "'a b' is not a valid node name: use letters, digits, '_' and '-'")] {
            #expect(throws: NodeNameError(message)) { try NodeName(parsing: text, defaultHost: "myhost") }
        }
    }

    @Test func ourNameFollowsTheTargetsMode() throws {
        let short = NodeName.uniqueConsoleName(for: try NodeName(parsing: "app@web"))
        #expect(short.mode == .short && short.alive.hasPrefix("beamsh_"))
        #expect(NodeName.uniqueConsoleName(for: try NodeName(parsing: "app@::1")).mode == .long)
        #expect(NodeName.uniqueConsoleName(for: try NodeName(parsing: "app@127.0.0.1")).mode == .long)
        let twice = (0..<50).map { _ in NodeName.uniqueConsoleName(for: short) }
        #expect(Set(twice).count == 50, "unique per run")
    }

    @Test func theRandomPartIsBase36() {
        for value: UInt32 in [0, 9, 10, 35, 36, 1_295, 1_296, 123_456_789, .max] {
            #expect(NodeName.base36(value) == String(value, radix: 36))
        }
    }
}

/// Text a peer chose prints as what it is: controls and invisible format characters escaped.
@Suite struct PeerTextTests {
    @Test func hiddenCharactersAreEscaped() {
        #expect(PeerText.printable("a\u{1B}[31mb\u{7}") == "a\\e[31mb\\x{7}")
        #expect(PeerText.printable("qa\u{202E}evil\u{200B}") == "qa\\x{202E}evil\\x{200B}", "right-to-left override, zero-width space")
        #expect(PeerText.printable("nœud-é") == "nœud-é" && PeerText.isPlain("nœud-é"))
        #expect(!PeerText.isPlain("a\u{202E}b") && !PeerText.isPlain("a\\b"))
        #expect(PeerText.printable(String(repeating: "n", count: 300), limit: 10) == "nnnnnnnnnn…(300 bytes)")
    }
}

@Suite struct CookieTests {
    private func temporaryFile(_ text: String, mode: mode_t = 0o400) throws -> String {
        let path = NSTemporaryDirectory() + "beamsh-cookie-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    @Test func firstSourceFoundWins() throws {
        let file = try temporaryFile("from-file\n")
        defer { unlink(file) }
        let env = ["RELEASE_COOKIE": "from-env", "HOME": "/nonexistent"]
        let fromFile = try CookieResolver(cookieFile: file, commandLineCookie: "cli", environment: env).resolve()
        #expect(fromFile.cookie == Cookie("from-file") && fromFile.source == .file(file))
        let fromEnv = try CookieResolver(cookieFile: nil, commandLineCookie: "cli", environment: env).resolve()
        #expect(fromEnv.cookie == Cookie("from-env"))
        let fromCLI = try CookieResolver(cookieFile: nil, commandLineCookie: "cli", environment: ["HOME": "/nonexistent"]).resolve()
        #expect(fromCLI.source == .commandLine)
        #expect(fromCLI.warnings.contains { $0.contains("process list") })
        // An empty RELEASE_COOKIE is passed over, with a word: it is not a cookie.
        let emptyEnv = try CookieResolver(cookieFile: nil, commandLineCookie: "cli",
                                          environment: ["RELEASE_COOKIE": "", "HOME": "/nonexistent"]).resolve()
        #expect(emptyEnv.source == .commandLine && emptyEnv.warnings.contains("RELEASE_COOKIE is set but empty: ignored"))
    }

    @Test func fileProblemsAreNamedAndWindowsLineEndsAreNot() throws {
        let crlf = try temporaryFile("windows-cookie\r\n")
        defer { unlink(crlf) }
        let fromCRLF = try CookieResolver(cookieFile: crlf, commandLineCookie: nil, environment: [:]).resolve()
        #expect(fromCRLF.cookie == Cookie("windows-cookie"))
        #expect(CookieResolver.firstLine("  spaced \t\r\nsecond") == "spaced")
        #expect { try CookieResolver(cookieFile: NSTemporaryDirectory(), commandLineCookie: nil, environment: [:]).resolve() }
            throws: { "\($0)".contains("is a directory") }
        #expect { try CookieResolver(cookieFile: "/nonexistent/cookie", commandLineCookie: nil, environment: [:]).resolve() }
            throws: { "\($0)".contains("No such file") }
        // RELEASE_COOKIE wins over --cookie, and says so.
        // A release's cookie file that is there but cannot be read is the error, after the
        // sources that come before it.
        #expect {
            try CookieResolver(cookieFile: nil, commandLineCookie: nil, environment: ["HOME": "/nonexistent"], releaseRoot: "/rel",
                               releaseCookieProblem: "cannot read /rel/releases/COOKIE: Permission denied").resolve()
        } throws: { ($0 as? CookieError)?.description == "cannot read /rel/releases/COOKIE: Permission denied" }
        #expect(try CookieResolver(cookieFile: nil, commandLineCookie: nil, environment: ["RELEASE_COOKIE": "env"], releaseRoot: "/rel",
                                   releaseCookieProblem: "cannot read /rel/releases/COOKIE: Permission denied").resolve().source
                == .environment("RELEASE_COOKIE"))
        let both = try CookieResolver(cookieFile: nil, commandLineCookie: "cli", environment: ["RELEASE_COOKIE": "env"]).resolve()
        #expect(both.cookie == Cookie("env") && both.warnings.contains { $0.contains("--cookie is ignored") })
    }

    /// A cookie beyond ASCII has two readings, as a node reads `-setcookie` under a UTF-8 or a
    /// C locale: é is the byte E9, or its UTF-8 bytes (the cookie "Ã©"); beyond U+00FF only the
    /// second exists. ASCII has one.
    @Test func aCookieBeyondASCIIHasTheReadingsANodeMayGiveIt() {
        func digest(_ cookie: Cookie?) -> [UInt8]? { cookie.map { Handshake.digest(cookie: $0, challenge: 1) } }
        #expect(digest(Cookie("é")) != digest(Cookie("\u{C3}\u{A9}")))
        #expect(digest(Cookie("é").otherReading) == digest(Cookie("\u{C3}\u{A9}")))
        #expect(Cookie("é").otherReading?.otherReading == nil)
        #expect(Cookie("plain").otherReading == nil)
        #expect(Cookie("€").otherReading == nil && digest(Cookie("€")) == digest(Cookie("\u{E2}\u{82}\u{AC}")))
    }

    @Test func homeCookieReadableByOthersWarns() throws {
        let home = NSTemporaryDirectory() + "beamsh-home-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        try "homecookie".write(toFile: home + "/.erlang.cookie", atomically: true, encoding: .utf8)
        chmod(home + "/.erlang.cookie", 0o644)
        let resolved = try CookieResolver(cookieFile: nil, commandLineCookie: nil, environment: ["HOME": home]).resolve()
        #expect(resolved.cookie == Cookie("homecookie"))
        #expect(resolved.warnings.contains { $0.contains("readable by group or others") })
        #expect(!resolved.warnings.joined().contains("homecookie"))
    }

    @Test func missingCookieListsTheSourcesTriedAndNeverPrintsAValue() {
        #expect { try CookieResolver(cookieFile: nil, commandLineCookie: nil, environment: ["HOME": "/nonexistent"]).resolve() }
            throws: { "\($0)".contains("--cookie-file") && "\($0)".contains("RELEASE_COOKIE") && "\($0)".contains(".erlang.cookie") }
        let cookie = Cookie("s3cret")
        #expect("\(cookie)" == "<cookie redacted>")
        #expect(String(reflecting: cookie) == "<cookie redacted>")
    }

    @Test func aCookieIsFoundInTextWithoutBeingHandedOut() {
        let cookie = Cookie("s3cret")
        #expect(cookie.appears(in: "c = :s3cret"))
        #expect(cookie.appears(in: "s3cret"))
        #expect(!cookie.appears(in: "s3cre"))
        #expect(cookie.appears(in: "String.downcase(\"S3CRET\")"), "in any letter case")
        #expect(!Cookie("").appears(in: "anything"))
    }
}

@Suite struct AddressResolverTests {
    @Test func addressesCarryTheRequestedPortEvenFromTheCache() throws {
        // The second and third answers come from the cache (same host, another port).
        for port in [4369, 41_000, 4369] {
            let addresses = try AddressResolver.resolve("127.0.0.1", port: port)
            #expect(addresses.map(\.description) == ["[IPv4]127.0.0.1/127.0.0.1:\(port)"])
        }
        let v6 = try AddressResolver.resolve("[::1]", port: 9)
        #expect(v6.map(\.ipAddress) == ["::1"] && v6.map(\.port) == [9])
    }

    /// What an unresolvable host was most likely meant to be.
    @Test func hintsNameTheLikelyMistake() {
        #expect(AddressResolver.hint(for: "::1:65999") == " (an IPv6 address with a port is written [::1]:65999)")
        #expect(AddressResolver.hint(for: "fd00::2:70000").contains("[fd00::2]:70000"))
        #expect(AddressResolver.hint(for: "127.0.0.1:4369:1") == "", "no IPv6 address before the port")
        #expect(AddressResolver.hint(for: "vm:4369").contains("a node's name holds no port: write it with @vm, and --address vm:4369"))
        #expect(AddressResolver.hint(for: "app@vm").contains("not a node name"))
        #expect(AddressResolver.hint(for: " vm") == " (blanks around the name)")
        #expect(AddressResolver.hint(for: "vm") == "")
    }

    @Test func familyLimitsTheAnswer() throws {
        let v4 = try AddressResolver.resolve("localhost", port: 1, family: AF_INET)
        #expect(!v4.isEmpty && v4.allSatisfy { $0.protocol == .inet })
    }

    @Test func anUnknownHostIsAResolveError() {
        #expect(throws: DistributionError.self) {
            try AddressResolver.resolve("no-such-host.invalid", port: 4369)
        }
        do {
            _ = try AddressResolver.resolve("no-such-host.invalid", port: 4369)
        } catch {
            #expect(error.kind == .resolveFailed && error.description.contains("no-such-host.invalid"))
        }
    }

    @Test func splitsHostAndPort() {
        #expect(AddressResolver.splitHostPort("db.internal:4000") == ("db.internal", 4000))
        #expect(AddressResolver.splitHostPort("[fdaa::2]:4000") == ("fdaa::2", 4000))
        #expect(AddressResolver.splitHostPort("[fdaa::2]") == ("fdaa::2", nil))
        #expect(AddressResolver.splitHostPort("fdaa:0:1da8::2") == ("fdaa:0:1da8::2", nil))
        #expect(AddressResolver.splitHostPort("db.internal") == ("db.internal", nil))
    }
}

/// Timeouts in messages read as the user gave them (`--connect-timeout 0.25`), not cut to seconds.
@Suite struct SpokenTimeoutTests {
    @Test func fractionsOfASecondAreKept() {
        #expect(TimeAmount.seconds(5).spokenSeconds == "5 s")
        #expect(TimeAmount.milliseconds(1500).spokenSeconds == "1.5 s")
        #expect(TimeAmount.milliseconds(250).spokenSeconds == "0.25 s")
        #expect(TimeAmount.milliseconds(75_005).spokenSeconds == "75.005 s")
    }
}
