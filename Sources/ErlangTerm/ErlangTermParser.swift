// Reading Erlang term syntax (what `erl_parse:parse_term/1` accepts for literals), for
// command-line arguments such as `beamsh NODE --rpc lists seq 1 10`.

import BigInt

/// Why text could not be read as a term. Carries the UTF-8 byte offset of the problem.
public struct TermParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The text ended where more was needed.
        case unexpectedEnd
        /// A character or token that cannot appear here (its text).
        case unexpected(String)
        /// A number that is malformed (`16#xyz`, `1.e5`, a base outside 2...36).
        case invalidNumber(String)
        /// A string, quoted atom or character literal that is not closed or not valid.
        case invalidLiteral(String)
        /// An Erlang variable (`X`, `_`): only constant terms are accepted.
        case variable(String)
        /// A keyword where an atom was expected (`end`); quote it: `'end'`.
        case reservedWord(String)
        /// A `<<...>>` segment this parser does not support.
        case invalidBinarySegment(String)
        /// A pid (`<0.B.C>`) that cannot be read here.
        case pid(PidProblem)
    }

    /// Why a pid literal was not read.
    public enum PidProblem: Hashable, Sendable {
        /// This parser takes no pids (``ErlangTermParser/localPid`` is nil).
        case notAccepted
        /// Not `<A.B.C>` with three numbers of up to 32 bits.
        case malformed
        /// `<N.B.C>` with N other than 0: another node's pid, numbered as the node that printed
        /// it numbers the nodes it knows, which names no node here.
        case anotherNodes(UInt32)
        /// `<0.B.C>` that the reader says names no process.
        case unknown(number: UInt32, serial: UInt32)
    }

    public let kind: Kind
    /// Offset in UTF-8 bytes from the start of the text.
    public let offset: Int

    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch kind {
        case .unexpectedEnd: what = "unexpected end of input"
        case .unexpected(let text): what = "unexpected \(text)"
        case .invalidNumber(let why): what = "invalid number: \(why)"
        case .invalidLiteral(let why): what = why
        case .variable(let name): what = "variable \(name) is not a term (quote it as an atom: '\(name)')"
        case .reservedWord(let word): what = "\(word) is a reserved word (quote it as an atom: '\(word)')"
        case .invalidBinarySegment(let why): what = "binary segment: \(why)"
        case .pid(.notAccepted): what = "a pid is not accepted here"
        case .pid(.malformed): what = "a pid is written <0.B.C>, with numbers of up to 32 bits"
        case .pid(.anotherNodes(let n)):
            what = "only the node's own processes, <0.B.C>, can be written: <\(n).B.C> is another node's, numbered by the node that printed it"
        case .pid(.unknown(let number, let serial)): what = "the node has no pid <0.\(number).\(serial)>"
        }
        return "\(what) (at byte \(offset))"
    }
}

/// Reads Erlang term syntax into a ``Term``.
///
/// Accepted: integers of any size (`42`, `-7`, `16#ff`, `2#1010`, `1_000`, `$a`, `$\n`), floats
/// (`1.5`, `-1.0e-5`), atoms (`ok`, `'hello world'`, with Erlang escapes), strings (`"abc"`,
/// which are lists of characters; adjacent strings join), binaries (`<<"abc">>`,
/// `<<1,2,3>>`, `<<1,2:3>>`, `<<"é"/utf8>>`; integer segments up to 64 bits), tuples, lists,
/// improper lists (`[1|2]`), and maps (`#{k => v}`, a repeated key keeps its last value).
/// An optional full stop may end the text; `%` comments are skipped. Ports, references and
/// funs are not accepted, nor pids unless ``localPid`` says how to read them.
///
/// Parsing is iterative (an explicit stack of open containers), so nesting depth is limited
/// only by memory.
public struct ErlangTermParser: Sendable {
    /// How `<0.B.C>` reads: a process of the node that printed it (an argument naming one of the
    /// target's processes), or nil when that node has no such pid. No pids when nil.
    public var localPid: (@Sendable (_ number: UInt32, _ serial: UInt32) -> Pid?)?

    /// A parser; with `localPid`, one that reads `<0.B.C>` through it.
    public init(localPid: (@Sendable (_ number: UInt32, _ serial: UInt32) -> Pid?)? = nil) { self.localPid = localPid }

    /// Parses one term; everything but whitespace, comments and one final `.` must belong to it.
    public func parse(_ text: String) throws(TermParseError) -> Term {
        var lexer = Lexer(Array(text.utf8), localPid: localPid)
        var parser = Parser(lexer: lexer)
        let term = try parser.parseTerm()
        lexer = parser.lexer
        var token = try lexer.next()
        if token.kind == .dot { token = try lexer.next() }
        guard token.kind == .end else { throw TermParseError(.unexpected(token.kind.description), at: token.offset) }
        return term
    }
}

// MARK: - Tokens

private struct Token {
    enum Kind: Equatable, CustomStringConvertible {
        case value(Term)
        case string([Int])
        case openBrace, closeBrace, openBracket, closeBracket, bar, comma
        case openBinary, closeBinary, openMap, arrow, colon, slash, minus, plus, dot
        case end

        var description: String {
            switch self {
            case .value(let term): return ErlangFormatter().format(term)
            case .string: return "string"
            case .openBrace: return "'{'"
            case .closeBrace: return "'}'"
            case .openBracket: return "'['"
            case .closeBracket: return "']'"
            case .bar: return "'|'"
            case .comma: return "','"
            case .openBinary: return "'<<'"
            case .closeBinary: return "'>>'"
            case .openMap: return "'#{'"
            case .arrow: return "'=>'"
            case .colon: return "':'"
            case .slash: return "'/'"
            case .minus: return "'-'"
            case .plus: return "'+'"
            case .dot: return "'.'"
            case .end: return "end of input"
            }
        }
    }
    var kind: Kind
    var offset: Int
}

// MARK: - Lexer

private struct Lexer {
    let bytes: [UInt8]
    let localPid: (@Sendable (UInt32, UInt32) -> Pid?)?
    var position = 0
    private var peeked: Token?

    init(_ bytes: [UInt8], localPid: (@Sendable (UInt32, UInt32) -> Pid?)? = nil) {
        self.bytes = bytes
        self.localPid = localPid
    }

    mutating func peek() throws(TermParseError) -> Token {
        if let peeked { return peeked }
        let token = try scan()
        peeked = token
        return token
    }

    mutating func next() throws(TermParseError) -> Token {
        if let token = peeked {
            peeked = nil
            return token
        }
        return try scan()
    }

    private func byte(at index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpaceAndComments() {
        while let b = byte(at: position) {
            if b == UInt8(ascii: "%") {
                while let c = byte(at: position), c != 0x0A { position += 1 }
            } else if b == 0x20 || (0x09...0x0D).contains(b) || b == 0xA0 {
                position += 1
            } else if b == 0xC2, byte(at: position + 1) == 0xA0 {
                position += 2  // no-break space, which erl_scan treats as white space
            } else {
                return
            }
        }
    }

    private mutating func scan() throws(TermParseError) -> Token {
        skipSpaceAndComments()
        let start = position
        guard let b = byte(at: position) else { return Token(kind: .end, offset: start) }
        func single(_ kind: Token.Kind, length: Int = 1) -> Token {
            position += length
            return Token(kind: kind, offset: start)
        }
        switch b {
        case UInt8(ascii: "{"): return single(.openBrace)
        case UInt8(ascii: "}"): return single(.closeBrace)
        case UInt8(ascii: "["): return single(.openBracket)
        case UInt8(ascii: "]"): return single(.closeBracket)
        case UInt8(ascii: "|"): return single(.bar)
        case UInt8(ascii: ","): return single(.comma)
        case UInt8(ascii: ":"): return single(.colon)
        case UInt8(ascii: "/"): return single(.slash)
        case UInt8(ascii: "-"): return single(.minus)
        case UInt8(ascii: "+"): return single(.plus)
        case UInt8(ascii: "."): return single(.dot)
        case UInt8(ascii: "<") where byte(at: position + 1) == UInt8(ascii: "<"): return single(.openBinary, length: 2)
        case UInt8(ascii: "<") where byte(at: position + 1).map { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } == true:
            return Token(kind: .value(try pid()), offset: start)
        case UInt8(ascii: ">") where byte(at: position + 1) == UInt8(ascii: ">"): return single(.closeBinary, length: 2)
        case UInt8(ascii: "#") where byte(at: position + 1) == UInt8(ascii: "{"): return single(.openMap, length: 2)
        case UInt8(ascii: "=") where byte(at: position + 1) == UInt8(ascii: ">"): return single(.arrow, length: 2)
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            return Token(kind: .value(try number()), offset: start)
        case UInt8(ascii: "$"):
            position += 1
            guard position < bytes.count else { throw TermParseError(.unexpectedEnd, at: position) }
            return Token(kind: .value(.integer(try character())), offset: start)
        case UInt8(ascii: "'"):
            let name = try quoted(UInt8(ascii: "'"), what: "quoted atom")
            guard name.count <= 255 else { throw TermParseError(.invalidLiteral("atom longer than 255 characters"), at: start) }
            var text = ""
            for c in name { text.unicodeScalars.append(Unicode.Scalar(UInt32(c))!) }
            return Token(kind: .value(.atom(Atom(text))), offset: start)
        case UInt8(ascii: "\""):
            return Token(kind: .string(try quoted(UInt8(ascii: "\""), what: "string")), offset: start)
        default:
            let (first, _) = scalar(at: position)
            let word = wordText(from: position)
            if Self.isLowercaseStart(first) {
                position += word.utf8.count
                // `maybe` and `else` are keywords only where the `maybe_expr` feature is on
                // (OTP 27+), and OTP 25/26 print them bare, so accept them as atoms.
                if ErlangFormatter.reservedWords.contains(word), word != "maybe", word != "else" {
                    throw TermParseError(.reservedWord(word), at: start)
                }
                return Token(kind: .value(.atom(Atom(word))), offset: start)
            }
            if Self.isUppercaseStart(first) {
                throw TermParseError(.variable(word), at: start)
            }
            var text = ""
            text.unicodeScalars.append(Unicode.Scalar(first) ?? "?")
            throw TermParseError(.unexpected("character '\(text)'"), at: start)
        }
    }

    /// `<0.B.C>`: a process of the node that printed it, read by `localPid`.
    /// Another node's pid prints as `<N.B.C>` with N its index in the printing node's table,
    /// which names no node here.
    private mutating func pid() throws(TermParseError) -> Term {
        let start = position
        guard let localPid else { throw TermParseError(.pid(.notAccepted), at: start) }
        position += 1  // <
        var parts: [UInt32] = []
        while true {
            let digitsStart = position
            var value: UInt64 = 0
            while let b = byte(at: position), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b), value <= UInt64(UInt32.max) {
                value = value * 10 + UInt64(b - UInt8(ascii: "0"))
                position += 1
            }
            guard position > digitsStart, value <= UInt64(UInt32.max) else {
                throw TermParseError(.pid(.malformed), at: start)
            }
            parts.append(UInt32(value))
            let separator = byte(at: position)
            position += 1
            if parts.count < 3, separator == UInt8(ascii: ".") { continue }
            if parts.count == 3, separator == UInt8(ascii: ">") { break }
            throw TermParseError(.pid(.malformed), at: start)
        }
        guard parts[0] == 0 else { throw TermParseError(.pid(.anotherNodes(parts[0])), at: start) }
        guard let pid = localPid(parts[1], parts[2]) else {
            throw TermParseError(.pid(.unknown(number: parts[1], serial: parts[2])), at: start)
        }
        return .pid(pid)
    }

    /// The word (name characters) that starts at `index`.
    private func wordText(from index: Int) -> String {
        var end = index
        while end < bytes.count {
            let (s, length) = scalar(at: end)
            guard Self.isNameCharacter(s) else { break }
            end += length
        }
        return String(decoding: bytes[index..<end], as: UTF8.self)
    }

    static func isLowercaseStart(_ s: UInt32) -> Bool { (0x61...0x7A).contains(s) || ((0xDF...0xFF).contains(s) && s != 0xF7) }
    static func isUppercaseStart(_ s: UInt32) -> Bool {
        (0x41...0x5A).contains(s) || s == 0x5F || ((0xC0...0xDE).contains(s) && s != 0xD7)
    }
    static func isNameCharacter(_ s: UInt32) -> Bool {
        (0x61...0x7A).contains(s) || (0x41...0x5A).contains(s) || (0x30...0x39).contains(s) || s == 0x5F || s == 0x40
            || ((0xC0...0xFF).contains(s) && s != 0xD7 && s != 0xF7)
    }

    /// The Unicode scalar at `index` and its length in bytes. The text came from a Swift
    /// `String`, so it is valid UTF-8.
    private func scalar(at index: Int) -> (UInt32, Int) {
        let b0 = UInt32(bytes[index])
        if b0 < 0x80 { return (b0, 1) }
        func continuation(_ i: Int) -> UInt32 { i < bytes.count ? UInt32(bytes[i] & 0x3F) : 0 }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | continuation(index + 1), 2) }
        if b0 < 0xF0 { return ((b0 & 0x0F) << 12 | continuation(index + 1) << 6 | continuation(index + 2), 3) }
        return ((b0 & 0x07) << 18 | continuation(index + 1) << 12 | continuation(index + 2) << 6 | continuation(index + 3), 4)
    }

    // MARK: Numbers

    private mutating func digits(allowing isDigit: (UInt8) -> Bool) -> String {
        let start = position
        while let b = byte(at: position), isDigit(b) || b == UInt8(ascii: "_") { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// `digits` read in `base` (2...36, letters of either case above 9), or nil if one is not a
    /// digit of that base. (BigInt's `init(_:radix:)` traps on base 36, which Erlang allows.)
    static func integer(digits: String, base: Int) -> BigInt? {
        // As many digits as fit a UInt64 at a time: one multiply-add of the whole number per chunk.
        var chunkDigits = 1
        var chunkScale = UInt64(base)
        while chunkScale.multipliedReportingOverflow(by: UInt64(base)).overflow == false {
            chunkScale *= UInt64(base)
            chunkDigits += 1
        }
        var value = BigInt(0)
        var chunk: UInt64 = 0
        var inChunk = 0
        for byte in digits.utf8 {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = UInt64(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): digit = UInt64(byte - UInt8(ascii: "A")) + 10
            default: return nil
            }
            guard digit < UInt64(base) else { return nil }
            chunk = chunk * UInt64(base) + digit
            inChunk += 1
            if inChunk == chunkDigits {
                value = value * BigInt(chunkScale) + BigInt(chunk)
                chunk = 0
                inChunk = 0
            }
        }
        if inChunk > 0 {
            var scale: UInt64 = 1
            for _ in 0..<inChunk { scale *= UInt64(base) }
            value = value * BigInt(scale) + BigInt(chunk)
        }
        return value
    }

    private mutating func number() throws(TermParseError) -> Term {
        let start = position
        let isDecimal: (UInt8) -> Bool = { (0x30...0x39).contains($0) }
        let whole = digits(allowing: isDecimal)
        if byte(at: position) == UInt8(ascii: "#") {
            position += 1
            guard let base = Int(whole.replacingUnderscores), (2...36).contains(base) else {
                throw TermParseError(.invalidNumber("base \(whole) is not 2..36"), at: start)
            }
            let isAlphanumeric: (UInt8) -> Bool = {
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
            }
            let text = digits(allowing: isAlphanumeric).replacingUnderscores
            guard !text.isEmpty, let value = Self.integer(digits: text, base: base) else {
                throw TermParseError(.invalidNumber("'\(text)' in base \(base)"), at: start)
            }
            return .integer(value)
        }
        if byte(at: position) == UInt8(ascii: "."), let next = byte(at: position + 1), isDecimal(next) {
            position += 1
            var text = whole + "." + digits(allowing: isDecimal)
            if let e = byte(at: position), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                position += 1
                text += "e"
                if let sign = byte(at: position), sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
                    position += 1
                    text += sign == UInt8(ascii: "-") ? "-" : ""
                }
                let exponent = digits(allowing: isDecimal)
                guard !exponent.isEmpty else { throw TermParseError(.invalidNumber("exponent has no digits"), at: start) }
                text += exponent
            }
            guard let value = Double(text.replacingUnderscores), value.isFinite else {
                throw TermParseError(.invalidNumber("float \(text) out of range"), at: start)
            }
            return .float(value)
        }
        let text = whole.replacingUnderscores
        if let small = Int(text) { return .integer(small) }
        guard let big = BigInt(text) else { throw TermParseError(.invalidNumber(whole), at: start) }
        return .integer(big)
    }

    // MARK: Characters, strings, quoted atoms

    /// One character of a `$c` literal, string or quoted atom, escapes resolved.
    private mutating func character() throws(TermParseError) -> Int {
        let start = position
        let (s, length) = scalar(at: position)
        position += length
        guard s == 0x5C else { return Int(s) }  // backslash
        guard position < bytes.count else { throw TermParseError(.unexpectedEnd, at: position) }
        let e = bytes[position]
        position += 1
        switch e {
        case UInt8(ascii: "b"): return 8
        case UInt8(ascii: "d"): return 127
        case UInt8(ascii: "e"): return 27
        case UInt8(ascii: "f"): return 12
        case UInt8(ascii: "n"): return 10
        case UInt8(ascii: "r"): return 13
        case UInt8(ascii: "s"): return 32
        case UInt8(ascii: "t"): return 9
        case UInt8(ascii: "v"): return 11
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            var value = Int(e - 0x30)
            for _ in 0..<2 {
                guard let d = byte(at: position), (0x30...0x37).contains(d) else { break }
                value = value * 8 + Int(d - 0x30)
                position += 1
            }
            return value
        case UInt8(ascii: "x"):
            var hex = ""
            if byte(at: position) == UInt8(ascii: "{") {
                position += 1
                while let d = byte(at: position), d != UInt8(ascii: "}") {
                    hex.unicodeScalars.append(Unicode.Scalar(d))
                    position += 1
                }
                guard byte(at: position) == UInt8(ascii: "}") else { throw TermParseError(.unexpectedEnd, at: position) }
                position += 1
            } else {
                for _ in 0..<2 {
                    guard let d = byte(at: position) else { break }
                    hex.unicodeScalars.append(Unicode.Scalar(d))
                    position += 1
                }
            }
            guard let value = Int(hex, radix: 16), value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else {
                throw TermParseError(.invalidLiteral("invalid \\x escape"), at: start)
            }
            return value
        case UInt8(ascii: "^"):
            guard let c = byte(at: position) else { throw TermParseError(.unexpectedEnd, at: position) }
            position += 1
            return Int(c & 0x1F)
        default:
            // Any other escaped character stands for itself (`\'`, `\"`, `\\`).
            position -= 1
            let (s, length) = scalar(at: position)
            position += length
            return Int(s)
        }
    }

    private mutating func quoted(_ quote: UInt8, what: String) throws(TermParseError) -> [Int] {
        let start = position
        position += 1
        var characters: [Int] = []
        while true {
            guard let b = byte(at: position) else { throw TermParseError(.invalidLiteral("unterminated \(what)"), at: start) }
            if b == quote {
                position += 1
                return characters
            }
            characters.append(try character())
        }
    }
}

extension String {
    fileprivate var replacingUnderscores: String { String(filter { $0 != "_" }) }
}

// MARK: - Parser

private struct Parser {
    var lexer: Lexer

    /// An open container and what it has collected so far. The elements grow in place on the
    /// stack (an enum's payload taken out to append to would be copied for every element).
    private struct Frame {
        enum Kind {
            case tuple, list
            /// After `|`: the next term is the tail.
            case listTail
            /// Keys and values interleaved; `awaitingValue` after a key and its `=>`.
            case map(awaitingValue: Bool)
        }
        var kind: Kind
        var elements: [Term] = []
    }

    init(lexer: Lexer) { self.lexer = lexer }

    mutating func parseTerm() throws(TermParseError) -> Term {
        var stack: [Frame] = []
        while true {
            guard var finished = try parseLeafOrOpen(&stack) else { continue }
            // Hand the finished term to the innermost open container; a closing token makes
            // that container the finished term for its parent, a separator waits for more.
            attach: while true {
                guard !stack.isEmpty else { return finished }
                let top = stack.count - 1
                let token = try lexer.next()
                switch stack[top].kind {
                case .tuple:
                    stack[top].elements.append(finished)
                    switch token.kind {
                    case .comma: break attach
                    case .closeBrace: finished = .tuple(stack.removeLast().elements)
                    default: throw unexpected(token)
                    }
                case .list:
                    stack[top].elements.append(finished)
                    switch token.kind {
                    case .comma: break attach
                    case .bar:
                        stack[top].kind = .listTail
                        break attach
                    case .closeBracket: finished = .list(stack.removeLast().elements)
                    default: throw unexpected(token)
                    }
                case .listTail:
                    guard token.kind == .closeBracket else { throw unexpected(token) }
                    var elements = stack.removeLast().elements
                    // `[1|[2]]` is the proper list `[1,2]`: absorb a list tail (already in
                    // this normal form itself, so one level is enough).
                    if case .list(let tail) = finished {
                        elements += tail.elements
                        finished = .list(TermList(elements, tail: tail.tail))
                    } else {
                        finished = .list(TermList(elements, tail: finished))
                    }
                case .map(let awaitingValue):
                    stack[top].elements.append(finished)
                    if !awaitingValue {
                        guard token.kind == .arrow else { throw unexpected(token) }
                        stack[top].kind = .map(awaitingValue: true)
                        break attach
                    }
                    switch token.kind {
                    case .comma:
                        stack[top].kind = .map(awaitingValue: false)
                        break attach
                    case .closeBrace: finished = Self.map(stack.removeLast().elements)
                    default: throw unexpected(token)
                    }
                }
            }
        }
    }

    /// A leaf term, or `nil` after pushing a newly opened container.
    private mutating func parseLeafOrOpen(_ stack: inout [Frame]) throws(TermParseError) -> Term? {
        let token = try lexer.next()
        switch token.kind {
        case .value(let term):
            return term
        case .string(var characters):
            while case .string(let more) = try lexer.peek().kind {
                _ = try lexer.next()
                characters += more
            }
            return .list(characters.map { .integer($0) })
        case .minus, .plus:
            let number = try lexer.next()
            switch number.kind {
            case .value(.integer(let v)) where token.kind == .minus:
                return .integer(-v)  // the lexer's integers are never negative, so this cannot overflow
            case .value(.bigInteger(let v)) where token.kind == .minus:
                return .integer(-v)
            case .value(.float(let v)) where token.kind == .minus:
                return .float(-v)
            case .value(.integer), .value(.bigInteger), .value(.float):
                guard case .value(let term) = number.kind else { throw unexpected(number) }
                return term
            default:
                throw unexpected(number)
            }
        case .openBrace:
            if try lexer.peek().kind == .closeBrace {
                _ = try lexer.next()
                return .tuple([])
            }
            stack.append(Frame(kind: .tuple))
            return nil
        case .openBracket:
            if try lexer.peek().kind == .closeBracket {
                _ = try lexer.next()
                return .emptyList
            }
            stack.append(Frame(kind: .list))
            return nil
        case .openMap:
            if try lexer.peek().kind == .closeBrace {
                _ = try lexer.next()
                return .map([])
            }
            stack.append(Frame(kind: .map(awaitingValue: false)))
            return nil
        case .openBinary:
            return try binary()
        case .end:
            throw TermParseError(.unexpectedEnd, at: token.offset)
        case .closeBrace, .closeBracket, .bar, .comma, .closeBinary, .arrow, .colon, .slash, .dot:
            throw unexpected(token)
        }
    }

    private func unexpected(_ token: Token) -> TermParseError {
        if token.kind == .end { return TermParseError(.unexpectedEnd, at: token.offset) }
        return TermParseError(.unexpected(token.kind.description), at: token.offset)
    }

    /// A map from interleaved keys and values; a repeated key keeps its last value, in the
    /// position of its first appearance (as `#{a => 1, a => 2}` gives `#{a => 2}`).
    private static func map(_ flat: [Term]) -> Term {
        var index: [Term: Int] = [:]
        var pairs: [(key: Term, value: Term)] = []
        var i = 0
        while i + 1 < flat.count {
            if let existing = index[flat[i]] {
                pairs[existing].value = flat[i + 1]
            } else {
                index[flat[i]] = pairs.count
                pairs.append((key: flat[i], value: flat[i + 1]))
            }
            i += 2
        }
        return .map(pairs)
    }

    // MARK: Binaries

    /// `<<Segment, ...>>` after the `<<`: integers and strings, each with an optional `:Size`
    /// (bits) and `/utf8` (or `/integer`).
    private mutating func binary() throws(TermParseError) -> Term {
        var bits = BitWriter()
        if try lexer.peek().kind == .closeBinary {
            _ = try lexer.next()
            return .binary(Binary([UInt8]()))
        }
        while true {
            let token = try lexer.next()
            var values: [Int]
            var isString = false
            var negate = false
            var valueToken = token
            if token.kind == .minus {
                negate = true
                valueToken = try lexer.next()
            }
            switch valueToken.kind {
            case .value(.integer(let v)): values = [negate ? -v : v]
            case .string(let characters) where !negate:
                values = characters
                isString = true
            default:
                throw TermParseError(.invalidBinarySegment("expected an integer or a string"), at: valueToken.offset)
            }
            var size = 8
            var utf8 = false
            if try lexer.peek().kind == .colon {
                _ = try lexer.next()
                let sizeToken = try lexer.next()
                guard case .value(.integer(let s)) = sizeToken.kind, (0...64).contains(s), !isString || s == 8 else {
                    throw TermParseError(.invalidBinarySegment("size must be an integer 0..64"), at: sizeToken.offset)
                }
                size = s
            }
            if try lexer.peek().kind == .slash {
                _ = try lexer.next()
                let typeToken = try lexer.next()
                switch typeToken.kind {
                case .value(.atom(let type)) where type.name == "utf8": utf8 = true
                case .value(.atom(let type)) where type.name == "integer": break
                default:
                    throw TermParseError(.invalidBinarySegment("only /utf8 and /integer are supported"), at: typeToken.offset)
                }
            }
            for value in values {
                if utf8 {
                    guard let scalar = Unicode.Scalar(UInt32(clamping: max(0, value))), value >= 0 else {
                        throw TermParseError(.invalidBinarySegment("\(value) is not a Unicode code point"), at: valueToken.offset)
                    }
                    for byte in String(Character(scalar)).utf8 { bits.append(UInt64(byte), bits: 8) }
                } else {
                    bits.append(UInt64(truncatingIfNeeded: value), bits: size)
                }
            }
            let separator = try lexer.next()
            switch separator.kind {
            case .comma: continue
            case .closeBinary: return bits.term
            default: throw unexpected(separator)
            }
        }
    }
}

/// Bits appended most significant first, as binary construction does.
private struct BitWriter {
    var bytes: [UInt8] = []
    /// Bits used in the last byte (0 means the last byte is full or there is none).
    var usedInLast = 0

    mutating func append(_ value: UInt64, bits count: Int) {
        var remaining = count
        while remaining > 0 {
            if usedInLast == 0 { bytes.append(0) }
            let room = 8 - usedInLast
            let take = min(room, remaining)
            let chunk = UInt8(truncatingIfNeeded: (value >> UInt64(remaining - take)) & ((1 << UInt64(take)) - 1))
            bytes[bytes.count - 1] |= chunk << UInt8(room - take)
            usedInLast = (usedInLast + take) % 8
            remaining -= take
        }
    }

    var term: Term {
        if usedInLast == 0 { return .binary(Binary(bytes)) }
        return .bitstring(Bitstring(bytes: Binary(bytes), bitsInLastByte: UInt8(usedInLast)))
    }
}
