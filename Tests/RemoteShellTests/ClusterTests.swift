// The pure parts of the cluster views: link analysis, JSON text, units, the resolver.

import ErlangDistribution
import ErlangTerm
@testable import RemoteShell
import Testing

@Suite struct ClusterTests {
    private func reached(_ name: String, sees: [String]) -> NodeOutcome {
        .reached(NodeSummary(name: name, connected: sees, otpRelease: "25", elixirVersion: nil, uptimeMilliseconds: 0,
                             processCount: 1, totalMemory: 1, runQueue: 0))
    }

    @Test func linkProblemsNameEachKind() {
        let members = ["a@h", "b@h", "c@h", "d@h"]
        let outcomes: [String: NodeOutcome] = [
            "a@h": reached("a@h", sees: ["b@h", "c@h", "d@h"]),
            "b@h": reached("b@h", sees: ["a@h"]),               // b–c: neither; b–d: missing (d not asked)
            "c@h": reached("c@h", sees: ["a@h"]),
            "d@h": .unreachable(DistributionError(.timeout, "slow")),
        ]
        let problems = Set(ClusterReport.linkProblems(members: members, outcomes: outcomes))
        #expect(problems == [
            LinkProblem(kind: .neither, from: "b@h", to: "c@h"),
            LinkProblem(kind: .missing, from: "b@h", to: "d@h"),
            LinkProblem(kind: .missing, from: "c@h", to: "d@h"),
        ])
        var oneWay = outcomes
        oneWay["c@h"] = reached("c@h", sees: ["a@h", "b@h"])
        #expect(ClusterReport.linkProblems(members: members, outcomes: oneWay).contains(LinkProblem(kind: .oneWay, from: "c@h", to: "b@h")))
        #expect(LinkProblem(kind: .oneWay, from: "c@h", to: "b@h").description == "one-way link: c@h sees b@h, b@h does not see c@h")
    }

    /// A report fits the terminal: the node column gives way, the matrix becomes one character
    /// per node with its column numbers written downwards, and past that a line says so.
    @Test func clusterReportFitsTheTerminal() {
        let members = (1...12).map { "node_with_a_long_name_\($0)@host.example.internal" }.sorted()
        var outcomes: [String: NodeOutcome] = [:]
        for m in members { outcomes[m] = reached(m, sees: members.filter { $0 != m && !($0 == members[0] && m == members[11]) }) }
        let report = ClusterReport(seed: members[0], members: members, outcomes: outcomes,
                                   problems: ClusterReport.linkProblems(members: members, outcomes: outcomes), outsiders: [],
                                   elapsed: .zero)
        let wide = report.render()
        #expect(wide.split(separator: "\n").contains { $0.hasPrefix("12  ✗  ✓") }, "\(wide)")
        let narrow = report.render(width: 40)
        let lines = narrow.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for line in lines where !line.hasPrefix("one-way link") && !line.hasPrefix("cluster seen from") && !line.hasPrefix("links (") {
            #expect(TextTable.width(line) <= 40, "\(line)")
        }
        #expect(lines.contains { $0.hasPrefix(" #  node              processes  memory") }, "\(narrow)")
        #expect(lines.contains { $0.hasPrefix(" 2  node_with_a_lon…          1     1 B") }, "\(narrow)")
        #expect(lines.contains("            111"), "\(narrow)")
        #expect(lines.contains("   123456789012"), "\(narrow)")
        // The seed (first in name order) is not seen by the last: the one cut link.
        #expect(lines.contains(" 1 ·✓✓✓✓✓✓✓✓✓✓✓"), "\(narrow)")
        #expect(lines.contains("12 ✗✓✓✓✓✓✓✓✓✓✓·"), "\(narrow)")
        #expect(!report.render(width: 80).contains("   123456789012"), "the spaced matrix fits 80 columns")
        let tiny = report.render(width: 12)
        #expect(tiny.contains("(12 nodes do not fit 12 columns even one character each"), "\(tiny)")
        #expect(tiny.contains("one-way link: \(members[0]) sees \(members[11]), \(members[11]) does not see \(members[0])"), "\(tiny)")
    }

    @Test func completeOnlyWhenEveryoneAnswersAndSeesEveryone() {
        let members = ["a@h", "b@h"]
        let good: [String: NodeOutcome] = ["a@h": reached("a@h", sees: ["b@h"]), "b@h": reached("b@h", sees: ["a@h"])]
        let report = ClusterReport(seed: "a@h", members: members, outcomes: good,
                                   problems: ClusterReport.linkProblems(members: members, outcomes: good), outsiders: [], elapsed: .zero)
        #expect(report.isComplete)
        var bad = good
        bad["b@h"] = .unreachable(DistributionError(.authenticationFailed, "cookie"))
        let broken = ClusterReport(seed: "a@h", members: members, outcomes: bad,
                                   problems: ClusterReport.linkProblems(members: members, outcomes: bad), outsiders: [], elapsed: .zero)
        #expect(!broken.isComplete)
        #expect(broken.render().contains("unreachable: b@h: cookie"))
        bad["b@h"] = .unreachable(DistributionError(.remoteCallFailed, "lists:zipwith3/4 on b@h did not answer within 2 seconds",
                                                    reason: .atom("timeout")))
        let stuck = ClusterReport(seed: "a@h", members: members, outcomes: bad,
                                  problems: ClusterReport.linkProblems(members: members, outcomes: bad), outsiders: [], elapsed: .zero)
        #expect(stuck.render().contains("connected, not answering: b@h: lists:zipwith3/4"), "\(stuck.render())")
    }

    /// The fan-out table: what a node printed above its result, continuation lines under the
    /// result column, CRLF line ends too.
    @Test func fanoutTableKeepsColumns() {
        let report = FanoutReport(seed: "a@h", expression: "x", results: [
            FanoutResult(node: "a@h", language: .elixir, outcome: .value(":ok"), output: "one\r\ntwo\n"),
            FanoutResult(node: "bb@h", language: .erlang, outcome: .failed("** boom\nline 2"), output: ""),
        ], elapsed: .milliseconds(1))
        #expect(report.render() == """
            node  result
            a@h   one
                  two
                  :ok
            bb@h  ERROR ** boom
                  line 2
            """)
        #expect(report.exitCode == 1)
        // In a 60-column terminal a node name past 20 columns is cut; the results keep their room.
        let long = FanoutReport(seed: "a@h", expression: "1", results: [
            FanoutResult(node: "a_very_long_node_name_indeed@host.example", language: .erlang, outcome: .value("1")),
            FanoutResult(node: "b@h", language: .erlang, outcome: .value("2")),
        ], elapsed: .zero)
        #expect(long.render(terminalWidth: 60) == "node                  result\na_very_long_node_na…  1\nb@h                   2")
        #expect(long.render().hasPrefix("node                                       result"))
    }

    /// Columns line up by characters, not bytes: the link matrix's ✓ and ✗, and names with
    /// accents, take one column each; a cut cell ends in "…" and keeps the line within the width.
    @Test func tableColumnsCountCharactersNotBytes() {
        var table = TextTable(header: ["", "1", "2"], rightAligned: [0, 1, 2])
        table.add(["1", "·", "✓"])
        table.add(["2", "✗", "·"])
        #expect(table.render() == """
               1  2
            1  ·  ✓
            2  ✗  ·
            """)
        var names = TextTable(header: ["node", "note"])
        names.add(["café@h", "e\u{301}lan"])  // a combining accent: one character, two scalars
        names.add(["a@h", "ok"])
        #expect(names.render() == """
            node    note
            café@h  élan
            a@h     ok
            """)
        // Wide characters (CJK, emoji) take two columns each, as a terminal draws them.
        var wide = TextTable(header: ["name", "n"], rightAligned: [1])
        wide.add(["節點_w", "1"])
        wide.add(["😀x", "3"])
        wide.add(["a", "22"])
        #expect(wide.render() == "name     n\n節點_w   1\n😀x      3\na       22")
        #expect(wide.render(maxWidth: 7, narrowing: [.shrink(0, minimum: 3)]) == "na…   n\n節…   1\n😀x   3\na    22")
        let cut = names.render(maxWidth: 9, narrowing: [.shrink(0, minimum: 3)], lastMinimum: 2)
        #expect(cut == """
            no…  note
            ca…  élan
            a@h  ok
            """)
    }

    /// A narrow terminal cuts the current function, not the numbers the view is sorted by, and
    /// gets the header on two lines instead of one that it would wrap mid-word.
    @Test func narrowTopKeepsTheNumbers() {
        let process = TopProcess(pid: Pid(node: "a@h", id: 44, serial: 0, creation: 1), registeredName: "application_controller",
                                 initialCall: "proc_lib:init_p/5", currentFunction: "gen_server:loop/7", memory: 690_000,
                                 reductionsDelta: 1_234, messageQueueLength: 7)
        let sample = TopSample(node: "a@h", order: .memory, interval: .seconds(2), processCount: 55, processes: [process],
                               nodeCost: .milliseconds(1), nodeMemory: 1024, wallTime: .seconds(2))
        let lines = sample.render(width: 70).split(separator: "\n")
        #expect(lines.count == 4 && lines.allSatisfy { $0.count <= 70 }, "\(lines)")
        #expect(lines[0].hasSuffix("top 1 by memory, reductions over 2.0 s") && lines[1].hasPrefix("this refresh cost the node"), "\(lines)")
        #expect(lines[2].hasPrefix("pid") && lines[2].contains("memory") && lines[2].contains("msg queue"), "\(lines)")
        #expect(lines[3].contains("674 KiB") && lines[3].contains("1,234") && lines[3].contains("7"), "\(lines)")
        // Piped (no width), or wide enough: one line.
        #expect(sample.render().split(separator: "\n").first?.contains("; this refresh cost the node") == true)
        #expect(sample.render(width: 200).split(separator: "\n").count == 3)
        // Narrower still: the header's lines break between words, never inside one.
        let narrow = sample.render(width: 30).split(separator: "\n").map(String.init)
        let header = Array(narrow.prefix { !$0.hasPrefix("pid") })
        #expect(header.count > 2 && header.allSatisfy { $0.count <= 30 }, "\(narrow)")
        #expect(header.joined(separator: " ") == "a@h: 55 processes; top 1 by memory, reductions over 2.0 s this refresh cost the node 1.0 ms and 1.0 KiB (temporary)",
                "\(header)")
        // A quantity stays with its unit ("2.0 s" never split over two lines).
        for width in 20...70 {
            let title = sample.render(width: width).split(separator: "\n").map(String.init).prefix { !$0.hasPrefix("pid") }
            #expect(!title.contains { $0.hasSuffix(" 2.0") || $0.hasSuffix(" 1.0") || $0.hasPrefix("s ") || $0 == "s" || $0.hasPrefix("KiB") || $0.hasPrefix("ms ") },
                    "\(width): \(title)")
        }
    }

    /// However narrow the terminal, the column the view is sorted by shows whole: the current
    /// function goes first, then the name is cut ("…"), then the other numbers go.
    @Test(arguments: TopOrder.allCases) func narrowTopNeverCutsTheSortedNumber(order: TopOrder) {
        let process = TopProcess(pid: Pid(node: "a@h", id: 153, serial: 0, creation: 1), registeredName: "qa_message_queue_holder",
                                 initialCall: "erlang:apply/2", currentFunction: "gen_server:loop/7", memory: 106_496,
                                 reductionsDelta: 110_123_456, messageQueueLength: 1_000, binaryMemory: 52_428_800)
        let sample = TopSample(node: "a@h", order: order, interval: .seconds(1), processCount: 55, processes: [process],
                               nodeCost: .milliseconds(1), nodeMemory: 1024, wallTime: .seconds(1))
        let sorted: (header: String, value: String)
        switch order {
        case .memory: sorted = ("memory", "104 KiB")
        case .reductions: sorted = ("reductions", "110,123,456")
        case .messageQueue: sorted = ("msg queue", "1,000")
        case .binary: sorted = ("binary", "50 MiB")
        }
        for width in [100, 80, 60, 45, 40, 34] {
            let lines = sample.render(width: width).split(separator: "\n").map(String.init)
            let table = Array(lines.suffix(2))
            #expect(table[0].hasPrefix("pid") && table[0].contains(sorted.header), "\(width): \(table)")
            #expect(table[1].hasPrefix("<0.153.0>") && table[1].contains(sorted.value), "\(width): \(table)")
            // Every number shown is whole (cells are apart by two spaces or more).
            let cells = table[1].split(separator: "  ", omittingEmptySubsequences: true).map { String($0.drop { $0 == " " }) }
            let numbers = cells.filter { $0.first?.isNumber == true }
            #expect(!numbers.isEmpty && numbers.allSatisfy { ["104 KiB", "50 MiB", "110,123,456", "1,000"].contains($0) }, "\(width): \(cells)")
            if width >= 100 { #expect(table[1].contains("qa_message_queue_holder") && table[1].contains("gen_server:loop/7")) }
            if width <= 45 { #expect(table[1].contains("…") && !table[1].contains("gen_server"), "\(width): \(table)") }
        }
    }

    @Test func anIdleTopSaysSoInsteadOfAnEmptyTable() {
        var sample = TopSample(node: "a@h", order: .reductions, interval: .seconds(2), processCount: 55, processes: [],
                               nodeCost: .milliseconds(1), nodeMemory: 1024, wallTime: .seconds(2))
        #expect(sample.render().hasSuffix("(no process ran during the 2.0 s)"), "\(sample.render())")
        #expect(sample.render().hasPrefix("a@h: 55 processes; by reductions,"), "\(sample.render())")
        #expect(!sample.render().contains("msg queue"))
        sample.order = .messageQueue
        #expect(sample.render().hasSuffix("(no process has messages waiting)"))
        sample.order = .binary
        #expect(sample.render().hasSuffix("(no process references off-heap binaries)"))
    }

    /// A refresh that cost the node more than the interval its sampler waited is followed by a
    /// rest as long as the difference: the node works at most half the time for `top`.
    @Test func aHeavyRefreshIsFollowedByARest() {
        var sample = TopSample(node: "a@h", order: .memory, interval: .seconds(2), processCount: 1_000_000, processes: [],
                               nodeCost: .milliseconds(4600), nodeMemory: 1024, wallTime: .seconds(7))
        #expect(sample.restBeforeNext == .milliseconds(2600))
        sample.nodeCost = .milliseconds(300)
        #expect(sample.restBeforeNext == .zero, "a light refresh: the interval is rest enough")
    }

    /// The binary column shows only in the view by binary, the one that sampled it.
    @Test func theBinaryColumnIsTheBinaryViewsOnly() throws {
        let process = TopProcess(pid: Pid(node: "a@h", id: 9, serial: 0, creation: 1), registeredName: "holder",
                                 initialCall: "erlang:apply/2", currentFunction: "a:b/0", memory: 2048,
                                 reductionsDelta: 5, messageQueueLength: 0, binaryMemory: 5_000_000)
        var sample = TopSample(node: "a@h", order: .binary, interval: .seconds(1), processCount: 9, processes: [process],
                               nodeCost: .milliseconds(1), nodeMemory: 1024, wallTime: .seconds(1))
        let byBinary = sample.render().split(separator: "\n").map(String.init)
        #expect(byBinary[1].contains("memory   binary  reductions") && byBinary[2].contains("2.0 KiB  4.8 MiB"), "\(byBinary)")
        #expect(sample.json.serialized().contains("\"binary\":5000000"))
        sample.order = .memory
        var unsampled = process
        unsampled.binaryMemory = nil
        sample.processes = [unsampled]
        #expect(!sample.render().contains("binary") && !sample.json.serialized().contains("\"binary\""), "\(sample.render())")
    }

    @Test func jsonEscapesAndKeepsOrder() {
        let value = JSONValue.object([("b", .string("q\"\\\n\u{1}é")), ("a", .array([.number(1), .null, .bool(false)]))])
        #expect(value.serialized() == #"{"b":"q\"\\\n\u0001é","a":[1,null,false]}"#)
    }

    @Test func humanUnits() {
        #expect(Human.bytes(512) == "512 B")
        #expect(Human.bytes(1536) == "1.5 KiB")
        #expect(Human.bytes(50 * 1024 * 1024) == "50 MiB")
        #expect(Human.count(1_234_567) == "1,234,567")
        #expect(Human.uptime(milliseconds: 90_061_000) == "1d 1h")
        #expect(Human.milliseconds(.microseconds(12_345)) == "12.3 ms")
    }

    @Test func resolverReturnsBothFamiliesOfLiterals() throws {
        #expect(try Discovery.resolve("::1").map(\.address) == ["::1"])
        #expect(try Discovery.resolve("127.0.0.1").map(\.family) == [4])
        #expect(throws: DistributionError.self) { try Discovery.resolve("no-such-host.invalid") }
        #expect(Discovery.nodeNames(basename: "app", addresses: ["fdaa::2", "10.0.0.1"]) == ["app@fdaa::2", "app@10.0.0.1"])
    }
}
