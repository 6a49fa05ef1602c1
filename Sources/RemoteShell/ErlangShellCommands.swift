// The Erlang shell's commands and definitions that live in the shell process's state (`e(N)`,
// `rr(...)`, OTP 26's `name(...) -> ...` and `-record(...)` at the prompt). beamsh runs no shell
// process on the node, so it says they are not supported instead of letting them fail as
// something else. (`f()`, `f(X)`, `b()` and `rp(X)` work on the evaluation's own binding, in the
// driver, wherever they are in an expression; `v(N)` runs there too, from the history beamsh keeps.)

import ErlangTerm

/// A line that asks for the Erlang shell process's state, which beamsh cannot offer.
enum ErlangShellCommand: Equatable {
    /// `e(N)`, `rr(...)`, `fl()`...: a command, by name.
    case command(String)
    /// `add(A, B) -> A + B.`: a function definition (OTP 26+).
    case functionDefinition(String)
    /// `-record(...)`, `-type ...`, `-spec ...`: an attribute (OTP 26+).
    case attribute(String)

    /// Shell commands that need the shell process's state (history, records, the functions and
    /// types defined at the prompt). (`h()` is the history; `h(Module)` is documentation and
    /// runs on the node.)
    static let shellProcessCommands = ["e", "rr", "rd", "rf", "rl", "history", "results", "catch_exception",
                                       "ff", "fl", "lf", "lr", "lt", "tf"]
    static let shellAttributes = ["record", "type", "opaque", "spec"]
    static let reservedWords: Set<String> = ["after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor",
                                             "case", "catch", "cond", "div", "else", "end", "fun", "if", "let", "maybe", "not",
                                             "of", "or", "orelse", "receive", "rem", "try", "when", "xor"]

    /// `line`'s code (strings and comments blanked, see `SourceScanner.codeOnly`), if it is one.
    init?(code line: String) {
        let text = line.drop(while: \.isWhitespace)
        if text.first == "-" {
            let name = text.dropFirst().prefix(while: { $0.isLetter || $0 == "_" })
            let after = text.dropFirst(1 + name.count).first
            guard Self.shellAttributes.contains(String(name)), after == "(" || after == " " else { return nil }
            self = .attribute(String(name))
            return
        }
        guard let first = text.first, first.isLowercase, first.isLetter else { return nil }
        let name = text.prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "@" })
        guard !Self.reservedWords.contains(String(name)) else { return nil }  // `fun() -> ... end` is an expression
        var rest = text.dropFirst(name.count).drop(while: \.isWhitespace)
        guard rest.first == "(" else { return nil }
        // Past the matching parenthesis: `->` or `when` there makes a definition.
        var depth = 0
        while let c = rest.first {
            rest = rest.dropFirst()
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1; if depth == 0 { break } }
        }
        let next = rest.drop(while: \.isWhitespace)
        if next.hasPrefix("->") || (next.hasPrefix("when") && next.dropFirst(4).first.map { !$0.isLetter && !$0.isNumber && $0 != "_" } == true) {
            self = .functionDefinition(String(name))
            return
        }
        // A whole line that is only the command: `e(1).`
        let whole = text.filter { !$0.isWhitespace }
        let arguments = whole.dropFirst(name.count)
        guard arguments.hasPrefix("("), arguments.hasSuffix(").") || arguments.hasSuffix(")") else { return nil }
        let empty = arguments == "()" || arguments == "()."
        guard Self.shellProcessCommands.contains(String(name)) || (name == "h" && empty) else { return nil }
        self = .command(String(name))
    }

    /// What beamsh says instead.
    var refusal: String {
        switch self {
        case .command(let name):
            return "** \(name)/N belongs to the Erlang shell process, which beamsh does not run on the node; "
                + "not supported (f/0,1, b/0, v/1 and rp/1 are)"
        case .functionDefinition(let name):
            return "** \(name)/N: functions defined at the prompt (OTP 26+) live in the Erlang shell process, which beamsh "
                + "does not run on the node; not supported (a fun works: \(name.capitalizedFirst) = fun(...) -> ... end)"
        case .attribute(let name):
            return "** -\(name)(...): definitions at the prompt (OTP 26+) live in the Erlang shell process, which beamsh "
                + "does not run on the node; not supported"
        }
    }
}

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
