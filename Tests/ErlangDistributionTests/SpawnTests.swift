// SPAWN_REQUEST / SPAWN_REPLY against real OTP 25 and 28 nodes.

import BeamTestSupport
import ErlangDistribution
import ErlangTerm
import Testing

@Suite(.serialized, .ownThreads) struct SpawnTests {
    @Test func spawnLinkedProcessWithOurGroupLeader() async throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            var options = ConnectOptions(cookie: Cookie(node.cookie))
            options.connectTimeout = .seconds(5)
            let connection = try await NodeConnection.connect(to: try NodeName(parsing: node.name), options: options)
            defer { connection.closeNow() }
            let mailbox = connection.makeMailbox()
            let (pid, _) = try await connection.spawn(
                "erlang", "send", [.pid(mailbox.pid), .atom("hello")], from: mailbox, options: [.link])
            #expect(pid.node == connection.peerNodeAtom, "\(runtime)")
            var got: [Signal] = []
            while got.count < 2, let s = try await mailbox.receive(timeout: .seconds(5)) { got.append(s) }
            #expect(got.contains(.message(from: pid, .atom("hello"))), "\(runtime): \(got)")
            #expect(got.contains(.exit(from: pid, reason: .atom("normal"))), "\(runtime): \(got)")

            // Killing a linked process reaches us through the link.
            let (sleeper, _) = try await connection.spawn("timer", "sleep", [.atom("infinity")], from: mailbox, options: [.link])
            try connection.exit(sleeper, reason: .atom("kill"), from: mailbox.pid)
            let signal = try await mailbox.receive(timeout: .seconds(5))
            #expect(signal == .exit(from: sleeper, reason: .atom("killed")), "\(runtime)")

            // Our end of the link: closing the mailbox kills a linked process on the node.
            let (other, _) = try await connection.spawn("timer", "sleep", [.atom("infinity")], from: mailbox, options: [.link])
            let list = "\"" + "<0.\(other.id).\(other.serial)>" + "\""
            #expect(try node.eval("is_process_alive(list_to_pid(\(list))).") == "true")
            // Its group leader is the mailbox that asked for it (output would come to us), as the
            // node itself sees it.
            let leader = try node.eval("{group_leader, G} = process_info(list_to_pid(\(list)), group_leader), "
                + "{node(G) =:= '\(mailbox.pid.node.name)', lists:suffix(\".\(mailbox.pid.id).\(mailbox.pid.serial)>\", pid_to_list(G))}.")
            #expect(leader == "{true,true}", "\(runtime): \(leader)")
            mailbox.close(reason: .atom("shutdown"))
            // The exit signal travels asynchronously: wait for it, within reason.
            var alive = true
            for _ in 0..<100 where alive {
                alive = try node.eval("is_process_alive(list_to_pid(\(list))).") == "true"
                if alive { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(!alive, "\(runtime): the linked process outlived the mailbox")

            // An unknown function fails in the new process (undef), not in the request.
            let probe = connection.makeMailbox()
            let (bad, _) = try await connection.spawn("no_such_module", "f", [], from: probe, options: [.link])
            let end = try await probe.receive(timeout: .seconds(5))
            if case .exit(let from, let reason)? = end {
                #expect(from == bad)
                #expect(reason.isTagged("undef") || reason.tupleElements?.first == .atom("undef"), "\(reason)")
            } else {
                Issue.record("\(runtime): \(String(describing: end))")
            }
            probe.close()
        }
    }
}
