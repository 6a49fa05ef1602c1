// The core commands that work on every node, with or without Elixir: `Node.list`,
// `Process.info(pid)`, `:erlang.memory()`, `pid("0.1.0")`... A small expression language
// (literals, lists, remote calls) parsed here and run as BIF calls through `rex`, so an
// Erlang-only node answers Elixir-syntax commands, and `--read-only` can check every call
// against an allow-list before anything reaches the node.

import ErlangDistribution
import ErlangTerm
import NIOCore

/// A parsed core expression.
indirect enum CoreExpression: Sendable, Hashable {
    case literal(Term)
    case list([CoreExpression])
    case tuple([CoreExpression])
    /// Kernel's pure `length/1`, `hd/1`... (the BIF of the same name): on the node with the
    /// rest of the line (``CoreCommands/submitPrinted``), or here when the value is asked for.
    case local(LocalFunction, [CoreExpression])
    /// A pid written `pid("0.1.0")`, `pid(0, 1, 0)`, `#PID<0.1.0>` or `<0.1.0>`: "<0.1.0>".
    case pid(String)
    /// `Module.function(args)` / `:mod.fun(args)` / `mod:fun(args)`, already mapped to the BIF it means.
    case call(module: Atom, function: Atom, arguments: [CoreExpression], nilForUndefined: Bool)

    /// Every call in the expression, innermost first.
    var calls: [(Atom, Atom, Int)] { callsWithArguments.map { ($0.0, $0.1, $0.2.count) } }

    /// Every call in the expression with its argument expressions, innermost first.
    var callsWithArguments: [(Atom, Atom, [CoreExpression])] {
        switch self {
        case .literal, .pid: return []
        case .list(let items), .tuple(let items), .local(_, let items): return items.flatMap(\.callsWithArguments)
        case .call(let m, let f, let args, _): return args.flatMap(\.callsWithArguments) + [(m, f, args)]
        }
    }

    /// The term when the expression is written out (literals, lists and tuples of them), nil
    /// when it must be computed.
    var writtenTerm: Term? {
        switch self {
        case .literal(let term): return term
        case .list(let items):
            let terms = items.compactMap(\.writtenTerm)
            return terms.count == items.count ? .list(TermList(terms)) : nil
        case .tuple(let items):
            let terms = items.compactMap(\.writtenTerm)
            return terms.count == items.count ? .tuple(TermArray(terms)) : nil
        case .pid, .local, .call: return nil
        }
    }
}

/// The pure functions the core language computes itself (Kernel's, auto-imported in both
/// languages; `elem/2` is left out, its index differs between them).
enum LocalFunction: String, Sendable, Hashable, CaseIterable {
    case length, hd, tl
    case tupleSize = "tuple_size", mapSize = "map_size", byteSize = "byte_size"

    /// The value, or nil when the argument is not of the function's type (a `badarg`).
    func apply(_ argument: Term) -> Term? {
        switch (self, argument) {
        case (.length, .list(let l)) where l.tail == nil: return .integer(l.count)
        case (.hd, .list(let l)) where !l.isEmpty: return l[0]
        case (.tl, .list(let l)) where !l.isEmpty:
            return l.count == 1 ? (l.tail ?? .emptyList) : .list(TermList(Array(l.dropFirst()), tail: l.tail))
        case (.tupleSize, .tuple(let t)): return .integer(t.count)
        case (.mapSize, .map(let m)): return .integer(m.count)
        case (.byteSize, .binary(let b)): return .integer(b.count)
        default: return nil
        }
    }
}

/// Parses and runs core commands.
public enum CoreCommands {
    /// Elixir functions of the core set and the BIFs that implement them.
    static let elixirAliases: [String: (Atom, Atom)] = [
        "Node.list/0": ("erlang", "nodes"), "Node.list/1": ("erlang", "nodes"),
        "Node.self/0": ("erlang", "node"), "Node.get_cookie/0": ("erlang", "get_cookie"),
        "Node.alive?/0": ("erlang", "is_alive"),
        "Process.list/0": ("erlang", "processes"), "Process.info/1": ("erlang", "process_info"),
        "Process.info/2": ("erlang", "process_info"), "Process.whereis/1": ("erlang", "whereis"),
        "Process.alive?/1": ("erlang", "is_process_alive"), "Process.registered/0": ("erlang", "registered"),
    ]
    /// Erlang BIFs callable without a module in Erlang syntax.
    static let erlangAutoImported: Set<String> = [
        "nodes/0", "nodes/1", "node/0", "node/1", "processes/0", "process_info/1", "process_info/2",
        "whereis/1", "registered/0", "is_process_alive/1", "list_to_pid/1", "is_alive/0",
    ]

    /// The calls `--read-only` lets through: they read state and change nothing on the node.
    /// Deliberately absent: `sys:get_state/1` and `sys:get_status/1` (they run code inside the
    /// target process and block on a busy one), anything that sends, spawns, kills or writes.
    public static let readOnlyAllowList: Set<String> = [
        "erlang:nodes/0", "erlang:nodes/1", "erlang:node/0", "erlang:node/1", "erlang:get_cookie/0",
        "erlang:is_alive/0", "erlang:processes/0", "erlang:process_info/1", "erlang:process_info/2",
        "erlang:whereis/1", "erlang:registered/0", "erlang:is_process_alive/1", "erlang:list_to_pid/1",
        "erlang:memory/0", "erlang:memory/1", "erlang:system_info/1", "erlang:statistics/1",
        "erlang:ports/0", "erlang:port_info/1", "erlang:port_info/2", "erlang:system_time/0",
        "erlang:system_time/1", "erlang:monotonic_time/0", "erlang:monotonic_time/1", "erlang:uptime/0",
        "application:which_applications/0", "application:loaded_applications/0",
        "ets:all/0", "ets:info/1", "ets:info/2",
        "Elixir.System:version/0", "Elixir.System:otp_release/0",
        "Elixir.Application:started_applications/0", "Elixir.Application:started_applications/1",
        "Elixir.Application:loaded_applications/0",
    ]

    /// Why a call may not run as a read-only core command, or nil when it may: the callers add
    /// "read-only:" and what was not done. A call must be on the allow-list, and two reads on it
    /// are refused by their item, because they copy unbounded state on the node: a process's
    /// whole message queue (`process_info(P, messages)`: a runaway queue is exactly what on-call
    /// looks at, and a million messages is a copy of every one of them) and `system_info(procs)`
    /// (every process written out as text). For those the item must be written out (`nil` in
    /// `arguments` is an argument that is computed), so that neither hides behind a call.
    public static func readOnlyObjection(module: String, function: String, arguments: [Term?]) -> String? {
        guard readOnlyAllowList.contains("\(module):\(function)/\(arguments.count)") else {
            let printer = ErlangFormatter()
            return "\(printer.format(.atom(Atom(module)))):\(printer.format(.atom(Atom(function))))/\(arguments.count) "
                + "is not on the read-only allow-list"
        }
        guard module == "erlang" else { return nil }
        let item: Term??
        let costly: String
        switch (function, arguments.count) {
        case ("process_info", 2): (item, costly) = (arguments[1], "messages")
        case ("system_info", 1): (item, costly) = (arguments[0], "procs")
        default: return nil
        }
        guard let written = item, let written else {
            return "\(function)/\(arguments.count) takes its item written out (an atom, or a list of atoms)"
        }
        var named = false
        if case .atom(let a) = written { named = a.name == costly }
        if case .list(let items) = written { named = items.contains(.atom(Atom(costly))) }
        guard named else { return nil }
        return costly == "messages"
            ? "process_info(_, messages) copies the process's whole message queue on the node; ask for message_queue_len instead"
            : "system_info(procs) writes out every process on the node as text"
    }

    /// The first call in `expression` that may not run as a read-only core command, and why.
    static func readOnlyObjection(in expression: CoreExpression) -> (call: (Atom, Atom, Int), why: String)? {
        for (m, f, args) in expression.callsWithArguments {
            if let why = readOnlyObjection(module: m.name, function: f.name, arguments: args.map(\.writtenTerm)) {
                return ((m, f, args.count), why)
            }
        }
        return nil
    }

    /// `line` as a core expression whose every call is on the read-only allow-list, or nil. Such a
    /// line reads state and nothing else (no output, no binding), so a one-shot evaluation can run
    /// it through `rex` without spawning an evaluator or compiling the line on the node.
    static func readOnlyExpression(_ line: String, language: Language, modulesAsAtoms: Bool = true) -> CoreExpression? {
        guard let expression = parse(line.trimmedWhitespace, language: language, modulesAsAtoms: modulesAsAtoms) else { return nil }
        return readOnlyObjection(in: expression) == nil ? expression : nil
    }

    /// Parses `line` as one core expression (an optional trailing `.` in Erlang), or nil when it
    /// is something else.
    /// - parameter modulesAsAtoms: a module name alone (`Shop.Counter`) is its atom, as in Elixir.
    ///   Not for a line typed in Erlang mode, where `X` is a variable: read as Elixir it would
    ///   become the atom `Elixir.X` (`length(L)`).
    static func parse(_ line: String, language: Language, modulesAsAtoms: Bool = true) -> CoreExpression? {
        var parser = CoreParser(tokens: CoreLexer.tokens(line, language: language), language: language)
        parser.modulesAsAtoms = modulesAsAtoms
        return parser.parseAll()
    }

    /// The syntax to read `line` in on a node of `language`: core commands work in Elixir syntax
    /// on every node, so on an Erlang node a line that is not Erlang but parses as Elixir is read
    /// as Elixir (`Node.list()` as well as `erlang:nodes().`).
    static func syntax(of line: String, on language: Language) -> Language {
        guard language == .erlang, parse(line.trimmedWhitespace, language: .erlang) == nil,
              parse(line.trimmedWhitespace, language: .elixir, modulesAsAtoms: false) != nil else { return language }
        return .elixir
    }

    /// Whether Elixir `line` only reads documentation: `h`, `h Enum`, `h Enum.map`, `h(Enum.map/2)`,
    /// `h :lists.seq/2`. `h` is a macro and its argument names what to look up; nothing in it
    /// runs. Read-only mode lets such a line through to the node's `IEx.Helpers.h`.
    public static func isDocumentationLookup(_ line: String) -> Bool { documentationLookup(line) != nil }

    /// What a documentation lookup names: the module's atom (`Elixir.Enum`, `lists`; nil for `h`
    /// alone) and the function's, when given.
    public struct DocumentationLookup: Sendable, Hashable {
        public var module: String?
        public var function: String?
    }

    /// The lookup `line` is (see ``isDocumentationLookup(_:)``), or nil.
    public static func documentationLookup(_ line: String) -> DocumentationLookup? {
        let text = Array(line.trimmedWhitespace.unicodeScalars)
        guard text.first == "h" else { return nil }
        var rest = Array(text.dropFirst())
        if rest.isEmpty { return DocumentationLookup() }
        if rest.first == "(" {
            guard rest.last == ")" else { return nil }
            rest = Array(rest.dropFirst().dropLast())
        } else {
            guard rest.first == " " || rest.first == "\t" else { return nil }
        }
        while rest.first == " " || rest.first == "\t" { rest.removeFirst() }
        while rest.last == " " || rest.last == "\t" { rest.removeLast() }
        if rest.isEmpty { return DocumentationLookup() }
        var i = 0
        func word(_ first: (Unicode.Scalar) -> Bool) -> Bool {
            guard i < rest.count, first(rest[i]) else { return false }
            i += 1
            while i < rest.count, ("a"..."z").contains(rest[i]) || ("A"..."Z").contains(rest[i])
                    || ("0"..."9").contains(rest[i]) || rest[i] == "_" { i += 1 }
            return true
        }
        func spelled(_ range: Range<Int>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: rest[range])
            return String(view)
        }
        let upper: (Unicode.Scalar) -> Bool = { ("A"..."Z").contains($0) }
        let lower: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || $0 == "_" }
        // The module: `Alias.Alias` or `:erlang_module`.
        var lookup = DocumentationLookup()
        if rest[0] == ":" {
            i = 1
            guard word(lower) else { return nil }
            lookup.module = spelled(1..<i)
        } else {
            guard word(upper) else { return nil }
            while i + 1 < rest.count, rest[i] == ".", upper(rest[i + 1]) {
                i += 1
                _ = word(upper)
            }
            lookup.module = "Elixir." + spelled(0..<i)
        }
        // Then `.function`, perhaps ending in `?` or `!`, then `/arity`.
        if i < rest.count, rest[i] == "." {
            i += 1
            let start = i
            guard word(lower) else { return nil }
            if i < rest.count, rest[i] == "?" || rest[i] == "!" { i += 1 }
            lookup.function = spelled(start..<i)
        }
        if i < rest.count, rest[i] == "/" {
            i += 1
            let start = i
            while i < rest.count, ("0"..."9").contains(rest[i]) { i += 1 }
            guard i > start else { return nil }
        }
        return i == rest.count ? lookup : nil
    }

    /// Why `line` may not run in read-only mode, or nil when it may.
    public static func readOnlyRefusal(_ line: String, language: Language) -> String? {
        let trimmed = line.trimmedWhitespace
        if trimmed.isEmpty { return nil }
        guard let expression = parse(trimmed, language: language) else {
            if let call = leadingRemoteCall(trimmed, language: language), !namesAnAllowedCall(call) {
                return "read-only: \(call) is not on the read-only allow-list (the core commands and calls without side "
                    + "effects, such as Node.list, Process.info(pid, :memory), :erlang.memory(:total)); not evaluated"
            }
            return "read-only: only the core commands and allow-listed calls without side effects, nested as "
                + "arguments, are allowed (Node.list, Process.info(pid, :memory), :erlang.memory(:total), "
                + "length(Process.list()); no variables, operators or pipes); not evaluated"
        }
        if let (_, why) = readOnlyObjection(in: expression) { return "read-only: \(why); not evaluated" }
        return nil
    }

    /// Whether `call` (as ``leadingRemoteCall(_:language:)`` writes it) is a core command or on
    /// the allow-list at some arity: refused for another reason (a variable, an operator in its
    /// arguments), which the general rule says.
    static func namesAnAllowedCall(_ call: String) -> Bool {
        let (module, function): (String, String)
        if let colon = call.firstIndex(of: ":"), colon != call.startIndex {
            (module, function) = (String(call[..<colon]), String(call[call.index(after: colon)...]))
        } else if let dot = call.lastIndex(of: ".") {
            let name = call[..<dot]
            (module, function) = (name.hasPrefix(":") ? String(name.dropFirst()) : "Elixir." + name, String(call[call.index(after: dot)...]))
            if !name.hasPrefix(":"), elixirAliases.keys.contains(where: { $0.hasPrefix("\(name).\(function)/") }) { return true }
        } else {
            return false
        }
        return readOnlyAllowList.contains { $0.hasPrefix("\(module):\(function)/") }
    }

    /// The remote call a line is (`System.stop()`, `:init.stop`, `init:stop().`), to name it when
    /// read-only refuses the line; nil for anything else (a pipe, an operator, a match...).
    static func leadingRemoteCall(_ line: String, language: Language) -> String? {
        let chars = Array(SourceScanner.codeOnly(line, language: language))
        var i = 0
        /// Whether the rest, from `i`, is the call's parenthesised arguments and nothing more.
        func onlyArgumentsFollow() -> Bool {
            while i < chars.count, chars[i] == " " { i += 1 }
            if i < chars.count, chars[i] == "(" {
                var depth = 0
                while i < chars.count {
                    if chars[i] == "(" { depth += 1 }
                    if chars[i] == ")" { depth -= 1 }
                    i += 1
                    if depth == 0 { break }
                }
                guard depth == 0 else { return false }
            }
            let rest = String(chars[i...]).trimmedWhitespace
            return rest.isEmpty || (language == .erlang && rest == ".")
        }
        func word(allowingDots: Bool) -> String {
            let start = i
            while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || (allowingDots && chars[i] == ".") { i += 1 }
            return String(chars[start..<i])
        }
        switch language {
        case .elixir:
            let erlangModule = chars.first == ":"
            if erlangModule { i = 1 }
            guard i < chars.count, erlangModule ? chars[i].isLowercase : chars[i].isUppercase else { return nil }
            var path = word(allowingDots: true)
            if i < chars.count, chars[i] == "?" || chars[i] == "!" {
                path.append(chars[i])
                i += 1
            }
            guard let dot = path.lastIndex(of: "."), dot != path.startIndex else { return nil }
            let module = path[..<dot], function = path[path.index(after: dot)...]
            guard let first = function.first, first.isLowercase || first == "_", onlyArgumentsFollow() else { return nil }
            return (erlangModule ? ":" : "") + module + "." + function
        case .erlang:
            guard chars.first?.isLowercase == true else { return nil }
            let module = word(allowingDots: false)
            guard i < chars.count, chars[i] == ":" else { return nil }
            i += 1
            let function = word(allowingDots: false)
            guard function.first?.isLowercase == true, onlyArgumentsFollow() else { return nil }
            return module + ":" + function
        }
    }

    /// Evaluates a parsed expression with RPCs to the node.
    static func evaluate(_ expression: CoreExpression, on connection: NodeConnection, timeout: Duration?) async throws -> Term {
        try await awaitDistribution(submit(expression, on: connection, timeout: timeout))
    }

    /// The same as a future on the connection's event loop: the calls follow one another there,
    /// with no hop to a Swift concurrency thread between them.
    static func submit(_ expression: CoreExpression, on connection: NodeConnection, timeout: Duration?) -> EventLoopFuture<Term> {
        let loop = connection.eventLoop
        /// The items in order, each evaluated once the one before has its value.
        func all(_ items: [CoreExpression]) -> EventLoopFuture<[Term]> {
            items.reduce(loop.makeSucceededFuture([Term]())) { done, item in
                done.flatMap { values in submit(item, on: connection, timeout: timeout).map { values + [$0] } }
            }
        }
        switch expression {
        case .literal(let t): return loop.makeSucceededFuture(t)
        case .list(let items): return all(items).map { .list($0) }
        case .tuple(let items): return all(items).map { .tuple($0) }
        case .local(let function, let args):
            return submit(args[0], on: connection, timeout: timeout).flatMapThrowing { argument in
                guard let value = function.apply(argument) else {
                    // The reason rex gives when the BIF itself fails on the node, so it is said
                    // the same way (`** (ArgumentError) ... * 1st argument: not a list`).
                    let frame: Term = .tuple([.atom("erlang"), .atom(function.rawValue), [argument],
                                              [.tuple([.atom("error_info"), .map([(key: .atom("module"), value: .atom("erl_erts_errors"))])])]])
                    throw DistributionError(.remoteCallFailed, "\(function.rawValue)/1: argument error",
                                            reason: .tuple([.atom("EXIT"), .tuple([.atom("badarg"), [frame]])]))
                }
                return value
            }
        case .pid(let text):
            return connection.submitRPC("erlang", "list_to_pid", [.charlist(text)], timeout: timeout)
        case .call(let m, let f, let args, let nilForUndefined):
            return all(args).flatMap { values in
                connection.submitRPC(m, f, values, timeout: timeout).map { result in
                    if nilForUndefined && result == .atom("undefined") { return .nil }
                    // Elixir's Process.info(pid, :registered_name) answers {:registered_name, []}
                    // for a process without a name, where the BIF answers [].
                    if nilForUndefined, f == "process_info", values.count == 2, values[1] == .atom("registered_name"),
                       result == .emptyList {
                        return .tuple([.atom("registered_name"), .emptyList])
                    }
                    return result
                }
            }
        }
    }
}

// MARK: - Lexer and parser

enum CoreToken: Hashable {
    case identifier(String)  // lower-case name, may end in ? or !
    case alias(String)       // Capitalised, may be dotted: Node, IEx.Helpers
    case atom(String)        // :name / :"name" (Elixir), name / 'name' (Erlang)
    case integer(Int)
    case string(String)      // "..."
    case charlist(String)    // '...' (Elixir)
    case pid(String)         // #PID<0.1.0> or <0.1.0>, as "<0.1.0>"
    case punct(Character)    // . ( ) , [ ] :
}

enum CoreLexer {
    static func tokens(_ line: String, language: Language) -> [CoreToken]? {
        let c = Array(line)
        var i = 0
        var out: [CoreToken] = []
        // Quoted text is taken only when it means what it says: an escape (`\t`, `\x63`,
        // `\u00e9`) or an Elixir interpolation (`#{...}`) makes the line no core command, so the
        // node's own parser reads it.
        func quoted(_ q: Character) -> String? {
            var j = i + 1
            var s = ""
            while j < c.count, c[j] != q {
                if c[j] == "\\" { return nil }
                if language == .elixir, c[j] == "#", j + 1 < c.count, c[j + 1] == "{" { return nil }
                s.append(c[j])
                j += 1
            }
            guard j < c.count else { return nil }
            i = j + 1
            return s
        }
        func pidLiteral(at start: Int) -> String? {
            guard let close = c[start...].firstIndex(of: ">") else { return nil }
            let inner = String(c[(start + 1)..<close])
            let parts = inner.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
            i = close + 1
            return "<\(inner)>"
        }
        while i < c.count {
            let ch = c[i]
            if ch.isWhitespace { i += 1; continue }
            if ch == "#", String(c[i...]).hasPrefix("#PID<") {
                guard let p = pidLiteral(at: i + 4) else { return nil }
                out.append(.pid(p))
            } else if ch == "<", language == .erlang {
                guard let p = pidLiteral(at: i) else { return nil }
                out.append(.pid(p))
            } else if ch == ":" && language == .elixir && i + 1 < c.count && (c[i + 1].isLetter || c[i + 1] == "_" || c[i + 1] == "\"") {
                if c[i + 1] == "\"" {
                    i += 1
                    guard let s = quoted("\"") else { return nil }
                    out.append(.atom(s))
                } else {
                    var j = i + 1
                    while j < c.count, c[j].isLetter || c[j].isNumber || c[j] == "_" || c[j] == "@" { j += 1 }
                    if j < c.count, c[j] == "?" || c[j] == "!" { j += 1 }
                    out.append(.atom(String(c[(i + 1)..<j])))
                    i = j
                }
            } else if ch == "\"" {
                guard let s = quoted("\"") else { return nil }
                out.append(.string(s))
            } else if ch == "'" {
                guard let s = quoted("'") else { return nil }
                out.append(language == .elixir ? .charlist(s) : .atom(s))
            } else if ch.isNumber || (ch == "-" && i + 1 < c.count && c[i + 1].isNumber) {
                var j = i + 1
                while j < c.count, c[j].isNumber || c[j] == "_" { j += 1 }
                guard let v = Int(String(c[i..<j].filter { $0 != "_" })) else { return nil }
                out.append(.integer(v))
                i = j
            } else if ch.isLetter || ch == "_" {
                var j = i
                while j < c.count, c[j].isLetter || c[j].isNumber || c[j] == "_" || c[j] == "@" { j += 1 }
                if j < c.count, c[j] == "?" || c[j] == "!" { j += 1 }
                let word = String(c[i..<j])
                i = j
                if ch.isUppercase {
                    guard language == .elixir else { return nil }  // an Erlang variable: not a core command
                    out.append(.alias(word))
                } else {
                    out.append(.identifier(word))
                }
            } else if ch == "~", language == .elixir, i + 2 < c.count, c[i + 1] == "c", c[i + 2] == "\"" || c[i + 2] == "'" {
                // ~c"..." (the charlist sigil Elixir 1.15+ prints)
                i += 2
                guard let s = quoted(c[i]) else { return nil }
                out.append(.charlist(s))
            } else if ".(),[]:{}".contains(ch) {
                out.append(.punct(ch))
                i += 1
            } else {
                return nil
            }
        }
        return out
    }
}

struct CoreParser {
    var tokens: [CoreToken]
    let language: Language
    var index = 0
    var modulesAsAtoms = true

    init(tokens: [CoreToken]?, language: Language) {
        self.tokens = tokens ?? [.punct("!")]
        self.language = language
    }

    mutating func parseAll() -> CoreExpression? {
        if language == .erlang, tokens.last == .punct(".") { tokens.removeLast() }
        guard !tokens.isEmpty, let e = expression(), index == tokens.count else { return nil }
        return e
    }

    private var peek: CoreToken? { index < tokens.count ? tokens[index] : nil }
    private mutating func take(_ t: CoreToken) -> Bool {
        if peek == t { index += 1; return true }
        return false
    }

    /// `( args )`, or nothing in Elixir when `optionalParens` (`Node.list`).
    private mutating func arguments(optionalParens: Bool) -> [CoreExpression]? {
        guard take(.punct("(")) else { return optionalParens ? [] : nil }
        var args: [CoreExpression] = []
        if take(.punct(")")) { return args }
        while true {
            guard let e = expression() else { return nil }
            args.append(e)
            if take(.punct(")")) { return args }
            guard take(.punct(",")) else { return nil }
        }
    }

    private mutating func expression() -> CoreExpression? {
        guard let t = peek else { return nil }
        index += 1
        switch t {
        case .integer(let v): return .literal(.integer(v))
        case .string(let s): return .literal(language == .elixir ? .binary(s) : .charlist(s))
        case .charlist(let s): return .literal(.charlist(s))
        case .pid(let p): return .pid(p)
        case .punct("["):
            return elements(closedBy: "]").map(CoreExpression.list)
        case .punct("{"):
            return elements(closedBy: "}").map(CoreExpression.tuple)
        case .atom(let a):
            switch language {
            case .elixir:
                // :mod.fun(args) or a plain atom
                guard take(.punct(".")) else { return .literal(.atom(a)) }
                guard case .identifier(let f)? = peek else { return nil }
                index += 1
                guard let args = arguments(optionalParens: true) else { return nil }
                if a == "erlang", args.count == 1, let function = LocalFunction(rawValue: f) { return .local(function, args) }
                return .call(module: Atom(a), function: Atom(f), arguments: args, nilForUndefined: false)
            case .erlang:
                return remoteErlangCall(module: a)
            }
        case .identifier(let name):
            if language == .erlang {
                if peek == .punct(":") { return remoteErlangCall(module: name) }
                guard peek == .punct("(") else { return .literal(.atom(name)) }
            }
            guard let args = arguments(optionalParens: false) else {
                return language == .elixir && (name == "true" || name == "false" || name == "nil") ? .literal(.atom(name)) : nil
            }
            if name == "pid" { return Self.pid(args) }
            if args.count == 1, let function = LocalFunction(rawValue: name) { return .local(function, args) }
            if language == .erlang, Self.erlangAutoImportedName(name, args.count) {
                return .call(module: "erlang", function: Atom(name), arguments: args, nilForUndefined: false)
            }
            return nil
        case .alias(let first):
            // `Shop.Counter`: dotted aliases make one module name.
            var module = first
            while peek == .punct("."), index + 1 < tokens.count, case .alias(let next) = tokens[index + 1] {
                module += "." + next
                index += 2
            }
            // A module name alone is its atom (`Process.whereis(Shop.Counter)`, the name an
            // Elixir GenServer is registered under). The core path runs where no session alias
            // can change what it means: read-only, an Erlang-only node, a lone --eval.
            guard take(.punct(".")) else { return modulesAsAtoms ? .literal(.atom("Elixir." + module)) : nil }
            guard case .identifier(let f)? = peek else { return nil }
            index += 1
            guard let args = arguments(optionalParens: true) else { return nil }
            guard let (m, bif) = CoreCommands.elixirAliases["\(module).\(f)/\(args.count)"] else {
                // Elixir functions on the read-only allow-list (`System.version()`) run as they are.
                let elixirModule = "Elixir." + module
                guard CoreCommands.readOnlyAllowList.contains("\(elixirModule):\(f)/\(args.count)") else { return nil }
                return .call(module: Atom(elixirModule), function: Atom(f), arguments: args, nilForUndefined: false)
            }
            // Elixir's Process.whereis/1 and Process.info/1,2 turn the BIF's `:undefined` into nil.
            return .call(module: m, function: bif, arguments: args,
                         nilForUndefined: module == "Process" && (f == "whereis" || f == "info"))
        default:
            return nil
        }
    }

    /// The comma-separated expressions up to `close` (the opening bracket taken already).
    private mutating func elements(closedBy close: Character) -> [CoreExpression]? {
        var items: [CoreExpression] = []
        if take(.punct(close)) { return items }
        while true {
            guard let e = expression() else { return nil }
            items.append(e)
            if take(.punct(close)) { return items }
            guard take(.punct(",")) else { return nil }
        }
    }

    private mutating func remoteErlangCall(module: String) -> CoreExpression? {
        guard take(.punct(":")) else { return .literal(.atom(module)) }
        guard case .identifier(let f)? = peek else { return nil }
        index += 1
        guard let args = arguments(optionalParens: false) else { return nil }
        if module == "erlang", args.count == 1, let function = LocalFunction(rawValue: f) { return .local(function, args) }
        return .call(module: Atom(module), function: Atom(f), arguments: args, nilForUndefined: false)
    }

    private static func erlangAutoImportedName(_ name: String, _ arity: Int) -> Bool {
        CoreCommands.erlangAutoImported.contains("\(name)/\(arity)")
    }

    /// `pid("0.1.0")` or `pid(0, 1, 0)` (IEx.Helpers / the Erlang shell's `pid/3`).
    private static func pid(_ args: [CoreExpression]) -> CoreExpression? {
        switch args.count {
        case 1:
            guard case .literal(let t) = args[0], let s = t.stringValue else { return nil }
            let inner = s.hasPrefix("<") && s.hasSuffix(">") ? String(s.dropFirst().dropLast()) : s
            return .pid("<\(inner)>")
        case 3:
            let parts = args.compactMap { e -> Int? in if case .literal(.integer(let v)) = e { return v } else { return nil } }
            guard parts.count == 3 else { return nil }
            return .pid("<\(parts[0]).\(parts[1]).\(parts[2])>")
        default:
            return nil
        }
    }
}

// MARK: - Printed on the node in one call

/// How a core command's value is printed on the node.
enum CorePrinter: Sendable {
    /// `Kernel.inspect/2` with these options.
    case inspect(options: Term)
    /// `io_lib:format("~tp")` (`~tw` when not pretty), as the Erlang shell prints.
    case erlang(pretty: Bool)
}

extension CoreCommands {
    /// The command evaluated and printed on the node in one `rex` call (`erl_eval:expr/3` over the
    /// command as abstract forms, its values as bindings): only the text comes back. The value
    /// never crosses the network, nor sits in `rex`'s heap as the argument of an `inspect` call
    /// (`Process.list()` on a node with a million processes is 12 MB each way), and it is one
    /// round trip instead of one per call plus the `inspect`. A failing call fails it with the
    /// reason the call itself raised, as through `rex` directly.
    static func submitPrinted(
        _ expression: CoreExpression, printer: CorePrinter, on connection: NodeConnection, timeout: Duration?
    ) -> EventLoopFuture<String> {
        var builder = CoreFormBuilder()
        let value = builder.form(expression)
        let printed: Term
        switch printer {
        case .inspect(let options):
            printed = CoreFormBuilder.call("Elixir.Kernel", "inspect", [value, builder.variable(options)])
        case .erlang(let pretty):
            let format = builder.variable(.charlist(pretty ? "~tp" : "~tw"))
            printed = CoreFormBuilder.call("unicode", "characters_to_binary",
                                           [CoreFormBuilder.call("io_lib", "format", [format, .tuple([.atom("cons"), 1, value, .tuple([.atom("nil"), 1])])])])
        }
        return connection.submitRPC("erl_eval", "expr", [printed, builder.bindings, .atom("none")], timeout: timeout)
            .flatMapErrorThrowing { error in
                if let failed = error as? DistributionError, failed.isCallTimeout {
                    // Not `erl_eval:expr/3 did not answer`: the operator typed a core command.
                    throw DistributionError(.remoteCallFailed, "\(connection.peer.name) did not answer within "
                        + "\(Human.seconds(timeout ?? .seconds(3600))): a core command runs through the node's rpc server (rex), "
                        + "which is blocked or buried in calls, or the node is overloaded", reason: failed.reason)
                }
                // The stack as a direct call through rex has it: without erl_eval's own frames.
                guard let failed = error as? DistributionError, case .tuple(let exit)? = failed.reason, exit.count == 2,
                      exit[0] == .atom("EXIT"), case .tuple(let raised) = exit[1], raised.count == 2,
                      let stack = raised[1].listElements else { throw error }
                let own = stack.filter { $0.tupleElements?.first != .atom("erl_eval") }
                throw DistributionError(failed.kind, failed.description,
                                        reason: .tuple([.atom("EXIT"), .tuple([raised[0], .list(TermList(own))])]))
            }
            .flatMapThrowing { reply in
                guard let t = reply.tupleElements, t.count == 3, t[0] == .atom("value"), let text = t[1].stringValue else {
                    throw DistributionError(.protocolViolation, "unexpected reply from erl_eval:expr/3: \(reply)")
                }
                return text
            }
    }
}

/// Erlang abstract forms for a core command, its values passed as variables (`erl_eval` has no
/// literal form for a pid or a reference; a variable holds any term).
struct CoreFormBuilder {
    private(set) var values: [(name: String, value: Term)] = []
    private var cases = 0

    /// The bindings for ``form(_:)``'s variables, sorted as `erl_eval` wants them.
    var bindings: Term { .list(values.sorted { $0.name < $1.name }.map { .tuple([.atom(Atom($0.name)), $0.value]) }) }

    mutating func variable(_ value: Term) -> Term {
        let name = "BeamshV\(values.count)"
        values.append((name, value))
        return .tuple([.atom("var"), 1, .atom(Atom(name))])
    }

    static func call(_ module: Atom, _ function: Atom, _ arguments: [Term]) -> Term {
        .tuple([.atom("call"), 1, .tuple([.atom("remote"), 1, .tuple([.atom("atom"), 1, .atom(module)]),
                                         .tuple([.atom("atom"), 1, .atom(function)])]), .list(arguments)])
    }

    mutating func form(_ expression: CoreExpression) -> Term {
        switch expression {
        case .literal(let t): return variable(t)
        case .list(let items):
            return items.reversed().reduce(Term.tuple([.atom("nil"), 1])) { tail, item in .tuple([.atom("cons"), 1, form(item), tail]) }
        case .tuple(let items): return .tuple([.atom("tuple"), 1, .list(items.map { form($0) })])
        case .local(let function, let arguments):
            return Self.call("erlang", Atom(function.rawValue), arguments.map { form($0) })
        case .pid(let text): return Self.call("erlang", "list_to_pid", [variable(.charlist(text))])
        case .call(let module, let function, let arguments, let nilForUndefined):
            let call = Self.call(module, function, arguments.map { form($0) })
            guard nilForUndefined else { return call }
            // `undefined` is Elixir's nil; Process.info(pid, :registered_name) of a process
            // without a name is `{:registered_name, []}` in Elixir, where the BIF answers [].
            cases += 1
            let result = Term.tuple([.atom("var"), 1, .atom(Atom("BeamshR\(cases)"))])
            var clauses: [Term] = [.tuple([.atom("clause"), 1, [.tuple([.atom("atom"), 1, .atom("undefined")])], .emptyList,
                                           [.tuple([.atom("atom"), 1, .atom("nil")])]])]
            if function == "process_info", arguments.count == 2, arguments[1] == .literal(.atom("registered_name")) {
                clauses.append(.tuple([.atom("clause"), 1, [.tuple([.atom("nil"), 1])], .emptyList,
                                       [.tuple([.atom("tuple"), 1, [.tuple([.atom("atom"), 1, .atom("registered_name")]),
                                                                    .tuple([.atom("nil"), 1])]])]]))
            }
            clauses.append(.tuple([.atom("clause"), 1, [result], .emptyList, [result]]))
            return .tuple([.atom("case"), 1, call, .list(clauses)])
        }
    }
}
