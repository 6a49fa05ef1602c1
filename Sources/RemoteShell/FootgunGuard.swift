// Lines that would stop the REMOTE node. beamsh sees every line before the node does, so it
// asks before sending one of these (`--yes` skips the question).

import ErlangTerm

/// Finds calls that stop, halt, restart or reboot the node a line is evaluated on.
public enum FootgunGuard {
    /// Qualified calls that stop the node, in the syntax of each language.
    static let elixirCalls = ["System.stop", "System.halt", "System.restart", ":init.stop", ":init.restart",
                              ":init.reboot", ":erlang.halt", ":c.q", ":c.halt",
                              ":Elixir.System.stop", ":Elixir.System.halt", ":Elixir.System.restart",
                              "Elixir.System.stop", "Elixir.System.halt", "Elixir.System.restart"]
    static let erlangCalls = ["init:stop", "init:restart", "init:reboot", "erlang:halt", "c:q", "c:halt",
                              "shell_default:q", "shell_default:halt",
                              "Elixir.System:stop", "Elixir.System:halt", "Elixir.System:restart"]
    /// Erlang shell commands that stop the node when called without a module.
    static let erlangLocalCalls = ["q", "halt"]
    /// Calls that stop the node by what they are given: stopping the kernel application (or
    /// stdlib) takes the node down, and so does an exit signal to `init`, or the message
    /// `init:stop/0` itself sends (`{stop, stop}`; any message to `init` is asked about). Matched
    /// with all spacing removed: `Application.stop( :kernel )` is the same call.
    static let elixirArgumentCalls: [(call: String, patterns: [String])] = [
        ("Application.stop(:kernel)", ["Application.stop(:kernel", ":application.stop(:kernel", "Elixir.Application.stop(:kernel",
                                       ":application_controller.stop_application(:kernel"]),
        ("Application.stop(:stdlib)", ["Application.stop(:stdlib", ":application.stop(:stdlib", "Elixir.Application.stop(:stdlib",
                                       ":application_controller.stop_application(:stdlib"]),
        ("Process.exit(Process.whereis(:init), ...)",
         ["Process.exit(Process.whereis(:init)", "Process.exit(:erlang.whereis(:init)",
          ":erlang.exit(Process.whereis(:init)", ":erlang.exit(:erlang.whereis(:init)",
          // init's pid is always <0.0.0>.
          "Process.exit(pid(0,0,0)", ":erlang.exit(pid(0,0,0)", "Process.exit(:c.pid(0,0,0)"]),
        ("send(:init, ...)",
         ["send(:init,", "Kernel.send(:init,", "Process.send(:init,", ":erlang.send(:init,",
          "send(Process.whereis(:init),", "send(:erlang.whereis(:init),", "Kernel.send(Process.whereis(:init),",
          "Process.send(Process.whereis(:init),", ":erlang.send(Process.whereis(:init),", ":init|>send(",
          "send(pid(0,0,0),", "Kernel.send(pid(0,0,0),", "Process.send(pid(0,0,0),", ":erlang.send(pid(0,0,0),"]),
    ] + vitalProcesses.map { name in
        ("stopping :\(name)", ["GenServer.stop(:\(name)", ":gen_server.stop(:\(name)", "Supervisor.stop(:\(name)",
                               ":sys.terminate(:\(name)", "GenServer.stop(Process.whereis(:\(name))",
                               "Process.exit(Process.whereis(:\(name))", "Process.exit(:erlang.whereis(:\(name))",
                               ":erlang.exit(Process.whereis(:\(name))", ":erlang.exit(:erlang.whereis(:\(name))"])
    }
    /// Kernel processes whose end takes the node down ("Kernel pid terminated"): stopping them,
    /// or an exit signal to them, is asked about as `init:stop/0` is.
    static let vitalProcesses = ["application_controller", "kernel_sup"]
    static let erlangArgumentCalls: [(call: String, patterns: [String])] = vitalProcesses.map { name in
        ("stopping \(name)", ["gen_server:stop(\(name)", "sys:terminate(\(name)", "exit(whereis(\(name))",
                              "erlang:exit(whereis(\(name))", "exit(erlang:whereis(\(name))", "erlang:exit(erlang:whereis(\(name))"])
    } + [
        ("application:stop(kernel)", ["application:stop(kernel", "application_controller:stop_application(kernel"]),
        ("application:stop(stdlib)", ["application:stop(stdlib", "application_controller:stop_application(stdlib"]),
        ("exit(whereis(init), ...)", ["exit(whereis(init)", "exit(erlang:whereis(init)", "erlang:exit(whereis(init)",
                                      "erlang:exit(erlang:whereis(init)", "exit(pid(0,0,0)", "erlang:exit(pid(0,0,0)",
                                      "exit(c:pid(0,0,0)"]),
        ("init ! ...", ["init!", "whereis(init)!", "erlang:whereis(init)!", "erlang:send(init,",
                        "erlang:send(whereis(init),", "erlang:send(erlang:whereis(init),", "pid(0,0,0)!",
                        "erlang:send(pid(0,0,0),"]),
    ]

    /// `module:function` when calling it with `arguments` stops the node (`--rpc init stop`,
    /// `--rpc application stop kernel`, a message or an exit signal to init), else nil.
    public static func stopCall(module: String, function: String, arguments: [Term]) -> String? {
        let call = "\(module):\(function)"
        if erlangCalls.contains(call) { return call }
        // Stopping kernel or stdlib takes the node down (it stops the node, or leaves it unreachable).
        if (module == "application" || module == "Elixir.Application") && function == "stop"
            || module == "application_controller" && function == "stop_application",
           let app = arguments.first?.atomValue?.name, app == "kernel" || app == "stdlib" {
            return "\(call)(\(app))"
        }
        // `init:stop/0` sends init `{stop, stop}`: any message to init is asked about, and so is
        // an exit signal to it.
        if module == "erlang", ["send", "!", "exit"].contains(function), arguments.count == 2, let target = arguments.first,
           namesInit(target) {
            return "\(call)(init, ...)"
        }
        if ["gen_server:stop", "sys:terminate", "Elixir.GenServer:stop", "Elixir.Supervisor:stop"].contains(call),
           let target = arguments.first?.atomValue?.name, vitalProcesses.contains(target) {
            return "\(call)(\(target))"
        }
        return nil
    }

    /// init as a call's argument: its name, `{init, Node}`, or its pid, always `<0.0.0>`.
    private static func namesInit(_ term: Term) -> Bool {
        switch term {
        case .atom(let name): return name.name == "init"
        case .pid(let pid): return pid.id == 0 && pid.serial == 0
        case .tuple(let items): return items.count == 2 && items[0] == .atom("init")
        case .integer, .bigInteger, .float, .list, .map, .binary, .bitstring, .port, .reference, .fun, .export: return false
        }
    }

    /// The first node-stopping call in `line` (outside strings and comments), or nil.
    public static func dangerousCall(in line: String, language: Language) -> String? {
        // Every call looked for spells one of these words (quotes only ever surround whole
        // names), so most lines are cleared by a byte scan: the full scan below costs about a
        // million instructions, a tenth of a one-shot `--eval`.
        guard mayStop(line) else { return nil }
        let code = Array(SourceScanner.codeOnly(unquotingAtoms(line, language: language), language: language))
        var chars = normalized(String(unwrappingGroupedNames(code)), language: language)
        if language == .elixir {
            // `send :init, msg` is `send(:init, msg`; `:init |> apply(:stop, [])` is `apply(:init, :stop, [])`.
            chars = rewritingPipes(callingJuxtaposed(chars))
        }
        func isIdentifierChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "@" }
        // A plain scan over characters: Foundation's `range(of:)` would link all of Foundation
        // (and ICU) into the binary for this one call.
        func occurs(_ word: String, needsCall: Bool, in chars: [Character] = chars) -> Bool {
            let pattern = Array(word)
            guard !pattern.isEmpty, pattern.count <= chars.count else { return false }
            for start in 0...(chars.count - pattern.count) where chars[start] == pattern[0] {
                guard chars[start..<(start + pattern.count)].elementsEqual(pattern) else { continue }
                let end = start + pattern.count
                let before = start > 0 ? chars[start - 1] : " "
                let after = end < chars.count ? chars[end] : " "
                let boundedBefore = !isIdentifierChar(before) && before != "." && before != ":"
                    || word.first == ":"
                // (Only a pattern that ends in a name can run on into a longer one: `init!` and
                // `send(init,` are whole whatever follows.)
                let boundedAfter = !isIdentifierChar(pattern[pattern.count - 1])
                    || !isIdentifierChar(after) && after != "?" && after != "!"
                if boundedBefore && boundedAfter && (!needsCall || after == "(") && !isLookup(chars, before: start) { return true }
            }
            return false
        }
        switch language {
        case .elixir:
            if let hit = elixirCalls.first(where: { occurs($0, needsCall: false) }) { return hit }
        case .erlang:
            if let hit = erlangCalls.first(where: { occurs($0, needsCall: false) }) { return hit }
            if let hit = erlangLocalCalls.first(where: { occurs($0, needsCall: true) }) { return hit + "()" }
        }
        let compact = Self.compacted(chars)
        let byArgument = language == .elixir ? elixirArgumentCalls : erlangArgumentCalls
        if let hit = byArgument.first(where: { $0.patterns.contains { occurs($0, needsCall: false, in: compact) } }) {
            return hit.call
        }
        // The module and function as adjacent arguments: `apply(:init, :stop, [])`,
        // `:rpc.call(node(), :init, :stop, [])`, `spawn(init, stop, [])`.
        let pairs = language == .elixir ? elixirArgumentPairs : erlangArgumentPairs
        if let hit = pairs.first(where: { pair in pair.patterns.contains { occurs($0, needsCall: false) } })?.call { return hit }
        // init's pid written as text, as `Process.list()` and `:top` print it (`#PID<0.0.0>`,
        // `pid("0.0.0")`, `list_to_pid("<0.0.0>")`): its quotes are gone from the scanned code,
        // so the raw line is read, without spacing, with each such form made `pid(0,0,0)`.
        let spelled = language == .elixir ? callingJuxtaposed(normalized(line, language: language)) : Array(line)
        let raw = Self.compacted(spelled)
        var canonical = Self.initPidSpelledOut(raw, language: language)
        guard canonical.count != raw.count else { return nil }
        if language == .elixir { canonical = rewritingPipes(canonical) }
        let pidPatterns = language == .elixir ? elixirInitPidPatterns : erlangInitPidPatterns
        return pidPatterns.first { $0.patterns.contains { occurs($0, needsCall: false, in: canonical) } }?.call
    }

    /// Code with a name or atom alone in grouping brackets written bare: `(System).stop()` is
    /// `System.stop()`, `apply((:init), (:stop), [])` is `apply(:init, :stop, [])`, Erlang's
    /// `(init):stop()` is `init:stop()` and `(q)()` is `q()`; nested brackets too. Read before
    /// blanks are normalized: a bracket right after a name (`f(x)`, `f.(x)`) is a call's and
    /// stays, one after a blank (`IO.inspect (System).stop()`, which Elixir reads as
    /// `IO.inspect((System).stop())`) groups.
    static func unwrappingGroupedNames(_ code: [Character]) -> [Character] {
        func isNameCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "@" || c == "." || c == ":" }
        // One pass: each bracket's group is looked at when it closes (inner groups first, so
        // `((init))` comes out whole), and only a short one can be a name: linear on any line.
        var out: [Character] = []
        out.reserveCapacity(code.count)
        var open: [(at: Int, grouping: Bool)] = []
        for c in code {
            if c == "(" {
                let grouping = out.last.map { !(isNameCharacter($0) || $0 == "?" || $0 == "!") } ?? true
                open.append((out.count, grouping))
                out.append(c)
                continue
            }
            guard c == ")", let group = open.popLast() else {
                out.append(c)
                continue
            }
            // (The name is copied out before `out` changes: a slice of it kept alive would make
            // every change copy the whole array.)
            if group.grouping, out.count - group.at <= 257, let bare = Self.bareName(out[(group.at + 1)...], isNameCharacter) {
                out.removeSubrange(group.at...)
                out += bare
                continue
            }
            out.append(c)
        }
        return out
    }

    /// The name alone between blanks in `group`, or nil.
    private static func bareName(_ group: ArraySlice<Character>, _ isNameCharacter: (Character) -> Bool) -> [Character]? {
        guard let first = group.firstIndex(where: { !$0.isWhitespace }), let last = group.lastIndex(where: { !$0.isWhitespace })
        else { return nil }
        let name = group[first...last]
        return name.allSatisfy(isNameCharacter) ? Array(name) : nil
    }

    /// Elixir code with each call written without brackets given its opening one:
    /// `send :init, msg` is `send(:init, msg`, `Process.exit pid(0,0,0), :kill` is
    /// `Process.exit(pid(0,0,0), :kill`: a name, one blank, then what starts an argument (a
    /// name, an atom). Operators spelled as words (`x and y`, `a in b`, `when`, `do`) are not
    /// calls, nor is a type's `x :: t`. (The patterns end before the closing bracket.)
    static func callingJuxtaposed(_ code: [Character]) -> [Character] {
        func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "?" || c == "!" }
        let notCalls: Set<String> = ["do", "end", "fn", "when", "and", "or", "not", "in", "else", "after", "catch", "rescue",
                                     "true", "false", "nil"]
        var out = code
        var i = 1
        while i + 1 < out.count {
            defer { i += 1 }
            guard out[i] == " ", isWordCharacter(out[i - 1]) else { continue }
            let next = out[i + 1]
            guard next.isLetter || next == "_" || (next == ":" && (i + 2 >= out.count || out[i + 2] != ":")) else { continue }
            var start = i - 1
            while start > 0, isWordCharacter(out[start - 1]) || out[start - 1] == "." { start -= 1 }
            var end = i + 1
            while end < out.count, isWordCharacter(out[end]) { end += 1 }
            let before = String(out[start..<i]), after = String(out[(i + 1)..<end])
            guard !notCalls.contains(before), !notCalls.contains(after), out[start].isLetter || out[start] == "_" else { continue }
            out[i] = "("
        }
        return out
    }

    /// Elixir code with each pipe written as the call it makes, the piped value first:
    /// `Process.whereis(:init) |> Process.exit(:kill)` is `Process.exit(Process.whereis(:init), :kill)`,
    /// `:init |> apply(:stop, [])` is `apply(:init, :stop, [])`; chains from the left. The piped
    /// value is the operand just before `|>`: a name or call (`Mod.fun(...)`, `pid(0,0,0)`), an
    /// atom, or a bracketed term.
    static func rewritingPipes(_ code: [Character]) -> [Character] {
        var chars = code
        func isNameCharacter(_ c: Character) -> Bool {
            c.isLetter || c.isNumber || c == "_" || c == "." || c == ":" || c == "?" || c == "!" || c == "@" || c == "~" || c == "#"
        }
        let closers: [Character: Character] = [")": "(", "]": "[", "}": "{", ">": "<"]
        var searchFrom = 0
        while let pipe = (searchFrom..<max(searchFrom, chars.count - 1)).first(where: { chars[$0] == "|" && chars[$0 + 1] == ">" }) {
            // The operand before: bracketed groups and the name characters that lead to them.
            var end = pipe
            while end > 0, chars[end - 1] == " " { end -= 1 }
            var start = end
            scan: while start > 0 {
                let c = chars[start - 1]
                if let opener = closers[c], !(c == ">" && start >= 2 && chars[start - 2] == "|") {
                    var depth = 0
                    var k = start - 1
                    while k >= 0 {
                        if chars[k] == c { depth += 1 } else if chars[k] == opener { depth -= 1 }
                        if depth == 0 { break }
                        k -= 1
                    }
                    guard k >= 0 else { break scan }
                    start = k
                } else if isNameCharacter(c) {
                    start -= 1
                } else {
                    break
                }
            }
            // The call after: its name, and its arguments when it has parentheses.
            var nameStart = pipe + 2
            while nameStart < chars.count, chars[nameStart] == " " { nameStart += 1 }
            var nameEnd = nameStart
            while nameEnd < chars.count, isNameCharacter(chars[nameEnd]) { nameEnd += 1 }
            guard start < end, nameStart < nameEnd else {
                searchFrom = pipe + 2
                continue
            }
            let operand = Array(chars[start..<end])
            var replacement = Array(chars[nameStart..<nameEnd]) + ["("] + operand
            var after = nameEnd
            if after < chars.count, chars[after] == "(" {
                var depth = 0
                var close = after
                while close < chars.count {
                    if chars[close] == "(" { depth += 1 } else if chars[close] == ")" { depth -= 1 }
                    if depth == 0 { break }
                    close += 1
                }
                let arguments = chars[(after + 1)..<min(close, chars.count)]
                if !arguments.allSatisfy({ $0 == " " }) { replacement += [",", " "] + arguments }
                after = min(close + 1, chars.count)
            }
            replacement.append(")")
            chars.replaceSubrange(start..<after, with: replacement)
            searchFrom = start
        }
        return chars
    }

    /// Whether what precedes `start` makes the call there a question about it, not a call: IEx's
    /// `h System.stop` and `b System.stop` (documentation), `function_exported?(System, :stop, 1)`.
    static func isLookup(_ chars: [Character], before start: Int) -> Bool {
        var i = start - 1
        while i >= 0, chars[i] == " " || chars[i] == "(" { i -= 1 }
        var word: [Character] = []
        while i >= 0, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "?" || chars[i] == "." || chars[i] == ":" {
            word.insert(chars[i], at: 0)
            i -= 1
        }
        let lookups: [[Character]] = [["h"], ["b"], Array("function_exported?"), Array(":erlang.function_exported"),
                                      Array("erlang:function_exported"), Array("IEx.Helpers.h"), Array("IEx.Helpers.b")]
        return lookups.contains(word)
    }

    /// The argument calls that name init by `pid(0,0,0)`.
    static let elixirInitPidPatterns = namingInitPid(elixirArgumentCalls)
    static let erlangInitPidPatterns = namingInitPid(erlangArgumentCalls)
    private static func namingInitPid(_ calls: [(call: String, patterns: [String])]) -> [(call: String, patterns: [String])] {
        let marker = Array("pid(0,0,0)")
        return calls.compactMap { call in
            let patterns = call.patterns.filter { pattern in
                let chars = Array(pattern)
                return chars.count >= marker.count && (0...(chars.count - marker.count)).contains { chars[$0..<($0 + marker.count)].elementsEqual(marker) }
            }
            return patterns.isEmpty ? nil : (call.call, patterns)
        }
    }

    /// The code without blanks, but one where they part two names (`do Process.exit(...)` stays
    /// two words: run together, `doProcess` is no call of `Process.exit`).
    static func compacted(_ code: [Character]) -> [Character] {
        func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "?" || c == "!" || c == "@" }
        var out: [Character] = []
        out.reserveCapacity(code.count)
        var blank = false
        for c in code {
            if c.isWhitespace {
                blank = true
                continue
            }
            // (`?` and `!` end a name, never start one: `init ! msg` is `init!msg`.)
            if blank, let last = out.last, isWordCharacter(last), c.isLetter || c.isNumber || c == "_" || c == "@" || c == ":" {
                out.append(" ")
            }
            blank = false
            out.append(c)
        }
        return out
    }

    /// `(pid(0,0,0))` (not a call's brackets) as `pid(0,0,0)`, nested ones too, in one pass.
    static func unwrappingGroupedPids(_ code: [Character]) -> [Character] {
        let grouped = Array("(pid(0,0,0))")
        var out: [Character] = []
        out.reserveCapacity(code.count)
        for c in code {
            out.append(c)
            guard c == ")", out.count >= grouped.count, out[(out.count - grouped.count)...].elementsEqual(grouped) else { continue }
            let open = out.count - grouped.count
            if open > 0, out[open - 1].isLetter || out[open - 1].isNumber || out[open - 1] == "_" || out[open - 1] == "." { continue }
            out.removeLast()
            out.remove(at: open)
        }
        return out
    }

    /// The ways to write init's pid as text, each with the module it may be called through.
    static let initPidSpellings: [[Character]] = {
        var forms = ["#PID<0.0.0>"]
        for (open, close) in [("\"", "\""), ("'", "'"), ("~c\"", "\""), ("~c'", "'")] {
            for qualifier in ["", ":c.", "c:", "IEx.Helpers.", "Elixir.IEx.Helpers."] {
                forms.append("\(qualifier)pid(\(open)0.0.0\(close))")
            }
            for qualifier in ["", ":erlang.", "erlang:"] {
                forms.append("\(qualifier)list_to_pid(\(open)<0.0.0>\(close))")
            }
        }
        // The shells' `pid/3` through its module (the bare `pid(0,0,0)` is the canonical form).
        for qualifier in ["c:", ":c.", "shell_default:", ":shell_default.", "IEx.Helpers.", "Elixir.IEx.Helpers."] {
            forms.append("\(qualifier)pid(0,0,0)")
        }
        // Longest first, so a qualified form is taken whole.
        return forms.map { Array($0) }.sorted { $0.count > $1.count }
    }()
    /// Erlang also reads a pid pasted as `i()` and `processes()` print it: `<0.0.0>`.
    static let erlangInitPidSpellings = initPidSpellings + [Array("<0.0.0>")]

    /// `code` (without spacing) with every spelling of init's pid as text made `pid(0,0,0)`.
    static func initPidSpelledOut(_ code: [Character], language: Language) -> [Character] {
        let canonical = Array("pid(0,0,0)")
        let spellings = language == .erlang ? erlangInitPidSpellings : initPidSpellings
        var out: [Character] = []
        var i = 0
        scan: while i < code.count {
            for form in spellings where code[i] == form[0] && i + form.count <= code.count && code[i..<(i + form.count)].elementsEqual(form) {
                out += canonical
                i += form.count
                continue scan
            }
            out.append(code[i])
            i += 1
        }
        // In grouping brackets it is the same pid: `(c:pid(0,0,0)) ! hello`.
        return unwrappingGroupedPids(out)
    }

    static let elixirArgumentPairs = argumentPairs(.elixir)
    static let erlangArgumentPairs = argumentPairs(.erlang)

    /// Whether `line` contains a word every stopping call spells: `stop`, `halt`, `restart`,
    /// `reboot`, `exit` (init), or a `q` (the shell's `q()`), or init's pid (`<0.0.0>`, `#PID<0.0.0>`).
    static func mayStop(_ line: String) -> Bool {
        let bytes = Array(line.utf8)
        if bytes.contains(UInt8(ascii: "q")) { return true }
        // `init` and `pid(`: a message to init stops nothing by itself, but any is asked about.
        let words: [[UInt8]] = [Array("stop".utf8), Array("halt".utf8), Array("restart".utf8), Array("reboot".utf8),
                                Array("exit".utf8), Array("init".utf8), Array("pid(".utf8),
                                Array("terminate".utf8), Array("0.0.0".utf8)]
        for word in words where bytes.count >= word.count {
            for start in 0...(bytes.count - word.count) where bytes[start] == word[0] {
                if bytes[start..<(start + word.count)].elementsEqual(word) { return true }
            }
        }
        return false
    }

    /// Each stopping call written as two adjacent arguments, module then function.
    static func argumentPairs(_ language: Language) -> [(call: String, patterns: [String])] {
        erlangCalls.map { call in
            let (module, function) = (String(call.prefix { $0 != ":" }), String(call.drop { $0 != ":" }.dropFirst()))
            let modules: [String]
            let name: String
            switch language {
            case .elixir:
                modules = module == "Elixir.System" ? ["System", "Elixir.System", ":Elixir.System"] : [":" + module]
                name = module == "Elixir.System" ? "System.\(function)" : ":\(module).\(function)"
            case .erlang:
                modules = [module]
                name = call
            }
            let fn = language == .elixir ? ":" + function : function
            return (name, modules.flatMap { ["\($0), \(fn)", "\($0),\(fn)"] })
        }
    }

    /// `line` with quoted names that need no quotes written plainly, so that the scan sees them as
    /// code: Elixir's atoms `:"init"` and `:'init'` are `:init`, its quoted calls `System."stop"()`
    /// are `System.stop()`, Erlang's `'init'` is `init`.
    static func unquotingAtoms(_ line: String, language: Language) -> String {
        let chars = Array(line)
        // (prefix kept, quote) pairs that open a quoted name.
        let openers: [(Character?, Character)] = language == .elixir
            ? [(":", "\""), (":", "'"), (".", "\""), (".", "'")] : [(nil, "'")]
        func plainName(_ name: ArraySlice<Character>) -> Bool {
            guard let first = name.first, first.isLetter || first == "_" else { return false }
            return name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "@" }
        }
        var out: [Character] = []
        var i = 0
        scan: while i < chars.count {
            for (prefix, quote) in openers {
                let start = prefix == nil ? i : i + 1
                guard start < chars.count, chars[start] == quote, prefix == nil || chars[i] == prefix,
                      let close = chars[(start + 1)...].firstIndex(of: quote), plainName(chars[(start + 1)..<close])
                else { continue }
                if let prefix { out.append(prefix) }
                out += chars[(start + 1)..<close]
                i = close + 1
                continue scan
            }
            out.append(chars[i])
            i += 1
        }
        return String(out)
    }

    /// The code with every run of whitespace made one space, and none around the separator of a
    /// qualified call (Elixir's `.`, Erlang's `:`) or before an argument list: `System . halt` is
    /// `System.halt`, Erlang's `init : stop()` is `init:stop()` and `halt ()` is `halt()`. Other
    /// whitespace stays, as it separates tokens: `do: System.stop()` and `if true do
    /// System.stop() end` must not run together into `do:System` or `doSystem`, nor Erlang's
    /// `X = 1. halt().` into `1.halt()` (its `.` ends an expression).
    static func normalized(_ code: String, language: Language) -> [Character] {
        let separator: Character = language == .erlang ? ":" : "."
        var out: [Character] = []
        var pendingSpace = false
        for c in code {
            if c.isWhitespace {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace, let last = out.last, last != separator, c != separator, c != "(" { out.append(" ") }
            pendingSpace = false
            out.append(c)
        }
        return out
    }
}
