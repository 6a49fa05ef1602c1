// Elixir evaluation on a real OTP 25 + Elixir 1.14 node: bindings, remote IO, errors, timeouts.

import BeamTestSupport
import ErlangDistribution
import ErlangTerm
import Foundation
@testable import RemoteShell
import Testing

@Suite(.serialized, .ownThreads) struct ElixirEvaluationTests {
    @Test func bindingsCarryBetweenExpressions() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let expected = try node.eval("erlang:crc32(<<\"beamsh\">>).")
        let runs = try countCalls(on: node, to: "erlang", "crc32", 1)
        let evaluator = try await OneShotEvaluator.make(connection: connection, output: OutputBuffer())
        #expect(evaluator.knownLanguage == nil, "assumed, not asked: the first evaluation finds out")
        #expect(try await evaluator.evaluate("x = 1") == .value(formatted: "1", term: nil))
        #expect(evaluator.knownLanguage == .elixir)
        #expect(try await evaluator.evaluate(":erlang.crc32(\"beamsh\")").formatted == expected)
        #expect(try runs() == 1, "once")
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
        let empty = try await evaluator.evaluate("v()").formatted
        #expect(empty.contains("v(-1) is out of bounds") && !empty.contains("beamsh keeps"), "empty history, nothing dropped: \(empty)")
        _ = try await evaluator.evaluate("21")  // 1
        _ = try await evaluator.evaluate("%{a: [1, 2]}")  // 2
        #expect(try await evaluator.evaluate("raise \"no number\"").isFailure)
        #expect(try await evaluator.evaluate("v(1) * 2").formatted == "42")  // 3
        #expect(try await evaluator.evaluate("v(2).a").formatted == "[1, 2]")  // 4
        #expect(try await evaluator.evaluate("v()").formatted == "[1, 2]")  // 5
        #expect(try await evaluator.evaluate("v(-3)").formatted == "42")  // 6
        _ = try await evaluator.evaluate(":binary.copy(\"x\", 100_000)")  // 7: too large to keep
        // Said why, where IEx's message would read like a wrong number.
        let dropped = try await evaluator.evaluate("v(1)").formatted
        #expect(dropped.contains("v(1) is out of bounds")
                && dropped.hasSuffix("(beamsh keeps results of up to 64 KiB for v/1: result 7 was larger, and v/1 reaches back to the results after it)"),
                "\(dropped)")
        _ = try await evaluator.evaluate(":small")  // 8
        #expect(try await evaluator.evaluate("v(8)").formatted == ":small")  // 9
        // Counting from the end works after it too (IEx's `v(-N)` needs the newest number).
        #expect(try await evaluator.evaluate("v(-1)").formatted == ":small", "the last result, v(8)'s")  // 10
        #expect(try await evaluator.evaluate("v(-3)").formatted == ":small", "result 8")  // 11
        #expect(try await evaluator.evaluate("v(-5)").formatted.contains("v(-5) is out of bounds"), "result 7 was not kept")  // 12
        evaluator.close()
    }

    /// `v/1` keeps the last 20 results, as IEx's default `:history_size`: the 21st result pushes
    /// the first out.
    @Test func vKeepsTheLastTwentyResults() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let evaluator = try await OneShotEvaluator.make(connection: connection, output: OutputBuffer())
        for n in 1...20 { _ = try await evaluator.evaluate("\(n * 100)") }  // results 1...20
        #expect(try await evaluator.evaluate("v(1)").formatted == "100")  // 21: pushes 1 out
        #expect(try await evaluator.evaluate("v(1)").formatted.contains("v(1) is out of bounds"))
        #expect(try await evaluator.evaluate("v(3)").formatted == "300")
        evaluator.close()
    }

    @Test func remoteOutputArrivesInOrderBeforeTheResult() async throws {
        let output = OutputBuffer()
        try await withElixirEvaluator(output: output) { (evaluator: OneShotEvaluator) async throws in
            let result = try await evaluator.evaluate(
                "IO.puts(\"one\"); IO.write(\"two \"); :io.format(\"~p~n\", [:three]); IO.inspect(4); 5")
            #expect(output.text == "one\ntwo three\n4\n")
            #expect(result == .value(formatted: "5", term: nil))
        }
    }

    /// Bytes that are not UTF-8, printed as UTF-8, are refused as a console's group leader
    /// refuses them (OTP's `group`, behind `iex --remsh` and every terminal shell, prints only
    /// what `unicode:characters_to_binary/2` makes a binary of; `IO.puts` raises), not shown
    /// with replacement characters; as Latin-1 (`IO.binwrite`) they are characters.
    @Test func invalidUTF8IsRefusedAsTheNodesGroupLeaderRefusesIt() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let output = OutputBuffer()
        let evaluator = try await OneShotEvaluator.make(connection: connection, output: output)
        defer { evaluator.close() }
        #expect(try node.eval("is_binary(unicode:characters_to_binary(<<255, 65>>, utf8)).") == "false", "group's check")
        let ours = try await evaluator.evaluate("try do IO.puts(<<0xFF, ?A>>); :printed rescue ArgumentError -> :refused end")
        #expect(ours.formatted == ":refused", "\(ours)")
        #expect(output.text.isEmpty, "\(output.text)")
        #expect(try await evaluator.evaluate("IO.binwrite(<<0xE9, ?A>>)").formatted == ":ok")
        #expect(output.text == "éA", "\(output.text)")
    }

    /// What the node's Logger says about the session's processes reaches beamsh, as it reaches
    /// `iex --remsh`: a `Logger.error` in the evaluation, and the crash report of a process it
    /// spawned (Logger forwards an event to its group leader's node).
    @Test func loggerLinesFromTheSessionAreShown() async throws {
        let output = OutputBuffer()
        try await withElixirEvaluator(output: output) { (evaluator: OneShotEvaluator) async throws in
            let logged = try await evaluator.evaluate("require Logger; Logger.error(\"qa-log-line\"); Process.sleep(300); :done")
            #expect(logged == .value(formatted: ":done", term: nil), "\(logged)")
            let line = try Regex("\n[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} \\[error\\] qa-log-line\n")
            #expect(output.text.contains(line), "\(output.text)")
            _ = try await evaluator.evaluate("spawn(fn -> raise \"qa-boom-in-spawn\" end); Process.sleep(300)")
            #expect(output.text.contains("** (RuntimeError) qa-boom-in-spawn"), "\(output.text)")
        }
    }

    /// IEx helpers print and return `IEx.dont_display_result()`, which is not shown (with or
    /// without the value asked for, with or without colors).
    @Test func iexHelpersShowOnlyWhatTheyPrint() async throws {
        let output = OutputBuffer()
        try await withElixirEvaluator(output: output) { (evaluator: OneShotEvaluator) async throws in
            let help = try await evaluator.evaluate("h Enum.count")
            #expect(help.isNotShown, "\(help)")
            #expect(output.text.contains("def count(enumerable)"), "\(output.text)")
            #expect(try await evaluator.evaluate("i 1", wantTerm: true).isNotShown)
            #expect(try await evaluator.evaluate(":\"do not show this result in output\" == :x") == .value(formatted: "false", term: nil))
        }
        #expect(Evaluator.withoutColors("\u{1B}[36m:ok\u{1B}[0m") == ":ok")
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

    /// A `latin1` read (`IO.binread`) of typed text gets Latin-1 characters, as a terminal's
    /// group leader gives them (é is 233); of piped input, the bytes as they came.
    @Test func latin1ReadsOfTypedAndPipedInput() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        for typed in [true, false] {
            let input = ScriptedInput(lines: ["é", "é", "€"])
            input.typed = typed
            let evaluator = oneShot(connection, .elixir, output: OutputBuffer(), input: input)
            #expect(try await evaluator.evaluate("IO.binread(:stdio, :line)").formatted == (typed ? "<<233, 10>>" : "\"é\\n\""))
            #expect(try await evaluator.evaluate("IO.gets(\"\")").formatted == "\"é\\n\"", "a text read either way")
            #expect(try await evaluator.evaluate("IO.binread(:stdio, :line)").formatted == (typed ? "{:error, :collect_line}" : "\"€\\n\""))
            evaluator.close()
        }
    }

    /// Ctrl-D ends the read it answers, not every read after it (`io:read/1` reads ahead).
    @Test func endOfInputEndsOneRead() async throws {
        let input = ScriptedInput([.line("{ok,"), .endOfInput, .line("later")])
        try await withElixirEvaluator(input: input) { (evaluator: OneShotEvaluator) async throws in
            #expect(try await evaluator.evaluate(":io.read(~c\"term> \")").formatted.contains("error"))
            #expect(try await evaluator.evaluate("IO.gets(\"next? \")").formatted == "\"later\\n\"")
        }
    }

    /// Errors print exactly as IEx prints them: the same Elixir's `iex`, fed the same lines,
    /// gives the expected text (blamed FunctionClauseError arguments and clauses, "Did you mean",
    /// the arithmetic operands, and the frames IEx keeps).
    @Test func exceptionsPrintAsIExPrintsThem() async throws {
        let runtime = try elixirRuntime()
        let lines = ["List.first(1)", ":lists.nth(5, [1])", "Enum.mapp([1], & &1)", "Kernel.+(1, :a)",
                     "Enum.map([1], fn _ -> raise \"deep\" end)", "raise \"boom\"", "throw(:up)", "exit(:bye)",
                     "String.to_integer(\"x\")", "Foo.bar()"]
        // Every line fails, so IEx's prompt stays at 1: its output splits at each prompt.
        let iex = try runProcess(runtime.binDirectory + "/iex", [], stdin: lines.joined(separator: "\n") + "\n", timeout: 60)
        let printed = iex.stdout.components(separatedBy: "iex(1)> ").dropFirst().map {
            $0.trimmingCharacters(in: .newlines)
        }
        try #require(printed.count == lines.count + 1, "\(iex.stdout)")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let evaluator = oneShot(connection, .elixir)
        for (line, expected) in zip(lines, printed) {
            let ours = try await evaluator.evaluate(line)
            #expect(ours.isFailure && ours.formatted.trimmingCharacters(in: .newlines) == expected, "\(line):\n\(ours.formatted)\n-- iex:\n\(expected)")
        }
    }

    @Test func exceptionsAreFormattedByTheNode() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let evaluator = oneShot(connection, .elixir)
        let boom = try await evaluator.evaluate("raise \"boom\"")
        #expect(boom == .failure(formatted: "** (RuntimeError) boom"))
        // Raised further down, the stacktrace shows the frames the line went through, as IEx
        // prints them (the same node's IEx.Evaluator prunes the same way).
        let deep = try await evaluator.evaluate("Enum.map([1], fn _ -> raise \"deep\" end)")
        let lines = deep.formatted.split(separator: "\n").map(String.init)
        #expect(lines.first == "** (RuntimeError) deep", "\(deep)")
        #expect(lines.dropFirst().contains { $0.hasPrefix("    (elixir 1.14") && $0.contains("lib/enum.ex:") && $0.contains("Enum.") },
                "\(deep)")
        #expect(!lines.contains { $0.contains("Code.") || $0.contains("elixir_") || $0.contains("beamsh") }, "\(deep)")
        let badarg = try await evaluator.evaluate("String.to_integer(\"x\")")
        #expect(badarg.isFailure)
        #expect(badarg.formatted.hasPrefix("** (ArgumentError)"), "\(badarg)")
        #expect(try await evaluator.evaluate("throw(:up)") == .failure(formatted: "** (throw) :up"))
        #expect(try await evaluator.evaluate("exit(:bye)") == .failure(formatted: "** (exit) :bye"))
        // A linked process takes the line's worker down: said as IEx says its shell process's end.
        let linked = try await evaluator.evaluate("spawn_link(fn -> exit(:boom) end); Process.sleep(1000)")
        #expect(linked.isFailure && linked.formatted.hasPrefix("** (EXIT from #PID<0.")
                && linked.formatted.hasSuffix(">) shell process exited with reason: :boom"), "\(linked)")
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
        #expect(ContinuousClock.now - started < .seconds(10), "ended by the 0.5 s timeout")
        #expect(r.formatted.contains("timed out"), "\(r)")
        #expect(try await settledProcessCount(node, expected: before) <= before)
    }

    /// A lone evaluation (one `--eval`, one member of `cluster --eval`) sends back nothing it
    /// bound: here a value nested deeper than beamsh decodes, which made the whole reply fail
    /// when the binding came along. Quoted text with escapes reaches the node's parser.
    @Test func aLoneEvaluationSendsNoBindingBack() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let deep = "x = Enum.reduce(1..1_100_000, :x, fn _, a -> {a} end); 1"
        let elixir = oneShot(connection, .elixir)
        #expect(try await elixir.evaluateOnce(deep) == .value(formatted: "1", term: nil))
        #expect(try await elixir.evaluateOnce(#""a\tb""#).formatted == #""a\tb""#)
        #expect(try await elixir.evaluateOnce(#"byte_size("\u00e9")"#).formatted == "2")
        #expect(try await elixir.evaluateOnce(#"is_pid(Process.whereis(:"\x63ode_server"))"#).formatted == "true")
        elixir.close()
        let erlang = oneShot(connection, .erlang)
        let erlangDeep = "X = lists:foldl(fun(_, A) -> {A} end, x, lists:seq(1, 1100000)), 1."
        #expect(try await erlang.evaluateOnce(erlangDeep) == .value(formatted: "1", term: nil))
        erlang.close()
    }

    /// `--eval 'Node.list()'` alone: answered without asking the node for its language first,
    /// printed exactly as the evaluator prints it; a node without Elixir is found out by its
    /// missing `Kernel.inspect`, and a line that is not a read-only core command is left alone.
    @Test func aLoneCoreCommandIsAnsweredAsTheEvaluatorWould() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let options = ShellOptions(timeout: .seconds(10))
        for line in ["Node.list()", "Node.self()", ":erlang.system_info(:otp_release)", "Process.whereis(:code_server)", "Process.info(Process.whereis(:init), :registered_name)",
                     "Process.info(Process.whereis(:code_server), :status)", "System.version()"] {
            let evaluator = oneShot(connection, .elixir, options: options)
            let expected = try await evaluator.evaluateOnce(line, wantTerm: true)
            evaluator.close()
            let outcome = try await OneShotEvaluator.answerLoneCoreCommand(line, connection: connection, options: options, wantTerm: true)
            guard case .answered(let result) = outcome else {
                Issue.record("\(line): \(outcome)")
                continue
            }
            #expect(result == expected, "\(line)")
        }
        for line in ["x = 1", "IO.puts(:hi)", "System.stop()"] {
            let outcome = try await OneShotEvaluator.answerLoneCoreCommand(line, connection: connection, options: options, wantTerm: false)
            guard case .notAnswered = outcome else {
                Issue.record("\(line) should go to the evaluator: \(outcome)")
                continue
            }
        }
        // A failed call goes to the evaluator too, which says it as IEx does.
        guard case .callFailed = try await OneShotEvaluator.answerLoneCoreCommand("Process.info(:x)", connection: connection,
                                                                                 options: options, wantTerm: false)
        else { Issue.record("Process.info(:x) fails"); return }
        let evaluator = oneShot(connection, .elixir, options: options)
        let failed = try await evaluator.evaluateOnce("Process.info(:x)", coreAlreadyTried: true)
        evaluator.close()
        #expect(failed.isFailure && failed.formatted.contains("** (ArgumentError)"), "\(failed)")
        var forced = options
        forced.language = .erlang
        guard case .notAnswered = try await OneShotEvaluator.answerLoneCoreCommand("Node.list()", connection: connection, options: forced,
                                                                                  wantTerm: false)
        else { Issue.record("--erlang prints in Erlang: not answered here"); return }

        for runtime in try erlangRuntimes() where !runtime.hasElixir {
            let plain = try TestNode(runtime: runtime)
            defer { plain.stop() }
            let c = try await connect(plain)
            defer { c.closeNow() }
            guard case .nodeWithoutElixir = try await OneShotEvaluator.answerLoneCoreCommand("Node.list()", connection: c, options: options,
                                                                                            wantTerm: false)
            else { Issue.record("\(runtime): a node without Elixir"); continue }
        }
    }

    /// Which operators at the start of a line continue the expression before it is what Elixir's
    /// own parser says (`Code.string_to_quoted("a\n<op> b")` is one expression, not two); and a
    /// script runs such lines as one expression.
    @Test func aLineStartingWithABinaryOperatorContinuesTheExpression() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let starts = ["|>", "++", "--", "<>", "..", "and", "or", "in", "not in", "not  in", "when", "::", "*", "/", "==", "!=",
                      "===", "!==", "=~", "<", ">", "<=", ">=", "&&", "||", "&&&", "|||", "|", "=", "<-", "\\\\", ".", "+", "-",
                      "!", "not", "^", "&", "@", "~~~", "<<<", ">>>", "~>", "<~", "<~>", "<<~", "~>>", "<|>", "**", "+++", "---", ":", "<<", "->",
                      "=>", "inspect", "android", "order", "notin", "when_x", ":in", "-1", "?a"]
        let sources = starts.map { "<<\"a\\n\($0.replacingOccurrences(of: "\\", with: "\\\\")) b\">>" }.joined(separator: ", ")
        let reply = try node.eval("""
            [case 'Elixir.Code':string_to_quoted(S) of {ok, {'__block__', _, [_, _]}} -> 0; {ok, _} -> 1; _ -> 0 end \
            || S <- [\(sources)]].
            """)
        let continues = reply.filter { $0 == "0" || $0 == "1" }.map { $0 == "1" }
        try #require(continues.count == starts.count, "\(reply)")
        for (start, expected) in zip(starts, continues) {
            #expect(SourceScanner.continuesAnExpression("  \(start) b") == expected, "\(start): Elixir says \(expected)")
        }

        let connection = try await connect(node)
        defer { connection.closeNow() }
        var results: [String] = []
        let script = "[1]\n++ [2]\n\"a\"\n# between\n<> \"b\"\n1\n-1\nx = %{f: 3}\nx\n.f\n"
        let ok = try await oneShot(connection, .elixir).evaluateScript(script) { results.append($0.formatted) }
        #expect(ok && results == ["[1, 2]", "\"ab\"", "1", "-1", "%{f: 3}", "3"], "\(results)")
    }

    /// A script's expression that is certainly still open costs no round trip: a 12-line module
    /// is one question to the node's parser, not one per line; the results are as before.
    @Test func aScriptAsksTheNodeOncePerExpression() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let parses = try countCalls(on: node, to: "Elixir.Code", "string_to_quoted", 2)
        let script = """
            defmodule BeamshScriptCheck do
              def double(x) do
                x * 2
              end

              def pairs(list) do
                Enum.map(list, fn x ->
                  {x, double(x)}
                end)
              end
            end
            BeamshScriptCheck.pairs([1,
              2])
            :done
            """
        var results: [String] = []
        let ok = try await oneShot(connection, .elixir).evaluateScript(script) { results.append($0.formatted) }
        #expect(ok && results.count == 3 && results[1] == "[{1, 2}, {2, 4}]" && results[2] == ":done", "\(results)")
        let parsed = try parses()
        #expect(parsed == 3, "the node parsed \(parsed) times for 3 expressions")

        // A string over many lines is read across them: a 3,000-line heredoc (with brackets,
        // quotes and `end`s in its text) is one question when it closes, not one per line with
        // the whole text each time (quadratic work on the node: 2,000 lines took it 2.9 s).
        let body = (1...3_000).map { "  line \($0) with ( and \" and end" }.joined(separator: "\n")
        let long = "text = \"\"\"\n\(body)\n\"\"\"\nString.length(text)\nmulti = \"a\nb(\nc\"\nmulti <> ~s(x\n[y\n)\n"
        results = []
        let longOK = try await oneShot(connection, .elixir).evaluateScript(long) { results.append($0.formatted) }
        let length = body.count + 1
        #expect(longOK && results.count == 4 && results[1] == "\(length)" && results[3] == "\"a\\nb(\\ncx\\n[y\\n\"", "\(results.suffix(3))")
        let parsedLong = try parses() - parsed
        #expect(parsedLong == 4, "the node parsed \(parsedLong) times for 4 expressions")
    }

    /// One member's `cluster --eval`: a read-only core command calls its BIFs and compiles
    /// nothing; anything else runs in the console's evaluator, its output captured for the report
    /// (bounded) instead of going to the node's log; a slow line is killed when its time is up.
    @Test func fanoutEvaluatesLikeTheConsole() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let parses = try countCalls(on: node, to: "Elixir.Code", "string_to_quoted", 2)
        func run(_ line: String, timeout: Duration = .seconds(30)) async throws -> FanoutEvaluator.Evaluation {
            try await FanoutEvaluator.evaluate(line, on: connection, timeout: timeout, readOnly: false, allowStops: false)
        }
        let name = try await run("Node.self()")
        #expect(name.language == .elixir && name.result.formatted == ":\(node.name)" && name.output.isEmpty)
        #expect(try await run("Process.whereis(:nope)").result.formatted == "nil")
        #expect(try parses() == 0, "a read-only core command was compiled")

        let failed = try await run("Process.info(:no_pid)")
        #expect(failed.result.isFailure && failed.result.formatted.contains("ArgumentError"), "\(failed.result)")
        let printed = try await run("IO.puts(\"hello from #{node()}\"); 1 + 1")
        #expect(printed.result.formatted == "2" && printed.output == "hello from \(node.name)\n", "\(printed)")
        let loud = try await run("Enum.each(1..5_000, fn i -> IO.puts(\"line #{i}\") end)")
        #expect(FanoutEvaluator.outputLimit == 16 << 10, "the README says 16 KiB")
        #expect(loud.output.utf8.count < FanoutEvaluator.outputLimit + 100, "output is bounded")
        #expect(loud.output.hasSuffix("more bytes of output not shown)\n"), "\(loud.output.suffix(80))")
        // One write larger than the cap is kept in part, cut between characters.
        let big = try await run("IO.write(String.duplicate(\"é\", 9000)); :ok")
        #expect(big.output == String(repeating: "é", count: 8192) + "\n... (1616 more bytes of output not shown)\n",
                "\(big.output.suffix(80))")
        let stop = try await run("System.stop()")
        #expect(stop.result.isFailure && stop.result.formatted.contains("not evaluated"), "\(stop.result)")

        let before = try processCount(node)
        let started = ContinuousClock.now
        let slow = try await run(":timer.sleep(60_000)", timeout: .seconds(1))
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(slow.result.isFailure && slow.result.formatted.contains("timed out"), "\(slow.result)")
        #expect(try await settledProcessCount(node, expected: before) <= before, "the worker was killed")
    }

    /// `--eval` with one read-only core command: its BIFs are called directly (the node's
    /// `Code.string_to_quoted/2`, which every evaluation goes through, is never called), and the
    /// output is the evaluator's, Elixir's wrappers included (nil for a dead process,
    /// `{:registered_name, []}` for an unnamed one); a failing call is left to the evaluator.
    @Test func evaluateOnceReadsWithoutTheEvaluator() async throws {
        let node = try TestNode(runtime: try elixirRuntime(), elixir: true)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let evaluator = oneShot(connection, .elixir)
        let parses = try countCalls(on: node, to: "Elixir.Code", "string_to_quoted", 2)
        // A local pid's number, printed by the node as an integer: "0.N.0".
        func pidText(_ spawnExpression: String) throws -> String {
            let n = try node.eval("P = \(spawnExpression), timer:sleep(50), "
                                  + "list_to_integer(lists:nth(2, string:tokens(erlang:pid_to_list(P), \"<.>\"))).")
            return "0.\(n).0"
        }
        let unnamed = try pidText("spawn(fun() -> receive stop -> ok end end)")
        let dead = try pidText("spawn(fun() -> ok end)")
        let ours = connection.localName.description
        let expected = [
            "Node.list(:hidden)": "[:\(ours)]",
            "Node.self()": ":\(node.name)",
            "Process.info(pid(\"0.0.0\"), :registered_name)": "{:registered_name, :init}",
            "Process.info(pid(\"\(unnamed)\"), :registered_name)": "{:registered_name, []}",
            "Process.info(pid(\"\(dead)\"), :memory)": "nil",
            "Process.info(pid(\"\(dead)\"))": "nil",
            "Process.whereis(:nope)": "nil",
        ]
        for (expression, text) in expected {
            let before = try parses()
            let once = try await evaluator.evaluateOnce(expression).formatted
            #expect(once == text, "\(expression): \(once)")
            #expect(try parses() == before, "\(expression) went through the evaluator")
            // The evaluator prints the same.
            let evaluated = try await evaluator.evaluate(expression).formatted
            #expect(evaluated == text, "\(expression): \(evaluated)")
            #expect(try parses() > before, "the counter counts evaluations")
        }
        let term = try await evaluator.evaluateOnce("Node.self()", wantTerm: true)
        #expect(term == .value(formatted: ":\(node.name)", term: .atom(node.name)))
        // A failing call: the evaluator runs it and reports it as IEx does.
        let failed = try await evaluator.evaluateOnce("Process.info(:no_pid)")
        #expect(failed.formatted.hasPrefix("** (ArgumentError)"), "\(failed)")
        #expect(failed == (try await evaluator.evaluate("Process.info(:no_pid)")))
        evaluator.close()
    }
}
