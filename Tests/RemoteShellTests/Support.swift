// Shared set-up for the console tests: real nodes, connections, scripted input.

import BeamTestSupport
import ErlangDistribution
import ErlangTerm
import Foundation
import NIOConcurrencyHelpers
import RemoteShell
import Testing

func connect(_ node: TestNode) async throws -> NodeConnection {
    var options = ConnectOptions(cookie: Cookie(node.cookie))
    options.connectTimeout = .seconds(5)
    return try await NodeConnection.connect(to: try NodeName(parsing: node.name), options: options)
}

/// The Debian OTP 25 runtime with Elixir 1.14.
func elixirRuntime() throws -> ErlangRuntime {
    guard let runtime = ErlangRuntime.system, runtime.hasElixir else {
        throw TestSetupError("Debian's erlang + elixir are needed (scripts/setup)")
    }
    return runtime
}

/// OTP 25 and OTP 28, both required.
func erlangRuntimes() throws -> [ErlangRuntime] { try ErlangRuntime.requireAll() }

/// Waits (up to 10 s) until a process on `node` sits in `timer:sleep/1`: an evaluation of
/// `:timer.sleep(:infinity)` has started, so an interrupt now reaches it. A fixed delay raced
/// the evaluation's start on a loaded machine, and the lost interrupt hung the test.
/// Records an issue when that never happens: what follows would test something else.
func waitUntilSleeping(on node: TestNode) async {
    for _ in 0..<100 {
        let sleeping = try? node.eval(
            "length([P || P <- processes(), process_info(P, current_function) == {current_function, {timer, sleep, 1}}]).")
        if let count = sleeping.flatMap({ Int($0) }), count > 0 { return }
        try? await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("no evaluation reached timer:sleep/1 on \(node.name) within 10 s")
}

/// The value of `persistent_term:get(Key, Default)` on `node` (as `erl` prints it) once it is
/// no longer `otherwise`, or after `seconds`: what a process on the node stored when it got there.
func persistentTerm(_ key: String, on node: TestNode, otherwise: String, within seconds: Double = 15) async throws -> String {
    let deadline = Date().addingTimeInterval(seconds)
    var value = try node.eval("persistent_term:get(\(key), \(otherwise)).")
    while value == otherwise && Date() < deadline {
        try await Task.sleep(for: .milliseconds(50))
        value = try node.eval("persistent_term:get(\(key), \(otherwise)).")
    }
    return value
}

/// Waits up to `limit` (10 s) for `condition` (checked every 50 ms); an issue when it never holds.
func eventually(_ what: String, within limit: Duration = .seconds(10), _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting: \(what)")
}

func processCount(_ node: TestNode) throws -> Int {
    let reply = try node.eval("erlang:system_info(process_count).")
    guard let count = Int(reply) else { throw UnexpectedReply(what: "process count", reply: reply) }
    return count
}

/// Waits until the node's process count drops back to `expected` (links and monitors settle
/// asynchronously); returns the last count seen.
func settledProcessCount(_ node: TestNode, expected: Int, within seconds: Double = 5) async throws -> Int {
    let deadline = Date().addingTimeInterval(seconds)
    var count = try processCount(node)
    while count > expected && Date() < deadline {
        try await Task.sleep(for: .milliseconds(100))
        count = try processCount(node)
    }
    return count
}

/// For tests of what an interrupt does, not how fast: a loaded machine may confirm a kill after
/// the product's one-second wait, and the test would see the "not confirmed" form.
let patientWithKills: ShellOptions = {
    var options = ShellOptions(timeout: nil)
    options.interruptWait = .seconds(30)
    return options
}()

func oneShot(_ connection: NodeConnection, _ language: Language, output: OutputBuffer = OutputBuffer(),
             input: ConsoleInput = ScriptedInput([]), options: ShellOptions = ShellOptions(timeout: .seconds(30))) -> OneShotEvaluator {
    var options = options
    options.language = language
    return OneShotEvaluator(connection: connection, language: language, options: options, output: output, input: input)
}

/// Runs `body` with a one-shot Elixir evaluator on a fresh Elixir node, its output collected in
/// `output`; the node and the connection go away afterwards.
func withElixirEvaluator(
    output: OutputBuffer = OutputBuffer(), input: ConsoleInput = ScriptedInput([]),
    _ body: (OneShotEvaluator) async throws -> Void
) async throws {
    let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
    defer { node.stop() }
    let connection = try await connect(node)
    defer { connection.closeNow() }
    try await body(oneShot(connection, .elixir, output: output, input: input))
}

/// Runs `body` with an Elixir node that it may freeze (``TestNode/freeze()``; thawed before the
/// node stops) and a one-shot evaluator on a connection to it.
func withFreezableElixirNode(
    options: ShellOptions, _ body: (TestNode, OneShotEvaluator) async throws -> Void
) async throws {
    let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
    defer {
        node.thaw()
        node.stop()
    }
    let connection = try await connect(node)
    defer { connection.closeNow() }
    try await body(node, oneShot(connection, .elixir, options: options))
}

/// Runs `body` once per Erlang runtime (OTP 25 and 28) with a fresh Erlang node, a connection
/// to it and an Erlang one-shot evaluator on that connection.
func forEachErlangRuntime(
    _ body: (ErlangRuntime, TestNode, NodeConnection, OneShotEvaluator) async throws -> Void
) async throws {
    for runtime in try erlangRuntimes() {
        let node = try TestNode(runtime: runtime)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        try await body(runtime, node, connection, oneShot(connection, .erlang))
    }
}


/// Runs a console over `lines` whose stop guard answers no, and returns what it printed and the
/// line count at each question (how many lines had been read when it was asked).
func consoleAskingAboutStops(_ connection: NodeConnection, _ language: Language, lines: [String]) async throws
    -> (output: String, askedAtLine: [Int]) {
    let input = ScriptedInput(lines: lines)
    let askedAtLine = NIOLockedValueBox<[Int]>([])
    var options = ShellOptions()
    options.stopGuard = .ask { _ in
        askedAtLine.withLockedValue { $0.append(input.promptsSeen.count) }
        return false
    }
    let output = OutputBuffer()
    try await Console(connection: connection, language: language, options: options, input: input, output: output).run()
    return (output.text, askedAtLine.withLockedValue { $0 })
}
