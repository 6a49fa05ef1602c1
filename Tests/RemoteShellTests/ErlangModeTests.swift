// Erlang syntax on OTP 25 and OTP 28 nodes without Elixir: bindings, io:format, errors,
// io:read (get_until), and the core commands in Elixir syntax translated to BIFs.

import BeamTestSupport
import ErlangDistribution
import ErlangTerm
import Foundation
@testable import RemoteShell
import Testing

@Suite(.serialized, .ownThreads) struct ErlangModeTests {
    @Test func bindingsIoFormatAndErrorsOnBothRuntimes() async throws {
        for runtime in try erlangRuntimes() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let connection = try await connect(node)
            defer { connection.closeNow() }
            let output = OutputBuffer()
            let evaluator = try await OneShotEvaluator.make(connection: connection, output: output)
            #expect(try await evaluator.evaluate("X = 20.") == .value(formatted: "20", term: nil), "\(runtime)")
            #expect(evaluator.language == .erlang, "\(runtime)")
            #expect(try await evaluator.evaluate("X + 22.").formatted == "42", "\(runtime)")
            // `--eval 'X + 1'`: the whole text is there, so the last full stop may be left out.
            #expect(try await evaluator.evaluate(" X + 1 \n").formatted == "21", "\(runtime)")
            #expect(try await evaluator.evaluate("Y = 2, Y * X").formatted == "40", "\(runtime)")
            #expect(try await evaluator.evaluate("[1,").formatted.hasPrefix("* "), "still a syntax error: \(runtime)")
            // {put_chars, unicode, io_lib, format, [...]}: formatted by the node, in order.
            let r = try await evaluator.evaluate("io:format(\"a ~p~n\", [X]), io:put_chars(\"b\\n\"), done.")
            #expect(output.text == "a 20\nb\n", "\(runtime)")
            #expect(r.formatted == "done")
            let error = try await evaluator.evaluate("binary_to_atom(1).")
            #expect(error.formatted.hasPrefix("** exception error: bad argument"), "\(runtime): \(error)")
            #expect(try await evaluator.evaluate("throw(up).").formatted.hasPrefix("** exception throw: up"))
            #expect(try await evaluator.evaluate("foo(.").formatted.hasPrefix("* "), "\(runtime)")
            #expect(try await evaluator.evaluate("X.").formatted == "20", "the session goes on")
            // Shell commands from shell_default: pid/3.
            #expect(try await evaluator.evaluate("is_pid(pid(0, 1, 0)).").formatted == "true", "\(runtime)")
            // A pasted #PID<...> literal.
            #expect(try await evaluator.evaluate("is_pid(#PID<0.1.0>).").formatted == "true", "\(runtime)")
            // Several expressions on one line run in turn, as in the shell.
            #expect(try await evaluator.evaluate("A = 1. B = A + 1.").formatted == "1\n2", "\(runtime)")
            #expect(try await evaluator.evaluate("B.").formatted == "2")
            let partial = try await evaluator.evaluate("C = 5. 1 / 0. D = 6.")
            #expect(partial.isFailure && partial.formatted.hasPrefix("5\n** exception error: an error occurred when evaluating an arithmetic expression"),
                    "\(runtime): \(partial)")
            #expect(try await evaluator.evaluate("C.").formatted == "5", "what ran before the failure stays bound")
            #expect(try await evaluator.evaluate("D.").formatted.contains("variable 'D' is unbound"), "what came after did not run")
        }
    }

    /// A one-shot does not ask the node's language before its first evaluation: that runs as
    /// Elixir in a worker that first looks for Elixir, and on a node without it ends quietly (no
    /// error report, nothing left behind), and the line runs as Erlang, once.
    @Test func theFirstEvaluationFindsTheLanguage() async throws {
        for runtime in try erlangRuntimes() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let connection = try await connect(node)
            defer { connection.closeNow() }
            let expected = try node.eval("erlang:crc32(<<\"beamsh\">>).")
            let runs = try countCalls(on: node, to: "erlang", "crc32", 1)
            let before = try processCount(node)
            let evaluator = try await OneShotEvaluator.make(connection: connection, output: OutputBuffer())
            #expect(evaluator.knownLanguage == nil, "\(runtime): assumed, not asked")
            let crc = try await evaluator.evaluateOnce("erlang:crc32(<<\"beamsh\">>).")
            #expect(crc.formatted == expected, "\(runtime): \(crc)")
            #expect(evaluator.knownLanguage == .erlang, "\(runtime)")
            #expect(try runs() == 1, "\(runtime): the line ran once, as Erlang")
            // A line that stops an Erlang node and is no stop in Elixir: the worker that checks for
            // Elixir runs nothing, and the Erlang stop guard judges the line before it would run.
            let next = try await OneShotEvaluator.make(connection: connection, output: OutputBuffer())
            let halt = try await next.evaluateOnce("halt().")
            #expect(halt.isFailure && halt.formatted.contains("not evaluated: halt()"), "\(runtime): \(halt)")
            #expect(next.knownLanguage == .erlang, "\(runtime)")
            evaluator.close()
            next.close()
            #expect(try await settledProcessCount(node, expected: before) <= before, "\(runtime): nothing lingers")
            #expect(!node.printed.contains("Error in process"), "\(runtime): \(node.printed)")
        }
    }

    /// While the language is only assumed: Ctrl-C before the line runs as Erlang ends it unrun
    /// (the interrupt outlives the switch to Erlang), and a blank first line leaves the
    /// question open instead of settling on Elixir.
    @Test func theAssumedLanguageKeepsInterruptsAndBlankLinesDecideNothing() async throws {
        let runtime = try erlangRuntimes()[0]
        let node = try TestNode(runtime: runtime)
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let runs = try countCalls(on: node, to: "erlang", "crc32", 1)
        let script = try await OneShotEvaluator.make(connection: connection, output: OutputBuffer())
        script.interrupt()
        var results: [EvaluationResult] = []
        let finished = try await script.evaluateScript("erlang:crc32(<<\"a\">>).\nerlang:crc32(<<\"b\">>).\n") { results.append($0) }
        #expect(!finished && results.count == 1 && results[0].isFailure, "\(results)")
        #expect(script.knownLanguage == .erlang)
        script.close()
        let once = try await OneShotEvaluator.make(connection: connection, output: OutputBuffer())
        once.interrupt()
        let interrupted = try await once.evaluateOnce("erlang:crc32(<<\"c\">>).")
        #expect(interrupted.isFailure, "\(interrupted)")
        once.close()
        #expect(try runs() == 0, "nothing ran after Ctrl-C")

        let blank = try await OneShotEvaluator.make(connection: connection, output: OutputBuffer())
        blank.keepsBindingsOnNode = true
        #expect(try await blank.evaluate("").isNotShown)
        #expect(blank.knownLanguage == nil, "a blank line tells nothing")
        #expect(try await blank.evaluate("X = 1.").formatted == "1")
        #expect(try await blank.evaluate("X + 1.").formatted == "2")
        #expect(blank.knownLanguage == .erlang)
        blank.close()
    }

    /// Exceptions print exactly as the Erlang shell prints them: the same runtime's `erl`, fed
    /// the same lines, gives the expected text (its indentation, operands, and the frames kept).
    /// Unbound variables and syntax errors are reported as the shell reports them too.
    @Test func exceptionsPrintAsTheErlangShellPrintsThem() async throws {
        let lines = ["atom_to_list(1).", "lists:map(fun(X) -> X + a end, [1]).", "erlang:error(foo).", "throw(x).",
                     "exit(y).", "lists:nth(5, [1]).", "1/0.", "nomod:f(1).", "erlang:error({badmatch, [1,2,3]}).",
                     // Checked before evaluation, as the shell checks: location and message.
                     "X.", "Y = 1, Y + Z.", "fun() -> W end.", "foo(."]
        try await forEachErlangRuntime { runtime, _, _, evaluator in
            for (line, expected) in zip(lines, try erlangShellPrints(lines, runtime)) {
                let ours = try await evaluator.evaluate(line)
                #expect(ours.isFailure && ours.formatted == expected, "\(runtime): \(line)\n\(ours.formatted)\n-- erl:\n\(expected)")
            }
        }
    }

    /// `v(N)` gives query N's value as the shell numbers queries (every expression run counts, a
    /// query `v/1` cannot answer does not): the same runtime's `erl`, fed the same lines, prints
    /// the same. Several expressions on one line see each other's values; a failed query's value
    /// is what `catch` makes of it; the console keeps the history between lines.
    @Test func vOfNAsTheErlangShellNumbersQueries() async throws {
        let lines = ["A = 5.", "A + 1.", "v(1).", "v(-1).", "v(99).", "1/0.", "v(2) * 10.", "v(-1) + 1.", "v(0)."]
        try await forEachErlangRuntime { runtime, _, _, evaluator in
            for (line, expected) in zip(lines, try erlangShellPrints(lines, runtime)) {
                let ours = try await evaluator.evaluate(line)
                #expect(ours.formatted == expected, "\(runtime): \(line)\n\(ours.formatted)\n-- erl:\n\(expected)")
            }
            // Query 5 failed: its value is the caught exit.
            #expect(try await evaluator.evaluate("element(1, v(5)).").formatted == "'EXIT'", "\(runtime)")
            #expect(try await evaluator.evaluate("B = 2. v(-1) + B.").formatted == "2\n4", "\(runtime)")
        }
        // At the console: the prompt's number is the query's.
        let (output, lastPrompt) = try await erlangConsole(["X = 7. Y = 8.", "v(2) - v(1)."])
        #expect(output == "7\n8\n1\n", "\(output)")
        #expect(lastPrompt.hasSuffix("4>"), "\(lastPrompt)")
    }

    /// Results print as the Erlang shell prints them: terms 30 levels deep at most, lines of
    /// at most 60 characters (the same runtime's `erl`, fed the same lines, prints the same).
    @Test func resultsPrintAsTheErlangShellPrintsThem() async throws {
        let lines = ["lists:seq(1, 60).", "{a, [1,2,3], <<\"bin\">>, \"str\", 1.5, -7}.", "lists:duplicate(12, {abc, \"def\", 1.0e10}).",
                     "lists:foldl(fun(X, A) -> [A, X] end, [], lists:seq(1, 40)).", "#{k => lists:seq(1, 40), \"s\" => <<1,2,3>>}."]
        try await forEachErlangRuntime { runtime, _, _, evaluator in
            for (line, expected) in zip(lines, try erlangShellPrints(lines, runtime)) {
                let ours = try await evaluator.evaluate(line)
                #expect(ours.formatted == expected, "\(runtime): \(line)\n\(ours.formatted)\n-- erl:\n\(expected)")
            }
        }
    }

    /// `v(N)` is expanded before the expression runs, as the shell does: a `catch` cannot hide a
    /// query that is not there (nothing runs), the value reaches a fun run elsewhere, and the
    /// evaluation's process dictionary stays the user's.
    @Test func vOfNIsExpandedBeforeTheExpressionRuns() async throws {
        try await forEachErlangRuntime { runtime, _, _, evaluator in
            #expect(try await evaluator.evaluate("{x, y}.").formatted == "{x,y}")
            let hidden = try await evaluator.evaluate("io:format(\"ran~n\"), catch v(99).")
            #expect(hidden.isFailure && hidden.formatted == "* 99: command not found", "\(runtime): \(hidden)")
            #expect(try await evaluator.evaluate("get().").formatted == "[]", "\(runtime)")
            #expect(try await evaluator.evaluate("P = self(), spawn(fun() -> P ! v(1) end), receive M -> M end.").formatted == "{x,y}",
                    "\(runtime)")
            #expect(try await evaluator.evaluate("v(1 + 0).").formatted == "{x,y}", "a constant expression")
            let unbound = try await evaluator.evaluate("v(Q).")
            #expect(unbound.formatted == "* Q: command not found", "\(runtime): \(unbound)")
            // b() is a query too; its value is ok.
            #expect(try await evaluator.evaluate("b().").formatted == "ok", "\(runtime)")
            #expect(try await evaluator.evaluate("v(-1).").formatted == "ok", "\(runtime)")
        }
    }

    /// At the console a line goes on after a failing expression, as the shell reads on: every
    /// expression of it runs and is numbered.
    /// A crash of a process the session spawned is reported as the node's logger words it, as
    /// `erl -remsh` shows it (OTP's logger forwards it to the group leader's node).
    @Test func crashReportsOfTheSessionsProcessesAreShown() async throws {
        for runtime in try erlangRuntimes() {
            let (output, _) = try await erlangConsole(["spawn(fun() -> error(qa_crash) end), timer:sleep(300)."], runtime: runtime)
            #expect(output.contains(try Regex("\n[0-9:.]{12} \\[error\\] Error in process <[0-9.]+> on node [^ ]+ with exit value:")),
                    "\(runtime): \(output)")
            #expect(output.contains("{qa_crash,"), "\(runtime): \(output)")
        }
    }

    /// The node formats a log event through `rex`. When rex is stuck the evaluation is not held
    /// up for every event: after one wait the events are shown as they came, and said so; a
    /// process of the session that logs in a loop does not hold up the evaluation's answer.
    @Test func logEventsDoNotHoldUpTheSessionWhenTheNodeCannotFormatThem() async throws {
        for runtime in try erlangRuntimes() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let connection = try await connect(node)
            defer { connection.closeNow() }
            let output = OutputBuffer()
            let evaluator = oneShot(connection, .erlang, output: output, options: ShellOptions(timeout: .seconds(20)))
            // A flood first, rex answering: 900 events from a process of the session (fewer
            // than the 1,000 queued at which the node's own logger_proxy starts dropping them).
            let clock = ContinuousClock()
            var started = clock.now
            let flood = try await evaluator.evaluate(
                "spawn(fun() -> [logger:notice(\"qa-flood ~p\", [N]) || N <- lists:seq(1, 900)] end), timer:sleep(500), flooded.")
            #expect(flood == .value(formatted: "flooded", term: nil), "\(runtime): \(flood)")
            #expect(clock.now - started < .seconds(15), "\(runtime): \(clock.now - started)")
            #expect(output.text.contains("log events are shown unformatted until they catch up"), "\(runtime)")
            // Nothing lost: the last event is there once the queue is read (by the next lines).
            let deadline = clock.now + .seconds(20)
            while !output.text.contains("qa-flood 900\n"), clock.now < deadline {
                _ = try await evaluator.evaluate("ok.")
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(output.text.contains("qa-flood 900\n"), "\(runtime)")
            #expect(output.text.components(separatedBy: "] qa-flood ").count == 901, "every event shown once: \(runtime)")

            #expect(try node.eval("sys:suspend(rex).") == "ok")
            _ = output.take()
            started = clock.now
            let r = try await evaluator.evaluate(
                "logger:error(\"qa-one ~p\", [1]), logger:error(\"qa-two ~p\", [2]), logger:error(#{qa => three}), "
                + "[logger:error(\"qa-more ~p\", [N]) || N <- [4, 5, 6]], timer:sleep(200), done.")
            #expect(r == .value(formatted: "done", term: nil), "\(runtime): \(r)")
            // Six events to format: a wait for each would take 12 s.
            #expect(clock.now - started < .seconds(8), "one wait of 2 s, not one per event: \(runtime) \(clock.now - started)")
            let text = output.text
            #expect(text.contains("the node did not format a log event within 2.0 s"), "\(runtime): \(text)")
            #expect(text.contains("[error] qa-one 1\n") && text.contains("[error] qa-two 2\n") && text.contains("[error] #{qa => three}\n")
                    && text.contains("[error] qa-more 6\n"), "\(runtime): \(text)")
            // A plain message needs no formatting by the node.
            _ = output.take()
            _ = try await evaluator.evaluate("logger:error(\"qa-plain\"), timer:sleep(200).")
            #expect(output.text.contains("[error] qa-plain\n") && !output.text.contains("format"), "\(runtime): \(output.text)")
        }
    }

    /// Ctrl-D on a continuation line drops the unfinished expression and prompts again; it
    /// does not leave with it (a second Ctrl-D does).
    @Test func endOfInputInTheMiddleOfAnExpressionDropsIt() async throws {
        let (output, lastPrompt) = try await erlangConsole(["1.", "{a,"])
        #expect(output == "1\n* incomplete expression dropped (Ctrl-D)\n", "\(output)")
        #expect(lastPrompt.hasSuffix("2>") && !lastPrompt.hasPrefix("..."), "\(lastPrompt)")
    }

    @Test func theConsoleRunsTheRestOfALineAfterAFailure() async throws {
        let (output, lastPrompt) = try await erlangConsole(["1. foo:bar(). 3.", "v(3) + v(1). 1. v(77). 2."])
        #expect(output == "1\n** exception error: undefined function foo:bar/0\n3\n4\n1\n* 77: command not found\n2\n", "\(output)")
        #expect(lastPrompt.hasSuffix("7>"), "\(lastPrompt)")
    }

    /// Runs `lines` at an Erlang console on a fresh OTP 25 node: what it printed, and its last
    /// prompt (the one the end of input answered).
    private func erlangConsole(_ lines: [String], runtime: ErlangRuntime? = nil) async throws -> (output: String, lastPrompt: String) {
        let node = try TestNode(runtime: try runtime ?? erlangRuntimes()[0])
        defer { node.stop() }
        let connection = try await connect(node)
        defer { connection.closeNow() }
        let output = OutputBuffer()
        let input = ScriptedInput(lines: lines)
        try await Console(connection: connection, language: .erlang, options: ShellOptions(), input: input, output: output).run()
        return (output.text, input.promptsSeen.last?.trimmingCharacters(in: .whitespaces) ?? "")
    }

    /// What the runtime's own Erlang shell prints for each of `lines` (one expression each), fed
    /// them on standard input: the text between one prompt (`1> `) and the next.
    private func erlangShellPrints(_ lines: [String], _ runtime: ErlangRuntime) throws -> [String] {
        let shell = try runProcess(runtime.erl, [], stdin: lines.joined(separator: "\n") + "\n", timeout: 60)
        let printed = shell.stdout.split(separator: try Regex("[0-9]+> ")).dropFirst().prefix(lines.count)
            .map { String($0).trimmingCharacters(in: .newlines) }
        try #require(printed.count == lines.count, "\(runtime): \(shell.stdout)")
        return printed
    }

    /// The shell's binding commands act on the session's binding wherever they are in an
    /// expression, as in the shell (`f(V). V = 3.`, `f(Q), b().`, V bound or not); `b()` prints as the shell
    /// does, each value cut at depth 30; `rp/1` prints a term whole. What needs the shell process
    /// (its history, records and functions defined at the prompt) is said to be not supported.
    @Test func shellBindingCommandsOnBothRuntimes() async throws {
        for runtime in try erlangRuntimes() {
            // (`f(V)` forgets V whether it is bound or not: the shell does not call it unbound.)
            let asInTheShell = ["X = 1, Y = {a, 2}, L = lists:seq(1, 100).", "b().", "rp(lists:seq(1, 40)).",
                                "f(Nobody), Nobody = 3, f(Nobody), [f(Nobody)]."]
            let (output, _) = try await erlangConsole(asInTheShell + [
                "f(X). X = 3.",
                "f(Y), b().",
                "f(), L2 = [x], b().",
                "Y.",
                "P = <0.0.0>, is_process_alive(P) andalso is_pid(<0.1.0>).",
                "e(1).",
                "add(A, B) -> A + B.",
                "-record(pt, {x = 0, y = 0}).",
            ], runtime: runtime)
            let shell = try erlangShellPrints(asInTheShell, runtime).joined(separator: "\n") + "\n"
            #expect(output.hasPrefix(shell), "\(runtime): \(output)\n-- erl:\n\(shell)")
            let blocks = output.components(separatedBy: "\n")
            #expect(output.dropFirst(shell.count).hasPrefix("""
                ok
                3
                L = [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,
                     23,24,25,26,27,28,29|...]
                X = 3
                ok
                L2 = [x]
                ok
                * 1:1: variable 'Y' is unbound
                true
                ** e/N belongs to the Erlang shell process
                """), "\(runtime): \(output)")
            #expect(blocks.contains { $0.hasPrefix("** add/N: functions defined at the prompt (OTP 26+)") }, "\(runtime): \(output)")
            #expect(blocks.contains { $0.hasPrefix("** -record(...): definitions at the prompt (OTP 26+)") }, "\(runtime): \(output)")
        }
    }

    /// An Elixir call on an Erlang-only node is named for what it is, at once: not a syntax
    /// error, and not a continuation prompt waiting for a full stop.
    @Test func anElixirCallSaysItIsElixir() async throws {
        try await forEachErlangRuntime { runtime, _, _, evaluator in
            let result = try await evaluator.evaluate("Enum.count([1])")
            #expect(result.isFailure && result.formatted.contains("Enum.count(...) is Elixir syntax")
                    && result.formatted.contains("in Erlang it is 'Elixir.Enum':count(...)"), "\(runtime): \(result)")
            #expect(try await evaluator.evaluate("Node.list()").formatted == "[]", "\(runtime): core commands still run")
            #expect(try await evaluator.evaluate("Node.list().").formatted == "[]", "\(runtime): with an Erlang full stop too")
        }
    }

    /// `i()` past a page (OTP 28's pager asks `more (y/n)?` every 100 lines) with nobody to
    /// answer: the pager gets its default, yes, and the whole list prints, on both runtimes.
    @Test func thePagerWithNobodyToAnswerPrintsEverything() async throws {
        try await forEachErlangRuntime { runtime, node, connection, _ in
            #expect(try node.eval("[spawn(fun() -> timer:sleep(600000) end) || _ <- lists:seq(1, 250)], ok.") == "ok")
            let output = OutputBuffer()
            let result = try await oneShot(connection, .erlang, output: output).evaluate("i().", timeout: .seconds(30))
            #expect(result.formatted == "ok", "\(runtime): \(result)")
            #expect(output.text.contains("Total"), "\(runtime): \(output.text.suffix(300))")
        }
    }

    @Test func erlangConsolePromptAndContinuation() async throws {
        for runtime in try erlangRuntimes() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let connection = try await connect(node)
            defer { connection.closeNow() }
            let before = try processCount(node)
            let output = OutputBuffer()
            // "put(k, ...)" counts evaluations: a line that continues must not run its first part twice.
            let input = ScriptedInput(lines: ["A = [1,", "2, 3].", "lists:sum(A).", "{ok, T} = io:read('term> ').", "{x, 1}.", "T.",
                                              "N = put(k, 1 + case get(k) of undefined -> 0; K -> K end). M =", "N. get(k).",
                                              "foo(."])
            let console = Console(connection: connection, language: .erlang, options: ShellOptions(), input: input, output: output)
            try await console.run()
            let n = node.name
            // The prompt number counts expressions run, as the shell's does: three on one line
            // advance it by three; a syntax error runs none.
            #expect(input.promptsSeen == ["(\(n))1> ", "...(\(n))1> ", "(\(n))2> ", "(\(n))3> ", "term> ", "(\(n))4> ", "(\(n))5> ",
                                          "...(\(n))5> ", "(\(n))8> ", "(\(n))8> "],
                    "\(runtime)")
            #expect(output.text.hasPrefix("[1,2,3]\n6\n{ok,{x,1}}\n{x,1}\nundefined\nundefined\n1\n* "), "\(runtime): \(output.text)")
            // Every input's lines count from 1, as in the shell, whatever the prompt's number (8 here).
            #expect(output.text.hasSuffix("* 1:5: syntax error before: '.'\n"), "\(runtime): \(output.text)")
            #expect(try await settledProcessCount(node, expected: before) <= before, "\(runtime)")
        }
    }

    /// Elixir syntax on an Erlang node is for the core set only: anything else (a stop, a
    /// sleep) is refused with the Erlang form to type, so nothing escapes the worker's Ctrl-C and
    /// timeout or the Erlang stop guard; Erlang literals stay Erlang; an `--eval` argument may
    /// end in a comment or leave out its full stop.
    @Test func elixirSyntaxOnAnErlangNodeRunsOnlyTheCoreSet() async throws {
        try await forEachErlangRuntime { runtime, node, _, evaluator in
            for line in [":init.stop()", ":erlang.halt()", ":\"init\".stop()"] {
                let r = try await evaluator.evaluate(line)
                #expect(r.isFailure && r.formatted.contains("Erlang mode") && r.formatted.contains("in Erlang syntax"), "\(runtime) \(line): \(r)")
            }
            let sleep = try await evaluator.evaluate(":timer.sleep(:infinity)")
            #expect(sleep.formatted.contains("write timer:sleep/1 in Erlang syntax, as timer:sleep(...)"), "\(runtime): \(sleep)")
            // A read that copies unbounded state is no quick read either: it goes to the worker.
            let queue = try await evaluator.evaluate("Process.info(Process.whereis(:init), :messages)")
            #expect(queue.isFailure && queue.formatted.contains("write erlang:process_info/2 in Erlang syntax"), "\(runtime): \(queue)")
            let elixirModule = try await evaluator.evaluate(":\"Elixir.Enum\".count(Node.list())")
            #expect(elixirModule.formatted.contains("as 'Elixir.Enum':count(...)"), "\(runtime): \(elixirModule)")
            #expect(try node.isRunning && node.eval("ok.") == "ok", "\(runtime): the node still runs")
            #expect(try await evaluator.evaluate("\"str\"").formatted == "\"str\"", "\(runtime)")
            #expect(try await evaluator.evaluate("'Foo'").formatted == "'Foo'", "\(runtime)")
            #expect(try await evaluator.evaluate("'a'").formatted == "a", "\(runtime)")
            #expect(try await evaluator.evaluate("erlang:node() % which node").formatted == node.name, "\(runtime)")
            #expect(try await evaluator.evaluate("C = $.").formatted == "46", "\(runtime)")
            // The shell's own commands too.
            #expect(try await evaluator.evaluate("Bound = 5").formatted == "5", "\(runtime)")
            #expect(try await evaluator.evaluate("b()").formatted == "ok", "\(runtime)")
            #expect(try await evaluator.evaluate("f(Bound)").formatted == "ok", "\(runtime)")
            let open = try await evaluator.evaluate("1 +")
            #expect(open.formatted == "* 1:4: incomplete expression", "on line 1, at the end of what was typed: \(runtime): \(open)")
            let ownStop = try await evaluator.evaluate("foo(.")
            #expect(ownStop.formatted == "* 1:5: syntax error before: '.'", "a full stop the user typed: \(runtime): \(ownStop)")
            #expect(try await evaluator.evaluate(" % nothing but a comment ") == .notShown, "\(runtime)")
        }
    }

    @Test func coreCommandsOnAnErlangOnlyNode() async throws {
        try await forEachErlangRuntime { runtime, node, connection, evaluator in
            let ours = connection.localName.description
            #expect(try await evaluator.evaluate("Node.list").formatted == "[]", "\(runtime)")
            #expect(try await evaluator.evaluate("Node.list(:hidden)").formatted == "[\(ours)]", "\(runtime)")
            #expect(try await evaluator.evaluate("Node.list(:connected)").formatted == "[\(ours)]", "\(runtime)")
            #expect(try await evaluator.evaluate("Node.self()").formatted == "\(node.name)", "\(runtime)")
            #expect(try await evaluator.evaluate("Node.get_cookie").formatted == node.cookie, "\(runtime)")
            let list = try await evaluator.evaluate("Process.list", wantTerm: true)
            guard case .value(_, let term?) = list, let pids = term.listElements else { Issue.record("\(list)"); return }
            #expect(pids.count > 10)
            // init is <0.0.0>: as pid("0.0.0"), pid(0, 0, 0) and #PID<0.0.0>.
            #expect(try node.eval("whereis(init) =:= list_to_pid(\"<0.0.0>\").") == "true")
            let inner = "0.0.0"
            let parts = ["0", "0", "0"]
            for form in ["pid(\"\(inner)\")", "pid(\(parts[0]), \(parts[1]), \(parts[2]))", "#PID<\(inner)>", "Process.whereis(:init)"] {
                let r = try await evaluator.evaluate("Process.info(\(form), :registered_name)")
                #expect(r.formatted == "{registered_name,init}", "\(runtime) \(form): \(r)")
            }
            let info = try await evaluator.evaluate("Process.info(Process.whereis(:init))")
            #expect(info.formatted.contains("{registered_name,init}"), "\(runtime)")
            #expect(try await evaluator.evaluate("Process.whereis(:nope)").formatted == "nil")
            let memory = try await evaluator.evaluate(":erlang.memory()", wantTerm: true)
            #expect(memory.formatted.contains("{total,"), "\(runtime)")
            let release = try await evaluator.evaluate(":erlang.system_info(:otp_release)")
            #expect(release.formatted == (runtime.label.contains("28") ? "\"28\"" : "\"25\""), "\(runtime)")
            // Erlang syntax for the same on the same node.
            #expect(try await evaluator.evaluate("nodes(hidden).").formatted == "[\(ours)]", "\(runtime)")
        }
    }

    @Test func readOnlyInErlangSyntax() async throws {
        for runtime in try erlangRuntimes() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let connection = try await connect(node)
            defer { connection.closeNow() }
            var options = ShellOptions(timeout: .seconds(30))
            options.readOnly = true
            let evaluator = oneShot(connection, .erlang, options: options)
            let release = runtime.label.split(separator: " ").dropFirst().first.map(String.init) ?? "?"  // "OTP 25 (Debian)"
            #expect(try await evaluator.evaluate("erlang:system_info(otp_release).").formatted == "\"\(release)\"")
            #expect(try await evaluator.evaluate("process_info(whereis(init), status).").formatted == "{status,waiting}")
            let refused = try await evaluator.evaluate("register(beamsh_marker, self()).")
            #expect(refused.formatted.contains("read-only"))
            #expect(try await evaluator.evaluate("X = 1.").formatted.contains("read-only"))
            // Refused before reaching the node: a write that outlives the evaluation never happens,
            // while the same line without --read-only does write it.
            let write = "persistent_term:put(beamsh_marker, 1)."
            #expect(try await evaluator.evaluate(write).formatted.contains("read-only"))
            #expect(try node.eval("persistent_term:get(beamsh_marker, none).") == "none")
            #expect(try await oneShot(connection, .erlang).evaluate(write).formatted == "ok")
            #expect(try node.eval("persistent_term:get(beamsh_marker, none).") == "1")
            // A stop is a read-only refusal, not the stop guard's (whose --yes would not help here).
            let halt = try await evaluator.evaluate("halt().")
            #expect(halt.formatted.contains("read-only") && !halt.formatted.contains("--yes"), "\(runtime): \(halt)")
        }
    }

    @Test func stopGuardInErlangSyntax() async throws {
        for runtime in try erlangRuntimes() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let connection = try await connect(node)
            defer { connection.closeNow() }
            let evaluator = oneShot(connection, .erlang)
            for line in ["q().", "halt().", "init:stop().", "erlang:halt(0)."] {
                let r = try await evaluator.evaluate(line)
                #expect(r.isFailure && r.formatted.contains(node.name), "\(line): \(r)")
            }
            #expect(node.isRunning)
            // At the prompt, over several lines: a stop after a string that spans them is asked
            // about, once the expression ends; one named in a string's text is not.
            let (output, askedAtLine) = try await consoleAskingAboutStops(connection, .erlang, lines: [
                "S = \"a", "\", init:stop().", "T = \"multi", "line init:stop() inside\".",
                "case nodes() of", "  [nope] -> init:stop();", "  _ -> not_stopped", "end.", "T."])
            #expect(askedAtLine == [2, 8], "\(runtime): \(output)")
            #expect(output.contains("\"multi\\nline init:stop() inside\""), "\(output)")
            #expect(!output.contains("not_stopped"), "\(output)")
            #expect(node.isRunning)
        }
    }
}
