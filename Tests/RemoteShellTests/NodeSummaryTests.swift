// The cluster report's per-node summary against real nodes: one call of BIFs, and the Elixir
// version however Elixir is present (started as an application, only loaded, or absent).

import BeamTestSupport
import ErlangDistribution
import ErlangTerm
import NIOPosix
@testable import RemoteShell
import Testing

@Suite(.serialized, .ownThreads) struct NodeSummaryTests {
    private func summary(of node: TestNode) async throws -> NodeSummary {
        let connection = try await connect(node)
        defer { connection.closeNow() }
        return try await NodeSummary.fetch(from: connection, timeout: .seconds(10))
    }

    @Test func elixirStartedAsAnApplication() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let s = try await summary(of: node)
        #expect(s.elixirVersion?.hasPrefix("1.14") == true, "\(String(describing: s.elixirVersion))")
        #expect(s.otpRelease == "25")
        #expect(s.processCount > 10 && s.totalMemory > 1_000_000 && s.uptimeMilliseconds > 0)
        #expect(s.connected.isEmpty, "beamsh is hidden: nodes() does not list it")
    }

    @Test func elixirOnlyLoadedIsAskedForItsVersion() async throws {
        let runtime = try elixirRuntime()
        let lib = try #require(runtime.elixirLib)
        // Elixir's modules on the code path and System loaded, but no application started.
        let node = try TestNode(runtime: runtime, extraArgs: [
            "-pa", "\(lib)/elixir/ebin", "-eval", "{module, _} = code:ensure_loaded('Elixir.System')",
        ])
        defer { node.stop() }
        #expect(try node.eval("application:get_key(elixir, vsn).") == "undefined")
        let s = try await summary(of: node)
        #expect(s.elixirVersion?.hasPrefix("1.14") == true, "\(String(describing: s.elixirVersion))")
    }

    @Test func noElixirOnEitherRuntime() async throws {
        for runtime in try erlangRuntimes() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let s = try await summary(of: node)
            #expect(s.elixirVersion == nil, "\(runtime)")
            #expect(["25", "28"].contains(s.otpRelease), "\(runtime): \(s.otpRelease)")
        }
    }
}

/// `beamsh cluster` keeps every connection open until its report is out (closing is work for the
/// node while the others are still answering); whoever holds the connections closes them.
@Suite(.ownThreads) struct FinishedConnectionsTests {
    @Test func connectionsStayOpenUntilClosed() async throws {
        let (a, b) = try TestNode.connectedPair(runtime: try elixirRuntime())
        defer { a.stop(); b.stop() }
        var connect = ConnectOptions(cookie: Cookie(a.cookie))
        connect.connectTimeout = .seconds(5)
        var options = ClusterOptions(connect: connect)
        let finished = FinishedConnections()
        options.finished = finished
        let report = await ClusterInspector.inspect(seed: try NodeName(parsing: a.name), options: options,
                                                    group: MultiThreadedEventLoopGroup.singleton)
        #expect(report.isComplete, "\(report.render())")
        // Both connections are still up: each node sees one hidden node, beamsh.
        for node in [a, b] { #expect(try node.eval("length(nodes(hidden)).") == "1", "\(node.name)") }
        finished.closeAll()
        for node in [a, b] {
            var hidden = try node.eval("nodes(hidden).")
            for _ in 0..<50 where hidden != "[]" {
                try await Task.sleep(for: .milliseconds(100))
                hidden = try node.eval("nodes(hidden).")
            }
            #expect(hidden == "[]", "\(node.name) still connected to \(hidden)")
        }
    }
}

/// Tab completion asks the node's own expander; what it offers always extends what was typed.
@Suite(.ownThreads) struct CompletionFromTheNodeTests {
    @Test func elixirAndErlangOnBothRuntimes() async throws {
        let elixir = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { elixir.stop() }
        let connection = try await connect(elixir)
        defer { connection.closeNow() }
        let completer = RemoteCompleter(connection: connection, language: .elixir)
        let expands = try countCalls(on: elixir, to: "Elixir.IEx.Autocomplete", "expand", 1)
        let fromElixir = completer.complete("x = Enum.redu")
        #expect(fromElixir.contains { $0.replacement.hasPrefix("Enum.reduce") }, "\(fromElixir)")
        // Cached for the session: the same word again does not ask the node (a second Tab is
        // answered here at once, whatever the node's load).
        #expect(completer.complete("y = Enum.redu") == fromElixir)
        try await eventually("the node's tracer counted the first expansion") { try expands() >= 1 }
        #expect(try expands() == 1, "one expansion on the node for two Tabs on the same word")
        // Typing on after a full list (`Enum.` lists every function): each Tab narrows that list
        // here, no round trip, and offers what the node would; one name left is the node's to
        // complete (it may add what follows).
        let everything = completer.complete("Enum.")
        try await eventually("the node's tracer counted the expansion of Enum.") { try expands() >= 2 }
        let narrowed = completer.complete("Enum.ma")
        #expect(Set(narrowed.map(\.label)).isSuperset(of: ["map/2", "map_join/3", "max/3"])
                && narrowed.allSatisfy { $0.replacement.hasPrefix("Enum.ma") } && narrowed.count < everything.count, "\(narrowed)")
        #expect(completer.complete("Enum.map_").allSatisfy { $0.replacement.hasPrefix("Enum.map_") })
        #expect(completer.complete("Enum.zzz_none").isEmpty)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try expands() == 2, "three narrowed Tabs asked the node nothing")
        #expect(completer.complete("Enum.map_jo").map(\.replacement) == ["Enum.map_join"])
        try await eventually("one name left: the node was asked") { try expands() == 3 }
        // Inside a struct literal, its fields (IEx finds the struct in the line).
        let fields = completer.complete("u = %URI{").map(\.label)
        #expect(Set(fields).isSuperset(of: ["host:", "port:", "scheme:"]), "\(fields)")
        #expect(completer.complete("u = %URI{scheme: \"https\", ho").map(\.replacement) == ["host: "])
        #expect(RemoteCompleter.isInsideStruct("%URI{a: %{b: 1}, ") && !RemoteCompleter.isInsideStruct("%URI{a: 1} |> f(")
                && !RemoteCompleter.isInsideStruct("%{a: "))
        // A bare name: what every session imports (Kernel's, the special forms, IEx.Helpers'),
        // asked of the node once; IEx's expander cannot see a shell's imports from an RPC.
        #expect(completer.complete("x = is_ato").map(\.replacement) == ["is_atom"])
        #expect(Set(completer.complete("spaw").map(\.label)).isSuperset(of: ["spawn/1", "spawn/3", "spawn_link/1"])
                && completer.complete("cas").contains { $0.replacement == "case" } && completer.complete("pi").contains { $0.label == "pid/3" })
        // Listed with their arities, as IEx lists them; what is inserted is the name.
        let reduce = completer.complete("Enum.reduce")
        #expect(Set(reduce.map(\.label)).isSuperset(of: ["reduce/2", "reduce/3", "reduce_while/3"])
                && reduce.allSatisfy { $0.replacement.hasPrefix("Enum.reduce") && !$0.replacement.contains("/") },
                "\(reduce)")

        for runtime in try erlangRuntimes() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let erlang = try await connect(node)
            defer { erlang.closeNow() }
            let completer = RemoteCompleter(connection: erlang, language: .erlang)
            // OTP 28's edlin_expand answers ["Functions"] here; module_info supplies the names.
            let several = completer.complete("X = lists:se")
            #expect(several.contains { $0.replacement == "lists:seq" }
                    && several.allSatisfy { $0.replacement.hasPrefix("lists:se") }, "\(runtime): \(several)")
            // Listed as the Erlang shell lists them: name/arity, one per arity.
            #expect(Set(several.map(\.label)).isSuperset(of: ["seq/2", "seq/3"]), "\(runtime): \(several)")
            // Nothing typed after the colon: OTP 28 answers with the section title alone.
            let all = completer.complete("lists:").map(\.replacement)
            #expect(all.contains("lists:seq") && !all.contains("lists:Functions"), "\(runtime): \(all.prefix(5))")
            // An operator's name is quoted where it goes in code; listed as the shell lists it.
            let send = completer.complete("erlang:'!").map(\.replacement) + completer.complete("erlang:!").map(\.replacement)
            #expect(!send.contains("erlang:!") && !send.contains("erlang:!("), "\(runtime): \(send)")
            let one = completer.complete("lists:enumer").map(\.replacement)
            #expect(one == ["lists:enumerate("], "\(runtime): \(one)")
        }
    }
}
