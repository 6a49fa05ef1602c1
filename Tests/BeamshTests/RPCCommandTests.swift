// `beamsh NODE --rpc`, `beamsh names`, `beamsh doctor` as a user runs them, against real nodes.

import BeamTestSupport
import Foundation
import Testing

@Suite(.serialized, .ownThreads) struct RPCCommandTests {
    @Test func rpcPrintsTheResultAndExitsZero() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let seq = try BeamshBinary.run([node.name, "--rpc", "lists", "seq", "1", "5"], cookie: node.cookie)
            #expect(seq.status == 0, "\(runtime): \(seq.stderr)")
            #expect(seq.stdout == "[1,2,3,4,5]\n")
            // As the Erlang shell prints a value (`~tp`): UTF-8 text is text, not Latin-1 bytes.
            let text = try BeamshBinary.run([node.name, "--rpc", "unicode", "characters_to_binary", "\"héllo\""], cookie: node.cookie)
            #expect(text.status == 0 && text.stdout == "<<\"héllo\"/utf8>>\n", "\(runtime): \(text.stdout)\(text.stderr)")
            let hidden = try BeamshBinary.run([node.name, "--rpc", "erlang", "nodes", "hidden"], cookie: node.cookie)
            #expect(hidden.status == 0)
            #expect(hidden.stdout.contains("beamsh_"), "our own hidden node is listed: \(hidden.stdout)")
            let visible = try BeamshBinary.run([node.name, "--rpc", "erlang", "nodes"], cookie: node.cookie)
            #expect(visible.stdout == "[]\n", "a hidden console never shows in nodes()")
            // The node's own processes as it prints them, read by the node itself.
            let initInfo = try BeamshBinary.run([node.name, "--rpc", "erlang", "process_info", "<0.0.0>", "registered_name"],
                                                cookie: node.cookie)
            #expect(initInfo.status == 0 && initInfo.stdout == "{registered_name,init}\n", "\(runtime): \(initInfo.stdout)\(initInfo.stderr)")
            // OTP 25 numbers its processes below 32768 and reads no such pid; OTP 28 does. Either
            // way the node answers (a pid it could not have would close the connection).
            let high = try BeamshBinary.run([node.name, "--rpc", "erlang", "is_process_alive", "<0.32768.0>"], cookie: node.cookie)
            if try node.eval("is_pid(catch list_to_pid(\"<0.32768.0>\")).") == "true" {
                #expect(high.status == 0 && high.stdout == "false\n", "\(runtime): \(high.status) \(high.stdout)\(high.stderr)")
            } else {
                #expect(high.status == 1 && high.stderr.contains("the node reads no pid of its own from <0.32768.0>"),
                        "\(runtime): \(high.status) \(high.stdout)\(high.stderr)")
            }
            #expect(try node.eval("ok.") == "ok", "\(runtime): the node still runs")
            // Several Erlang expressions in one --eval: a value (a JSON document) for each, and a
            // failure alone on stderr after the values before it.
            let two = try BeamshBinary.run([node.name, "--format", "json", "--eval", "A = 1. B = A + 1."], cookie: node.cookie)
            #expect(two.status == 0 && two.stdout == "1\n2\n", "\(runtime): \(two.stdout)\(two.stderr)")
            let failing = try BeamshBinary.run([node.name, "--eval", "A = 1. B = foo:bar(). 3."], cookie: node.cookie)
            #expect(failing.status == 1 && failing.stdout == "1\n"
                    && failing.stderr.hasPrefix("** exception error: undefined function foo:bar/0"), "\(runtime): \(failing.stdout)\(failing.stderr)")
            // Elixir on a node without it is named for what it is.
            let elixir = try BeamshBinary.run([node.name, "--eval", "Enum.count([1])"], cookie: node.cookie)
            #expect(elixir.status == 1 && elixir.stderr.contains("Enum.count(...) is Elixir syntax, and \(node.name) runs Erlang only"),
                    "\(runtime): \(elixir.stderr)")
            // A core command in a pipe: the pipe is what is said, and the form that works there.
            let piped = try BeamshBinary.run([node.name, "--eval", "Process.list() |> length()"], cookie: node.cookie)
            #expect(piped.status == 1 && piped.stderr.contains("pipes (|>), operators and variables need Elixir on the node")
                    && piped.stderr.contains("length(Process.list())"), "\(runtime): \(piped.stderr)")
        }
    }

    /// `--read-only` and `--timeout` hold for `--rpc` too; `--format json` prints JSON.
    @Test func rpcHonoursReadOnlyTimeoutAndFormat() throws {
        let node = try TestNode(runtime: try ErlangRuntime.requireAll()[0])
        defer { node.stop() }
        let stop = try BeamshBinary.run([node.name, "--read-only", "--rpc", "init", "stop"], cookie: node.cookie)
        #expect(stop.status == 1 && stop.stderr.contains("init:stop/0 is not on the read-only allow-list"), "\(stop.stderr)")
        #expect(try node.eval("ok.") == "ok", "the node still runs")
        let nodes = try BeamshBinary.run([node.name, "--read-only", "--rpc", "erlang", "nodes"], cookie: node.cookie)
        #expect(nodes.status == 0 && nodes.stdout == "[]\n", "\(nodes.stderr)")
        let queue = try BeamshBinary.run([node.name, "--read-only", "--rpc", "erlang", "process_info", "init", "[status,messages]"],
                                         cookie: node.cookie)
        #expect(queue.status == 1 && queue.stderr.contains("message_queue_len") && queue.stderr.contains("not called"), "\(queue.stderr)")
        let procs = try BeamshBinary.run([node.name, "--read-only", "--rpc", "erlang", "system_info", "procs"], cookie: node.cookie)
        #expect(procs.status == 1 && procs.stderr.contains("read-only: system_info(procs) writes out every process"), "\(procs.stderr)")

        let started = Date()
        let slow = try BeamshBinary.run([node.name, "--timeout", "1", "--rpc", "timer", "sleep", "60000"], cookie: node.cookie)
        #expect(slow.status == 1 && slow.stderr.contains("did not answer within"), "\(slow.stderr)")
        #expect(Date().timeIntervalSince(started) < 15, "waited for the 60 s call instead of the timeout")

        let json = try BeamshBinary.run([node.name, "--format", "json", "--rpc", "erlang", "list_to_tuple", "[[1,2]]"], cookie: node.cookie)
        #expect(json.stdout == #"{"$tuple":[[1,2]]}"# + "\n", "\(json.stdout)")
        let both = try BeamshBinary.run([node.name, "--eval", "1", "--rpc", "erlang", "node"], cookie: node.cookie)
        #expect(both.status == 64 && both.stderr.contains("exclude each other"), "\(both.stderr)")
        // An option after the call is one of its arguments, not a term: a usage error that says where options go.
        let late = try BeamshBinary.run([node.name, "--rpc", "erlang", "nodes", "--timeout", "5"], cookie: node.cookie)
        #expect(late.status == 64 && late.stderr.contains("options go before --rpc"), "\(late.stderr)")
        // Erlang's `-` and `--` are functions, not options.
        let minus = try BeamshBinary.run([node.name, "--rpc", "erlang", "-", "5", "3"], cookie: node.cookie)
        #expect(minus.status == 0 && minus.stdout == "2\n", "\(minus.stdout)\(minus.stderr)")
        let subtract = try BeamshBinary.run([node.name, "--rpc", "erlang", "--", "[1,2]", "[1]"], cookie: node.cookie)
        #expect(subtract.status == 0 && subtract.stdout == "[2]\n", "\(subtract.stdout)\(subtract.stderr)")
        for (arguments, message) in [
            ([node.name, "--rpc"], "needs a MODULE and a FUNCTION"),
            ([node.name, "--rpc", "--timeout", "3", "erlang", "node"], "options go before --rpc"),
            ([node.name, "--rpc", "erlang", "node", "-h"], "options go before --rpc"),
            (["--rpc", "erlang", "node", node.name], "the NODE goes before --rpc"),
            // A name that cannot be a node's is a usage error, not a failed connection.
            (["bad@", "--rpc", "erlang", "node"], "invalid node name 'bad@'"),
            (["--name", "x@y@host", node.name, "--rpc", "erlang", "node"], "--name: node name has more than one '@'"),
            ([node.name, "--name", "", "--rpc", "erlang", "node"], "--name is empty"),
        ] {
            let usage = try BeamshBinary.run(arguments, cookie: node.cookie)
            #expect(usage.status == 64 && usage.stderr.contains(message), "\(arguments): \(usage.status) \(usage.stderr)")
        }
        // A call that stops the node is refused without --yes, as in --eval.
        for call in [["init", "stop"], ["erlang", "halt"], ["'init'", "stop"], ["erlang", "apply", "init", "stop", "[]"],
                     ["rpc", "call", "'\(node.name)'", "init", "stop", "[]"], ["erlang", "spawn", "init", "stop", "[]"],
                     ["erlang", "send", "init", "{stop,stop}"],
                     // By its argument: stopping kernel or stdlib takes the node down too.
                     ["application", "stop", "kernel"], ["'Elixir.Application'", "stop", "stdlib"],
                     ["erlang", "apply", "application", "stop", "[kernel]"], ["application_controller", "stop_application", "kernel"],
                     ["rpc", "call", "'\(node.name)'", "application", "stop", "[stdlib]"],
                     // init named by its pid (always <0.0.0>) or in a wrapped call.
                     ["erlang", "send", "<0.0.0>", "{stop,stop}"], ["erlang", "exit", "<0.0.0>", "kill"],
                     ["erlang", "apply", "erlang", "send", "[init,{stop,stop}]"],
                     ["rpc", "call", "'\(node.name)'", "erlang", "send", "[{init,'\(node.name)'},{stop,stop}]"]] {
            let stop = try BeamshBinary.run([node.name, "--rpc"] + call, cookie: node.cookie)
            #expect(stop.status == 1 && stop.stderr.contains("would stop the remote node") && stop.stderr.contains("--yes"), "\(stop.stderr)")
        }
        #expect(try node.eval("ok.") == "ok", "the node still runs")
        let otherApp = try BeamshBinary.run([node.name, "--rpc", "application", "stop", "sasl"], cookie: node.cookie)
        #expect(otherApp.status == 0 && otherApp.stdout == "{error,{not_started,sasl}}\n", "\(otherApp.stdout)\(otherApp.stderr)")
        let quoted = try BeamshBinary.run([node.name, "--rpc", "'erlang'", "'node'"], cookie: node.cookie)
        #expect(quoted.status == 0 && quoted.stdout == "\(node.name)\n", "quotes as in Erlang: \(quoted.stdout)\(quoted.stderr)")
    }

    /// `--name` is the name we connect as (the node sees it); a name of the other form (long
    /// against a short-name node) is said in a warning, and the node takes it (a node checks a
    /// connecting name's allow-listing, not its form).
    @Test func ourNameFromTheCommandLine() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let host = node.name.split(separator: "@").last!
            let ours = "beamsh_named_\(TestNode.randomToken(6))"
            let named = try BeamshBinary.run([node.name, "--name", ours, "--rpc", "erlang", "nodes", "hidden"], cookie: node.cookie)
            #expect(named.status == 0 && named.stdout == "[\(ours)@\(host)]\n", "\(runtime): \(named.stdout)\(named.stderr)")
            let long = try BeamshBinary.run([node.name, "--name", ours + "_l@127.0.0.1", "--rpc", "erlang", "nodes", "hidden"],
                                            cookie: node.cookie)
            #expect(long.status == 0 && long.stdout == "['\(ours)_l@127.0.0.1']\n", "\(runtime): \(long.stdout)\(long.stderr)")
            #expect(long.stderr.contains("warning: our name \(ours)_l@127.0.0.1 has the form of long names (-name)")
                    && long.stderr.contains("a node accepts a connection from either"), "\(runtime): \(long.stderr)")
            let itself = try BeamshBinary.run([node.name, "--name", node.name, "--rpc", "erlang", "nodes"], cookie: node.cookie)
            #expect(itself.status == 2 && itself.stderr.contains("is the node's own name"), "\(runtime): \(itself.stderr)")
            // A name without a host takes the target's form, as the default name does.
            let longNode = try TestNode(runtime: runtime, mode: .long)
            defer { longNode.stop() }
            let bare = try BeamshBinary.run([longNode.name, "--name", ours, "--rpc", "erlang", "nodes", "hidden"], cookie: longNode.cookie)
            #expect(bare.status == 0 && bare.stdout.hasPrefix("['\(ours)@") && !bare.stdout.contains("@\(host)'"),
                    "\(runtime): \(bare.stdout)\(bare.stderr)")
        }
    }

    /// `--port` on the command line: the node's distribution port, no EPMD asked (there is none
    /// at the EPMD port given); `--address HOST:PORT` the same through another address.
    @Test func aFixedPortNeedsNoEPMD() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let port = try TestNode.unusedPort()
            let node = try TestNode(runtime: runtime, mode: .long, distributionPort: port)
            defer { node.stop() }
            let direct = try BeamshBinary.run([node.name, "--port", String(port), "--epmd-port", "1", "--rpc", "erlang", "node"],
                                              cookie: node.cookie)
            #expect(direct.status == 0 && direct.stdout == "'\(node.name)'\n", "\(runtime): \(direct.stdout)\(direct.stderr)")
            let tunnel = try BeamshBinary.run([node.name, "--address", "localhost:\(port)", "--epmd-port", "1", "--rpc", "erlang", "node"],
                                              cookie: node.cookie)
            #expect(tunnel.status == 0 && tunnel.stdout == "'\(node.name)'\n", "\(runtime): \(tunnel.stdout)\(tunnel.stderr)")
            // EPMD is not asked, so a bad ERL_EPMD_PORT is no mistake of these commands.
            for arguments in [[node.name, "--address", "localhost:\(port)", "--eval", "node()."], [node.name, "--port", String(port), "--eval", "node()."],
                              ["doctor", node.name, "--address", "localhost:\(port)"]] {
                let result = try BeamshBinary.run(arguments, cookie: node.cookie, environment: ["ERL_EPMD_PORT": "abc"])
                #expect(result.status == 0, "\(runtime) \(arguments): \(result.stdout)\(result.stderr)")
            }
        }
    }

    /// A bare NODE that names no node but looks like a subcommand (`beamsh doctr`) gets a hint.
    @Test func aMistypedSubcommandGetsAHint() throws {
        let typo = try BeamshBinary.run(["doctr"], cookie: "x")
        #expect(typo.status == 2 && typo.stderr.contains("did you mean `beamsh doctor`?"), "\(typo.stderr)")
        // On every short path too (a lone core command is answered on one of its own).
        for mode in [["--eval", "Node.self()"], ["--eval", "1 + 1"], ["--rpc", "erlang", "node"]] {
            let withMode = try BeamshBinary.run(["doctr"] + mode, cookie: "x")
            #expect(withMode.status == 2 && withMode.stderr.contains("did you mean `beamsh doctor`?"), "\(mode): \(withMode.stderr)")
        }
        let other = try BeamshBinary.run(["zzzqqq_\(TestNode.randomToken(4))"], cookie: "x")
        #expect(other.status == 2 && !other.stderr.contains("did you mean"), "\(other.stderr)")
    }

    /// A bare name is this host's node, on the short paths as through the general parse; a
    /// command's name (or `help`) is never taken for a node.
    @Test func aBareNameIsThisHostsNode() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime)  // a short name: alive@<this host>
            defer { node.stop() }
            // The last one goes through swift-argument-parser (an option before --rpc).
            for arguments in [[node.alive, "--rpc", "erlang", "node"], [node.alive, "--eval", "node()."],
                              [node.alive, "--timeout", "30", "--rpc", "erlang", "node"]] {
                let run = try BeamshBinary.run(arguments, cookie: node.cookie)
                #expect(run.status == 0 && run.stdout == "\(node.name)\n", "\(runtime) \(arguments): \(run.status) \(run.stdout)\(run.stderr)")
            }
        }
        let help = try BeamshBinary.run(["help"], cookie: "x")
        #expect(help.status == 0 && help.stdout.contains("USAGE: beamsh"), "\(help.status) \(help.stdout)\(help.stderr)")
        let top = try BeamshBinary.run(["top"], cookie: "x", environment: ["RELEASE_NODE": ""])
        #expect(top.status == 64, "`top` alone is the command, not a node: \(top.status) \(top.stderr)")
    }

    /// `--yes` lets a stop through, and the node going away is then what was asked for: exit 0,
    /// with a note on stderr, whether the call answers first (`init:stop/0`) or never
    /// (`erlang:halt/0`), through `--rpc` or `--eval`.
    @Test func yesLetsAStopThrough() throws {
        for runtime in try ErlangRuntime.requireAll() {
            for call in [["init", "stop"], ["erlang", "halt"]] {
                let node = try TestNode(runtime: runtime)
                defer { node.stop() }
                let stop = try BeamshBinary.run([node.name, "--yes", "--rpc"] + call, cookie: node.cookie)
                #expect(stop.status == 0, "\(runtime) \(call): \(stop.status) \(stop.stdout)\(stop.stderr)")
                try waitUntil("\(node.name) stops") { !node.isRunning }
            }
        }
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        // Without --yes the guard asks (refuses) the same on every path, the lone read-only
        // --eval's fast path included (a tuple naming a stop is asked about, as documented).
        let guarded = try TestNode(runtime: runtime, elixir: true)
        defer { guarded.stop() }
        let tuple = try BeamshBinary.run([guarded.name, "--eval", "{:init, :stop}"], cookie: guarded.cookie)
        #expect(tuple.status == 1 && tuple.stderr.contains("--yes"), "\(tuple.stdout)\(tuple.stderr)")
        for line in ["System.stop()", ":erlang.halt()"] {
            let node = try TestNode(runtime: runtime, elixir: true)
            defer { node.stop() }
            let stop = try BeamshBinary.run([node.name, "--yes", "--eval", line], cookie: node.cookie)
            #expect(stop.status == 0, "\(line): \(stop.status) \(stop.stdout)\(stop.stderr)")
            if line.contains("halt") {
                #expect(stop.stderr.contains("closed the connection after the call that stops it, as asked"), "\(stop.stderr)")
            }
            try waitUntil("\(node.name) stops") { !node.isRunning }
        }
    }

    /// `--format json`: stdout holds one JSON document per expression and nothing else; what the
    /// evaluation prints goes to stderr.
    @Test func jsonOutputIsOnlyJSON() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        let result = try BeamshBinary.run([node.name, "--format", "json", "--eval", "IO.puts(\"side\"); 5", "--eval", "h Enum.count"],
                                          cookie: node.cookie)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "5\nnull\n", "\(result.stdout)")
        #expect(result.stderr.contains("side") && result.stderr.contains("def count"), "\(result.stderr)")
        // An empty expression shows nothing, as an empty line at IEx's prompt (JSON: null).
        let empty = try BeamshBinary.run([node.name, "--eval", " ", "--eval", "6"], cookie: node.cookie)
        #expect(empty.status == 0 && empty.stdout == "6\n", "\(empty.stdout)\(empty.stderr)")
        let emptyJSON = try BeamshBinary.run([node.name, "--format", "json", "--eval", ""], cookie: node.cookie)
        #expect(emptyJSON.status == 0 && emptyJSON.stdout == "null\n", "\(emptyJSON.stdout)\(emptyJSON.stderr)")
    }

    /// With `--format json` a failure still leaves one JSON document on stdout
    /// (`{"ok":false,"exit_code":N,"error":...}`, the text stderr shows), so `| jq` reads one
    /// document per expression, failures included; usage errors stay text.
    @Test func jsonFailuresAreDocumentsToo() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        func failure(_ result: ProcessResult) throws -> [String: Any] {
            let last = try #require(result.stdout.split(separator: "\n").last, "no document: \(result.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        }
        let raised = try BeamshBinary.run([node.name, "--format", "json", "--eval", "1", "--eval", "raise \"boom\""], cookie: node.cookie)
        #expect(raised.status == 1 && raised.stdout.hasPrefix("1\n"), "\(raised.stdout)\(raised.stderr)")
        let document = try failure(raised)
        #expect(document["ok"] as? Bool == false && document["exit_code"] as? Int == 1)
        let raisedError = document["error"] as? String ?? ""
        #expect(raisedError.hasPrefix("** (RuntimeError) boom"), "\(document)")
        #expect(raised.stderr.contains("** (RuntimeError) boom"), "still on stderr for people: \(raised.stderr)")

        let script = try BeamshBinary.run([node.name, "--format", "json"], cookie: node.cookie, stdin: ":a\n:erlang.error(:oops)\n:never\n")
        #expect(script.status == 1 && script.stdout.hasPrefix("\"a\"\n"), "\(script.stdout)")
        let scriptError = try failure(script)["error"] as? String ?? ""
        #expect(scriptError.contains("oops"), "\(script.stdout)")

        // Code that is not UTF-8 is refused, not sent with replacement characters in its place:
        // a script (exit 1, the line named, nothing evaluated), an argument (a usage error).
        let env = ["RELEASE_COOKIE": node.cookie]
        let latin1 = try runProcess("/bin/sh", ["-c", "printf ':first\\nx = \"\\351\"\\n' | '\(BeamshBinary.path)' '\(node.name)'"],
                                    environment: env)
        #expect(latin1.status == 1 && latin1.stdout.isEmpty
                && latin1.stderr.contains("the script is not valid UTF-8: line 2 holds the byte 0xE9"), "\(latin1.stdout)\(latin1.stderr)")
        let argument = try runProcess("/bin/sh", ["-c", "'\(BeamshBinary.path)' '\(node.name)' --eval \"$(printf 'x = \"\\351\"')\""],
                                      environment: env)
        #expect(argument.status == 64 && argument.stderr.contains("argument 3 (after --eval) is not valid UTF-8: it holds the byte 0xE9"),
                "\(argument.stderr)")
        let utf8 = try BeamshBinary.run([node.name], cookie: node.cookie, stdin: "x = \"é\"\nbyte_size(x)\n")
        #expect(utf8.status == 0 && utf8.stdout == "\"é\"\n2\n", "\(utf8.stdout)\(utf8.stderr)")

        let rpc = try BeamshBinary.run([node.name, "--format", "json", "--rpc", "erlang", "atom_to_list", "1"], cookie: node.cookie)
        let rpcError = try failure(rpc)["error"] as? String ?? ""
        #expect(rpc.status == 1 && rpcError.contains("bad argument"), "\(rpc.stdout)")

        let host = node.name.split(separator: "@").last!
        let unknown = try BeamshBinary.run(["nobody_\(TestNode.randomToken(4))@\(host)", "--format", "json", "--eval", "1"], cookie: node.cookie)
        let unreachable = try failure(unknown)
        #expect(unknown.status == 2 && unreachable["exit_code"] as? Int == 2, "\(unknown.stdout)\(unknown.stderr)")
        let unreachableError = unreachable["error"] as? String ?? ""
        #expect(unreachableError.contains("not registered"), "\(unreachable)")
        let wrongCookie = try BeamshBinary.run([node.name, "--format", "json", "--rpc", "erlang", "node"], cookie: "not_the_cookie")
        let rejected = try failure(wrongCookie)["exit_code"] as? Int
        #expect(wrongCookie.status == 3 && rejected == 3, "\(wrongCookie.stdout)")
        #expect(!wrongCookie.stdout.contains(node.cookie) && !wrongCookie.stdout.contains("not_the_cookie"))

        let usage = try BeamshBinary.run([node.name, "--format", "json", "--eval", "1", "--rpc", "erlang", "node"], cookie: node.cookie)
        #expect(usage.status == 64 && usage.stdout.isEmpty, "\(usage.stdout)")
        // Success is unchanged: the value alone.
        let fine = try BeamshBinary.run([node.name, "--format", "json", "--eval", "%{ok: false}"], cookie: node.cookie)
        #expect(fine.status == 0 && fine.stdout == "{\"ok\":false}\n", "\(fine.stdout)")
    }

    /// An expression or a number given to an option may start with '-' (`--eval '-1.'` with other
    /// options too, not only on the short command line), and a negative number of seconds gets
    /// the range, not "missing value"; a mistyped command before a NODE names the command meant.
    @Test func optionValuesMayStartWithADash() throws {
        let node = try TestNode(runtime: try ErlangRuntime.requireAll()[0])
        defer { node.stop() }
        let erlang = try BeamshBinary.run([node.name, "--erlang", "--eval", "-1 + 0."], cookie: node.cookie)
        #expect(erlang.status == 0 && erlang.stdout == "-1\n", "\(erlang.stdout)\(erlang.stderr)")
        let json = try BeamshBinary.run([node.name, "--format", "json", "--eval", "-2."], cookie: node.cookie)
        #expect(json.status == 0 && json.stdout == "-2\n", "\(json.stdout)\(json.stderr)")
        let negative = try BeamshBinary.run([node.name, "--timeout", "-1", "--eval", "1."], cookie: node.cookie)
        #expect(negative.status == 64 && negative.stderr.contains("--timeout must be a number of seconds"), "\(negative.stderr)")
        let typo = try BeamshBinary.run(["clustr", node.name], cookie: node.cookie)
        #expect(typo.status == 64 && typo.stderr.contains("did you mean `beamsh cluster`"), "\(typo.stderr)")
    }

    /// A call that raises prints what the node's shell would (`erl_error`, or Elixir's
    /// `Exception.format` for an Elixir exception), not the raw `{badrpc, ...}` term.
    @Test func rpcFailuresReadAsTheShellSaysThem() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime, elixir: runtime.hasElixir)
            defer { node.stop() }
            for (call, expected) in [
                // Laid out as the shell lays it out (indented by 5 and 8 under its "** ").
                (["erlang", "atom_to_list", "1"], ["** exception error: bad argument\n     in function  atom_to_list/1\n        called as"]),
                (["no_such_module", "f", "1"], ["** exception error: undefined function no_such_module:f/1"]),
                // A module named as Elixir code names it gets the Erlang name to use, where the
                // node has that module (Elixir's Node; on a node without Elixir, nothing).
                (["Node", "list", "[]"], ["undefined function 'Node':list/1"]
                    + (runtime.hasElixir ? ["(an Elixir module is Elixir.Node in --rpc: beamsh NODE --rpc Elixir.Node list '[]')"] : [])),
                (["NoSuchModule", "f"], ["undefined function 'NoSuchModule':f/0"]),
                (["lists", "nth", "0", "[]"], ["** exception error: no function clause matching lists:nth(0,[])"]),
                (["erlang", "exit", "boom"], ["** exception exit: boom"]),
                (["erlang", "error", #"#{'__struct__' => 'Elixir.RuntimeError', '__exception__' => true, message => <<"boom">>}"#],
                 runtime.hasElixir ? ["** (RuntimeError) boom"] : ["** exception error:"]),
            ] {
                let run = try BeamshBinary.run([node.name, "--rpc"] + call, cookie: node.cookie)
                #expect(run.status == 1 && run.stdout.isEmpty, "\(runtime) \(call): \(run.status) \(run.stdout)")
                for text in expected {
                    #expect(run.stderr.contains(text), "\(runtime) \(call): \(run.stderr)")
                }
                #expect(!run.stderr.contains("badrpc"), "\(runtime) \(call): \(run.stderr)")
                if !runtime.hasElixir || call[0] != "Node" {
                    #expect(!run.stderr.contains("an Elixir module is"), "\(runtime) \(call): \(run.stderr)")
                }
            }
            // `{badrpc, nodedown}` as a reply is about another node the call reached for (our
            // own node going down is a lost connection): it must not blame the node asked.
            let host = node.name.split(separator: "@").last!
            let nested = try BeamshBinary.run([node.name, "--rpc", "rpc", "call", "nosuch_\(TestNode.randomToken(5))@\(host)", "erlang", "node", "[]"],
                                              cookie: node.cookie)
            #expect(nested.status == 1 && nested.stderr.contains("a node that the call itself reached out to is down or unreachable (nodedown)")
                    && !nested.stderr.contains("the node went down"), "\(runtime): \(nested.stderr)")
            // A core command in Erlang mode (as on a node without Elixir) that fails reads as
            // the Erlang shell says it too.
            let core = try BeamshBinary.run([node.name, "--erlang", "--eval", "Process.info(:x)"], cookie: node.cookie)
            #expect(core.status == 1 && core.stderr.contains("** exception error: bad argument") && !core.stderr.contains("badrpc"),
                    "\(runtime): \(core.stdout)\(core.stderr)")
            if runtime.hasElixir {
                // In Elixir (--read-only runs core commands through rex) as IEx says it.
                let elixir = try BeamshBinary.run([node.name, "--read-only", "--eval", "Process.info(:x)"], cookie: node.cookie)
                #expect(elixir.status == 1 && elixir.stderr.contains("** (ArgumentError)") && elixir.stderr.contains("not a pid")
                        && !elixir.stderr.contains("badrpc"), "\(elixir.stdout)\(elixir.stderr)")
            }
        }
    }

    /// `NODE --eval CORE` alone (a health check) is answered on one thread, as `--rpc` is; it
    /// prints what the evaluator prints the same line as (two `--eval`s go through it), fails
    /// as the node says a failure, and exits as every command does.
    @Test func aLoneCoreCommandPrintsWhatTheEvaluatorPrints() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime, elixir: runtime.hasElixir)
            defer { node.stop() }
            // (`"abc"` is Erlang too: on a node without Elixir it is read as Erlang, as before.)
            for line in ["Node.list()", "Node.self()", "Process.whereis(:nosuch)", ":erlang.system_info(:otp_release)",
                         "Process.info(Process.whereis(:init), :registered_name)", "length(Node.list(:hidden))", "\"abc\"", "'abc'"] {
                let alone = try BeamshBinary.run([node.name, "--eval", line], cookie: node.cookie)
                let evaluated = try BeamshBinary.run([node.name, "--eval", line, "--eval", "1"], cookie: node.cookie)
                #expect(alone.status == 0 && evaluated.status == 0, "\(runtime) \(line): \(alone.stderr)\(evaluated.stderr)")
                #expect(alone.stdout + "1\n" == evaluated.stdout, "\(runtime) \(line): \(alone.stdout) vs \(evaluated.stdout)")
            }
            // As JSON: the value itself (on a node without Elixir, the one the calls returned).
            let json = try BeamshBinary.run([node.name, "--format", "json", "--eval", "Node.self()"], cookie: node.cookie)
            #expect(json.status == 0 && json.stdout == "\"\(node.name)\"\n", "\(runtime): \(json.stdout)\(json.stderr)")
            let failed = try BeamshBinary.run([node.name, "--eval", "Process.info(:x)"], cookie: node.cookie)
            #expect(failed.status == 1 && failed.stdout.isEmpty
                    && failed.stderr.contains(runtime.hasElixir ? "** (ArgumentError)" : "** exception error: bad argument")
                    && failed.stderr.contains("not a pid"), "\(runtime): \(failed.stdout)\(failed.stderr)")
            // A function computed here (hd, length...) fails as the BIF would on the node.
            let local = try BeamshBinary.run([node.name, "--eval", "hd(Node.list())"], cookie: node.cookie)
            #expect(local.status == 1 && local.stdout.isEmpty
                    && local.stderr.contains(runtime.hasElixir ? "** (ArgumentError)" : "** exception error: bad argument")
                    && local.stderr.contains("not a nonempty list"), "\(runtime): \(local.stdout)\(local.stderr)")
            let rejected = try BeamshBinary.run([node.name, "--eval", "Node.list()"], cookie: "wrong")
            #expect(rejected.status == 3 && rejected.stderr.contains("rejected our cookie"), "\(rejected.stderr)")
            let host = node.name.split(separator: "@").last!
            let missing = try BeamshBinary.run(["nosuch_\(TestNode.randomToken(5))@\(host)", "--eval", "Node.list()"], cookie: node.cookie)
            #expect(missing.status == 2 && missing.stderr.contains("not registered"), "\(missing.stderr)")
        }
    }

    /// Mistakes in a name or host get a hint at the likely fix, not only the resolver's words.
    @Test func misspelledNamesAndHostsSayWhatWasMeant() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, alive: "t_Mixed\(TestNode.randomToken(5))")
        defer { node.stop() }
        let host = String(node.name.split(separator: "@").last!)
        let lowered = try BeamshBinary.run([node.alive.lowercased() + "@" + host, "--rpc", "erlang", "node"], cookie: node.cookie)
        #expect(lowered.status == 2 && lowered.stderr.contains("; did you mean \(node.alive)?"), "\(lowered.stderr)")
        // A blank in the node's host is a mistake in the name (a usage error), not a failed DNS lookup.
        let blank = try BeamshBinary.run([node.name + " ", "--rpc", "erlang", "node"], cookie: node.cookie)
        #expect(blank.status == 64 && blank.stderr.contains("the host '\(host) ' has a blank or a control character in it"),
                "\(blank.stderr)")
        // (`names` takes a host as it is: the resolver's words, and the hint.)
        let blankHost = try BeamshBinary.run(["names", host + " "], cookie: node.cookie)
        #expect(blankHost.status == 2 && blankHost.stderr.contains("(blanks around the name)"), "\(blankHost.stderr)")
        let nodeAsHost = try BeamshBinary.run(["names", node.name], cookie: node.cookie)
        #expect(nodeAsHost.status == 2 && nodeAsHost.stderr.contains("a host is wanted here, not a node name"), "\(nodeAsHost.stderr)")
        let unbracketed = try BeamshBinary.run([node.name, "--address", "::1:65999", "--rpc", "erlang", "node"], cookie: node.cookie)
        #expect(unbracketed.stderr.contains("an IPv6 address with a port is written [::1]:65999"), "\(unbracketed.stderr)")
        // A port typed into the node's name: where it goes instead.
        let ported = try BeamshBinary.run([node.name + ":4369", "--rpc", "erlang", "node"], cookie: node.cookie)
        #expect(ported.status == 2 && ported.stderr.contains("a node's name holds no port: write it with @\(host), "
                + "and --address \(host):4369 to reach the node at that port, or --epmd-port 4369"), "\(ported.stderr)")
        // Through --address, a failure that a tunnel leading elsewhere causes says so.
        let nowhere = try BeamshBinary.run([node.name, "--address", "127.0.0.1:1", "--rpc", "erlang", "node"], cookie: node.cookie)
        #expect(nowhere.status == 2 && nowhere.stderr.contains("reached through --address 127.0.0.1:1"), "\(nowhere.stderr)")
        let twoPorts = try BeamshBinary.run([node.name, "--address", "\(host):4369:1", "--rpc", "erlang", "node"], cookie: node.cookie)
        #expect(twoPorts.status == 2 && !twoPorts.stderr.contains("IPv6"), "no IPv6 hint for a name: \(twoPorts.stderr)")
    }

    /// A SIGINT ignored by whoever started beamsh (a script's background job) stays ignored:
    /// the evaluation finishes and beamsh exits 0, as any program would.
    @Test func anInheritedIgnoredSIGINTStaysIgnored() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        // A non-interactive shell starts its background jobs with SIGINT ignored. The signal goes
        // once the evaluation runs (its first output is there), so beamsh has set its handling up.
        let out = NSTemporaryDirectory() + "/beamsh-sigint-\(TestNode.randomToken(6))"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let script = "\(BeamshBinary.path) \(node.name) --eval 'IO.puts(\"started\"); Process.sleep(1000); :done' > \(out) & pid=$!; "
            + "while ! grep -q started \(out); do sleep 0.05; done; kill -INT $pid; wait $pid; echo rc=$?; cat \(out)"
        let run = try runProcess("/bin/sh", ["-c", script], environment: ["RELEASE_COOKIE": node.cookie, "PATH": "/usr/bin:/bin"])
        #expect(run.stdout == "rc=0\nstarted\n:done\n", "\(run.stdout)\(run.stderr)")
    }

    /// Reads in `--eval` take lines from stdin, as `elixir -e` does; the prompt goes where the
    /// evaluation's output goes (stderr with `--format json`); past the end, `:eof`.
    @Test func evalReadsStdin() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        let text = try BeamshBinary.run([node.name, "--eval", "x = IO.gets(\"1? \")", "--eval", "x <> IO.gets(\"2? \")",
                                         "--eval", "IO.gets(\"3? \")"], cookie: node.cookie, stdin: "a\nb\n")
        #expect(text.status == 0 && text.stdout == "1? \"a\\n\"\n2? \"a\\nb\\n\"\n3? :eof\n", "\(text.stdout)\(text.stderr)")
        // A script on stdin is read whole first: its reads show their prompt, then get :eof.
        let script = try BeamshBinary.run([node.name], cookie: node.cookie, stdin: "IO.gets(\"name? \")\n")
        #expect(script.status == 0 && script.stdout == "name? :eof\n", "\(script.stdout)\(script.stderr)")
        let json = try BeamshBinary.run([node.name, "--format", "json", "--eval", "IO.gets(\"name? \")"], cookie: node.cookie,
                                        stdin: "carl\n")
        #expect(json.status == 0 && json.stdout == "\"carl\\n\"\n" && json.stderr.contains("name? "), "\(json.stdout)\(json.stderr)")
    }

    /// Piped data reaches the node as it is: no line end added after the last line, no byte
    /// replaced; `IO.binread` (a `latin1` read) gets the bytes, a text read of bytes that are
    /// not UTF-8 an error, as the node's own standard input gives, instead of altered text.
    @Test func evalReadsPipedDataUnchanged() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        for (input, expression, expected) in [
            (#"printf abc"#, "IO.binread(:stdio, 10)", #""abc""#),
            (#"printf abcdef"#, "IO.read(:stdio, :eof)", #""abcdef""#),
            (#"printf '\377\376\n'"#, "IO.binread(:stdio, :eof)", "<<255, 254, 10>>"),
            (#"printf '\377\376\n'"#, "IO.gets(\"\")", "{:error, :collect_line}"),
            (#"head -c 100000 /dev/urandom"#, "byte_size(IO.binread(:stdio, :eof))", "100000"),
            (#"printf 'h\303\251llo\nw'"#, "{IO.read(:stdio, 3), IO.read(:stdio, :eof)}", #"{"hél", "lo\nw"}"#),
        ] {
            let script = "\(input) | \(BeamshBinary.path) \(node.name) --eval '\(expression)'"
            let run = try runProcess("/bin/sh", ["-c", script], environment: ["RELEASE_COOKIE": node.cookie, "NO_COLOR": "1"])
            #expect(run.status == 0 && run.stdout == expected + "\n", "\(input) | \(expression): \(run.stdout)\(run.stderr)")
            // The same from a file (read ahead in blocks, not a byte at a time).
            let file = FileManager.default.temporaryDirectory.path + "/beamsh-input-\(TestNode.randomToken(6))"
            defer { try? FileManager.default.removeItem(atPath: file) }
            let fromFile = try runProcess("/bin/sh", ["-c", "\(input) > \(file); \(BeamshBinary.path) \(node.name) --eval '\(expression)' < \(file)"],
                                          environment: ["RELEASE_COOKIE": node.cookie, "NO_COLOR": "1"])
            #expect(fromFile.status == 0 && fromFile.stdout == expected + "\n", "< file, \(expression): \(fromFile.stdout)\(fromFile.stderr)")
        }
    }

    /// Large input goes through in blocks: 10 MB to `IO.binread(:stdio, :eof)` exactly (it was
    /// read a byte per system call: 1 MB/s), 20,000 lines to a line stream; from a file and from a
    /// pipe. What an evaluation did not read is there for the next command on the same input.
    @Test func largeInputReachesTheNodeExactlyAndLeavesTheRest() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        let folder = FileManager.default.temporaryDirectory.path + "/beamsh-large-\(TestNode.randomToken(6))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let env = ["RELEASE_COOKIE": node.cookie, "NO_COLOR": "1"]
        let binary = "'\(BeamshBinary.path)' '\(node.name)'"
        _ = try runProcess("/bin/sh", ["-c", "head -c 10000000 /dev/urandom > \(folder)/data; seq 1 20000 > \(folder)/lines"], environment: env)
        let md5 = try runProcess("/bin/sh", ["-c", "md5sum < \(folder)/data | cut -c1-32"], environment: env).stdout
        let hash = "--eval ':crypto.hash(:md5, IO.binread(:stdio, :eof)) |> Base.encode16(case: :lower) |> IO.puts'"
        for source in ["< \(folder)/data", "", "pipe"] where !source.isEmpty {
            let command = source == "pipe" ? "cat \(folder)/data | \(binary) \(hash)" : "\(binary) \(hash) \(source)"
            let run = try runProcess("/bin/sh", ["-c", command], environment: env, timeout: 60)
            #expect(run.status == 0 && run.stdout.hasPrefix(md5), "\(source): \(run.stdout) vs \(md5)\(run.stderr)")
        }
        let count = "--eval 'IO.stream(:stdio, :line) |> Enum.count()'"
        for command in ["\(binary) \(count) < \(folder)/lines", "cat \(folder)/lines | \(binary) \(count)"] {
            let run = try runProcess("/bin/sh", ["-c", command], environment: env, timeout: 60)
            #expect(run.status == 0 && run.stdout == "20000\n", "\(command): \(run.stdout)\(run.stderr)")
        }
        // The rest of a file or a pipe after a line and five bytes: for `cat`.
        let gets = "--eval 'IO.gets(\"\")' --eval 'IO.binread(:stdio, 5)'"
        for command in ["(\(binary) \(gets); cat) < \(folder)/lines", "cat \(folder)/lines | (\(binary) \(gets); cat)"] {
            let run = try runProcess("/bin/bash", ["-c", command + " | head -4"], environment: env, timeout: 60)
            #expect(run.stdout == "\"1\\n\"\n\"2\\n3\\n4\"\n\n5\n", "\(command): \(run.stdout)\(run.stderr)")
        }
        // A character count takes a whole line to count in; the rest of it is given back: to the
        // next --eval, and from a file to the command after beamsh.
        let chars = "printf 'abcdef\\nxyz\\n' > \(folder)/short; (\(binary) --eval 'IO.read(:stdio, 2)'; cat) < \(folder)/short"
        let rest = try runProcess("/bin/bash", ["-c", chars], environment: env, timeout: 60)
        #expect(rest.stdout == "\"ab\"\ncdef\nxyz\n", "\(rest.stdout)\(rest.stderr)")
        let next = try runProcess("/bin/bash", ["-c", "printf 'abcdef\\nxyz\\n' | \(binary) --eval 'IO.read(:stdio, 2)' --eval 'IO.gets(\"\")'"],
                                  environment: env, timeout: 60)
        #expect(next.stdout == "\"ab\"\n\"cdef\\n\"\n", "\(next.stdout)\(next.stderr)")
    }

    /// `--eval` has nobody to answer a pager: the node is told there are no rows, so `h(lists)`
    /// prints everything and returns instead of waiting for "more (y/n)?".
    @Test func oneShotHasNoPager() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let rows = try BeamshBinary.run([node.name, "--eval", "io:rows()."], cookie: node.cookie)
            #expect(rows.stdout == "{error,enotsup}\n", "\(runtime): \(rows.stdout)\(rows.stderr)")
            let help = try BeamshBinary.run([node.name, "--timeout", "20", "--eval", "h(lists)."], cookie: node.cookie)
            #expect(help.status == 0, "\(runtime): \(help.stderr)")
        }
    }

    /// Standard input that is not a terminal is a script: expression by expression (lines gather
    /// until the node's parser finds one complete, CRLF line ends too), stopping at the first
    /// error with exit 1, as `bin/app rpc` does.
    @Test func stdinIsAScript() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        func script(_ text: String, _ extra: [String] = []) throws -> ProcessResult {
            try BeamshBinary.run([node.name] + extra, cookie: node.cookie, stdin: text)
        }
        let plain = try script("x = 1\ncase x do\n  1 -> :one\nend\nx + 1\n")
        #expect(plain.status == 0 && plain.stdout == "1\n:one\n2\n", "\(plain.stdout)\(plain.stderr)")
        let windows = try script("IO.puts(\"a\")\r\n:b\r\n")
        #expect(windows.status == 0 && windows.stdout == "a\n:ok\n:b\n", "\(windows.stdout.debugDescription)")
        let failing = try script("1\nraise \"boom\"\n:never\n")
        #expect(failing.status == 1 && failing.stdout == "1\n" && failing.stderr.contains("(RuntimeError) boom"), "\(failing)")
        let open = try script(":ok\n[1,\n")
        #expect(open.status == 1 && open.stderr.contains("incomplete expression at the end"), "\(open.stderr)")
        let json = try script("%{a: 1}\n[2]\n", ["--format", "json"])
        #expect(json.status == 0 && json.stdout == "{\"a\":1}\n[2]\n", "\(json.stdout)")
        // A pipeline continued on the next lines, comments between, as `elixir file.exs` reads
        // it; whole-line comments are no expression (no `nil`, no `null` document).
        let pipeline = try script("[1, 2, 3]\n|> Enum.map(&(&1 * 2))\n\n# the total\n|> Enum.sum()\n# done\n:end\n")
        #expect(pipeline.status == 0 && pipeline.stdout == "12\n:end\n", "\(pipeline.stdout)\(pipeline.stderr)")
        let comments = try script("1\n# c\n2\n", ["--format", "json"])
        #expect(comments.status == 0 && comments.stdout == "1\n2\n", "\(comments.stdout)")
        // A bracket in a string inside an interpolation opens nothing: three expressions, three results.
        let interpolated = try script("\"#{\"(\"}\"\nIO.puts(\"total: #{Enum.join([1, 2], \"(\")}\")\n:two\n")
        #expect(interpolated.status == 0 && interpolated.stdout == "\"(\"\ntotal: 1(2\n:ok\n:two\n",
                "\(interpolated.stdout)\(interpolated.stderr)")
        // A stop split over lines is still refused without --yes; nothing of the script runs after it.
        let split = try script(":first\nSystem.\nstop()\n:never\n")
        #expect(split.status == 1 && split.stdout == ":first\n" && split.stderr.contains("not evaluated: System.stop"),
                "\(split.stdout)\(split.stderr)")
        #expect(node.isRunning)
    }

    /// Inside a release, RELEASE_NODE names the node (completed with this host's short name, as
    /// `bin/app remote` does) for the console and every command that takes a NODE.
    @Test func releaseNodeIsTheDefaultNode() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime, elixir: true)
        defer { node.stop() }
        let release = ["RELEASE_NODE": node.alive, "RELEASE_DISTRIBUTION": "sname"]
        let eval = try BeamshBinary.run(["--eval", "Node.self()"], cookie: node.cookie, environment: release)
        #expect(eval.status == 0 && eval.stdout == ":\(node.name)\n", "\(eval.stdout)\(eval.stderr)")
        for command in [["info"], ["doctor"], ["cluster"], ["top", "-n", "3", "--interval", "0"]] {
            let result = try BeamshBinary.run(command, cookie: node.cookie, environment: release)
            #expect(result.status == 0 && result.stdout.contains(node.name), "\(command): \(result.stdout)\(result.stderr)")
        }
        let none = try BeamshBinary.run(["info"], cookie: node.cookie)
        #expect(none.status == 64 && none.stderr.contains("RELEASE_NODE is not set"), "\(none.stderr)")
        let undistributed = try BeamshBinary.run(["info"], cookie: node.cookie, environment: ["RELEASE_NODE": node.alive, "RELEASE_DISTRIBUTION": "none"])
        #expect(undistributed.status == 64 && undistributed.stderr.contains("RELEASE_DISTRIBUTION is none"), "\(undistributed.stderr)")
    }

    /// Output that cannot be written (a full disk) is an error a script can see: exit 74.
    @Test func lostOutputIsAnError() throws {
        let node = try TestNode(runtime: try ErlangRuntime.requireAll()[0])
        defer { node.stop() }
        for mode in [[node.name, "--rpc", "erlang", "node"], [node.name, "--eval", "Node.self()"], ["info", node.name],
                     ["top", node.name, "--iterations", "2", "--interval", "0.1"], ["cluster", node.name]] {
            let command = ([BeamshBinary.path] + mode).map { "'\($0)'" }.joined(separator: " ") + " > /dev/full"
            let result = try runProcess("/bin/sh", ["-c", command], environment: ["RELEASE_COOKIE": node.cookie])
            #expect(result.status == 74, "\(mode): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("could not write the output: No space left on device"), "\(mode): \(result.stderr)")
        }
        // A refreshing view whose reader stopped ends there, silently (the exit code says it).
        let topCommand = "'\(BeamshBinary.path)' top '\(node.name)' -n 50 --iterations 20 --interval 0.2 | head -1; exit ${PIPESTATUS[0]}"
        let top = try runProcess("/bin/bash", ["-c", topCommand], environment: ["RELEASE_COOKIE": node.cookie])
        #expect(top.status == 74 && top.stderr.isEmpty && top.stdout.split(separator: "\n").count == 1, "\(top.status) \(top.stderr)")
        // An evaluation that writes on and on stops at the first lost write, not at its timeout;
        // a reader that stopped early (`| head -1`) is said nothing about.
        let endless = "'F = fun F() -> io:format(\"x~n\"), F() end, F().'"
        for (sink, message) in [("> /dev/full", true), ("| head -1", false)] {
            let started = ContinuousClock.now
            let command = "'\(BeamshBinary.path)' '\(node.name)' --timeout 30 --eval \(endless) \(sink); exit ${PIPESTATUS[0]}"
            let result = try runProcess("/bin/bash", ["-c", command], environment: ["RELEASE_COOKIE": node.cookie])
            #expect(result.status == 74 && ContinuousClock.now - started < .seconds(15), "\(sink): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("could not write the output") == message, "\(sink): \(result.stderr)")
        }
    }

    /// A frozen node still has its connections accepted by the kernel: --connect-timeout bounds
    /// the handshake too, and doctor names the likely cause.
    @Test func aFrozenNodeTimesOutAsAsked() throws {
        let node = try TestNode(runtime: try ErlangRuntime.requireAll()[0])
        defer {
            node.thaw()
            node.stop()
        }
        node.freeze()
        let started = Date()
        let frozen = try BeamshBinary.run([node.name, "--connect-timeout", "1", "--eval", "1"], cookie: node.cookie)
        #expect(frozen.status == 2, "\(frozen.stderr)")
        #expect(Date().timeIntervalSince(started) < 4, "waited past --connect-timeout")
        let doctor = try BeamshBinary.run(["doctor", node.name, "--connect-timeout", "1"], cookie: node.cookie)
        #expect(doctor.status == 2 && doctor.stdout.contains("frozen or overloaded"), "\(doctor.stdout)")
    }

    /// A node that goes silent during an evaluation, ticks included (frozen here; a stalled
    /// tunnel looks the same), is a connection problem when the time is up (exit 2, saying so),
    /// not an evaluation that timed out (exit 1): nothing says the evaluation did not finish.
    @Test func aNodeSilentThroughTheTimeIsAConnectionProblem() async throws {
        let node = try TestNode(runtime: try ErlangRuntime.requireAll()[0])
        defer {
            node.thaw()
            node.stop()
        }
        // The evaluation outlasts any delay before the freeze (a loaded machine runs this test's
        // task late); the node is silent for over 30 s (0.4 of the 75 s) when the 45 s are up.
        let run = blockingTask {
            try BeamshBinary.run([node.name, "--timeout", "45", "--eval", "timer:sleep(30000), ok."], cookie: node.cookie, timeout: 90)
        }
        // Frozen once the evaluation runs, not earlier (a freeze during the handshake is another path).
        try waitUntil("the evaluation sleeps", timeout: 30) { try node.eval(sleepingProcesses) != "0" }
        node.freeze()
        let result = try await run.value
        #expect(result.status == 2 && result.stderr.contains("stopped answering while the evaluation ran")
                && result.stderr.contains("not even its ticks") && !result.stderr.contains("timed out"), "\(result.status) \(result.stderr)")
    }

    /// Under 30 s of silence a frozen node cannot be told from one between ticks: a `--rpc` or
    /// `--eval` whose `--timeout` is shorter is a call that did not answer (exit 1), and the
    /// message says how long nothing came.
    @Test func aShortTimeoutOnAFrozenNodeSaysHowLongItWasSilent() async throws {
        let node = try TestNode(runtime: try ErlangRuntime.requireAll()[0])
        defer {
            node.thaw()
            node.stop()
        }
        let run = blockingTask {
            try BeamshBinary.run([node.name, "--timeout", "22", "--rpc", "timer", "sleep", "60000"], cookie: node.cookie, timeout: 60)
        }
        let eval = blockingTask {
            try BeamshBinary.run([node.name, "--timeout", "22", "--eval", "timer:sleep(60000)."], cookie: node.cookie, timeout: 60)
        }
        try waitUntil("both calls sleep", timeout: 30) { try node.eval(sleepingProcesses) == "2" }
        node.freeze()
        let result = try await run.value
        #expect(result.status == 1 && result.stderr.contains("did not answer within 22")
                && result.stderr.contains("not even a tick: it may be frozen")
                && result.stderr.contains("the call may still be running"), "\(result.status) \(result.stderr)")
        let evaluation = try await eval.value
        #expect(evaluation.status == 1 && evaluation.stderr.contains("evaluation timed out after 22")
                && evaluation.stderr.contains("not even a tick: it may be frozen"), "\(evaluation.status) \(evaluation.stderr)")
    }

    /// `--cookie-file` through the binary: the file's first line is the cookie, first of the
    /// sources (a wrong RELEASE_COOKIE is not used); a file that cannot be read is exit 2, named.
    @Test func aCookieFileIsReadOrNamed() throws {
        let node = try TestNode(runtime: try ErlangRuntime.requireAll()[0])
        defer { node.stop() }
        let file = NSTemporaryDirectory() + "beamsh-cookie-" + TestNode.randomToken(8)
        try Data((node.cookie + "\n").utf8).write(to: URL(fileURLWithPath: file))
        chmod(file, 0o600)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let read = try BeamshBinary.run([node.name, "--cookie-file", file, "--rpc", "erlang", "node"], cookie: nil)
        #expect(read.status == 0 && read.stdout == "\(node.name)\n", "\(read.status) \(read.stdout) \(read.stderr)")
        let over = try BeamshBinary.run([node.name, "--cookie-file", file, "--rpc", "erlang", "node"], cookie: "not-this-one")
        #expect(over.status == 0, "\(over.status) \(over.stderr)")
        #expect(!over.stderr.contains(node.cookie) && !over.stderr.contains("not-this-one"), "\(over.stderr)")
        for unreadable in [file + ".missing", NSTemporaryDirectory()] {
            let failed = try BeamshBinary.run([node.name, "--cookie-file", unreadable, "--rpc", "erlang", "node"], cookie: nil)
            #expect(failed.status == 2 && failed.stderr.contains(unreadable) && failed.stdout.isEmpty, "\(unreadable): \(failed.status) \(failed.stderr)")
        }
    }

    /// Options mean the same before and after NODE, and on either path through the command
    /// line: `--opt value` is read by beamsh's short path, `--opt=value` by swift-argument-parser
    /// alone. Each case runs in the three forms and must give the same status and output.
    @Test func optionsMeanTheSameWhereverTheyStand() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let port = try TestNode.unusedPort()
            let node = try TestNode(runtime: runtime, distributionPort: port)
            defer { node.stop() }
            let file = NSTemporaryDirectory() + "beamsh-cookie-" + TestNode.randomToken(8)
            try Data((node.cookie + "\n").utf8).write(to: URL(fileURLWithPath: file))
            chmod(file, 0o600)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let host = node.name.split(separator: "@").last!
            let ours = "beamsh_opts_\(TestNode.randomToken(6))"
            // (options with values, flags, the mode, and what the first form must give)
            let cases: [([(String, String)], [String], [String], (status: Int32, stdout: String, stderr: String))] = [
                ([("--cookie-file", file), ("--port", String(port)), ("--epmd-port", "1")], [], ["--rpc", "erlang", "node"],
                 (0, "\(node.name)\n", "")),
                ([("--cookie-file", file), ("--address", "localhost:\(port)"), ("--connect-timeout", "2"), ("--format", "json")], [],
                 ["--rpc", "erlang", "node"], (0, "\"\(node.name)\"\n", "")),
                ([("--cookie-file", file), ("--port", String(port)), ("--name", ours)], [], ["--rpc", "erlang", "nodes", "hidden"],
                 (0, "[\(ours)@\(host)]\n", "")),
                ([("--cookie-file", file), ("--port", String(port)), ("--timeout", "0.5")], [], ["--rpc", "timer", "sleep", "3000"],
                 (1, "", "beamsh: timer:sleep/1 on \(node.name) did not answer within 0.5 seconds; the call may still be running on the node\n")),
                ([("--cookie-file", file), ("--port", String(port))], ["--read-only"], ["--rpc", "init", "stop"],
                 (1, "", "beamsh: read-only: init:stop/0 is not on the read-only allow-list; not called\n")),
                ([("--cookie-file", file), ("--port", String(port))], ["--erlang"], ["--eval", "[node(), 1 + 1]."],
                 (0, "[\(node.name),2]\n", "")),
            ]
            for (options, flags, mode, expected) in cases {
                let spaced = options.flatMap { [$0.0, $0.1] } + flags
                let forms = [spaced + [node.name] + mode, [node.name] + spaced + mode, options.map { "\($0.0)=\($0.1)" } + flags + [node.name] + mode]
                var results: [ProcessResult] = []
                for arguments in forms { results.append(try BeamshBinary.run(arguments, cookie: "not-the-cookie")) }
                let first = results[0]
                #expect(first.status == expected.status && first.stdout == expected.stdout && first.stderr == expected.stderr,
                        "\(runtime) \(forms[0]): \(first.status) \(first.stdout)\(first.stderr)")
                for (arguments, result) in zip(forms, results).dropFirst() {
                    #expect(result.status == first.status && result.stdout == first.stdout && result.stderr == first.stderr,
                            "\(runtime) \(arguments): \(result.status) \(result.stdout)\(result.stderr)")
                }
            }
            #expect(try node.eval("ok.") == "ok", "\(runtime): the node still runs")
        }
    }

    @Test func exitCodesNameTheFailure() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let wrongCookie = "wrong-cookie-for-test"
            let auth = try BeamshBinary.run([node.name, "--rpc", "erlang", "node"], cookie: wrongCookie)
            #expect(auth.status == 3)
            #expect(auth.stderr.contains("rejected our cookie") && auth.stderr.contains("our cookie came from $RELEASE_COOKIE"),
                    "\(auth.stderr)")
            #expect(!auth.stderr.contains(wrongCookie) && !auth.stdout.contains(wrongCookie))

            let remote = try BeamshBinary.run([node.name, "--rpc", "erlang", "error", "boom"], cookie: node.cookie)
            #expect(remote.status == 1)
            #expect(remote.stderr.contains("boom"))

            let unknown = try BeamshBinary.run(["nosuch_\(node.alive)", "--rpc", "erlang", "node"], cookie: node.cookie)
            #expect(unknown.status == 2)
            #expect(unknown.stderr.contains("not registered"))
            #expect(unknown.stderr.contains(node.alive), "lists the names EPMD knows")

            // An IPv4 node asked for at an IPv6 address: EPMD answers there, the node does not.
            let ipv4 = try TestNode(runtime: runtime, mode: .long)
            defer { ipv4.stop() }
            let v6 = try BeamshBinary.run(["\(ipv4.alive)@::1", "--rpc", "erlang", "node"], cookie: ipv4.cookie)
            #expect(v6.status == 2 && v6.stderr.contains("-proto_dist inet6_tcp"), "\(runtime): \(v6.stderr)")

            let noEPMD = try BeamshBinary.run(["a@127.0.0.1", "--epmd-port", "1", "--rpc", "erlang", "node"], cookie: "x")
            #expect(noEPMD.status == 2)
            #expect(noEPMD.stderr.contains("EPMD is not reachable"))

            let noCookie = try BeamshBinary.run([node.name, "--rpc", "erlang", "node"], cookie: nil,
                                               environment: ["HOME": "/nonexistent"])
            #expect(noCookie.status == 2)
            #expect(noCookie.stderr.contains("no cookie found"))
            // (RELEASE_COOKIE is set, but empty, there: said, and passed over.)
            #expect(noCookie.stderr.contains("$RELEASE_COOKIE (set but empty)"), "\(noCookie.stderr)")
        }
    }

    /// Numbers that cannot be a port or a wait are usage errors with a message (they used to
    /// trap when converted), wherever they come from.
    @Test func outOfRangeNumbersAreUsageErrors() throws {
        for (arguments, message) in [
            (["a@h", "--address", "127.0.0.1:99999", "--rpc", "erlang", "node"], "--address HOST[:PORT]"),
            (["a@h", "--address", "127.0.0.1:abc", "--eval", "1"], "--address HOST[:PORT]"),
            (["a@h", "--epmd-port", "70000", "--eval", "1"], "--epmd-port must be 1 to 65535"),
            (["a@h", "--timeout", "1e10", "--eval", "1"], "--timeout must be a number of seconds"),
            (["a@h", "--timeout", "1e-12", "--eval", "1"], "--timeout must be a number of seconds"),
            (["a@h", "--address", ":4369", "--eval", "1"], "no host"),
            (["a@h", "--address", "http://10.0.0.1:4369", "--eval", "1"], "--address takes HOST[:PORT]"),
            (["a@h", "--address", "host name", "--rpc", "erlang", "node"], "--address takes HOST[:PORT]"),
            (["a@h", "--connect-timeout", "nan", "--eval", "1"], "--connect-timeout must be a number of seconds"),
            (["cluster", "a@h", "--timeout", "inf"], "--timeout must be a number of seconds"),
            (["top", "a@h", "--interval", "1e300"], "--interval must be a number of seconds"),
            (["info", "a@h", "--timeout", "0"], "--timeout must be a number of seconds"),
            (["names", "--epmd-port", "0"], "--epmd-port must be 1 to 65535"),
        ] {
            let result = try BeamshBinary.run(arguments, cookie: "c")
            #expect(result.status == 64 && result.stderr.contains(message), "\(arguments): \(result.status) \(result.stderr)")
        }
        for mode in [["a@h", "--eval", "1"], ["a@h", "--rpc", "erlang", "node"], ["names"]] {
            let result = try BeamshBinary.run(mode, cookie: "c", environment: ["ERL_EPMD_PORT": "abc"])
            #expect(result.status == 64 && result.stderr.contains("ERL_EPMD_PORT must be a port number"), "\(mode): \(result.stderr)")
        }
    }

    /// Ctrl-C during `--rpc` ends beamsh with exit 1 and says the call may go on: rex runs it in a
    /// process beamsh cannot name (`--eval`'s own worker is killed instead).
    @Test func anInterruptedRPCSaysTheCallMayGoOn() throws {
        let runtime = try #require(ErlangRuntime.system, "Debian's Erlang/Elixir is needed")
        let node = try TestNode(runtime: runtime)
        defer { node.stop() }
        // With SIGINT at its default and unblocked, as at a terminal (the test runner starts its
        // children with it blocked).
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT]); os.execv(sys.argv[1], sys.argv[1:])",
                             BeamshBinary.path, node.name, "--rpc", "timer", "sleep", "20000"]
        process.environment = ProcessInfo.processInfo.environment.merging(["RELEASE_COOKIE": node.cookie]) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Interrupted once the call runs on the node.
        try waitUntil("the call sleeps on the node", timeout: 30) { try node.eval(sleepingProcesses) != "0" }
        let started = ContinuousClock.now
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationReason == .exit && process.terminationStatus == 1, "\(process.terminationStatus) \(stderr)")
        #expect(stderr.contains("interrupted; the call may still be running on \(node.name)"), "\(stderr)")
        #expect(ContinuousClock.now - started < .seconds(5))
        // As said: rex's worker goes on after beamsh has gone.
        #expect(try node.eval(sleepingProcesses) == "1", "the call ended with beamsh")
    }

    /// A node whose rpc server (rex) does not answer holds no command past its `--timeout`: not a
    /// core command; and what does not need rex answers: `--eval` of anything else (whose worker
    /// finds the node's language itself), `top` (its sampler is spawned, ready parsed), `info`
    /// and `cluster`'s seed (their calls made by a process of beamsh's own).
    @Test func aStuckRexHoldsNothingPastTheTimeout() throws {
        let node = try TestNode(runtime: try ErlangRuntime.requireAll()[0])
        defer { node.stop() }
        _ = try node.eval("spawn(fun() -> erlang:suspend_process(whereis(rex)), timer:sleep(infinity) end), ok.")
        let stuck: [([String], String)] = [
            ([node.name, "--timeout", "1", "--eval", "Node.list()"], "did not answer within 1.0 s"),
        ]
        for (arguments, said) in stuck {
            let started = Date()
            let result = try BeamshBinary.run(arguments, cookie: node.cookie)
            #expect(result.status == 1 && result.stderr.contains(said) && result.stderr.contains("rex"),
                    "\(arguments): \(result.status) \(result.stderr)")
            #expect(!result.stderr.contains("atom("), "a reason as the node prints it: \(result.stderr)")
            #expect(Date().timeIntervalSince(started) < 6, "\(arguments): waited past --timeout")
        }
        let cluster = try BeamshBinary.run(["cluster", node.name, "--timeout", "1"], cookie: node.cookie)
        #expect(cluster.status == 0 && cluster.stdout.contains("1 node, 1 reached, mesh complete"), "\(cluster.stdout)\(cluster.stderr)")
        let evaluated = try BeamshBinary.run([node.name, "--timeout", "1", "--eval", "1 + 1."], cookie: node.cookie)
        #expect(evaluated.status == 0 && evaluated.stdout == "2\n", "\(evaluated.status) \(evaluated.stderr)")
        let top = try BeamshBinary.run(["top", node.name, "--timeout", "1", "--interval", "0.1"], cookie: node.cookie)
        #expect(top.status == 0 && top.stdout.hasPrefix("\(node.name): "), "\(top.status) \(top.stdout) \(top.stderr)")
        let info = try BeamshBinary.run(["info", node.name, "--timeout", "1"], cookie: node.cookie)
        #expect(info.status == 0 && info.stdout.hasPrefix("\(node.name): OTP "), "\(info.status) \(info.stdout) \(info.stderr)")
    }

    /// What an unreachable EPMD's message suggests fits the command: `--port` where it exists,
    /// not in `discover`; and a bad ERL_EPMD_PORT is no mistake where `--port` skips EPMD.
    @Test func epmdHintsFitTheCommand() throws {
        let console = try BeamshBinary.run(["nobody@localhost", "--epmd-port", "1", "--connect-timeout", "1", "--rpc", "erlang", "node"],
                                           cookie: "c")
        #expect(console.status == 2 && console.stderr.contains("Use --port to skip EPMD"), "\(console.stderr)")
        let discover = try BeamshBinary.run(["discover", "localhost", "--basename", "nobody", "--epmd-port", "1", "--timeout", "1"],
                                            cookie: "c")
        #expect(discover.status == 2 && discover.stdout.contains("EPMD unreachable") && !discover.stdout.contains("--port"),
                "\(discover.stdout)\(discover.stderr)")
        let skipped = try BeamshBinary.run(["nobody@localhost", "--port", "1", "--connect-timeout", "1", "--rpc", "erlang", "node"],
                                           cookie: "c", environment: ["ERL_EPMD_PORT": "abc"])
        #expect(skipped.status == 2 && skipped.stderr.contains("refused"), "\(skipped.status) \(skipped.stderr)")
    }

    /// A mistake on the command line is a usage error (64) whatever else is missing: a misplaced
    /// `--cookie` is not "no cookie found" (2), a missing basename is not a failed connection,
    /// and doctor reads a bad name as every other command does.
    @Test func commandLineMistakesComeBeforeEverythingElse() throws {
        let nothing = ["HOME": "/nonexistent", "RELEASE_NODE": "", "DNS_CLUSTER_QUERY": ""]
        for (arguments, message) in [
            (["a@h", "--rpc", "erlang", "node", "--cookie", "s3cret"], "options go before --rpc"),
            (["a@h", "--rpc", "erlang", "node", "bad term("], "is not an Erlang term"),
            (["a@h", "--rpc", "erlang", "system_info", ":process_count"], "where an atom has no colon: process_count"),
            (["a@h", "--rpc", "lists", "reverse", "[:a, :b]"], "--rpc takes Erlang terms: atoms without a colon"),
            (["a@h", "--rpc", "erlang", "is_map", "%{}"], "maps as #{k => v}"),
            (["a@h", "--rpc", "code", "ensure_loaded", "String"], "(a module of Elixir's is 'Elixir.String')"),
            (["a@h", "--rpc", ":erlang", "node"], "--rpc MODULE ':erlang' is written as in Elixir; in --rpc it is an Erlang atom: erlang"),
            (["--dns", "localhost", "--basename", "", "--eval", "1"], "--basename '' is empty"),
            (["--dns", "localhost", "--basename", "app@h", "--eval", "1"], "is a node name: give the part before '@' (--basename app)"),
            (["info", "--dns", "localhost", "--basename", "a b"], "has blanks"),
            (["--dns", "", "--basename", "app", "--eval", "1"], "--dns needs a DNS name"),
            (["discover", " ", "--basename", "app"], "discover needs a DNS name"),
            (["--dns", "localhost", "--basename", "app", "--port", "4000", "--eval", "1"], "--port and --address give one node's address"),
            (["cluster", "--dns", "localhost", "--basename", "app", "--address", "127.0.0.1"], "--port and --address give one node's address"),
            (["a@h", "--port", "4000", "--address", "127.0.0.1:4001", "--rpc", "erlang", "node"], "name two different ports"),
            (["cluster", "--dns", "localhost"], "--dns needs --basename NAME or RELEASE_NODE"),
            (["discover", "localhost"], "give --basename NAME or set RELEASE_NODE"),
            (["info", "a@h", "--dns", "localhost"], "give a NODE or --dns QUERY, not both"),
            (["top", "a@h", "--pick", "2"], "--pick and --basename go with --dns QUERY"),
            (["top", "--dns", "localhost"], "--dns needs --basename NAME or RELEASE_NODE"),
            (["discover", "--basename", "app"], "give a QUERY or set DNS_CLUSTER_QUERY"),
            (["--dns", "localhost", "--basename", "app", "--rpc", "erlang", "node", "--cookie", "s3cret"], "options go before --rpc"),
        ] {
            let result = try BeamshBinary.run(arguments, cookie: nil, environment: nothing)
            #expect(result.status == 64 && result.stderr.contains(message), "\(arguments): \(result.status) \(result.stderr)")
            #expect(!result.stderr.contains("s3cret"))
        }
        // RELEASE_NODE=@host has no name part: not the host taken for one.
        let noName = try BeamshBinary.run(["--dns", "localhost", "--eval", "1"], cookie: nil,
                                          environment: nothing.merging(["RELEASE_NODE": "@x"]) { $1 })
        #expect(noName.status == 64 && noName.stderr.contains("RELEASE_NODE's name part '' is empty"), "\(noName.stderr)")
        // The same port twice is no conflict.
        let same = try BeamshBinary.run(["a@h", "--port", "1", "--address", "127.0.0.1:1", "--connect-timeout", "1", "--rpc", "erlang", "node"],
                                        cookie: "c")
        #expect(same.status == 2 && same.stderr.contains("refused"), "\(same.status) \(same.stderr)")
        for name in ["bad@", "@host", "a@b@host"] {
            let doctor = try BeamshBinary.run(["doctor", name], cookie: "c")
            #expect(doctor.status == 64 && doctor.stdout.contains("FAIL") && doctor.stdout.contains("node name"),
                    "\(name): \(doctor.status) \(doctor.stdout)\(doctor.stderr)")
        }
    }

    @Test func subcommandHelpAndMistakesNameTheWholeCommand() throws {
        // A valid subcommand line is parsed by the subcommand alone; help and mistakes go through
        // the whole command tree, so they read as always.
        let help = try BeamshBinary.run(["cluster", "--help"], cookie: nil)
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: beamsh cluster"), "\(help.stdout)")
        let extra = try BeamshBinary.run(["info", "a@b", "c@d"], cookie: nil)
        #expect(extra.status == 64)
        #expect(extra.stderr.contains("Unexpected argument 'c@d'"), "\(extra.stderr)")
        #expect(extra.stderr.contains("Usage: beamsh info"), "\(extra.stderr)")
        let unknown = try BeamshBinary.run(["top", "a@b", "--bogus"], cookie: nil)
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("Unknown option '--bogus'"))
        let invalid = try BeamshBinary.run(["cluster", "a@b", "--timeout", "0"], cookie: nil)
        #expect(invalid.status == 64, "validate() still runs: \(invalid.stderr)")
        #expect(invalid.stderr.contains("--timeout must be a number of seconds"))
        let version = try BeamshBinary.run(["--version"], cookie: nil)
        #expect(version.status == 0 && !version.stdout.isEmpty)
        // `help WORD` for a word that is no command says so, instead of the general help and exit 0.
        let topHelp = try BeamshBinary.run(["help", "top"], cookie: nil)
        #expect(topHelp.status == 0 && topHelp.stdout.contains("USAGE: beamsh top"), "\(topHelp.stdout)")
        let typo = try BeamshBinary.run(["help", "tpo"], cookie: nil)
        #expect(typo.status == 64 && typo.stdout.isEmpty
                && typo.stderr == "beamsh: no command 'tpo' to help with; did you mean `beamsh help top`?\n", "\(typo.stderr)")
        let none = try BeamshBinary.run(["help", "xyzzy"], cookie: nil)
        #expect(none.status == 64 && none.stderr.contains("the commands are console, names, doctor, discover, cluster, info, top, decode"),
                "\(none.stderr)")
        let empty = try BeamshBinary.run(["", "--eval", "1"], cookie: nil)
        #expect(empty.status == 64 && empty.stderr == "beamsh: invalid node name '': the node name is empty\n", "\(empty.stderr)")
    }

    @Test func namesListsRegisteredNodes() throws {
        let runtime = try #require(ErlangRuntime.requireAll().first)
        let node = try TestNode(runtime: runtime)
        defer { node.stop() }
        let result = try BeamshBinary.run(["names"], cookie: nil)
        #expect(result.status == 0)
        #expect(result.stdout.contains("name \(node.alive) at port "))
        let json = try BeamshBinary.run(["names", "--format", "json"], cookie: nil)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]], "\(json.stdout)")
        let entry = try #require(entries.first { $0["name"] as? String == node.alive }, "\(json.stdout)")
        #expect(result.stdout.contains("name \(node.alive) at port \(entry["port"] as? Int ?? -1)\n"))
        // EPMD's port with the host (an SSH tunnel's local port), IPv6 in brackets.
        let epmd = ProcessInfo.processInfo.environment["ERL_EPMD_PORT"] ?? "4369"
        for host in ["localhost:\(epmd)", "[::1]:\(epmd)", "127.0.0.1:\(epmd)"] {
            let withPort = try BeamshBinary.run(["names", host, "--epmd-port", epmd], cookie: nil)
            #expect(withPort.status == 0 && withPort.stdout.contains("name \(node.alive) at port "), "\(host): \(withPort.stderr)")
        }
        let both = try BeamshBinary.run(["names", "localhost:\(epmd)", "--epmd-port", "1"], cookie: nil)
        #expect(both.status == 64 && both.stderr.contains("give one"), "\(both.stderr)")
    }

    /// An EPMD port that takes the connection and never answers: `names` waits
    /// `--connect-timeout` for it, and says so.
    @Test func namesWaitsForEPMDAsLongAsAsked() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(listening, "errno \(errno)")  // the kernel accepts; nobody reads or answers
        let port = String(UInt16(bigEndian: address.sin_port))
        let started = ContinuousClock.now
        let silent = try BeamshBinary.run(["names", "127.0.0.1:\(port)", "--connect-timeout", "1.5"], cookie: nil)
        let waited = ContinuousClock.now - started
        #expect(silent.status == 2 && silent.stderr.contains("EPMD did not answer within 1500 ms"), "\(silent.status) \(silent.stderr)")
        #expect(waited >= .seconds(1.5), "gave up after \(waited)")
        let bad = try BeamshBinary.run(["names", "--connect-timeout", "0"], cookie: nil)
        #expect(bad.status == 64 && bad.stderr.contains("--connect-timeout"), "\(bad.stderr)")
    }

    /// A node whose rpc server (rex) is stuck: doctor's test RPC gives up after --timeout, exits
    /// 1 as a failed call does, and the fix says what that means.
    @Test func doctorNamesAStuckRex() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            #expect(try node.eval("sys:suspend(rex).") == "ok")
            let started = ContinuousClock.now
            let stuck = try BeamshBinary.run(["doctor", node.name, "--timeout", "1"], cookie: node.cookie)
            #expect(stuck.status == 1 && stuck.stdout.contains("ok    authentication") && stuck.stdout.contains("FAIL  RPC")
                    && stuck.stdout.contains("its rex did not answer in 1.0 s"), "\(runtime): \(stuck.stdout)\(stuck.stderr)")
            #expect(ContinuousClock.now - started < .seconds(8), "took \(ContinuousClock.now - started)")
            let zero = try BeamshBinary.run(["doctor", node.name, "--timeout", "0"], cookie: node.cookie)
            #expect(zero.status == 64 && zero.stderr.contains("--timeout"), "\(zero.stderr)")
        }
    }

    /// BEAMSH_LOG=trace shows the distribution layer's own log on standard error (each control
    /// message in), never the cookie; stdout stays the result; a wrong level is said, not fatal.
    @Test func beamshLogShowsTheDistributionLog() throws {
        let node = try TestNode(runtime: try ErlangRuntime.requireAll()[0])
        defer { node.stop() }
        let traced = try BeamshBinary.run([node.name, "--rpc", "erlang", "node"], cookie: node.cookie, environment: ["BEAMSH_LOG": "trace"])
        #expect(traced.status == 0 && traced.stdout == "\(node.name)\n", "\(traced.stdout)\(traced.stderr)")
        #expect(traced.stderr.contains("trace beamsh.distribution") && traced.stderr.contains("control message in"), "\(traced.stderr)")
        #expect(!traced.stderr.contains(node.cookie) && !traced.stdout.contains(node.cookie))
        let quiet = try BeamshBinary.run([node.name, "--rpc", "erlang", "node"], cookie: node.cookie)
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "off by default: \(quiet.stderr)")
        let wrong = try BeamshBinary.run([node.name, "--rpc", "erlang", "node"], cookie: node.cookie, environment: ["BEAMSH_LOG": "loud"])
        #expect(wrong.status == 0 && wrong.stderr.contains("BEAMSH_LOG=loud is not a log level"), "\(wrong.stderr)")
    }

    /// A node with an allow list (net_kernel:allow/1) that does not name us answers not_allowed:
    /// doctor points at the allow list, not at name forms (a form mix is refused before that).
    @Test func doctorNamesTheAllowList() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            #expect(try node.eval("net_kernel:allow(['qa_only@nowhere']).") == "ok")
            let refused = try BeamshBinary.run(["doctor", node.name], cookie: node.cookie)
            #expect(refused.status == 2 && refused.stdout.contains("FAIL  handshake") && refused.stdout.contains("not_allowed")
                    && refused.stdout.contains("allow list (net_kernel:allow/1)") && !refused.stdout.contains("do not mix"),
                    "\(runtime): \(refused.stdout)\(refused.stderr)")
        }
    }

    @Test func doctorWalksEveryStep() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime, mode: .ipv6)
            defer { node.stop() }
            let good = try BeamshBinary.run(["doctor", node.name], cookie: node.cookie)
            #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
            for step in ["node name", "cookie", "DNS", "EPMD", "TCP", "handshake", "authentication", "RPC", "ticks"] {
                #expect(good.stdout.contains("ok    \(step)"), "\(step) missing in:\n\(good.stdout)")
            }
            #expect(!good.stdout.contains(node.cookie))

            let bad = try BeamshBinary.run(["doctor", node.name], cookie: "wrong")
            #expect(bad.status == 3)
            #expect(bad.stdout.contains("FAIL  authentication") && bad.stdout.contains("the node rejected our cookie")
                    && !bad.stdout.contains("authentication authentication"), "\(bad.stdout)")
            #expect(bad.stdout.contains("likely fix"))

            // For scripts: one JSON object, the same steps, the same exit code.
            for (cookie, status) in [(node.cookie, 0), ("wrong", 3)] {
                let run = try BeamshBinary.run(["doctor", node.name, "--format", "json"], cookie: cookie)
                #expect(run.status == Int32(status))
                let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
                #expect(object["ok"] as? Bool == (status == 0))
                #expect(object["exit_code"] as? Int == status)
                let steps = try #require(object["steps"] as? [[String: Any]])
                let last = try #require(steps.last)
                if status == 0 {
                    #expect(steps.compactMap { $0["step"] as? String } == ["node name", "cookie", "our name", "DNS", "EPMD", "TCP",
                                                                           "handshake", "authentication", "RPC", "ticks"])
                    #expect(steps.allSatisfy { $0["status"] as? String == "ok" })
                } else {
                    #expect(last["step"] as? String == "authentication" && last["status"] as? String == "fail")
                    // The handshake before it went through, and says so.
                    #expect(steps.dropLast().last?["step"] as? String == "handshake" && steps.dropLast().last?["status"] as? String == "ok")
                    #expect((last["likely_fix"] as? String)?.contains("cookie") == true)
                }
                #expect(!run.stdout.contains(node.cookie))
            }

            // The right node named by another alias of its host: the fix gives its own name.
            let alias = try BeamshBinary.run(["doctor", "\(node.alive)@localhost"], cookie: node.cookie)
            #expect(alias.status == 2 && alias.stdout.contains("likely fix: give the node's own name, \(node.name)")
                    && !alias.stdout.contains("run doctor again"), "\(runtime): \(alias.stdout)")

            // A port where nothing listens: refused, said plainly, and the fix names --port.
            let closed = try BeamshBinary.run(["doctor", node.name, "--port", "1"], cookie: node.cookie)
            #expect(closed.status == 2 && closed.stdout.contains("port 1: connection refused")
                    && closed.stdout.contains("--port is not its distribution port"), "\(closed.stdout)")

            let none = try BeamshBinary.run(["doctor", node.name], cookie: nil, environment: ["HOME": "/nonexistent"])
            #expect(none.status == 2, "\(none.stdout)\(none.stderr)")
            #expect(none.stdout.contains("FAIL  cookie") && none.stdout.contains("likely fix: set RELEASE_COOKIE"), "\(none.stdout)")

            // A bad ERL_EPMD_PORT is a failed step (with the usage error's code), in JSON too.
            let epmd = try BeamshBinary.run(["doctor", node.name, "--format", "json"], cookie: node.cookie, environment: ["ERL_EPMD_PORT": "abc"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(epmd.stdout.utf8)) as? [String: Any], "\(epmd.stdout)")
            let last = try #require((object["steps"] as? [[String: Any]])?.last)
            #expect(epmd.status == 64 && object["exit_code"] as? Int == 64 && last["step"] as? String == "EPMD port"
                    && (last["detail"] as? String)?.contains("ERL_EPMD_PORT must be a port number") == true, "\(epmd.stdout)")
        }
    }
}

/// How many processes of the node sleep in `timer:sleep/1` (a call or an evaluation beamsh made).
private let sleepingProcesses =
    "length([P || P <- processes(), process_info(P, current_function) == {current_function, {timer, sleep, 1}}])."
