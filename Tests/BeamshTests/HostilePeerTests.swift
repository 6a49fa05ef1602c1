// What reaches beamsh before anyone is authenticated (EPMD's replies, the name in a node's
// challenge) comes from whatever listens on a port: bounded, and never printed raw.

import BeamTestSupport
import Foundation
import Testing

@Suite(.serialized, .ownThreads) struct HostilePeerTests {
    /// A NAMES reply without end stops at a few MiB with an error saying it is not EPMD's,
    /// at once, in `beamsh names` and when a node's name is not registered alike.
    @Test func anEndlessNamesReplyIsCutOff() throws {
        let epmd = try HostilePeer(.endlessNames)
        defer { epmd.stop() }
        let started = Date()
        let names = try BeamshBinary.run(["names", "127.0.0.1", "--epmd-port", String(epmd.port), "--connect-timeout", "30"], cookie: nil)
        #expect(names.status == 2 && names.stderr.contains("the reply goes on past 4096 KiB, more than EPMD ever sends")
                && names.stderr.contains("is this port EPMD's?"), "\(names.status) \(names.stderr)")
        #expect(Date().timeIntervalSince(started) < 10, "cut off at the limit, not at the 30 s timeout")
    }

    /// A name EPMD lists with escape sequences in it prints escaped (text), and as it is in JSON.
    @Test func namesFromEPMDPrintEscaped() throws {
        let epmd = try HostilePeer(.namesWithEscapes)
        defer { epmd.stop() }
        let names = try BeamshBinary.run(["names", "127.0.0.1", "--epmd-port", String(epmd.port)], cookie: nil)
        #expect(names.status == 0 && names.stdout == "name \\e]0;PWNED\\x{7}\\e[31mevil at port 1234\nname plain at port 1235\n",
                "\(names.stdout)")
        let json = try BeamshBinary.run(["names", "127.0.0.1", "--epmd-port", String(epmd.port), "--format", "json"], cookie: nil)
        #expect(json.stdout.hasPrefix(#"[{"name":"\u001b]0;PWNED\u0007\u001b[31mevil","port":1234}"#), "\(json.stdout)")
        // An unknown node's error lists the registered names, escaped too.
        let unknown = try BeamshBinary.run(["nosuch@127.0.0.1", "--epmd-port", String(epmd.port), "--rpc", "erlang", "node"],
                                           cookie: "c")
        #expect(unknown.status == 2 && !unknown.stderr.contains("\u{1B}")
                && unknown.stderr.contains("(registered: \\e]0;PWNED\\x{7}\\e[31mevil, plain)"), "\(unknown.stderr)")
        // Denied by PORT_PLEASE2 but listed by NAMES (it registered in between): no "did you mean" itself.
        let between = try BeamshBinary.run(["plain@127.0.0.1", "--epmd-port", String(epmd.port), "--rpc", "erlang", "node"], cookie: "c")
        #expect(between.status == 2 && between.stderr.contains("EPMD lists it now (it registered a moment ago?): try again")
                && !between.stderr.contains("did you mean"), "\(between.stderr)")
    }

    /// EPMD's PORT2_RESP counts once it is whole: a proxy or tunnel that keeps the connection
    /// open after it (real EPMD closes) does not hold the connection up.
    @Test func aPortReplyCountsOnceWhole() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let port = try TestNode.unusedPort()
            let node = try TestNode(runtime: runtime, distributionPort: port)
            defer { node.stop() }
            let epmd = try HostilePeer(.portReplyHeldOpen, argument: String(port))
            defer { epmd.stop() }
            let started = Date()
            let call = try BeamshBinary.run([node.name, "--epmd-port", String(epmd.port), "--connect-timeout", "30", "--rpc", "erlang", "node"],
                                            cookie: node.cookie)
            #expect(call.status == 0 && call.stdout == "\(node.name)\n", "\(runtime): \(call.status) \(call.stderr)")
            #expect(Date().timeIntervalSince(started) < 10, "\(runtime): waited for EPMD's close (the 30 s timeout)")
        }
    }

    /// The name in a challenge is a node name or the handshake fails, saying so with the name
    /// escaped and cut short: it comes before authentication.
    @Test func aChallengeNamingNoNodeFailsEscaped() throws {
        for (name, shown) in [
            (Array("\u{1B}]0;PWNED\u{07}\u{1B}[2Jevil@vm".utf8), #""\e]0;PWNED\x{7}\e[2Jevil@vm""#),
            (Array(repeating: UInt8(ascii: "n"), count: 20_000) + Array("@vm".utf8), "…(20003 bytes)"),
            (Array("no-at-sign".utf8), #""no-at-sign""#),
        ] {
            let peer = try HostilePeer(.challengeNaming, argument: name.map { String(format: "%02x", $0) }.joined())
            defer { peer.stop() }
            let result = try BeamshBinary.run(["evil", "--port", String(peer.port), "--connect-timeout", "3", "--rpc", "erlang", "node"],
                                              cookie: "c")
            #expect(result.status == 2 && result.stderr.contains("the peer's challenge names no node: ") && result.stderr.contains(shown)
                    && !result.stderr.contains("\u{1B}") && result.stderr.utf8.count < 400,
                    "\(result.status) \(result.stderr.prefix(500))")
        }
    }

    /// A peer that authenticates and then announces a huge frame no node sends (its first
    /// byte is not a pass-through message's) is cut off at that byte, not after buffering
    /// 1.5 GB; the console and `doctor` exit 2 alike, doctor naming the likely cause.
    @Test func anUnreadableFrameEndsTheConnectionAtItsFirstByte() throws {
        let peer = try HostilePeer(.authenticatedThenUnreadable, argument: "sesame fake@127.0.0.1")
        defer { peer.stop() }
        let started = Date()
        let call = try BeamshBinary.run(["fake@127.0.0.1", "--port", String(peer.port), "--connect-timeout", "30", "--rpc", "erlang", "node"], cookie: "sesame")
        #expect(call.status == 2 && call.stderr.contains("header 0: atom cache and fragments were not negotiated"),
                "\(call.status) \(call.stderr)")
        #expect(Date().timeIntervalSince(started) < 10, "refused at the first byte, not at the 30 s timeout")
        let doctor = try BeamshBinary.run(["doctor", "fake@127.0.0.1", "--port", String(peer.port)], cookie: "sesame")
        #expect(doctor.status == 2 && doctor.stdout.contains("FAIL") && doctor.stdout.contains("the node sent what no Erlang node sends"),
                "\(doctor.status) \(doctor.stdout)\(doctor.stderr)")
    }

    /// A real node running distribution over TLS (`-proto_dist inet_tls`, a certificate made
    /// by its own public_key): beamsh does not speak TLS and says so at the node's first answer,
    /// as a console and as doctor, instead of "not an Erlang node's answer".
    @Test func aNodeWithTLSDistributionIsNamedAsSuch() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang (with ssl) is needed")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("beamsh-tls-\(TestNode.randomToken(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let options = directory.appendingPathComponent("ssl_dist.conf").path
        try runtime.eval("""
            #{cert := Cert, key := Key} = public_key:pkix_test_root_cert("beamsh test", []),
            Type = element(1, Key),
            Options = [{server, [{cert, Cert}, {key, {Type, public_key:der_encode(Type, Key)}}]}, {client, [{verify, verify_none}]}],
            ok = file:write_file("\(options)", io_lib:format("~p.~n", [Options]))
            """)
        let node = try TestNode(runtime: runtime, extraArgs: ["-proto_dist", "inet_tls", "-ssl_dist_optfile", options])
        defer { node.stop() }
        let started = Date()
        let call = try BeamshBinary.run([node.name, "--connect-timeout", "30", "--rpc", "erlang", "node"], cookie: node.cookie)
        #expect(call.status == 2 && call.stderr.contains("the port answered in TLS: the node runs distribution over TLS (-proto_dist inet_tls)"),
                "\(call.status) \(call.stderr)")
        #expect(Date().timeIntervalSince(started) < 10, "said at once, not at the 30 s timeout")
        let doctor = try BeamshBinary.run(["doctor", node.name], cookie: node.cookie)
        #expect(doctor.status == 2 && doctor.stdout.contains("FAIL  handshake")
                && doctor.stdout.contains("likely fix: beamsh speaks distribution over plain TCP only"), "\(doctor.stdout)")
        #expect(!call.stderr.contains(node.cookie) && !doctor.stdout.contains(node.cookie))
    }

    /// Something that is not a node on the port (an HTTP server) is named at its first bytes,
    /// not after the connect timeout, as a console and as doctor see it.
    @Test func aPortThatIsNotANodeIsSaidAtOnce() throws {
        let http = try HostilePeer(.http)
        defer { http.stop() }
        let started = Date()
        let call = try BeamshBinary.run(["web@127.0.0.1", "--port", String(http.port), "--connect-timeout", "30", "--rpc", "erlang", "node"], cookie: "c")
        #expect(call.status == 2 && call.stderr.contains(#"not an Erlang node's answer (it starts with "HTTP/1.1 400 Bad"): is this port a node's distribution port?"#),
                "\(call.status) \(call.stderr)")
        #expect(Date().timeIntervalSince(started) < 10, "said at once, not at the 30 s timeout")
        let doctor = try BeamshBinary.run(["doctor", "web@127.0.0.1", "--port", String(http.port)], cookie: "c")
        #expect(doctor.status == 2 && doctor.stdout.contains("FAIL  handshake")
                && doctor.stdout.contains("the port does not speak the Erlang distribution protocol"), "\(doctor.stdout)")
    }
}
