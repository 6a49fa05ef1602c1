// Elixir evaluation on a real OTP 25 + Elixir 1.14 node: bindings, remote IO, errors, timeouts.

import BeamTestSupport
import ErlangDistribution
import ErlangTerm
import Foundation
import RemoteShell
import Testing

@Suite(.serialized) struct ElixirEvaluationTests {
    @Test func bindingsCarryBetweenExpressions() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let evaluator = try await OneShotEvaluator.make(connection: connection, output: OutputBuffer())
        #expect(evaluator.language == .elixir)
        #expect(try await evaluator.evaluate("x = 1") == .value(formatted: "1", term: nil))
        #expect(try await evaluator.evaluate("x + 1") == .value(formatted: "2", term: nil))
        // The value as a term, for JSON.
        let r = try await evaluator.evaluate("%{a: x}", wantTerm: true)
        guard case .value(let text, let term?) = r else { Issue.record("\(r)"); return }
        #expect(text == "%{a: 1}")
        #expect(term == .map([(key: .atom("a"), value: 1)]))
        // alias/import stick like in IEx.
        _ = try await evaluator.evaluate("alias String, as: S")
        #expect(try await evaluator.evaluate("S.upcase(\"a\")").formatted == "\"A\"")
        evaluator.close()
    }

    /// IEx's `v/1`: results numbered like the prompt counts them (failures do not count), the
    /// last one by default, negative numbers from the end; a result too large to keep ends the
    /// history instead of making numbers lie.
    @Test func vReturnsEarlierResults() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let evaluator = try await OneShotEvaluator.make(connection: connection, output: OutputBuffer())
        #expect(try await evaluator.evaluate("v()").formatted.contains("v(-1) is out of bounds"), "empty history")
        _ = try await evaluator.evaluate("21")  // 1
        _ = try await evaluator.evaluate("%{a: [1, 2]}")  // 2
        #expect(try await evaluator.evaluate("raise \"no number\"").isFailure)
        #expect(try await evaluator.evaluate("v(1) * 2").formatted == "42")  // 3
        #expect(try await evaluator.evaluate("v(2).a").formatted == "[1, 2]")  // 4
        #expect(try await evaluator.evaluate("v()").formatted == "[1, 2]")  // 5
        #expect(try await evaluator.evaluate("v(-3)").formatted == "42")  // 6
        _ = try await evaluator.evaluate(":binary.copy(\"x\", 100_000)")  // 7: too large to keep
        #expect(try await evaluator.evaluate("v(1)").formatted.contains("v(1) is out of bounds"))
        _ = try await evaluator.evaluate(":small")  // 8
        #expect(try await evaluator.evaluate("v(8)").formatted == ":small")
        evaluator.close()
    }

    @Test func remoteOutputArrivesInOrderBeforeTheResult() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let output = OutputBuffer()
        let evaluator = oneShot(connection, .elixir, output: output)
        let result = try await evaluator.evaluate(
            "IO.puts(\"one\"); IO.write(\"two \"); :io.format(\"~p~n\", [:three]); IO.inspect(4); 5")
        #expect(output.text == "one\ntwo three\n4\n")
        #expect(result == .value(formatted: "5", term: nil))
    }

    @Test func ioGetsReadsAFedLineAndColumnsAreTheConfiguredWidth() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let output = OutputBuffer()
        let input = ScriptedInput(lines: ["Ada"])
        var options = ShellOptions(timeout: .seconds(30))
        options.geometry = { TerminalGeometry(columns: 123, rows: 45) }
        let evaluator = oneShot(connection, .elixir, output: output, input: input, options: options)
        #expect(try await evaluator.evaluate("IO.gets(\"name? \")").formatted == "\"Ada\\n\"")
        #expect(input.promptsSeen == ["name? "])
        #expect(try await evaluator.evaluate(":io.columns()").formatted == "{:ok, 123}")
        #expect(try await evaluator.evaluate(":io.rows()").formatted == "{:ok, 45}")
        // End of input.
        #expect(try await evaluator.evaluate("IO.gets(\"more? \")").formatted == ":eof")
    }

    @Test func exceptionsAreFormattedByTheNode() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let evaluator = oneShot(connection, .elixir)
        let boom = try await evaluator.evaluate("raise \"boom\"")
        #expect(boom == .failure(formatted: "** (RuntimeError) boom"))
        let badarg = try await evaluator.evaluate("String.to_integer(\"x\")")
        #expect(badarg.isFailure)
        #expect(badarg.formatted.hasPrefix("** (ArgumentError)"), "\(badarg)")
        #expect(try await evaluator.evaluate("throw(:up)") == .failure(formatted: "** (throw) :up"))
        #expect(try await evaluator.evaluate("exit(:bye)") == .failure(formatted: "** (exit) :bye"))
        let syntax = try await evaluator.evaluate("1 + end")
        #expect(syntax.formatted.hasPrefix("** (SyntaxError) iex:1"), "\(syntax)")
        #expect(try await evaluator.evaluate("1 +").formatted.hasPrefix("** incomplete expression"))
        // The session goes on.
        #expect(try await evaluator.evaluate("1 + 1").formatted == "2")
    }

    @Test func oneShotTimeoutKillsTheWorker() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let evaluator = oneShot(connection, .elixir, options: ShellOptions(timeout: .milliseconds(500)))
        let before = try processCount(node)
        let started = ContinuousClock.now
        let r = try await evaluator.evaluate(":timer.sleep(:infinity)")
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(r.formatted.contains("timed out"), "\(r)")
        #expect(try await settledProcessCount(node, expected: before) <= before)
    }
}
