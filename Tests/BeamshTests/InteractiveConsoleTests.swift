// The real binary in a pseudo-terminal against a real Elixir node: what an operator types.

import BeamTestSupport
import Testing

@Suite(.serialized, .ownThreads) struct InteractiveConsoleTests {
    @Test func anOperatorSession() async throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        let before = try node.eval("erlang:system_info(process_count).")
        let home = NSTemporaryDirectoryPath() + "/beamsh-home-\(TestNode.randomToken(6))"
        let terminal = try Terminal("\(BeamshBinary.path) \(node.name)",
                                    environment: ["RELEASE_COOKIE": node.cookie, "XDG_STATE_HOME": home, "HOME": home])
        defer { terminal.close() }

        // Banner and prompt.
        // (capture-pane drops trailing blanks, so prompts are matched without their space)
        let banner = try await terminal.waitFor("iex(\(node.name))1>")
        #expect(banner.contains("OTP 25") && banner.contains("Elixir 1.14") && banner.contains("hidden"))

        // Bindings carry over; the counter advances.
        try terminal.enter("x = 41")
        try await terminal.waitFor("iex(\(node.name))2>")
        try terminal.enter("x + 1")
        #expect(try await terminal.waitFor("iex(\(node.name))3>").contains("\n42\n"))

        // Tab completes from the node; a second Tab lists the arities, as IEx does.
        try terminal.type("Enum.redu")
        try terminal.press("Tab")
        try await terminal.waitFor("Enum.reduce")
        try terminal.press("Tab")
        let listed = try await terminal.waitFor("reduce_while/3")
        #expect(listed.contains("reduce/2") && listed.contains("reduce/3"), "\(listed)")
        try terminal.press("C-u")

        // Ctrl-C interrupts a long evaluation within a second; the binding survives.
        try terminal.enter(":timer.sleep(:infinity)")
        // Ctrl-C once the sleep runs on the node: one pressed before the evaluation starts is lost.
        try waitUntil("the sleep runs on the node") {
            try node.eval("length([P || P <- processes(), process_info(P, current_function) == {current_function, {timer, sleep, 1}}]).") != "0"
        }
        try terminal.press("C-c")
        try await terminal.waitFor("interrupted", timeout: 5)  // the one-second bound is ConsoleTests' ctrlCReturnsWithinASecond
        try await terminal.waitFor("iex(\(node.name))3>", count: 2)
        try terminal.enter("x")
        try await terminal.waitFor("iex(\(node.name))4>")

        // A multi-line expression gets the continuation prompt.
        try terminal.enter("case x do")
        try await terminal.waitFor("...(\(node.name))4>")
        try terminal.enter("41 -> :matched")
        try await terminal.waitFor("...(\(node.name))4>", count: 2)
        try terminal.enter("end")
        #expect(try await terminal.waitFor("iex(\(node.name))5>").contains(":matched"))

        // IO.gets prompts here and returns what is typed.
        try terminal.enter("IO.gets(\"name? \")")
        try await terminal.waitFor("name?")
        try terminal.enter("bob")
        try await terminal.waitFor("\"bob\\n\"")
        try await terminal.waitFor("iex(\(node.name))6>")
        // What was typed beyond a read is dropped with its evaluation: a later read (a
        // confirmation) asks again instead of taking it unseen.
        try terminal.enter(":file.read(:standard_io, 3)")
        try terminal.enter("abcdef")
        try await terminal.waitFor("{:ok, \"abc\"}")
        try terminal.enter("IO.gets(\"sure? \")")
        try await terminal.waitFor("sure?")
        try terminal.enter("yes")
        try await terminal.waitFor("\"yes\\n\"")
        try await terminal.waitFor("iex(\(node.name))8>")
        let screen = try terminal.screen()
        #expect(!screen.contains("\"def"), "\(screen)")

        // Ctrl-C at the prompt clears the line; Ctrl-D leaves; the node keeps running.
        try terminal.type("half a line")
        try terminal.press("C-c")
        try await terminal.waitFor("iex(\(node.name))8>", count: 2)
        try await Task.sleep(for: .milliseconds(300))  // a person is slower than send-keys
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
        #expect(try node.eval("1 + 1.") == "2")
        // Nothing lingers on the node once the console is gone (links and monitors settle
        // asynchronously).
        try waitUntil("the node's process count is back to \(before)") {
            try #require(Int(try node.eval("erlang:system_info(process_count)."))) <= Int(before)!
        }
    }

    /// The same session on an Erlang node without Elixir, OTP 25 and OTP 28: the Erlang prompt,
    /// bindings, Tab from `edlin_expand`, the continuation prompt, Ctrl-C (an exit the shell
    /// counts), a read, the stop guard, Ctrl-D.
    @Test func anErlangOperatorSessionOnBothRuntimes() async throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let home = NSTemporaryDirectoryPath() + "/beamsh-home-\(TestNode.randomToken(6))"
            let terminal = try Terminal("\(BeamshBinary.path) \(node.name)",
                                        environment: ["RELEASE_COOKIE": node.cookie, "XDG_STATE_HOME": home, "HOME": home])
            defer { terminal.close() }
            let prompt = { (n: Int) in "(\(node.name))\(n)>" }
            let banner = try await terminal.waitFor(prompt(1))
            let release = runtime.label.split(separator: " ").dropFirst().first.map(String.init) ?? "?"  // "OTP 25 (Debian)"
            #expect(banner.contains("OTP \(release)") && banner.contains("hidden") && !banner.contains("iex("),
                    "\(runtime): \(banner)")
            try terminal.enter("X = 41.")
            try await terminal.waitFor(prompt(2))
            try terminal.enter("X + 1.")
            #expect(try await terminal.waitFor(prompt(3)).contains("\n42\n"), "\(runtime)")
            // Tab: one function left gets its parenthesis, as the Erlang shell completes it.
            try terminal.type("lists:enumer")
            try terminal.press("Tab")
            try await terminal.waitFor("lists:enumerate(")
            try terminal.press("C-u")
            // An unfinished expression gets the continuation prompt.
            try terminal.enter("{a,")
            try await terminal.waitFor("...\(prompt(3))")
            try terminal.enter("X}.")
            #expect(try await terminal.waitFor(prompt(4)).contains("{a,41}"), "\(runtime)")
            // Ctrl-C interrupts an evaluation; the binding survives.
            try terminal.enter("timer:sleep(infinity).")
            try waitUntil("the sleep runs on the node") {
                try node.eval("length([P || P <- processes(), process_info(P, current_function) == {current_function, {timer, sleep, 1}}]).") != "0"
            }
            try terminal.press("C-c")
            // As the Erlang shell says it, and counts it.
            #expect(try await terminal.waitFor(prompt(5), timeout: 5).contains("** exception exit: killed"), "\(runtime)")
            // A read prompts here.
            try terminal.enter("io:get_line(\"name? \").")
            try await terminal.waitFor("name?")
            try terminal.enter("bob")
            try await terminal.waitFor("\"bob\\n\"")
            // The stop guard asks, naming the node; "no" keeps it running.
            try terminal.enter("halt().")
            let asked = try await terminal.waitFor("Evaluate it? [y/N]")
            #expect(asked.contains(node.name), "\(runtime): \(asked)")
            try terminal.enter("n")
            try await terminal.waitFor("not evaluated")
            try terminal.enter("X.")
            try await terminal.waitFor("\n41\n")
            try await Task.sleep(for: .milliseconds(300))
            try terminal.press("C-d")
            try await terminal.waitFor("EXIT:0")
            #expect(try node.eval("1 + 1.") == "2", "\(runtime): the node still runs")
            try? FileManager.default.removeItem(atPath: home)
        }
    }

    /// `--timeout` ends an evaluation at its deadline even while it waits on the operator at an
    /// `IO.gets`: the read ends there (no `^C`, the operator pressed nothing) and the prompt comes
    /// back, instead of the deadline firing only after an answer it then throws away.
    @Test func theTimeoutEndsAReadThatWaitsOnTheOperator() async throws {
        let session = try ConsoleSession(arguments: "--timeout 1")
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        try await terminal.waitFor("iex(\(node.name))1>")
        try terminal.enter("IO.gets(\"slow? \")")
        let timedOut = try await terminal.waitFor("evaluation timed out after 1.0 seconds", timeout: 5)
        #expect(!timedOut.contains("^C"), "\(timedOut)")
        try await terminal.waitFor("iex(\(node.name))1>", count: 2)
        try terminal.enter("IO.gets(\"quick? \")")
        try await terminal.waitFor("quick?")
        try terminal.enter("yes")
        try await terminal.waitFor("\"yes\\n\"")
    }

    /// The history keeps what was typed at the prompt, also when the session ends with `exit`,
    /// and never an answer to `IO.gets` (a password) or to the stop guard's question; Ctrl-C
    /// at that question answers no.
    @Test func historyKeepsCommandsNotAnswers() async throws {
        let session = try ConsoleSession()
        defer { session.close() }
        let (node, home, terminal) = (session.node, session.home, session.terminal)
        try await terminal.waitFor("iex(\(node.name))1>")
        try terminal.enter("x = 1")
        try await terminal.waitFor("iex(\(node.name))2>")
        try terminal.enter("IO.gets(\"secret? \")")
        try await terminal.waitFor("secret?")
        try terminal.enter("hunter2")
        try await terminal.waitFor("iex(\(node.name))3>")
        try terminal.enter("System.stop()")
        try await terminal.waitFor("[y/N]")
        try await Task.sleep(for: .milliseconds(200))
        try terminal.press("C-c")
        try await terminal.waitFor("not evaluated")
        try terminal.enter("x + 1")
        try await terminal.waitFor("iex(\(node.name))4>")
        try terminal.enter("exit")
        try await terminal.waitFor("EXIT:0")
        #expect(try node.eval("ok.") == "ok", "the node still runs")
        let history = try String(contentsOfFile: home + "/beamsh/history", encoding: .utf8)
        for line in ["x = 1", "IO.gets(\"secret? \")", "System.stop()", "x + 1"] {
            #expect(history.contains(line), "\(line) missing from: \(history)")
        }
        #expect(!history.contains("hunter2"), "an IO.gets answer was kept: \(history)")
    }

    /// The stop guard's question is answered by a key pressed after it showed, not by the next
    /// line of a paste: the lines pasted after the stop wait, and run after the answer.
    @Test func aPasteDoesNotAnswerTheStopGuard() async throws {
        let session = try ConsoleSession()
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        try await terminal.waitFor("iex(\(node.name))1>")
        try terminal.paste("x = 20\nSystem.stop()\nx + 1\nx + 2\n")
        try await terminal.waitFor("Evaluate it? [y/N]")
        try await Task.sleep(for: .milliseconds(300))
        let asked = try terminal.screen()
        #expect(!asked.contains("x + 1"), "a pasted line was read as the answer: \(asked)")
        try terminal.enter("n")
        let screen = try await terminal.waitFor("iex(\(node.name))4>")
        #expect(screen.contains("not evaluated") && screen.contains("\n21\n") && screen.contains("\n22\n"), "\(screen)")
        #expect(try node.eval("ok.") == "ok", "the node still runs")
        // The paste's lines are in the history file before the session ends (written once the
        // paste was read, not once per line).
        let history = try String(contentsOfFile: session.home + "/beamsh/history", encoding: .utf8)
        #expect(["x = 20", "System.stop()", "x + 1", "x + 2"].allSatisfy { history.contains($0) }, "\(history)")
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// A terminal that goes away (a dropped SSH session: SIGHUP) ends beamsh where it stands, as
    /// the signal ends any program; what was typed until then is in the history already.
    @Test func historySurvivesAHangUp() async throws {
        let session = try ConsoleSession()
        defer { session.close() }
        let (node, home, terminal) = (session.node, session.home, session.terminal)
        try await terminal.waitFor("iex(\(node.name))1>")
        try terminal.enter("hangup_marker = 42")
        try await terminal.waitFor("iex(\(node.name))2>")
        // The signal itself, as a dropped connection's sshd sends it (closing the terminal lets
        // beamsh see the end of its input first, which saves the history anyway).
        try signalBeamsh("HUP", node: node)
        // Ended by the signal (128 + SIGHUP), not by anything else, and the node is untouched.
        try await terminal.waitFor("EXIT:129")
        #expect(try node.eval("ok.") == "ok", "the node still runs")
        let history = try String(contentsOfFile: home + "/beamsh/history", encoding: .utf8)
        #expect(history.contains("hangup_marker = 42"), "\(history)")
    }

    /// `:help` lists the console's commands without counting as an evaluation; `:quit` leaves,
    /// the node untouched.
    @Test func helpAndQuitAtThePrompt() async throws {
        let session = try ConsoleSession(arguments: "--format json")
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        // `--format json` at a terminal opens the console, and says that it prints as IEx does.
        let opened = try await terminal.waitFor("iex(\(node.name))1>")
        #expect(opened.contains("warning: --format json is for --eval, --rpc and scripts"), "\(opened)")
        try terminal.enter(":help")
        let help = try await terminal.waitFor("iex(\(node.name))1>", count: 2)
        #expect(["\n:info ", "\n:top [ORDER] ", "\n:cluster ", "\nexit, :quit, Ctrl-D "].allSatisfy { help.contains($0) }, "\(help)")
        try terminal.enter(":quit")
        try await terminal.waitFor("EXIT:0")
        #expect(try node.eval("ok.") == "ok", "the node still runs")
    }

    /// A SIGTERM or SIGHUP that beamsh inherited as ignored (`nohup`, a supervisor that ignores
    /// them) stays ignored, as for any program: the session goes on.
    @Test func anInheritedIgnoredTermStaysIgnored() async throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        let ignoring = "import os, signal, sys; [signal.signal(s, signal.SIG_IGN) for s in (signal.SIGTERM, signal.SIGHUP)]; "
            + "os.execv(sys.argv[1], sys.argv[1:])"
        let terminal = try Terminal("python3 -c '\(ignoring)' \(BeamshBinary.path) \(node.name)", environment: ["RELEASE_COOKIE": node.cookie])
        defer { terminal.close() }
        try await terminal.waitFor("iex(\(node.name))1>")
        try signalBeamsh("TERM", node: node)
        try signalBeamsh("HUP", node: node)
        try terminal.enter("20 + 22")
        let screen = try await terminal.waitFor("iex(\(node.name))2>")
        #expect(screen.contains("\n42\n"), "\(screen)")
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// Output piped at a terminal (`beamsh NODE | tee session.log`): the banner, the prompts and
    /// the results go through the pipe in order, and typed lines still evaluate.
    @Test func pipedOutputAtATerminalKeepsTheSessionInOrder() async throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        let log = NSTemporaryDirectoryPath() + "/beamsh-tee-\(TestNode.randomToken(6))"
        defer { try? FileManager.default.removeItem(atPath: log) }
        // beamsh's own exit status on standard error (the line's status is tee's).
        let terminal = try Terminal("sh -c '\(BeamshBinary.path) \(node.name); echo BEAMSH:$? >&2' | tee \(log)",
                                    environment: ["RELEASE_COOKIE": node.cookie])
        defer { terminal.close() }
        try await terminal.waitFor("iex(\(node.name))1>")
        try terminal.enter("x = 6 * 7")
        try await terminal.waitFor("iex(\(node.name))2>")
        try terminal.enter("x + 1")
        try await terminal.waitFor("iex(\(node.name))3>")
        try terminal.press("C-d")
        try await terminal.waitFor("BEAMSH:0")
        try await terminal.waitFor("EXIT:0")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.hasPrefix("beamsh: connected to \(node.name) (OTP 25, Elixir 1.14")
                    && text.hasSuffix("\niex(\(node.name))1> 42\niex(\(node.name))2> 43\niex(\(node.name))3> "), "\(text)")
        #expect(!text.contains("\u{1B}["), "no escape sequences in the log: \(text)")
    }

    /// A SIGTERM at the prompt (`timeout`, a watchdog, `kill`) ends beamsh with the terminal in
    /// the mode it had: echo and line editing back for whatever runs next in it.
    @Test func aKillAtThePromptLeavesTheTerminalAsItWas() async throws {
        let modes = NSTemporaryDirectoryPath() + "/beamsh-stty-\(TestNode.randomToken(6))"
        defer { try? FileManager.default.removeItem(atPath: modes) }
        let session = try ConsoleSession(arguments: "; stty -a > \(modes)")
        defer { session.close() }
        try await session.terminal.waitFor("iex(\(session.node.name))1>")
        try signalBeamsh("TERM", node: session.node)
        try waitUntil("the shell ran stty") { ((try? String(contentsOfFile: modes, encoding: .utf8)) ?? "").contains("icanon") }
        let words = Set(try String(contentsOfFile: modes, encoding: .utf8).split(whereSeparator: { $0 == " " || $0 == ";" || $0.isNewline }).map(String.init))
        #expect(words.isSuperset(of: ["icanon", "echo", "isig"]) && words.isDisjoint(with: ["-icanon", "-echo", "-isig"]), "\(words)")
    }

    /// Ctrl-Z at the prompt stops beamsh as any program, and `fg` brings it back in its edit mode:
    /// the prompt drawn again, keys working, nothing echoed twice.
    @Test func suspendAndResumeKeepTheEditMode() async throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        let home = NSTemporaryDirectoryPath() + "/beamsh-home-\(TestNode.randomToken(6))"
        // An interactive shell, for job control.
        let terminal = try Terminal("bash --norc --noprofile -i", environment: [
            "RELEASE_COOKIE": node.cookie, "XDG_STATE_HOME": home, "HOME": home, "PS1": "shell-prompt$ "])
        defer { terminal.close() }
        try await terminal.waitFor("shell-prompt$")  // (the screen comes back without trailing blanks)
        try terminal.enter("\(BeamshBinary.path) \(node.name)")
        try await terminal.waitFor("iex(\(node.name))1>")
        try terminal.press("C-z")
        try await terminal.waitFor("Stopped")
        try terminal.enter("fg")
        try await terminal.waitFor("iex(\(node.name))1>", count: 2)
        try terminal.type("40 + 2")
        try terminal.press("C-a")  // the edit mode's key: to the start of the line
        try terminal.type("x = ")
        try terminal.press("Enter")
        let screen = try await terminal.waitFor("iex(\(node.name))2>")
        #expect(screen.contains("iex(\(node.name))1> x = 40 + 2\n42"), "\(screen)")
        #expect(screen.components(separatedBy: "40 + 2").count == 2, "typed text shows once: \(screen)")
        try terminal.press("C-d")
    }

    /// A process the session started writes while the console waits at its prompt: its text
    /// shows at once above the prompt, which is drawn again under it with what the operator had
    /// typed so far; the writer never waits for the operator.
    @Test func backgroundOutputShowsAboveThePrompt() async throws {
        let session = try ConsoleSession()
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        try await terminal.waitFor("iex(\(node.name))1>")
        // The writer writes when the test says so, once "20 +" is typed (not after a fixed delay).
        try terminal.enter("spawn(fn -> Process.register(self(), :beamsh_later); receive do :go -> IO.puts(\"from the \" <> \"background\") end; :persistent_term.put(:bg_done, true) end)")
        try await terminal.waitFor("iex(\(node.name))2>")
        try terminal.type("20 +")
        try await terminal.waitFor("iex(\(node.name))2> 20 +")
        try waitUntil("the writer waits") { try node.eval("whereis(beamsh_later) =/= undefined.") == "true" }
        _ = try node.eval("beamsh_later ! go.")
        let screen = try await terminal.waitFor("from the background", timeout: 10)
        try await Task.sleep(for: .milliseconds(300))  // the redraw under it
        #expect(try node.eval("persistent_term:get(bg_done, false).") == "true", "the writer waited for the operator")
        let lines = try terminal.screen().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let at = try #require(lines.firstIndex { $0.hasPrefix("from the background") }, "on a line of its own: \(screen)")
        #expect(lines.dropFirst(at + 1).first?.hasPrefix("iex(\(node.name))2> 20 +") == true, "prompt and typed text redrawn: \(lines)")
        try terminal.type(" 22")
        try terminal.press("Enter")
        let after = try await terminal.waitFor("iex(\(node.name))3>")
        #expect(after.contains("\n42\n"), "the line typed across the output evaluates whole: \(after)")
        // While the stop guard's question waits for an answer, output still shows (and its
        // writer does not wait for the answer).
        try terminal.enter("spawn(fn -> for i <- 1..3, do: (Process.sleep(300); IO.puts(\"tock \" <> Integer.to_string(i))) end)")
        try await terminal.waitFor("iex(\(node.name))4>")
        try terminal.enter("System.stop()")
        try await terminal.waitFor("Evaluate it? [y/N]")
        try await terminal.waitFor("tock 3", timeout: 10)
        try terminal.enter("n")
        try await terminal.waitFor("the node \(node.name) keeps running")
        // A writer in a loop: the console keeps up and stays usable.
        try terminal.enter("spawn(fn -> line = String.duplicate(\"z\", 1_000); for _ <- 1..300, do: IO.puts(line) end)")
        try await terminal.waitFor("iex(\(node.name))5>")
        try await Task.sleep(for: .seconds(1))
        try terminal.enter(":done")
        try await terminal.waitFor("iex(\(node.name))6>", timeout: 10)
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// The same while the evaluation's own `IO.gets` waits for the operator: another process's
    /// output shows above the read's prompt, which is redrawn with what was typed for it.
    @Test func outputShowsAboveAnIOGetsPrompt() async throws {
        let session = try ConsoleSession()
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        try await terminal.waitFor("iex(\(node.name))1>")
        // The other process writes when the test says so (a fixed delay raced the screenshot on a loaded machine).
        try terminal.enter("spawn(fn -> Process.register(self(), :beamsh_later); receive do :go -> IO.puts(\"while \" <> \"you type\") end end); IO.gets(\"Pick \" <> \"one:\\n\\t1) Ada\\nyour \" <> \"name? \")")
        try await terminal.waitFor("your name?")
        // A prompt of several lines (libedit draws one): the first lines come out as they are,
        // tabs as spaces.
        let drawn = try terminal.screen().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(drawn.firstIndex { $0.hasPrefix("Pick one:") }, "\(drawn)")
        #expect(drawn.dropFirst(header + 1).prefix(2).map { $0.trimmingCharacters(in: .whitespaces) } == ["1) Ada", "your name?"]
                && drawn[header + 1].hasPrefix("        1)"), "\(drawn)")
        try terminal.type("Ad")
        try await terminal.waitFor("your name? Ad")
        try waitUntil("the writer waits") { try node.eval("whereis(beamsh_later) =/= undefined.") == "true" }
        _ = try node.eval("beamsh_later ! go.")
        try await terminal.waitFor("while you type", timeout: 10)
        try await Task.sleep(for: .milliseconds(300))  // the redraw under it
        let lines = try terminal.screen().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let at = try #require(lines.firstIndex { $0.hasPrefix("while you type") }, "on a line of its own: \(lines)")
        #expect(lines.dropFirst(at + 1).first?.hasPrefix("your name? Ad") == true, "the read's prompt redrawn: \(lines)")
        try terminal.type("a")
        try terminal.press("Enter")
        let after = try await terminal.waitFor("iex(\(node.name))2>")
        #expect(after.contains("\"Ada\\n\""), "\(after)")
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// Tab completes the session's bound variables too, as they are when Tab is pressed.
    @Test func tabCompletesBoundVariables() async throws {
        let session = try ConsoleSession()
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        try await terminal.waitFor("iex(\(node.name))1>")
        try terminal.enter("request_count = 41")
        try await terminal.waitFor("iex(\(node.name))2>")
        try terminal.type("request_c")
        try terminal.press("Tab")
        try await Task.sleep(for: .milliseconds(300))  // (the name is on the screen already, above)
        try terminal.type(" + 1")
        try terminal.press("Enter")
        let screen = try await terminal.waitFor("iex(\(node.name))3>")
        #expect(screen.contains("\n42\n"), "\(screen)")
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// Tab completes from the session's state as IEx does: the keys of a map held in a bound
    /// variable, through nested maps (a complete key holding a map gets its `.`), and the
    /// session's aliases, as names and as the modules they stand for. A key typed that the node
    /// has no atom for is not made an atom there.
    @Test func tabCompletesMapFieldsAndAliases() async throws {
        let session = try ConsoleSession()
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        try await terminal.waitFor("iex(\(node.name))1>")
        try terminal.enter("state = %{config: %{port: 4000, pool_size: 10}, name: \"shop\"}")
        try await terminal.waitFor("iex(\(node.name))2>")
        try terminal.type("state.conf")
        try terminal.press("Tab")
        try await terminal.waitFor("state.config")
        try terminal.press("Tab")
        try await terminal.waitFor("state.config.")
        try terminal.type("po")
        try terminal.press("Tab")
        try await terminal.waitFor("pool_size  port")
        try terminal.type("r")
        try terminal.press("Tab")
        try await terminal.waitFor("state.config.port")
        try terminal.press("Enter")
        let port = try await terminal.waitFor("iex(\(node.name))3>")
        #expect(port.contains("\n4000\n"), "\(port)")
        try terminal.enter("alias String, as: Text")
        try await terminal.waitFor("iex(\(node.name))4>")
        try terminal.type("Tex")
        try terminal.press("Tab")
        try await terminal.waitFor("iex(\(node.name))4> Text")
        try terminal.type(".upc")
        try terminal.press("Tab")
        try await terminal.waitFor("Text.upcase")
        try terminal.type("(state.name)")
        try terminal.press("Enter")
        let upcased = try await terminal.waitFor("iex(\(node.name))5>")
        #expect(upcased.contains("\"SHOP\""), "\(upcased)")
        try terminal.type("state.beamsh_never_an_atom_ke")
        try terminal.press("Tab")
        // Keys are handled in order: once a later Tab has completed, that one was answered.
        try terminal.press("C-u")
        try terminal.type("state.na")
        try terminal.press("Tab")
        try await terminal.waitFor("iex(\(node.name))5> state.name")
        #expect(try node.eval("catch binary_to_existing_atom(<<\"beamsh_never_an_atom_ke\">>, utf8).").contains("badarg"))
        try terminal.press("C-u")
        // A bare name completes to what the session imports: Kernel's, and a line's `import`.
        try terminal.type("is_ato")
        try terminal.press("Tab")
        try await terminal.waitFor("iex(\(node.name))5> is_atom")
        try terminal.press("C-u")
        try terminal.enter("import Bitwise")
        try await terminal.waitFor("iex(\(node.name))6>")
        try terminal.type("bxo")
        try terminal.press("Tab")
        try await terminal.waitFor("iex(\(node.name))6> bxor")
        try terminal.press("C-u")
        // A whole function name lists its arities, as IEx does.
        try terminal.type("Process.sleep")
        try terminal.press("Tab")
        try await terminal.waitFor("\nsleep/1")
        try terminal.press("C-u")
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// Keys sent together with the Enter (one write: a fast hand, or a slow link merging them)
    /// act as they would a moment later. Ctrl-C interrupts the line just entered (the prompt
    /// reads it as a key then, not as a signal); Ctrl-D pressed while an unfinished line is
    /// checked drops it (in libedit's mode it would have arrived as a NUL byte, and the next
    /// Ctrl-D would have been sent to the node as code).
    @Test func keysRightAfterEnterActAsTheyWouldLater() async throws {
        let session = try ConsoleSession()
        defer { session.close() }
        let terminal = session.terminal
        let prompt = "iex(\(session.node.name))1>"
        try await terminal.waitFor(prompt)
        for attempt in 1...3 {
            try terminal.type(":timer.sleep(1500); :not_interrupted")
            try terminal.press("Enter", "C-c")
            try await terminal.waitFor("** (EXIT) interrupted", count: attempt, timeout: 10)
            try await terminal.waitFor(prompt, count: attempt + 1, timeout: 10)
        }
        for attempt in 1...5 {
            try terminal.type("y\(attempt) =")
            try terminal.press("Enter")
            try terminal.press("C-d")
            try await terminal.waitFor("** (TokenMissingError) iex:1: incomplete expression", count: attempt, timeout: 10)
            try await terminal.waitFor(prompt, count: attempt + 4, timeout: 10)
        }
        try terminal.enter("1 + 1")
        let screen = try await terminal.waitFor("iex(\(session.node.name))2>")
        #expect(screen.contains("\n2\n") && !screen.contains("\n:not_interrupted\n") && !screen.contains("U+0004"), "\(screen)")
        // Ctrl-C during the first line of a paste drops the rest of it, as a terminal drops its
        // input on an interrupt (beamsh had taken those lines from the terminal already).
        try terminal.paste(":timer.sleep(3000)\nIO.puts(:second_line_ran)\nIO.puts(:third_line_ran)\n")
        try waitUntil("the sleep runs on the node") {
            try session.node.eval("length([P || P <- processes(), process_info(P, current_function) == {current_function, {timer, sleep, 1}}]).") != "0"
        }
        try terminal.press("C-c")
        try await terminal.waitFor("** (EXIT) interrupted", count: 4, timeout: 10)
        try await Task.sleep(for: .milliseconds(500))
        try terminal.enter(":after")
        let after = try await terminal.waitFor("\n:after\n")
        #expect(!after.contains("second_line_ran") && !after.contains("third_line_ran"), "\(after)")
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// Ctrl-C while `IO.gets` waits ends the evaluation at once, whether the read has started
    /// (plain standard input in `--eval`; the line editor at the console) or was still on its way
    /// (Ctrl-C right after Enter): no read is left waiting for a line nobody wants.
    @Test func ctrlCEndsAnIOGetsRead() async throws {
        let (node, oneShot) = try await oneShotWaitingAtARead()
        defer { node.stop() }
        defer { oneShot.close() }
        try oneShot.press("C-c")
        let ended = try await oneShot.waitFor("EXIT:1", timeout: 10)
        #expect(ended.contains("** (EXIT) interrupted") && !ended.contains("not confirmed"), "\(ended)")

        let session = try ConsoleSession()
        defer { session.close() }
        let terminal = session.terminal
        try await terminal.waitFor("iex(\(session.node.name))1>")
        // Ctrl-C with the Enter (then the line editor reads it as a key), and a little after
        // it (a signal while the evaluation starts, before its read has begun; within a
        // millisecond or two it came while the line went into the history file, and was taken
        // for one from before the line: the evaluation ran, and its read took the next line).
        for (attempt, delay) in [0, 300, 700, 1_000, 1_500, 2_000, 5_000, 10_000, 20_000].enumerated() {
            try terminal.type("IO.gets(\"q? \")")
            if delay == 0 {
                try terminal.press("Enter", "C-c")
            } else {
                try terminal.press("Enter")
                usleep(useconds_t(delay))
                try terminal.press("C-c")
            }
            let attempt = attempt + 1
            let screen = try await terminal.waitFor("** (EXIT) interrupted", count: attempt, timeout: 10)
            #expect(!screen.contains("not confirmed"), "\(screen)")
            try await terminal.waitFor("iex(\(session.node.name))1>", count: attempt + 1, timeout: 10)
        }
        try terminal.enter("1 + 1")
        #expect(try await terminal.waitFor("iex(\(session.node.name))2>").contains("\n2\n"))
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// The node going away while an `--eval` waits at an `IO.gets` prompt: the error starts on a
    /// line of its own, not after the prompt.
    @Test func aLostConnectionAtAReadPromptStartsANewLine() async throws {
        let (node, oneShot) = try await oneShotWaitingAtARead()
        defer { node.stop() }
        defer { oneShot.close() }
        node.kill9()
        let ended = try await oneShot.waitFor("EXIT:2", timeout: 10)
        #expect(ended.contains("q?\nbeamsh: the connection to \(node.name) closed"), "\(ended)")
    }

    /// The same at the console, where the line editor reads the `IO.gets` line: its read ends
    /// with a line end, and the error follows on a line of its own.
    @Test func aLostConnectionAtTheConsolesReadPromptStartsANewLine() async throws {
        let session = try ConsoleSession(environment: ["NO_COLOR": "1"])
        defer { session.close() }
        let terminal = session.terminal
        try await terminal.waitFor("iex(\(session.node.name))1>")
        try terminal.enter("IO.gets(\"q> \")")
        try await terminal.waitFor("\nq>")  // (the screen's lines come without trailing blanks)
        session.node.kill9()
        let ended = try await terminal.waitFor("EXIT:2", timeout: 10)
        #expect(ended.contains("\nq>\nbeamsh: the connection to \(session.node.name) closed"), "\(ended)")
    }

    /// `beamsh top` in a terminal says what it does until its first frame, then redraws in
    /// place (one header on the screen after three refreshes), and runs until Ctrl-C, at most one
    /// refresh a second.
    @Test func topRefreshesInPlaceUntilCtrlC() async throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        let counted = try Terminal("\(BeamshBinary.path) top \(node.name) -n 3 --by memory --interval 0.3 --iterations 3",
                                   environment: ["RELEASE_COOKIE": node.cookie])
        defer { counted.close() }
        let screen = try await counted.waitFor("EXIT:0")
        #expect(screen.components(separatedBy: "top 3 by memory").count == 2, "one frame on the screen: \(screen)")
        #expect(!screen.contains("sampling processes"), "the first frame replaced the note: \(screen)")

        // A terminal shorter than the table: the frame fits, and its title counts the rows shown.
        // (Read while it runs: the shell's own lines after it exits scroll the screen.)
        let short = try Terminal("\(BeamshBinary.path) top \(node.name) -n 20 --by memory --interval 0",
                                 environment: ["RELEASE_COOKIE": node.cookie], rows: 10)
        defer { short.close() }
        try await short.waitFor("current function")
        let frame = try short.screen()
        try short.press("C-c")
        try await short.waitFor("EXIT:130")
        let shown = frame.split(separator: "\n").filter { $0.hasPrefix("<0.") }.count
        #expect(shown >= 3 && shown < 20 && frame.contains("top \(shown) by memory"), "\(shown) rows: \(frame)")
        #expect(frame.hasPrefix(node.name), "the title stays: \(frame)")

        // A terminal that cannot redraw prints each refresh once, cut to its width all the same.
        let dumb = try Terminal("\(BeamshBinary.path) top \(node.name) -n 3 --by memory --interval 0 --iterations 1",
                                environment: ["RELEASE_COOKIE": node.cookie, "TERM": "dumb"], columns: 50)
        defer { dumb.close() }
        let printed = try await dumb.waitFor("EXIT:0").split(separator: "\n").map(String.init)
        let rows = printed.drop { !$0.hasPrefix("pid ") }
        #expect(rows.count == 5 && rows.dropFirst().prefix(3).allSatisfy { $0.hasPrefix("<0.") } && rows.last == "EXIT:0",
                "each row on one line of 50 columns: \(printed)")

        let running = try Terminal("\(BeamshBinary.path) top \(node.name) -n 3 --by memory --interval 1",
                                   environment: ["RELEASE_COOKIE": node.cookie])
        defer { running.close() }
        try await running.waitFor("\(node.name): sampling processes by memory over 1.0 s")
        try await running.waitFor("top 3 by memory")
        try running.press("C-c")
        try await running.waitFor("EXIT:130")

        // Until Ctrl-C, `--interval 0` still refreshes at most once a second (each refresh asks
        // the node for `erlang:processes()` once): the node is not sampled back to back.
        let samples = try countCalls(on: node, to: "erlang", "processes", 0)
        let begun = ContinuousClock.now  // (before beamsh starts, so before its first refresh)
        let paced = try Terminal("\(BeamshBinary.path) top \(node.name) -n 3 --by memory --interval 0",
                                 environment: ["RELEASE_COOKIE": node.cookie])
        defer { paced.close() }
        try await paced.waitFor("top 3 by memory")
        try await Task.sleep(for: .milliseconds(2500))
        try paced.press("C-c")
        try await paced.waitFor("EXIT:130")
        let refreshes = try samples()
        // At most one a second over however long it really ran (a loaded machine oversleeps),
        // and more than the first.
        let ran = (ContinuousClock.now - begun) / .seconds(1)
        #expect(refreshes >= 2 && Double(refreshes) <= ran.rounded(.down) + 1, "\(refreshes) refreshes in \(ran) s")
    }

    /// The cluster views answer at the prompt (`:info`, `:top`, `:cluster`), Tab completes them,
    /// and a bad argument gets the usage line; the session goes on, its counter untouched.
    @Test func clusterViewsAtThePrompt() async throws {
        let session = try ConsoleSession(rows: 120)
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        let prompt = "iex(\(node.name))1>"
        try await terminal.waitFor(prompt)
        try terminal.type(":clu")
        try terminal.press("Tab")
        try await terminal.waitFor(":cluster")
        try terminal.press("Enter")
        let cluster = try await terminal.waitFor(prompt, count: 2)
        #expect(cluster.contains("cluster seen from \(node.name): 1 node, 1 reached, mesh complete"), "\(cluster)")
        try terminal.enter(":info")
        let info = try await terminal.waitFor(prompt, count: 3)
        #expect(info.contains("schedulers:") && info.contains("processes") && info.contains("ETS tables"), "\(info)")
        #expect(info.split(separator: "\n").contains { $0.hasPrefix("elixir ") && $0.contains("1.14") },
                "the node's applications with their versions: \(info)")
        try terminal.enter(":top memory")
        let top = try await terminal.waitFor(prompt, count: 4)
        #expect(top.contains("top 20 by memory") && top.contains("<0.") && top.contains("code_server"), "\(top)")
        try terminal.enter(":top 5 message_queue")
        let five = try await terminal.waitFor(prompt, count: 5)
        // (At most 5: only processes with messages waiting rank by queue.)
        #expect((1...5).contains { five.contains("top \($0) by message_queue") } || five.contains("no process has messages waiting"), "\(five)")
        try terminal.enter(":top sideways")
        try await terminal.waitFor("usage: :top [memory|reductions|message_queue|binary] [N]")
        try terminal.enter("1 + 1")
        #expect(try await terminal.waitFor("iex(\(node.name))2>").contains("\n2\n"))
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// Ctrl-C abandons a view that waits on the node (here `:info`, whose application list
    /// waits on a suspended application controller) as it interrupts an evaluation: the prompt
    /// is back at once and the session goes on.
    @Test func ctrlCAbandonsASlowView() async throws {
        let session = try ConsoleSession()
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        try await terminal.waitFor("iex(\(node.name))1>")
        try terminal.enter(":sys.suspend(:application_controller)")
        try await terminal.waitFor("iex(\(node.name))2>")
        try terminal.enter(":info")
        try await Task.sleep(for: .milliseconds(500))
        let pressed = ContinuousClock.now
        try terminal.press("C-c")
        let screen = try await terminal.waitFor("iex(\(node.name))2>", count: 2, timeout: 3)
        #expect(ContinuousClock.now - pressed < .seconds(2), "the prompt came back \(ContinuousClock.now - pressed) after Ctrl-C")
        #expect(screen.contains("** (EXIT) interrupted") && !screen.contains("schedulers:"), "\(screen)")
        try terminal.enter(":sys.resume(:application_controller)")
        try await terminal.waitFor("iex(\(node.name))3>")
        try terminal.enter(":info")
        let info = try await terminal.waitFor("iex(\(node.name))3>", count: 2)
        #expect(info.contains("schedulers:"), "\(info)")
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// A session judges the connection by the node's own tick time, as the node judges its
    /// peers: a frozen node that ticks every second (`net_ticktime 4`) is found gone after 5 s,
    /// not after the 75 s that fit the default 60 (and a node that ticks rarely keeps a quiet
    /// session as long as it ticks).
    @Test func aSessionFollowsTheNodesTickTime() async throws {
        let session = try ConsoleSession(nodeArgs: ["-kernel", "net_ticktime", "4"])
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        try await terminal.waitFor("iex(\(node.name))1>")
        try terminal.enter("1 + 1")
        try await terminal.waitFor("iex(\(node.name))2>")
        node.freeze()
        defer { node.thaw() }
        let started = ContinuousClock.now
        let gone = try await terminal.waitFor("EXIT:2", timeout: 30)
        #expect(gone.contains("stopped answering (no data or tick for 5 s)"), "\(gone)")
        #expect(ContinuousClock.now - started < .seconds(15), "found gone after \(ContinuousClock.now - started)")
    }

    /// A node whose rpc server (rex) is blocked still gets a console, with its banner, and
    /// evaluates (nothing at the start asks rex); Tab, which asks the node's expander through
    /// rex, completes nothing meanwhile and completes once rex is back (a failure is not kept).
    @Test func aBlockedRexStillGetsAConsole() async throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        #expect(try node.eval("sys:suspend(rex).") == "ok")
        let started = ContinuousClock.now
        let oneShot = try BeamshBinary.run([node.name, "--eval", "1 + 1"], cookie: node.cookie)
        #expect(oneShot.status == 0 && oneShot.stdout == "2\n", "\(oneShot.status) \(oneShot.stderr)")
        #expect(ContinuousClock.now - started < .seconds(5), "took \(ContinuousClock.now - started)")
        let terminal = try Terminal("\(BeamshBinary.path) \(node.name)", environment: ["RELEASE_COOKIE": node.cookie])
        defer { terminal.close() }
        let banner = try await terminal.waitFor("iex(\(node.name))1>", timeout: 10)
        #expect(banner.contains("(OTP 25, Elixir 1.14"), "\(banner)")
        try terminal.type("String.spl")
        try terminal.press("Tab")
        try await Task.sleep(for: .seconds(3))  // the expander's call times out after 2 s
        #expect(try !terminal.screen().contains("String.split"))
        #expect(try node.eval("sys:resume(rex).") == "ok")
        try terminal.press("Tab")
        try await terminal.waitFor("String.split", timeout: 10)
        try terminal.press("C-u")
        try terminal.enter("1 + 2")
        try await terminal.waitFor("\n3\n")
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// A read-only session says so in its banner, before any line is refused.
    @Test func aReadOnlySessionSaysSo() async throws {
        let session = try ConsoleSession(arguments: "--read-only")
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        let banner = try await terminal.waitFor("iex(\(node.name))1>")
        #expect(banner.contains("hidden node") && banner.contains("read-only: only the core commands"), "\(banner)")
        try terminal.enter("File.rm(\"x\")")
        let refused = try await terminal.waitFor("iex(\(node.name))1>", count: 2)
        #expect(refused.contains("** read-only: File.rm is not on the read-only allow-list"), "\(refused)")
        // Documentation is read: `h` names what to look up, and nothing in its argument runs.
        try terminal.enter("h Enum.map/2")
        try await terminal.waitFor("def map(enumerable, fun)")
        try await terminal.waitFor("iex(\(node.name))2>")
        // Only of what is loaded, and of names the node has: `h` would load a module (running
        // its @on_load) and make atoms of the names. Asked with BIFs that change neither.
        try terminal.enter("h BeamshNeverAModule")
        try await terminal.waitFor("** read-only: BeamshNeverAModule is not loaded on the node (or does not exist)")
        try terminal.enter("h Enum.beamsh_never_a_function")
        try await terminal.waitFor("** read-only: Enum has no function beamsh_never_a_function")
        for name in ["Elixir.BeamshNeverAModule", "beamsh_never_a_function"] {
            #expect(try node.eval("catch binary_to_existing_atom(<<\"\(name)\">>, utf8).").contains("badarg"), "\(name) is no atom")
        }
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }

    /// IEx's colors in a terminal (yellow results, cyan atoms, green strings, red errors);
    /// none with NO_COLOR or on a dumb terminal.
    @Test(arguments: [nil, "NO_COLOR=1", "TERM=dumb"])
    func colorsFollowIEx(setting: String?) async throws {
        let noColor = setting != nil
        var environment: [String: String] = [:]
        if let setting {
            let pair = setting.split(separator: "=", maxSplits: 1).map(String.init)
            environment[pair[0]] = pair[1]
        }
        let session = try ConsoleSession(environment: environment)
        defer { session.close() }
        let (node, terminal) = (session.node, session.terminal)
        try await terminal.waitFor("iex(\(node.name))1>")
        try terminal.enter("{:ok, \"text\", 42}")
        try await terminal.waitFor("iex(\(node.name))2>")
        try terminal.enter("raise \"boom\"")
        try await terminal.waitFor("(RuntimeError) boom")
        let screen = try terminal.screenWithColors()
        let escape = "\u{1B}["
        if noColor {
            #expect(!screen.components(separatedBy: "\n").contains { $0.contains("text") && $0.contains(escape) }, "\(screen)")
        } else {
            #expect(screen.contains(escape + "36m:ok"), "atoms cyan: \(screen.debugDescription)")
            #expect(screen.contains(escape + "32m\"text\""), "strings green: \(screen.debugDescription)")
            #expect(screen.contains(escape + "33m 42"), "the rest in the result color: \(screen.debugDescription)")
            #expect(screen.contains(escape + "31m** (RuntimeError) boom"), "errors red: \(screen.debugDescription)")
        }
        try terminal.press("C-d")
        try await terminal.waitFor("EXIT:0")
    }
}

import Foundation

/// An Elixir node and beamsh's console on it in a pseudo-terminal, with a home (history) of its own.
/// `beamsh NODE --eval 'IO.gets("q? ")'` in a terminal, at its prompt, on a fresh Elixir node.
private func oneShotWaitingAtARead() async throws -> (TestNode, Terminal) {
    let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
    let node = try TestNode(runtime: runtime, elixir: true)
    do {
        let terminal = try Terminal("\(BeamshBinary.path) \(node.name) --eval 'IO.gets(\"q? \")'",
                                    environment: ["RELEASE_COOKIE": node.cookie])
        do {
            try await terminal.waitFor("q?")
        } catch {
            terminal.close()
            throw error
        }
        return (node, terminal)
    } catch {
        node.stop()
        throw error
    }
}

private final class ConsoleSession {
    let node: TestNode
    let home: String
    let terminal: Terminal

    init(environment extra: [String: String] = [:], rows: Int = 40, arguments: String = "", nodeArgs: [String] = []) throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        node = try TestNode(runtime: runtime, elixir: true, extraArgs: nodeArgs)
        home = NSTemporaryDirectoryPath() + "/beamsh-home-\(TestNode.randomToken(6))"
        var environment = ["RELEASE_COOKIE": node.cookie, "XDG_STATE_HOME": home, "HOME": home]
        environment.merge(extra) { $1 }
        do {
            terminal = try Terminal("\(BeamshBinary.path) \(node.name) \(arguments)", environment: environment, rows: rows)
        } catch {
            node.stop()
            throw error
        }
    }

    func close() {
        terminal.close()
        node.stop()
        try? FileManager.default.removeItem(atPath: home)
    }
}

/// Sends `signal` to the beamsh process connected to `node`, and only to it: the pattern is
/// anchored at the start of the command line, which the shell that runs beamsh in the terminal
/// (its command line holds the same text) does not match.
private func signalBeamsh(_ signal: String, node: TestNode) throws {
    let pattern = "^" + NSRegularExpression.escapedPattern(for: "\(BeamshBinary.path) \(node.name)")
    let matched = try runProcess("/usr/bin/pgrep", ["-f", pattern])
    let pids = matched.stdout.split(separator: "\n")
    #expect(matched.status == 0 && pids.count == 1, "exactly one beamsh to signal: \(matched.stdout)")
    let sent = try runProcess("/usr/bin/pkill", ["-\(signal)", "-f", pattern])
    #expect(sent.status == 0, "no beamsh to signal")
}

private func NSTemporaryDirectoryPath() -> String { NSTemporaryDirectory().hasSuffix("/") ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory() }
