// The checks made here before a line reaches the node: no node needed.

import ErlangDistribution
import ErlangTerm
@testable import RemoteShell
import Testing

struct LocalCheckTests {
    @Test(arguments: [
        ("System.halt()", "System.halt"), ("System.stop", "System.stop"), (":init.stop()", ":init.stop"),
        ("x = 1; :erlang.halt(0)", ":erlang.halt"), (":init.restart", ":init.restart"), (":init.reboot()", ":init.reboot"),
        ("System . halt", "System.halt"),
        // One-line conditionals: the whitespace around `do:` and `do` separates tokens.
        ("if true, do: System.stop(), else: 1", "System.stop"), ("if true do System.stop() end", "System.stop"),
        ("unless false do System.stop() end", "System.stop"), ("case 1 do\n  1 -> System.halt()\nend", "System.halt"),
        ("true && System.stop()", "System.stop"), ("fn -> :init.stop() end.()", ":init.stop"),
        ("System.restart()", "System.restart"), (":\"init\".stop()", ":init.stop"),
        (":\"Elixir.System\".halt()", ":Elixir.System.halt"),
        (":'init'.stop()", ":init.stop"), ("System.\"stop\"()", "System.stop"), (":erlang.'halt'()", ":erlang.halt"),
        ("Elixir.System.stop()", "Elixir.System.stop"), ("x = \"\"\"\nhi\n\"\"\"; System.stop()", "System.stop"),
        // A comment ends with its line; character literals and heredoc sigils hide no code after them.
        ("# comment\nSystem.stop()", "System.stop"), ("x = 1 # note\nif false, do: System.stop()", "System.stop"),
        ("?\"; System.stop()", "System.stop"), ("?'; System.stop()", "System.stop"), ("?#; System.stop()", "System.stop"),
        ("?\\\"; System.stop()", "System.stop"), ("~S\"\"\"\nab\"c\n\"\"\"; System.stop()", "System.stop"),
        // The module and function as arguments: apply, rpc, spawn.
        (":rpc.call(node(), :init, :stop, [])", ":init.stop"), ("apply(:erlang, :halt, [0])", ":erlang.halt"),
        ("apply(System, :stop, [])", "System.stop"), ("spawn(:init,:restart,[])", ":init.restart"),
        (":erpc.call(node(), :\"init\", :stop, [])", ":init.stop"),
        // Stopped by what they are given: the kernel application, an exit signal to init.
        ("Application.stop(:kernel)", "Application.stop(:kernel)"), (":application.stop( :stdlib )", "Application.stop(:stdlib)"),
        (":application_controller.stop_application(:kernel)", "Application.stop(:kernel)"),
        ("Process.exit(Process.whereis(:init), :kill)", "Process.exit(Process.whereis(:init), ...)"),
        (":erlang.exit(:erlang.whereis( :init ), :kill)", "Process.exit(Process.whereis(:init), ...)"),
        // The message init:stop/0 sends.
        ("send(:init, {:stop, :stop})", "send(:init, ...)"), (":erlang.send( :init, {:stop, :stop})", "send(:init, ...)"),
        ("Kernel.send(Process.whereis(:init), {:stop, :restart})", "send(:init, ...)"),
        ("send :init, {:stop, :stop}", "send(:init, ...)"),
        // init by its pid, always <0.0.0>.
        ("Process.exit(pid(0, 0, 0), :kill)", "Process.exit(Process.whereis(:init), ...)"),
        ("send(pid(0,0,0), {:stop, :stop})", "send(:init, ...)"),
        // ...and as text, as Process.list() and :top print it.
        ("Process.exit(pid(\"0.0.0\"), :kill)", "Process.exit(Process.whereis(:init), ...)"),
        ("Process.exit(#PID<0.0.0>, :kill)", "Process.exit(Process.whereis(:init), ...)"),
        ("Process.exit( IEx.Helpers.pid( '0.0.0' ), :kill)", "Process.exit(Process.whereis(:init), ...)"),
        (":erlang.exit(:erlang.list_to_pid(~c\"<0.0.0>\"), :kill)", "Process.exit(Process.whereis(:init), ...)"),
        ("send(#PID<0.0.0>, {:stop, :stop})", "send(:init, ...)"),
        // Any message to init is asked about, whatever it says.
        ("send(:init, :hello)", "send(:init, ...)"), ("send(pid(0, 0, 0), :hello)", "send(:init, ...)"),
        // The kernel processes whose end takes the node down.
        ("GenServer.stop(:application_controller)", "stopping :application_controller"),
        ("Process.exit(Process.whereis(:application_controller), :kill)", "stopping :application_controller"),
        (":sys.terminate(:kernel_sup, :normal)", "stopping :kernel_sup"),
        // Piped: the value piped is the call's first argument.
        (":init |> apply(:stop, [])", ":init.stop"),
        ("Process.whereis(:init) |> Process.exit(:kill)", "Process.exit(Process.whereis(:init), ...)"),
        (":erlang.list_to_pid(~c\"<0.0.0>\") |> Process.exit(:kill)", "Process.exit(Process.whereis(:init), ...)"),
        ("pid(0, 0, 0) |> send({:stop, :stop})", "send(:init, ...)"),
        (":kernel |> Application.stop()", "Application.stop(:kernel)"),
        (":kernel |> Application.stop", "Application.stop(:kernel)"),
        (":init\n|> Process.whereis()\n|> Process.exit(:kill)", "Process.exit(Process.whereis(:init), ...)"),
        ("x = :application_controller |> GenServer.stop()", "stopping :application_controller"),
        // Over several lines, and in an interpolation, whose code runs.
        ("System.\nstop()", "System.stop"), ("x = \"abc\n\"; System.stop()", "System.stop"),
        ("IO.puts(\"#{System.stop()}\")", "System.stop"), ("\"#{\"(\"}\"; System.stop()", "System.stop"),
        ("~s(a#{System.halt()})", "System.halt"),
        // After a character literal that follows an operator; after a heredoc whose text holds
        // its quotes mid-line (only a line that starts with them closes it); after a charlist
        // heredoc; after a comment on a Windows line.
        ("System.stop(); !?(", "System.stop"), ("x = \"\"\"\nsay \"\"\" hi\n\"\"\" <> System.stop()", "System.stop"),
        ("x = ~c\'\'\'\nit's\n\'\'\' ++ System.stop()", "System.stop"), ("x = \'\'\'\nit's\n\'\'\' ++ System.stop()", "System.stop"),
        ("# note\r\nSystem.stop()", "System.stop"),
        // The module in grouping brackets is the module.
        ("(System).stop()", "System.stop"), ("( :init ).stop()", ":init.stop"), ("((System)).halt()", "System.halt"),
        ("send(#PID<0.0.0>, :hello)", "send(:init, ...)"),
        // An operator's `~` hides nothing as a sigil would.
        ("x = 1; y = Bitwise.~~~x; send(:init, :hello)", "send(:init, ...)"), ("x =~y; System.stop()", "System.stop"),
        // Names in grouping brackets anywhere, and init's pid through the shells' modules.
        ("apply((:init), (:stop), [])", ":init.stop"), ("send((:init), :hello)", "send(:init, ...)"),
        ("Process.send((:init), :hello, [])", "send(:init, ...)"), ("(:init) |> send(:hello)", "send(:init, ...)"),
        ("IO.inspect (System).stop()", "System.stop"), ("send(:c.pid(0, 0, 0), :hello)", "send(:init, ...)"),
        ("send(IEx.Helpers.pid(0,0,0), :hello)", "send(:init, ...)"), ("Process.exit(IEx.Helpers.pid(0,0,0), :kill)", "Process.exit(Process.whereis(:init), ...)"),
        (":erlang.exit(:c.pid(0,0,0), :kill)", "Process.exit(Process.whereis(:init), ...)"),
        ("send :init, {:stop, :stop}", "send(:init, ...)"), ("Kernel.send  :init ,  msg", "send(:init, ...)"),
        // Calls without brackets, whatever their argument.
        ("send pid(0,0,0), {:stop, :stop}", "send(:init, ...)"), ("send Process.whereis(:init), msg", "send(:init, ...)"),
        (":erlang.send :init, msg", "send(:init, ...)"), ("Process.exit pid(0, 0, 0), :kill", "Process.exit(Process.whereis(:init), ...)"),
        ("x = 1\nProcess.exit Process.whereis(:init), :kill", "Process.exit(Process.whereis(:init), ...)"),
        ("Application.stop :kernel", "Application.stop(:kernel)"),
        ("if true do\n  Process.exit(Process.whereis(:init), :kill)\nend", "Process.exit(Process.whereis(:init), ...)"),
    ])
    func elixirStopCallsAreFound(line: String, call: String) {
        #expect(FootgunGuard.dangerousCall(in: line, language: .elixir) == call)
    }

    @Test(arguments: ["IO.puts(\"System.halt\")", "# System.halt()", "MySystem.halt()", "System.halted?()",
                      "~s(System.stop)", "'System.halt'", "\"\"\"\nSystem.stop()\n\"\"\"", "?\\\" <> \"System.stop()\"",
                      "Node.alive?() # System.stop()", "apply(:init, :stopped, [])", "{:myinit, :stop}",
                      "Application.stop(:kernel_extra)", "Application.stop(:my_app)", "Process.exit(Process.whereis(:initial), :kill)",
                      "send(:initial, {:stop, :stop})", "GenServer.stop(:my_app_server)",
                      "Process.exit(Process.whereis(:application_controller_x), :kill)",
                      "IO.puts(\"Application.stop(:kernel)\")",
                      "Process.exit(pid(\"0.10.0\"), :kill)", "Process.exit(#PID<0.0.01>, :kill)", "Process.info(pid(\"0.0.0\"))",
                      // Questions about a stopping call, not calls: IEx's documentation helpers, function_exported?.
                      "h System.stop", "h(System.stop/1)", "b System.stop", "function_exported?(System, :stop, 1)",
                      ":erlang.function_exported(:init, :stop, 0)",
                      ":init |> Process.whereis() |> Process.info()", "[1, 2] |> Enum.map(&(&1 + 1)) |> Enum.sum()",
                      ":my_app |> Application.stop()", "x |> Kernel.>(1)",
                      // Text inside an interpolation's own string, and after an upper-case sigil's `#{`.
                      "IO.puts(\"hint: #{\"run System.stop() to stop\"}\")", "~S(#{System.stop()})",
                      "s = \"\"\"\nrun System.stop() here\n\"\"\"",
                      // A bracket after a name is a call's: `stop` runs on what `f` returns.
                      "f(System).stop()", "Enum.max([(1), 2])", "(f).(3)",
                      // A keyword `send:` with a variable named init is no call; operators spelled as words.
                      "opts = [send: init, recv: x]", "send and init", ":send in [:init]", "x :: init"])
    func elixirLookalikesAreNot(line: String) {
        #expect(FootgunGuard.dangerousCall(in: line, language: .elixir) == nil)
    }

    /// The guard reads a long line in linear time: brackets to unwrap everywhere (400 KB here:
    /// 1.3 s in a debug build; a slice kept alive while the array changed made it 148 s).
    @Test(.timeLimit(.minutes(1))) func longLinesAreReadInLinearTime() {
        let line = "x = [" + String(repeating: "(1), ((a)), f (b), ", count: 20_000) + "]; System.stop()"
        #expect(FootgunGuard.dangerousCall(in: line, language: .elixir) == "System.stop")
        let erlang = "X = [" + String(repeating: "(1), (c:pid(0,0,0)), ", count: 20_000) + "], init:stop()."
        #expect(FootgunGuard.dangerousCall(in: erlang, language: .erlang) == "init:stop")
    }

    @Test func erlangStopCalls() {
        // init named by the pid `i()` prints, pasted; any message to init; the module in brackets.
        for (line, call) in [("exit(<0.0.0>, kill).", "exit(whereis(init), ...)"), ("<0.0.0> ! {stop, stop}.", "init ! ..."),
                             ("<0.0.0> ! hello.", "init ! ..."), ("init ! hello.", "init ! ..."),
                             ("erlang:send(init, x).", "init ! ..."), ("erlang:send(<0.0.0>, x).", "init ! ..."),
                             ("(init):stop().", "init:stop"), ("( ( init ) ) : stop().", "init:stop"),
                             ("(q)().", "q()"), ("(halt)().", "halt()"), ("erlang:send((init), hello).", "init ! ..."),
                             ("(init) ! hello.", "init ! ..."), ("c:pid(0,0,0) ! hello.", "init ! ..."),
                             ("(c:pid(0, 0, 0)) ! hello.", "init ! ..."), ("erlang:send(c:pid(0,0,0), hello).", "init ! ..."),
                             ("shell_default:pid(0,0,0) ! hello.", "init ! ...")] {
            #expect(FootgunGuard.dangerousCall(in: line, language: .erlang) == call, "\(line)")
        }
        for line in ["erlang:send(self(), x).", "initial ! hello.", "exit(<0.10.0>, kill).", "io:format(\"<0.0.0>\").",
                     "lists:max([(1), 2]).", "f(init):stop()."] {
            #expect(FootgunGuard.dangerousCall(in: line, language: .erlang) == nil, "\(line)")
        }
        #expect(FootgunGuard.dangerousCall(in: "q().", language: .erlang) == "q()")
        #expect(FootgunGuard.dangerousCall(in: "halt().", language: .erlang) == "halt()")
        #expect(FootgunGuard.dangerousCall(in: "init:stop().", language: .erlang) == "init:stop")
        #expect(FootgunGuard.dangerousCall(in: "io:format(\"q()\"). % halt()", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "myq(). mod:halt().", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "init : stop().", language: .erlang) == "init:stop")
        #expect(FootgunGuard.dangerousCall(in: "case 1 of 1 -> halt() end.", language: .erlang) == "halt()")
        #expect(FootgunGuard.dangerousCall(in: "mod : halt().", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "X = 1. init:stop().", language: .erlang) == "init:stop")
        #expect(FootgunGuard.dangerousCall(in: "ok. halt().", language: .erlang) == "halt()")
        #expect(FootgunGuard.dangerousCall(in: "halt ().", language: .erlang) == "halt()")
        #expect(FootgunGuard.dangerousCall(in: "q ( ).", language: .erlang) == "q()")
        #expect(FootgunGuard.dangerousCall(in: "'init':stop().", language: .erlang) == "init:stop")
        #expect(FootgunGuard.dangerousCall(in: "'Elixir.System':restart().", language: .erlang) == "Elixir.System:restart")
        // OTP 27's sigils and text blocks: a `%` in them is no comment, and their text no call.
        #expect(FootgunGuard.dangerousCall(in: "init:stop(), io:format(~B[100%~n]).", language: .erlang) == "init:stop")
        #expect(!SourceScanner.certainlyIncomplete("init:stop(), io:format(~B[100%~n]).", language: .erlang))
        #expect(FootgunGuard.dangerousCall(in: "S = ~\"halt() % here\", ok.", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "S = \"\"\"\n  a \"\"\" halt()\n  \"\"\", init:stop().", language: .erlang) == "init:stop")
        #expect(FootgunGuard.dangerousCall(in: "io:format(\"'init':stop()\").", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "% comment\ncase false of true -> init:stop(); _ -> ok end.", language: .erlang)
                == "init:stop")
        #expect(FootgunGuard.dangerousCall(in: "erlang:apply(init, stop, []).", language: .erlang) == "init:stop")
        #expect(FootgunGuard.dangerousCall(in: "rpc:call(node(), erlang, halt, [0]).", language: .erlang) == "erlang:halt")
        #expect(FootgunGuard.dangerousCall(in: "apply('Elixir.System', stop, []).", language: .erlang) == "Elixir.System:stop")
        #expect(FootgunGuard.dangerousCall(in: "apply(myinit, stop, []).", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "application:stop(kernel).", language: .erlang) == "application:stop(kernel)")
        #expect(FootgunGuard.dangerousCall(in: "application:stop(kernel_x).", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "application_controller:stop_application(stdlib).", language: .erlang)
                == "application:stop(stdlib)")
        #expect(FootgunGuard.dangerousCall(in: "exit(pid(0, 0, 0), kill).", language: .erlang) == "exit(whereis(init), ...)")
        #expect(FootgunGuard.dangerousCall(in: "pid(0,0,0) ! {stop, stop}.", language: .erlang) == "init ! ...")
        #expect(FootgunGuard.dangerousCall(in: "erlang:exit(list_to_pid(\"<0.0.0>\"), kill).", language: .erlang)
                == "exit(whereis(init), ...)")
        #expect(FootgunGuard.dangerousCall(in: "c:pid(\"0.0.0\") ! {stop, stop}.", language: .erlang) == "init ! ...")
        #expect(FootgunGuard.dangerousCall(in: "exit(list_to_pid(\"<0.10.0>\"), kill).", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "erlang:function_exported(init, stop, 0).", language: .erlang) == nil)
        // A lookup helper's name ahead of a real call does not hide it.
        #expect(FootgunGuard.dangerousCall(in: "h(1); System.stop()", language: .elixir) == "System.stop")
        #expect(FootgunGuard.dangerousCall(in: "exit(pid(0, 10, 0), kill).", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "exit(whereis(init), kill).", language: .erlang) == "exit(whereis(init), ...)")
        #expect(FootgunGuard.dangerousCall(in: "erlang:exit(erlang:whereis( init ), kill).", language: .erlang)
                == "exit(whereis(init), ...)")
        #expect(FootgunGuard.dangerousCall(in: "exit(whereis(initial), kill).", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "init ! {stop, stop}.", language: .erlang) == "init ! ...")
        #expect(FootgunGuard.dangerousCall(in: "erlang:send(init, {stop, reboot}).", language: .erlang) == "init ! ...")
        #expect(FootgunGuard.dangerousCall(in: "whereis(init) ! {stop, stop}.", language: .erlang) == "init ! ...")
        #expect(FootgunGuard.dangerousCall(in: "myinit ! {stop, stop}.", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "gen_server:stop(application_controller).", language: .erlang)
                == "stopping application_controller")
        #expect(FootgunGuard.dangerousCall(in: "exit(whereis(kernel_sup), kill).", language: .erlang) == "stopping kernel_sup")
        #expect(FootgunGuard.dangerousCall(in: "gen_server:stop(my_server).", language: .erlang) == nil)
        #expect(FootgunGuard.stopCall(module: "gen_server", function: "stop", arguments: [.atom("application_controller")])
                == "gen_server:stop(application_controller)")
        #expect(FootgunGuard.stopCall(module: "gen_server", function: "stop", arguments: [.atom("my_server")]) == nil)
    }

    /// An `--eval` argument on an Erlang node gets the full stop it lacks, on a line of its own
    /// (after a trailing comment), and none when it has one (`$.` is a character, not one).
    @Test func erlangEndings() {
        #expect(ShellCore.erlangEnding(of: "erlang:nodes()") == .open(end: 14))
        #expect(ShellCore.erlangEnding(of: "erlang:nodes(). ") == .fullStop)
        #expect(ShellCore.erlangEnding(of: "erlang:node() % which node.") == .open(end: 13))
        #expect(ShellCore.erlangEnding(of: "X = 1. % first\nX + 1 % second") == .open(end: 20))
        #expect(ShellCore.erlangEnding(of: "X = 1.\n% done") == .fullStop)
        #expect(ShellCore.erlangEnding(of: "C = $.") == .open(end: 5))
        #expect(ShellCore.erlangEnding(of: "\"a.\"") == .open(end: 4))
        #expect(ShellCore.erlangEnding(of: "  % only a comment\n") == .empty)
        #expect(ShellCore.erlangEnding(of: "") == .empty)
    }

    @Test func pidLiteralsAreRewrittenOutsideStrings() {
        #expect(SourceScanner.rewritePidLiterals("Process.info(#PID<0.12.0>)", language: .elixir)
                == "Process.info(:erlang.list_to_pid(~c\"<0.12.0>\"))")
        #expect(SourceScanner.rewritePidLiterals("\"#PID<0.12.0>\"", language: .elixir) == "\"#PID<0.12.0>\"")
        // In strings over several lines, and in an interpolation's string, too.
        for text in ["m = \"\"\"\ncrash report for #PID<0.44.0>\n\"\"\"", "s = \"first\n#PID<0.1.0> in string\"",
                     "\"#{\"#PID<0.1.0>\"}\""] {
            #expect(SourceScanner.rewritePidLiterals(text, language: .elixir) == text)
        }
        #expect(SourceScanner.rewritePidLiterals("S = \"first\npid <0.1.0> here\".", language: .erlang) == "S = \"first\npid <0.1.0> here\".")
        #expect(SourceScanner.rewritePidLiterals("\"#{x}\" <> inspect(#PID<0.1.0>)", language: .elixir)
                == "\"#{x}\" <> inspect(:erlang.list_to_pid(~c\"<0.1.0>\"))")
        #expect(SourceScanner.rewritePidLiterals("is_pid(#PID<0.1.0>).", language: .erlang) == "is_pid(list_to_pid(\"<0.1.0>\")).")
    }

    /// Elixir calls found in Erlang code, and Erlang that only looks like them left alone.
    @Test func elixirCallsInErlangAreFound() {
        func found(_ code: String) -> String? {
            SourceScanner.elixirRemoteCall(inErlang: code).map { "\($0.module):\($0.function)" }
        }
        #expect(found("Enum.count([1])") == "'Elixir.Enum':count")
        #expect(found("X = 1, IO.puts(\"x\")") == "'Elixir.IO':puts")
        #expect(found("MyApp.Repo.all?(q)") == "'Elixir.MyApp.Repo':all?")
        #expect(found("[1,\n  Enum.count(L)") == "'Elixir.Enum':count")
        for erlang in ["lists:seq(1, 3).", "A = 1. B = A + 1.", "R#rec.field.", "X = \"Enum.count(1)\".", "'Elixir.Enum':count([1]).",
                       "?MODULE.", "% Enum.count(1)\nok.", "F = fun() -> ok end. F().", "$A.", "Enum.", "X#r.f(1)"] {
            #expect(found(erlang) == nil, "\(erlang)")
        }
    }

    @Test func coreCommandsParse() {
        #expect(CoreCommands.parse("Node.list", language: .elixir)
                == .call(module: "erlang", function: "nodes", arguments: [], nilForUndefined: false))
        #expect(CoreCommands.parse("Node.list(:hidden)", language: .elixir)
                == .call(module: "erlang", function: "nodes", arguments: [.literal(.atom("hidden"))], nilForUndefined: false))
        #expect(CoreCommands.parse("Process.info(pid(0, 5, 0), :memory)", language: .elixir)
                == .call(module: "erlang", function: "process_info", arguments: [.pid("<0.5.0>"), .literal(.atom("memory"))],
                         nilForUndefined: true))
        #expect(CoreCommands.parse("System.version()", language: .elixir)
                == .call(module: "Elixir.System", function: "version", arguments: [], nilForUndefined: false))
        #expect(CoreCommands.readOnlyRefusal("System.otp_release()", language: .elixir) == nil)
        #expect(CoreCommands.parse("System.cmd(\"ls\", [])", language: .elixir) == nil)
        #expect(CoreCommands.parse("x = 1", language: .elixir) == nil)
        #expect(CoreCommands.parse("Enum.map([1], & &1)", language: .elixir) == nil)
        // Quoted text with an escape or an interpolation is the node's to read (`"a\tb"` is a tab).
        for line in [#""a\tb""#, #"Process.whereis(:"\x63ode_server")"#, #"byte_size("\u00e9")"#, #"hd(~c"\t")"#,
                     ##""#{1 + 1}""##, ##":"#{:code}_server""##] {
            #expect(CoreCommands.parse(line, language: .elixir) == nil, "\(line)")
        }
        #expect(CoreCommands.parse(#"Process.whereis(:"code_server")"#, language: .elixir)
                == .call(module: "erlang", function: "whereis", arguments: [.literal(.atom("code_server"))], nilForUndefined: true))
        #expect(CoreCommands.parse(#"erlang:whereis('code\x5fserver')."#, language: .erlang) == nil)
        #expect(CoreCommands.parse("erlang:memory(total).", language: .erlang)
                == .call(module: "erlang", function: "memory", arguments: [.literal(.atom("total"))], nilForUndefined: false))
    }

    /// What IEx's pipe shorthand refuses to follow: a match at the top of the last input.
    @Test func matchesAtTheTopOfAnInput() {
        #expect(Console.isMatch("x = 5") && Console.isMatch("{a, b} = {1, 2}") && Console.isMatch("%{a: a} =\n  m"))
        #expect(!Console.isMatch("a == b") && !Console.isMatch("%{a => 1}") && !Console.isMatch("f(x = 1)")
                && !Console.isMatch("a <= b") && !Console.isMatch("a =~ ~r/x/") && !Console.isMatch("\"x = 1\"") && !Console.isMatch("[a: 1]")
                && !Console.isMatch("\"#{x = 1}\""))
    }

    /// `:help` fits the terminal: a description is broken between words, under its column.
    @Test func helpFitsTheTerminal() {
        for width in [40, 60, 80, 120] {
            let lines = Console.help(width: width).split(separator: "\n").map(String.init)
            #expect(lines.allSatisfy { $0.count <= max(width, 42) }, "\(width): \(lines)")
            #expect(lines.filter { !$0.hasPrefix(" ") }.count == 5, "one entry per command: \(lines)")
            let words = lines.joined(separator: " ").split(separator: " ")
            #expect(words.contains("message_queue") && words.contains("interrupts"), "words whole: \(lines)")
        }
        #expect(Console.help(width: 200).split(separator: "\n").count == 5)
    }

    /// `h` with a module, function or arity names what to look up (a macro: nothing runs), so
    /// read-only lets it through; anything more is not a lookup.
    @Test func documentationLookups() {
        for line in ["h", "h()", "h Enum", "h Enum.map", "h Enum.map/2", " h(Enum.map/2) ", "h :lists", "h(:lists.seq/2)",
                     "h String.valid?/1", "h Kernel.SpecialForms", "h IEx.Helpers.h"] {
            #expect(CoreCommands.isDocumentationLookup(line), "\(line)")
        }
        #expect(CoreCommands.documentationLookup("h(Enum.map/2)") == .init(module: "Elixir.Enum", function: "map"))
        #expect(CoreCommands.documentationLookup("h :lists.seq") == .init(module: "lists", function: "seq"))
        #expect(CoreCommands.documentationLookup("h String.valid?/1") == .init(module: "Elixir.String", function: "valid?"))
        #expect(CoreCommands.documentationLookup("h Kernel.SpecialForms") == .init(module: "Elixir.Kernel.SpecialForms", function: nil))
        #expect(CoreCommands.documentationLookup("h") == .init(module: nil, function: nil))
        for line in ["h Enum.map(1)", "h(IO.puts(\"x\"))", "h Enum.map/", "h x", "hx", "h Enum; File.rm(\"x\")", "h(Enum) |> IO.inspect",
                     ##"h :"#{File.rm("x")}""##, "h Enum.map/2 + 1", "v()", "h Enum.Map.", "h :lists.seq/a"] {
            #expect(!CoreCommands.isDocumentationLookup(line), "\(line)")
        }
    }

    @Test func readOnlyAllowList() {
        #expect(CoreCommands.readOnlyRefusal("Process.info(pid(\"0.1.0\"))", language: .elixir) == nil)
        #expect(CoreCommands.readOnlyRefusal(":erlang.system_info(:process_count)", language: .elixir) == nil)
        #expect(CoreCommands.readOnlyRefusal(":sys.get_state(:logger)", language: .elixir) != nil)
        #expect(CoreCommands.readOnlyRefusal("Process.exit(pid(\"0.1.0\"), :kill)", language: .elixir) != nil)
        #expect(CoreCommands.readOnlyRefusal("File.rm!(\"/\")", language: .elixir) != nil)
        // A call that is no core command is named in the refusal; anything else gets the rule.
        for (line, language, call) in [("System.stop()", Language.elixir, "System.stop"), ("System.stop", .elixir, "System.stop"),
                                       ("MyApp.Repo.delete_all(User)", .elixir, "MyApp.Repo.delete_all"),
                                       (":ets.delete(t, \"a)\")", .elixir, ":ets.delete"), ("ets:delete(T).", .erlang, "ets:delete"),
                                       (":ets.delete(:t)", .elixir, "ets:delete/1"),
                                       (":init.stop", .elixir, "init:stop/0"), ("init:stop().", .erlang, "init:stop/0")] {
            #expect(CoreCommands.readOnlyRefusal(line, language: language)?.hasPrefix("read-only: \(call) is not on the read-only allow-list") == true,
                    "\(line)")
        }
        #expect(CoreCommands.readOnlyRefusal("File.rm!(\"x\")", language: .elixir)?.hasPrefix("read-only: File.rm! is not on") == true)
        for line in ["x = 1", "System.stop() + 1", "MyApp.f() |> g()", "Process.info(pid, :memory)", "System.version(v)"] {
            #expect(CoreCommands.readOnlyRefusal(line, language: .elixir)?.hasPrefix("read-only: only the core commands") == true, "\(line)")
        }
        // Tuples, the ~c sigil and Kernel's pure functions (computed here) are part of the language.
        #expect(CoreCommands.readOnlyRefusal(":erlang.system_info({:allocator, :binary_alloc})", language: .elixir) == nil)
        #expect(CoreCommands.readOnlyRefusal(":erlang.list_to_pid(~c\"<0.1.0>\")", language: .elixir) == nil)
        #expect(CoreCommands.parse("length(Process.list())", language: .elixir)
                == .local(.length, [.call(module: "erlang", function: "processes", arguments: [], nilForUndefined: false)]))
        #expect(CoreCommands.readOnlyRefusal("length(processes()).", language: .erlang) == nil)
        #expect(CoreCommands.readOnlyRefusal("erlang:system_info({allocator, binary_alloc}).", language: .erlang) == nil)
        #expect(CoreCommands.readOnlyRefusal("length(:os.cmd(~c\"ls\"))", language: .elixir)?.contains("os:cmd/1") == true)
        #expect(CoreCommands.readOnlyRefusal("Process.list() |> length()", language: .elixir)?.contains("no variables, operators or pipes") == true)
        // Allow-listed reads that copy unbounded state on the node: the item must be written out.
        let queue = CoreCommands.readOnlyRefusal("Process.info(pid(\"0.1.0\"), :messages)", language: .elixir)
        #expect(queue?.contains("message_queue_len") == true, "\(queue ?? "allowed")")
        #expect(CoreCommands.readOnlyRefusal("process_info(list_to_pid(\"<0.1.0>\"), [status, messages]).", language: .erlang)
                == "read-only: process_info(_, messages) copies the process's whole message queue on the node; "
                   + "ask for message_queue_len instead; not evaluated")
        #expect(CoreCommands.readOnlyRefusal("Process.info(pid(\"0.1.0\"), hd([:messages]))", language: .elixir)?
                    .contains("written out") == true)
        #expect(CoreCommands.readOnlyRefusal(":erlang.system_info(:procs)", language: .elixir)?.contains("every process") == true)
        #expect(CoreCommands.readOnlyRefusal("Process.info(pid(\"0.1.0\"), [:status, :message_queue_len])", language: .elixir) == nil)
        // A computed item is refused for these two calls only.
        #expect(CoreCommands.readOnlyObjection(module: "erlang", function: "process_info", arguments: [nil, .atom("memory")]) == nil)
        #expect(CoreCommands.readOnlyObjection(module: "erlang", function: "process_info", arguments: [nil, nil])
                == "process_info/2 takes its item written out (an atom, or a list of atoms)")
        #expect(CoreCommands.readOnlyObjection(module: "erlang", function: "memory", arguments: [nil]) == nil)
        #expect(CoreCommands.readOnlyObjection(module: "erlang", function: "system_info", arguments: [.atom("procs")])
                == "system_info(procs) writes out every process on the node as text")
        #expect(CoreCommands.readOnlyObjection(module: "init", function: "stop", arguments: [])
                == "init:stop/0 is not on the read-only allow-list")
        // The module is named for BIFs too, quoted where Erlang quotes it.
        #expect(CoreCommands.readOnlyObjection(module: "erlang", function: "halt", arguments: [])
                == "erlang:halt/0 is not on the read-only allow-list")
        #expect(CoreCommands.readOnlyObjection(module: "Elixir.System", function: "stop", arguments: [])
                == "'Elixir.System':stop/0 is not on the read-only allow-list")
        #expect(LocalFunction.length.apply([1, 2, 3]) == 3 && LocalFunction.length.apply(.list(TermList([1], tail: 2))) == nil)
        #expect(LocalFunction.tl.apply([1, 2]) == [2] && LocalFunction.hd.apply(.emptyList) == nil)
        #expect(LocalFunction.tupleSize.apply(.tuple([1, 2])) == 2 && LocalFunction.byteSize.apply(.binary("abc")) == 3)
    }
}

/// What a script's lines need no round trip to know: an expression certainly still open.
struct CertainlyIncompleteTests {
    @Test(arguments: [
        "defmodule M do", "def f(x) do\n  x", "Enum.map([1, 2], fn x ->", "foo(1,", "%{a: [1,", "case x do\n  1 -> :one",
        "fn -> :ok", "quote do", "if x do\n  \"end\"", "try do\n  :ok\nrescue\n  _ -> :e",
        // Inside a string, heredoc, charlist or sigil still open, read across lines.
        "\"unterminated", "x = \"\"\"\nfoo(\nbar", "x = \"a\nb", "x = ~s(a\nb", "@doc ~S\"\"\"\ntext \"\"\" here",
        "x = '''\nabc", "\"#{\nfoo(", "\"abc\" =~ ~r/a\nb", "x ==~s(a\nb", "x =~~r/a\nb", "\"#{\"\"\"\nin\n\"\"\"", "x = \"\"\"\n  \"\"\" not at the line's start",
    ])
    func elixirOpenExpressions(code: String) {
        #expect(SourceScanner.certainlyIncomplete(code, language: .elixir), "\(code)")
    }

    /// Complete, a syntax error, or something only the node's parser can tell: never "certainly".
    @Test(arguments: [
        // A `~` that ends an operator starts no sigil: `~~~x` is `bnot(x)` (as `mix format` writes it).
        "x = band(5, ~~~mask)", "x =~y", "a <~b", "a <<~b",
        "1 + 1", "defmodule M do\nend", "if x, do: 1, else: 2", "[do: 1, end: 2]", "{:do, :end, :fn}", "x = ?(\ny = 2",
        "\"do fn (\"", "# do fn (", "~w(do fn)", "~S\"\"\"\ndo (\n\"\"\"", "foo(1))", "x.end", "Enum.map(l, fn x -> x end)",
        "1 +", "fn_do = 1",
        // A string over several lines, closed: what it holds opens nothing.
        "x = \"\"\"\nfoo(\n\"\"\"", "x = \"a\nfoo(\"", "x = \"\"\"\n  do\n  \"\"\"", "~s(a\n(b\n)",
        // A heredoc with text after its opening quotes is an error for the node to report.
        "x = \"\"\"abc\nfoo(",
        // Brackets and keywords in an interpolation's strings open nothing.
        "\"#{\"(\"}\"", "name = \"#{\"[\"}admin]\"", "\"#{\"do\"}\"", "\"#{inspect(%{a: \"[\"})}\"",
    ])
    func elixirNotCertain(code: String) {
        #expect(!SourceScanner.certainlyIncomplete(code, language: .elixir), "\(code)")
    }

    /// Read a line at a time, a text gives the code it gives read whole: what is open at a
    /// line's end carries over.
    @Test(arguments: [Language.elixir, .erlang])
    func readingByLinesIsReadingWhole(language: Language) {
        let texts = [
            "x = \"\"\"\n  foo(\"bar\" #{inspect(%{a: \"(\"})}\n  \"\"\" <> \"x\"\ny = 1 # c\n",
            "a = \"one\ntwo #{\"three\nfour\"} five\" ++ 'six\nseven'\n?\" + ?#\n~s(a\n(b\n) ++ ~S\"\"\"\n\\\"\"\"\n  \"\"\"\n",
            "A = \"x.\ny\". % c\nB = $\", C = 'a\nb'.\nD = ~b[\n]\nE = \"\"\"\n  t\n  \"\"\".\n",
            "\"#{\"#{\"#{\n}\n\"}\"}\"", "'''\nx\n'''", "#PID<0.1.0> \"#PID<0.2.0>\n\"",
        ]
        for text in texts {
            let whole = SourceScanner.codeOnly(text, language: language)
            var scanner = SourceScanner.Scanner(language: language)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            var pieces: [Character] = []
            for (index, line) in lines.enumerated() {
                pieces += scanner.read(Array(line) + (index < lines.count - 1 ? ["\n"] : []))
            }
            #expect(String(pieces) == whole, "\(language): \(text)")
            #expect(scanner.isInsideQuotes == SourceScanner.scan(text, language: language).endsInsideQuotes)
        }
    }

    /// Interpolations nested without end are read without exhausting the stack.
    @Test func deeplyNestedInterpolations() {
        let deep = String(repeating: "\"#{", count: 20_000) + "System.stop()" + String(repeating: "}\"", count: 20_000)
        #expect(SourceScanner.codeOnly(deep, language: .elixir).count == deep.count)
    }

    @Test func erlang() {
        for open in ["X = 1", "case X of\n  1 -> a", "foo(). bar()", "A = \"x.\"", "B = 1 % a comment.", "X = $."] {
            #expect(SourceScanner.certainlyIncomplete(open, language: .erlang), "\(open)")
        }
        for open in ["A = \"x\ny.", "A = 'x\ny", "A = \"%\n"] {
            #expect(SourceScanner.certainlyIncomplete(open, language: .erlang), "\(open)")
        }
        // OTP 25 reads `"""` as three strings, OTP 27 as a text block; sigils are OTP 27's: the node judges.
        for maybe in ["X = 1.", "foo().  % done", "", "  ", "X = $..", "X = \"a\nb\".", "X = \"\"\"\nabc", "X = ~b[\nabc"] {
            #expect(!SourceScanner.certainlyIncomplete(maybe, language: .erlang), "\(maybe)")
        }
    }
}

/// Which discovered node `beamsh --dns QUERY [--pick N | --all]` uses: a choice made from what
/// DNS and EPMD said, before any connection.
struct DiscoveryPickTests {
    let nodes = [
        DiscoveredNode(name: "app@fd00::1", address: "fd00::1", family: 6, status: .unreachable(reason: "connection refused")),
        DiscoveredNode(name: "app@fd00::2", address: "fd00::2", family: 6, status: .registered(port: 4370)),
        DiscoveredNode(name: "app@10.0.0.3", address: "10.0.0.3", family: 4, status: .notRegistered(others: ["other"])),
        DiscoveredNode(name: "app@10.0.0.4", address: "10.0.0.4", family: 4, status: .registered(port: 4371)),
    ]

    @Test func defaultTriesRegisteredNodesInDiscoveryOrder() throws {
        let picked = try Discovery.candidates(nodes, query: "app.internal", pick: .firstReachable)
        #expect(picked.map(\.name) == ["app@fd00::2", "app@10.0.0.4"])
        #expect(try Discovery.candidates(nodes, query: "app.internal", pick: .all).map(\.name) == ["app@fd00::2", "app@10.0.0.4"])
    }

    @Test func pickCountsFromOneAsDiscoverListsThem() throws {
        #expect(try Discovery.candidates(nodes, query: "q", pick: .index(4)).map(\.name) == ["app@10.0.0.4"])
        let outOfRange = #expect(throws: DistributionError.self) { try Discovery.candidates(nodes, query: "q", pick: .index(5)) }
        #expect(outOfRange?.description.contains("q gave 4 nodes") == true, "\(outOfRange?.description ?? "")")
        #expect(outOfRange?.kind == .notRegistered)
        let unregistered = #expect(throws: DistributionError.self) { try Discovery.candidates(nodes, query: "q", pick: .index(3)) }
        #expect(unregistered?.description == "--pick 3: app@10.0.0.3: EPMD answers, app not registered (registered: other)")
        let down = #expect(throws: DistributionError.self) { try Discovery.candidates(nodes, query: "q", pick: .index(1)) }
        #expect(down?.kind == .epmdUnreachable)
    }

    @Test func nothingRegisteredNamesWhatEachAddressSaid() {
        let none = Array(nodes[0...0]) + [nodes[2]]
        let error = #expect(throws: DistributionError.self) { try Discovery.candidates(none, query: "app.internal", pick: .firstReachable) }
        #expect(error?.kind == .notRegistered)
        #expect(error?.description.contains("1. app@fd00::1: EPMD unreachable: connection refused; 2. app@10.0.0.3") == true, "\(error?.description ?? "")")
        let allDown = #expect(throws: DistributionError.self) { try Discovery.candidates([nodes[0]], query: "q", pick: .all) }
        #expect(allDown?.kind == .epmdUnreachable)
    }
}
