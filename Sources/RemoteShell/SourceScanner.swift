// A lexical pass over one line of Elixir or Erlang: what is code and what is inside strings,
// charlists, sigils and comments. Good enough for the footgun guard and for rewriting pasted
// `#PID<0.1.0>` literals; the node's own parser remains the judge of the syntax.

import ErlangTerm

struct SourceScanner {
    /// The line with every string, charlist, quoted atom, sigil body and comment replaced by
    /// spaces (so offsets still match), and `#PID<...>` kept as code.
    static func codeOnly(_ line: String, language: Language) -> String {
        scan(line, language: language).code
    }

    /// ``codeOnly(_:language:)``, and whether the text ends inside a string, charlist, quoted
    /// atom, heredoc or sigil that it opened. In Elixir the code of an interpolation (`#{...}` in
    /// a string, charlist, heredoc or lower-case sigil) is code, strings in it included: a `"`
    /// there opens a string of its own rather than closing the outer one. Its `#{` and `}` read
    /// as ` {` and `}`, so brackets stay balanced and what is inside is nested.
    static func scan(_ line: String, language: Language) -> (code: String, endsInsideQuotes: Bool) {
        var scanner = Scanner(language: language)
        let code = scanner.read(Array(line))
        return (String(code), scanner.isInsideQuotes)
    }

    /// Reads code a piece at a time, each piece ending where a line does: what is open at the
    /// end of one (a string, heredoc, sigil, interpolation) is carried to the next, so a text
    /// read in lines gives the code it gives read whole, and each line is read once. (The
    /// state is an explicit stack rather than recursion: it must outlast the piece.)
    struct Scanner {
        let language: Language
        /// What is open, innermost last. Empty: top-level code.
        private var open: [Construct] = []
        /// Interpolations in `open`: past ``maxNesting`` a `#{` is read as text, so that text
        /// nested without end cannot grow the stack without end.
        private var nesting = 0
        private static let maxNesting = 64
        /// Whether something was left open at the end of a piece whose end only the node's
        /// parser can place (see `Construct.isCertain`).
        private(set) var leftUncertainConstructOpen = false

        // The piece being read.
        private var chars: [Character] = []
        private var i = 0
        private var out: [Character] = []

        private enum Construct {
            /// `#{ ... }`'s code, with the count of its own `{` still open.
            case interpolation(braces: Int)
            /// A string's, charlist's, quoted atom's or sigil's text, up to `closing`, which
            /// is kept as code (a quote) or blanked (a sigil's delimiter).
            case quoted(closing: Character, interpolates: Bool, keepsClosing: Bool, isCertain: Bool)
            /// A heredoc's (text block's) text, up to three `quote`s at the start of a line.
            case heredoc(quote: Character, interpolates: Bool, isCertain: Bool)

            /// Whether its end is where this scanner puts it for every runtime: not for
            /// Erlang's text blocks and sigils (OTP 27; OTP 25 reads `"""` as three strings and
            /// `~` as an error), nor for a heredoc with text after its opening quotes (an
            /// error the node reports).
            var isCertain: Bool {
                switch self {
                case .interpolation: return true
                case .quoted(_, _, _, let certain), .heredoc(_, _, let certain): return certain
                }
            }
        }

        init(language: Language) { self.language = language }

        /// Whether the text read so far ends inside a string, charlist, quoted atom, heredoc
        /// or sigil.
        var isInsideQuotes: Bool { !open.isEmpty }

        /// The code of `piece` (strings, sigil texts and comments as spaces, line ends kept,
        /// one character out for each in): a whole text, or its next line through its `\n`.
        mutating func read(_ piece: [Character]) -> [Character] {
            chars = piece
            i = 0
            out = []
            out.reserveCapacity(piece.count)
            while i < chars.count {
                switch open.last {
                case nil: codeStep(interpolation: nil)
                case .interpolation(let braces): codeStep(interpolation: braces)
                case .quoted(let closing, let interpolates, let keepsClosing, _):
                    quotedStep(closing: closing, interpolates: interpolates, keepsClosing: keepsClosing)
                case .heredoc(let quote, let interpolates, _): heredocStep(quote: quote, interpolates: interpolates)
                }
            }
            if open.contains(where: { !$0.isCertain }) { leftUncertainConstructOpen = true }
            let code = out
            chars = []
            out = []
            return code
        }

        private func at(_ index: Int) -> Character? { index < chars.count ? chars[index] : nil }

        private mutating func keep() {
            out.append(chars[i])
            i += 1
        }

        /// Blanks up to `end`; line ends stay (a "\r\n" is one Character in Swift).
        private mutating func blank(until end: Int) {
            while i < end && i < chars.count {
                out.append(chars[i].isNewline ? chars[i] : " ")
                i += 1
            }
        }

        /// Whether only blanks come before `index` on its line: where a heredoc's closing
        /// quotes must stand. A piece starts a line.
        private func startsItsLine(_ index: Int) -> Bool {
            var j = index - 1
            while j >= 0, !chars[j].isNewline {
                if chars[j] != " " && chars[j] != "\t" { return false }
                j -= 1
            }
            return true
        }

        /// Whether only blanks follow `index` to the end of its line: where a heredoc's
        /// opening quotes must stand.
        private func endsItsLine(_ index: Int) -> Bool {
            var j = index
            while j < chars.count, !chars[j].isNewline {
                if chars[j] != " " && chars[j] != "\t" { return false }
                j += 1
            }
            return true
        }

        /// Whether the `?` at `index` starts a character literal: not when it ends a name
        /// (`alive?`: a letter, digit or `_` before it); after an operator it does (`!?(` is
        /// `!` applied to `?(`).
        private func isCharacterLiteral(at index: Int) -> Bool {
            guard index + 1 < chars.count else { return false }
            guard index > 0 else { return true }
            let before = chars[index - 1]
            return !(before.isLetter || before.isNumber || before == "_")
        }

        private mutating func push(_ construct: Construct) {
            if case .interpolation = construct { nesting += 1 }
            open.append(construct)
        }

        private mutating func pop() {
            if case .interpolation = open.removeLast() { nesting -= 1 }
        }

        /// One step of code: top-level, or an interpolation's (`braces`: its own `{` still
        /// open), which ends at its unmatched `}`.
        private mutating func codeStep(interpolation braces: Int?) {
            let c = chars[i]
            switch (language, c) {
            case (.elixir, "{") where braces != nil:
                open[open.count - 1] = .interpolation(braces: braces! + 1)
                keep()
            case (.elixir, "}") where braces != nil:
                if braces == 0 {
                    pop()
                } else {
                    open[open.count - 1] = .interpolation(braces: braces! - 1)
                }
                keep()
            case (.elixir, "#") where chars[i...].starts(with: "#PID<"):
                keep()
            case (.elixir, "#"), (.erlang, "%"):
                // A comment ends with its line.
                var end = i
                while end < chars.count && !chars[end].isNewline { end += 1 }
                blank(until: end)
            case (.elixir, "?") where isCharacterLiteral(at: i):
                // A character literal (`?a`, `?"`, `?#`, `?\n`): the character is not code.
                keep()
                blank(until: i + (chars[i] == "\\" ? 2 : 1))
            case (_, "\"") where at(i + 1) == c && at(i + 2) == c,
                 (.elixir, "'") where at(i + 1) == c && at(i + 2) == c:
                // A heredoc (Elixir's `"""` and `'''`; Erlang's `"""` text block).
                let certain = language == .elixir && endsItsLine(i + 3)
                blank(until: i + 3)
                push(.heredoc(quote: c, interpolates: language == .elixir, isCertain: certain))
            case (_, "\""), (_, "'"):
                keep()
                push(.quoted(closing: c, interpolates: language == .elixir, keepsClosing: true, isCertain: true))
            case (.erlang, "$"):
                keep()
                if i < chars.count { blank(until: i + (chars[i] == "\\" ? 2 : 1)) }
            case (.elixir, "~") where i + 2 < chars.count && chars[i + 1].isLetter && !endsAnOperator(at: i):
                keep()
                // The sigil's name: one lower-case letter, or upper-case letters (`~HTML`).
                var name = i
                while name < chars.count, chars[name].isLetter, name == i || chars[name].isUppercase { name += 1 }
                sigil(nameEnd: name, interpolates: chars[i].isLowercase)
            case (.erlang, "~") where at(i + 1).map({ $0.isLetter || Self.sigilOpeners.contains($0) }) == true:
                // OTP 27's sigils (`~"..."`, `~b[...]`, `~B<...>`): no interpolation.
                keep()
                var name = i
                while name < chars.count, chars[name].isLetter { name += 1 }
                sigil(nameEnd: name, interpolates: false)
            default:
                keep()
            }
        }

        private static let sigilOpeners: Set<Character> = ["(", "[", "{", "<", "/", "|", "\"", "'", "`", "#"]

        /// Elixir's operators of two characters or more, as its tokenizer reads them (longest
        /// first at each position).
        private static let elixirOperators: [[Character]] = [
            "..//", "===", "!==", "<<<", ">>>", "<<~", "~>>", "<~>", "<|>", "~~~", "&&&", "|||", "^^^", "+++", "---", "...",
            "\\\\", "==", "!=", "=~", "<=", ">=", "&&", "||", "<>", "++", "--", "|>", "->", "<-", "=>", "::", "..", "~>",
            "<~", "**", "//",
        ].map { Array($0) }.sorted { $0.count > $1.count }
        private static let operatorCharacters: Set<Character> = ["=", "~", "<", ">", "!", "|", "&", "^", "+", "-", "*", "/", "\\", ".", ":"]

        /// Whether the `~` at `index` ends an operator (`~~~x` is `bnot(x)`, `x =~y` a match,
        /// `a <~b` an arrow), read as Elixir's tokenizer reads the run of operator characters
        /// before it: longest operator first, from the run's start. Else a letter after it
        /// starts a sigil (`=~ ~r/x/` and `==~s(a)` hold one).
        private func endsAnOperator(at index: Int) -> Bool {
            var start = index
            while start > 0, Self.operatorCharacters.contains(chars[start - 1]) { start -= 1 }
            var j = start
            while j <= index {
                let length = Self.elixirOperators.first { op in
                    j + op.count <= index + 1 && chars[j..<(j + op.count)].elementsEqual(op)
                }?.count ?? 1
                if j + length > index { return length > 1 }
                j += length
            }
            return false
        }

        /// A sigil's name (from `i` to `nameEnd`) and opening delimiter, after its `~`.
        private mutating func sigil(nameEnd: Int, interpolates: Bool) {
            guard let opening = at(nameEnd) else {
                blank(until: nameEnd)
                return
            }
            let certain = language == .elixir
            if (opening == "\"" || opening == "'") && at(nameEnd + 1) == opening && at(nameEnd + 2) == opening {
                let wellFormed = endsItsLine(nameEnd + 3)
                blank(until: nameEnd + 3)
                push(.heredoc(quote: opening, interpolates: interpolates, isCertain: certain && wellFormed))
                return
            }
            let pairs: [Character: Character] = ["(": ")", "[": "]", "{": "}", "<": ">"]
            blank(until: nameEnd + 1)
            push(.quoted(closing: pairs[opening] ?? opening, interpolates: interpolates, keepsClosing: false, isCertain: certain))
        }

        /// One step of a string's (charlist's, quoted atom's, sigil's) text; its
        /// interpolations are code.
        private mutating func quotedStep(closing: Character, interpolates: Bool, keepsClosing: Bool) {
            if chars[i] == "\\" {
                blank(until: i + 2)
            } else if chars[i] == closing {
                pop()
                if keepsClosing { keep() } else { blank(until: i + 1) }
            } else if interpolates, chars[i] == "#", at(i + 1) == "{", nesting < Self.maxNesting {
                startInterpolation()
            } else {
                blank(until: i + 1)
            }
        }

        /// One step of a heredoc's text, which its closing quotes end at the start of a line
        /// (elsewhere they are text).
        private mutating func heredocStep(quote: Character, interpolates: Bool) {
            if chars[i] == "\\" {
                blank(until: i + 2)
            } else if chars[i] == quote && at(i + 1) == quote && at(i + 2) == quote && startsItsLine(i) {
                blank(until: i + 3)
                pop()
            } else if interpolates, chars[i] == "#", at(i + 1) == "{", nesting < Self.maxNesting {
                startInterpolation()
            } else {
                blank(until: i + 1)
            }
        }

        /// `#{ code }`: read as ` { code }`, the code kept as code.
        private mutating func startInterpolation() {
            out.append(" ")
            out.append("{")
            i += 2
            push(.interpolation(braces: 0))
        }
    }

    /// Whether the lines given so far certainly do not end a complete expression yet, read here
    /// without asking the node: Erlang code that does not end with a full stop, Elixir code with
    /// a bracket or a `do`/`fn` block still open (`do`, `fn` and `end` are reserved words; `do:`
    /// keywords, `:do` atoms and anything in strings, sigils, comments and character literals do
    /// not count), or either language inside a string, charlist, quoted atom, heredoc or sigil
    /// still open. Each line is scanned once, as it comes, from where the line before left off
    /// (a string over several lines is read as one): a 20,000-line heredoc is one question to
    /// the node, when it closes. A text block or sigil of Erlang's left open, or an Elixir heredoc
    /// with text after its opening quotes, makes the rest of the expression uncertain (runtimes
    /// read them differently, or refuse them). Uncertain says nothing: the node's parser judges.
    struct OpenExpression {
        let language: Language
        private var scanner: Scanner
        private var brackets = 0
        private var blocks = 0
        private var endsWithFullStop = false
        private var sawCode = false

        init(language: Language) {
            self.language = language
            scanner = Scanner(language: language)
        }

        var isCertainlyIncomplete: Bool {
            guard !scanner.leftUncertainConstructOpen else { return false }
            if scanner.isInsideQuotes { return true }
            switch language {
            case .erlang: return sawCode && !endsWithFullStop
            case .elixir: return brackets > 0 || blocks > 0
            }
        }

        mutating func add(line: String) {
            var chars = scanner.read(Array(line) + ["\n"])
            chars.removeLast()
            switch language {
            case .erlang:
                // An expression ends with a full stop (followed by white space); a blank or
                // comment line changes nothing.
                if let last = chars.lastIndex(where: { !$0.isWhitespace }) {
                    endsWithFullStop = chars[last] == "."
                    sawCode = true
                }
            case .elixir:
                var i = 0
                while i < chars.count {
                    let c = chars[i]
                    switch c {
                    case "(", "[", "{": brackets += 1
                    case ")", "]", "}": brackets -= 1
                    case _ where c.isLetter && (i == 0 || !(isNameCharacter(chars[i - 1]) || chars[i - 1] == ":" || chars[i - 1] == ".")):
                        var j = i
                        while j < chars.count, isNameCharacter(chars[j]) { j += 1 }
                        let keyword = j < chars.count && chars[j] == ":" && (j + 1 == chars.count || chars[j + 1] != ":")
                        if !keyword {
                            switch String(chars[i..<j]) {
                            case "do", "fn": blocks += 1
                            case "end": blocks -= 1
                            default: break
                            }
                        }
                        i = j
                        continue
                    default: break
                    }
                    i += 1
                }
            }
        }
    }

    /// ``OpenExpression`` over all of `code` at once.
    static func certainlyIncomplete(_ code: String, language: Language) -> Bool {
        var open = OpenExpression(language: language)
        for line in code.split(separator: "\n", omittingEmptySubsequences: false) { open.add(line: String(line)) }
        return open.isCertainlyIncomplete
    }

    /// The first Elixir remote call in Erlang `code` (`Enum.count(`, `IO.puts(`,
    /// `MyApp.Repo.all(`): an alias, a dot and a function name before `(`. It is never Erlang
    /// (`Var.` is a full stop or a syntax error), so Erlang mode can say what it is instead of
    /// a syntax error or a continuation prompt. Returns the module as Erlang names it
    /// (`'Elixir.Enum'`) and the function; nil when there is none.
    static func elixirRemoteCall(inErlang code: String) -> (module: String, alias: String, function: String)? {
        let chars = Array(codeOnly(code, language: .erlang))
        var i = 0
        func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        while i < chars.count {
            // An alias starts a word (not a record's `#rec.field`, a macro's `?M`, an atom's tail).
            guard chars[i].isUppercase, i == 0 || !(isWord(chars[i - 1]) || "#?.'$@".contains(chars[i - 1])) else {
                i += 1
                continue
            }
            var j = i
            var segments: [String] = []
            var function: String?
            while j < chars.count, chars[j].isUppercase {
                var k = j
                while k < chars.count, isWord(chars[k]) { k += 1 }
                segments.append(String(chars[j..<k]))
                guard k + 1 < chars.count, chars[k] == "." else { break }
                if chars[k + 1].isUppercase { j = k + 1; continue }
                var m = k + 1
                guard chars[m].isLowercase || chars[m] == "_" else { break }
                while m < chars.count, isWord(chars[m]) || ((chars[m] == "?" || chars[m] == "!") && m + 1 < chars.count && chars[m + 1] == "(") {
                    m += 1
                }
                if m < chars.count, chars[m] == "(" { function = String(chars[(k + 1)..<m]) }
                break
            }
            if let function {
                let alias = segments.joined(separator: ".")
                return (ErlangFormatter().format(.atom(Atom("Elixir." + alias))), alias, function)
            }
            i = j + 1
        }
        return nil
    }

    /// Whether an Elixir line starts with a binary operator, which continues the expression on
    /// the lines before it (Elixir's tokenizer drops the line end before one): `|>`, `++`, `<>`,
    /// `==`, `=`, `.field`, `and`, `in`, `when`... Not an operator that may be unary (`-1`,
    /// `+x`, `!x`, `&f/1`, `^x`, `@attr`, `not x`, `~~~x`), nor `<<` (a binary), `:atom`, `->`,
    /// `=>`, `//`, `...`: those start an expression of their own, or are errors for the node.
    static func continuesAnExpression(_ line: String) -> Bool {
        let chars = Array(line.drop { $0 == " " || $0 == "\t" })
        for op in Self.leadingOperators where chars.starts(with: op.text) {
            return op.continues
        }
        func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "?" || c == "!" }
        var word = 0
        while word < chars.count, isWord(chars[word]) { word += 1 }
        switch String(chars[..<word]) {
        case "and", "or", "in", "when": return true
        case "not":
            var next = word
            while next < chars.count, chars[next] == " " || chars[next] == "\t" { next += 1 }
            return chars[next...].starts(with: "in") && (next + 2 == chars.count || !isWord(chars[next + 2]))
        default: return false
        }
    }

    /// Operators a line may start with, longest first (as the tokenizer reads them), and whether
    /// each continues the expression before it (checked against Elixir 1.14's
    /// `Code.string_to_quoted("a\n<op> b")`).
    private static let leadingOperators: [(text: [Character], continues: Bool)] = {
        let continuing = ["===", "!==", "<<<", ">>>", "<<~", "~>>", "<~>", "<|>", "|||", "&&&", "+++", "---", "\\\\", "|>", "++", "--", "<>",
                          "..", "::", "==", "!=", "=~", "<=", ">=", "&&", "||", "<-", "~>", "<~", "**", "<", ">", "|", "=",
                          "*", "/", "."]
        let starting = ["..//", "...", "~~~", "<<", "->", "=>", "//"]
        return (continuing.map { (Array($0), true) } + starting.map { (Array($0), false) }).sorted { $0.text.count > $1.text.count }
    }()

    /// Whether `c` can be part of a name (`alive?` ends in one of these before its `?`).
    static func isNameCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "?" || c == "!" }

    /// Rewrites pasted `#PID<0.123.0>` literals (outside strings) into a call the node
    /// understands: `:erlang.list_to_pid(~c"<0.123.0>")` in Elixir (where `#` starts a
    /// comment), `list_to_pid("<0.123.0>")` in Erlang.
    static func rewritePidLiterals(_ line: String, language: Language) -> String {
        // Most lines hold no `#PID<`: a byte scan clears them (the character-level scan below
        // made a long multi-line expression quadratic, as it runs on the text gathered so far).
        // The Erlang shell also reads a bare `<0.1.0>`, as `i()` and `regs()` print pids.
        let pattern = Array("#PID<".utf8)
        let bytes = Array(line.utf8)
        let hasElixirForm = bytes.count >= pattern.count
            && (0...(bytes.count - pattern.count)).contains(where: { bytes[$0] == 0x23 && bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) })
        let hasErlangForm = language == .erlang
            && zip(bytes, bytes.dropFirst()).contains(where: { $0 == UInt8(ascii: "<") && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($1) })
        guard hasElixirForm || hasErlangForm else { return line }
        let code = Array(codeOnly(line, language: language))
        let chars = Array(line)
        var out = ""
        var i = 0
        while i < chars.count {
            let opening = i + 5 <= code.count && String(code[i..<i + 5]) == "#PID<" ? 5
                : language == .erlang && i < code.count && code[i] == "<" ? 1 : 0
            if opening > 0, let close = chars[(i + opening)...].firstIndex(of: ">") {
                let inner = String(chars[(i + opening)..<close])
                let parts = inner.split(separator: ".", omittingEmptySubsequences: false)
                if parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) {
                    out += language == .elixir
                        ? ":erlang.list_to_pid(~c\"<\(inner)>\")" : "list_to_pid(\"<\(inner)>\")"
                    i = close + 1
                    continue
                }
            }
            out.append(chars[i])
            i += 1
        }
        return out
    }
}
