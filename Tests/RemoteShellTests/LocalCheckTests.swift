// The checks made here before a line reaches the node: no node needed.

@testable import RemoteShell
import Testing

struct LocalCheckTests {
    @Test(arguments: [
        ("System.halt()", "System.halt"), ("System.stop", "System.stop"), (":init.stop()", ":init.stop"),
        ("x = 1; :erlang.halt(0)", ":erlang.halt"), (":init.restart", ":init.restart"), (":init.reboot()", ":init.reboot"),
        ("System . halt", "System.halt"),
    ])
    func elixirStopCallsAreFound(line: String, call: String) {
        #expect(FootgunGuard.dangerousCall(in: line, language: .elixir) == call)
    }

    @Test(arguments: ["IO.puts(\"System.halt\")", "# System.halt()", "MySystem.halt()", "System.halted?()",
                      "~s(System.stop)", "'System.halt'"])
    func elixirLookalikesAreNot(line: String) {
        #expect(FootgunGuard.dangerousCall(in: line, language: .elixir) == nil)
    }

    @Test func erlangStopCalls() {
        #expect(FootgunGuard.dangerousCall(in: "q().", language: .erlang) == "q()")
        #expect(FootgunGuard.dangerousCall(in: "halt().", language: .erlang) == "halt()")
        #expect(FootgunGuard.dangerousCall(in: "init:stop().", language: .erlang) == "init:stop")
        #expect(FootgunGuard.dangerousCall(in: "io:format(\"q()\"). % halt()", language: .erlang) == nil)
        #expect(FootgunGuard.dangerousCall(in: "myq(). mod:halt().", language: .erlang) == nil)
    }

    @Test func pidLiteralsAreRewrittenOutsideStrings() {
        #expect(SourceScanner.rewritePidLiterals("Process.info(#PID<0.12.0>)", language: .elixir)
                == "Process.info(:erlang.list_to_pid(~c\"<0.12.0>\"))")
        #expect(SourceScanner.rewritePidLiterals("\"#PID<0.12.0>\"", language: .elixir) == "\"#PID<0.12.0>\"")
        #expect(SourceScanner.rewritePidLiterals("is_pid(#PID<0.1.0>).", language: .erlang) == "is_pid(list_to_pid(\"<0.1.0>\")).")
    }

    @Test func coreCommandsParse() {
        #expect(CoreCommands.parse("Node.list", language: .elixir)
                == .call(module: "erlang", function: "nodes", arguments: [], nilForUndefined: false))
        #expect(CoreCommands.parse("Node.list(:hidden)", language: .elixir)
                == .call(module: "erlang", function: "nodes", arguments: [.literal(.atom("hidden"))], nilForUndefined: false))
        #expect(CoreCommands.parse("Process.info(pid(0, 5, 0), :memory)", language: .elixir)
                == .call(module: "erlang", function: "process_info", arguments: [.pid("<0.5.0>"), .literal(.atom("memory"))],
                         nilForUndefined: false))
        #expect(CoreCommands.parse("x = 1", language: .elixir) == nil)
        #expect(CoreCommands.parse("Enum.map([1], & &1)", language: .elixir) == nil)
        #expect(CoreCommands.parse("erlang:memory(total).", language: .erlang)
                == .call(module: "erlang", function: "memory", arguments: [.literal(.atom("total"))], nilForUndefined: false))
    }

    @Test func readOnlyAllowList() {
        #expect(CoreCommands.readOnlyRefusal("Process.info(pid(\"0.1.0\"))", language: .elixir) == nil)
        #expect(CoreCommands.readOnlyRefusal(":erlang.system_info(:process_count)", language: .elixir) == nil)
        #expect(CoreCommands.readOnlyRefusal(":sys.get_state(:logger)", language: .elixir) != nil)
        #expect(CoreCommands.readOnlyRefusal("Process.exit(pid(\"0.1.0\"), :kill)", language: .elixir) != nil)
        #expect(CoreCommands.readOnlyRefusal("File.rm!(\"/\")", language: .elixir) != nil)
    }
}
