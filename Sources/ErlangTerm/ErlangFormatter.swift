// Erlang syntax for terms, as `io_lib:format("~p", [Term])` writes it, on one line.

/// Prints terms in Erlang syntax, like `io_lib:format("~p", [Term])` without line breaks.
///
/// Terms without pids, ports, references and funs print as text that `erl_parse:parse_term/1`
/// reads back to an identical (`=:=`) term. The rules follow OTP's `~p`:
/// - atoms are quoted when they are reserved words (including `maybe` and `else`, reserved
///   since OTP 27) or do not match `[a-z][A-Za-z0-9_@]*` (Latin-1 letters count as letters);
/// - lists of printable Latin-1 characters print as strings (`"abc"`), the default
///   `io:printable_range()`; binaries whose bytes are all printable Latin-1 as `<<"abc">>`
///   (with ``Options/unicode``, `~tp`: printable UTF-8 text as `<<"é"/utf8>>`);
/// - bitstrings as `<<1,2:3>>`, maps as `#{a => 1}`, improper lists as `[1|2]`;
/// - floats in the shortest text that reads back to the same value (`1.0e-5`, `0.1`);
/// - pids `<0.85.0>`, ports `#Port<0.5>`, references `#Ref<0.W2.W1.W0>` (words most
///   significant first), local funs `#Fun<Module.Index.Uniq>`, export funs `fun erlang:abs/1`.
///
/// Identifiers of another node than ``Options/localNode`` show that node's name where the BEAM
/// shows a node index: `<app@host.85.0>` instead of `<5.85.0>` (an index means nothing
/// outside the node that printed it). Such text does not parse back.
///
/// Printing is iterative: nesting depth is limited only by memory.
public struct ErlangFormatter: Sendable {
    /// How terms are printed.
    public struct Options: Sendable {
        /// The node whose pids, ports and references print with a leading `0`.
        public var localNode: Atom = "nonode@nohost"
        /// Print as `~tp` instead of `~p`: a binary of printable UTF-8 text with characters beyond
        /// ASCII as `<<"é"/utf8>>` (not its bytes as Latin-1, `<<"Ã©">>`), and atoms' characters
        /// beyond Latin-1 as themselves (not `\x{...}`). Lists print the same either way: which
        /// lists are strings is `io:printable_range()`, Latin-1 by default, in both.
        public var unicode = false
        public init() {}
    }

    public var options: Options

    public init(options: Options = Options()) { self.options = options }

    /// The term in Erlang syntax, on one line.
    public func format(_ term: Term) -> String {
        var work = PrintWork()
        let options = options
        return work.run(term) { term, work in
            Self.visit(term, options, into: &work)
        }
    }

    /// The same text handed to `sink` in pieces as it is made (about 64 KB each), so that a huge
    /// term prints without its whole text in memory.
    public func format(_ term: Term, to sink: (String) -> Void) {
        withoutActuallyEscaping(sink) { sink in
            var work = PrintWork()
            work.sink = sink
            let options = options
            _ = work.run(term) { term, work in
                Self.visit(term, options, into: &work)
            }
        }
    }

    private static func visit(_ term: Term, _ options: Options, into work: inout PrintWork) {
        let localNode = options.localNode
        let unicode = options.unicode
        switch term {
        case .integer(let value):
            work.write(String(value))
        case .bigInteger(let value):
            work.write(BigIntegerText.erlang(value))
        case .float(let value):
            work.write(FloatText.erlang(value))
        case .atom(let atom):
            work.write(Self.atom(atom, unicode: unicode))
        case .tuple(let tuple):
            work.container(open: "{", tuple, separator: ",", close: "}")
        case .list(let list):
            if list.isProper, let text = printableString(list) {
                work.write(text)
            } else {
                let tail = list.tail.map { (bar: "|", term: $0) }
                work.container(open: "[", list, separator: ",", tail: tail, close: "]")
            }
        case .map(let map):
            let pairs = map.map { (key: PrintStep.term($0.key), value: $0.value) }
            work.pairs(open: "#{", pairs, infix: " => ", separator: ",", close: "}")
        case .binary(let binary) where binary.count > PrintWork.sinkPiece && work.sink != nil:
            Self.writeBinary(binary, unicode: unicode, into: &work)
        case .binary(let binary):
            work.write(Self.binary(binary, unicode: unicode))
        case .bitstring(let bits):
            work.write(Self.bitstring(bits))
        case .pid(let pid):
            work.write("<\(Self.node(pid.node, localNode)).\(pid.id).\(pid.serial)>")
        case .port(let port):
            work.write("#Port<\(Self.node(port.node, localNode)).\(port.id)>")
        case .reference(let reference):
            let words = reference.ids.reversed().map { String($0) }.joined(separator: ".")
            work.write("#Ref<\(Self.node(reference.node, localNode)).\(words)>")
        case .fun(let fun):
            // As `~p` prints it: the old index and old uniq (Elixir's inspect shows the new index).
            work.write("#Fun<\(Self.atom(fun.module, unicode: unicode)).\(fun.oldIndex).\(fun.oldUniq)>")
        case .export(let export):
            let (module, function) = (Self.atom(export.module, unicode: unicode), Self.atom(export.function, unicode: unicode))
            work.write("fun \(module):\(function)/\(export.arity)")
        }
    }

    static func node(_ node: Atom, _ localNode: Atom) -> String {
        node == localNode ? "0" : node.name
    }

    // MARK: - Atoms

    /// Words `erl_scan` reads as keywords, so atoms with these names need quotes.
    /// `maybe` and `else` are keywords since OTP 27 (the `maybe_expr` feature); `query` is none
    /// in OTP 25 or 28 (`erl_scan:reserved_word(query)` is false), so it stays bare, as `~p` prints it.
    public static let reservedWords: Set<String> = [
        "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case", "catch",
        "cond", "div", "else", "end", "fun", "if", "let", "maybe", "not", "of", "or", "orelse",
        "receive", "rem", "try", "when", "xor",
    ]

    /// An atom as Erlang source text: bare when it can be, else in single quotes.
    static func atom(_ atom: Atom, unicode: Bool = false) -> String {
        let name = atom.name
        if isBareAtom(name) { return name }
        var out = "'"
        for scalar in name.unicodeScalars { appendEscaped(scalar, quote: "'", unicode: unicode, to: &out) }
        out += "'"
        return out
    }

    private static func isBareAtom(_ name: String) -> Bool {
        var scalars = name.unicodeScalars.makeIterator()
        guard let first = scalars.next() else { return false }
        let v = first.value
        // Lower-case ASCII, or Latin-1 lower-case letters ß..ÿ except ÷.
        guard (0x61...0x7A).contains(v) || ((0xDF...0xFF).contains(v) && v != 0xF7) else { return false }
        while let scalar = scalars.next() {
            let c = scalar.value
            let isNameCharacter =
                (0x61...0x7A).contains(c) || (0x41...0x5A).contains(c) || (0x30...0x39).contains(c)
                || c == 0x5F || c == 0x40 || ((0xC0...0xFF).contains(c) && c != 0xD7 && c != 0xF7)
            if !isNameCharacter { return false }
        }
        return !reservedWords.contains(name)
    }

    // MARK: - Strings and binaries

    /// `io_lib:printable_latin1_list/1`: the characters `~p` shows inside a string.
    static func isPrintableLatin1(_ c: Int) -> Bool {
        (32...126).contains(c) || (160...255).contains(c) || (8...13).contains(c) || c == 27
    }

    /// A proper list of printable Latin-1 characters as a string literal, else `nil`.
    static func printableString(_ list: TermList) -> String? {
        if list.isEmpty { return nil }
        var out = "\""
        for element in list.elements {
            guard case .integer(let c) = element, isPrintableLatin1(c), let scalar = Unicode.Scalar(UInt32(c))
            else { return nil }
            appendEscaped(scalar, quote: "\"", to: &out)
        }
        out += "\""
        return out
    }

    /// How a binary's contents print.
    enum BinaryText {
        /// `<<"é"/utf8>>`: `~tp` reading valid UTF-8 with characters beyond ASCII.
        case utf8(String)
        /// `<<"abc">>`: every byte a printable Latin-1 character.
        case latin1
        /// `<<1,2,3>>`.
        case bytes
    }

    /// `io_lib_pretty:printable_bin/4`. `~p` reads the bytes as Latin-1. `~tp` first reads valid
    /// UTF-8 as characters: all printable (in the default Latin-1 range) and one beyond ASCII
    /// gives `/utf8`; one unprintable gives bytes, with no Latin-1 reading after it (`~tp` prints
    /// `<<"Ġ"/utf8>>`'s bytes C4 A0 as numbers though each is printable Latin-1).
    static func binaryText(_ binary: Binary, unicode: Bool) -> BinaryText {
        if unicode, binary.bytes.contains(where: { $0 >= 0x80 }),
            let text = String(validating: binary.bytes, as: UTF8.self)
        {
            return text.unicodeScalars.allSatisfy({ isPrintableLatin1(Int($0.value)) }) ? .utf8(text) : .bytes
        }
        return binary.bytes.allSatisfy({ isPrintableLatin1(Int($0)) }) ? .latin1 : .bytes
    }

    static func binary(_ binary: Binary, unicode: Bool = false) -> String {
        if binary.isEmpty { return "<<>>" }
        switch binaryText(binary, unicode: unicode) {
        case .utf8(let text):
            var out = "<<\""
            for scalar in text.unicodeScalars { appendEscaped(scalar, quote: "\"", to: &out) }
            return out + "\"/utf8>>"
        case .latin1:
            var out = "<<\""
            for byte in binary.bytes { appendEscaped(Unicode.Scalar(byte), quote: "\"", to: &out) }
            return out + "\">>"
        case .bytes:
            return "<<" + binary.bytes.map { String($0) }.joined(separator: ",") + ">>"
        }
    }

    /// ``binary(_:unicode:)`` written a piece at a time (a large binary's text is several times its size).
    static func writeBinary(_ binary: Binary, unicode: Bool, into work: inout PrintWork) {
        switch binaryText(binary, unicode: unicode) {
        case .utf8(let text):
            work.write("<<\"")
            for (index, scalar) in text.unicodeScalars.enumerated() {
                appendEscaped(scalar, quote: "\"", to: &work.output)
                if index & 0xFFF == 0 { work.flushIfLarge() }
            }
            work.write("\"/utf8>>")
        case .latin1:
            work.write("<<\"")
            for (index, byte) in binary.bytes.enumerated() {
                appendEscaped(Unicode.Scalar(byte), quote: "\"", to: &work.output)
                if index & 0xFFF == 0 { work.flushIfLarge() }
            }
            work.write("\">>")
        case .bytes:
            work.write("<<")
            for (index, byte) in binary.bytes.enumerated() {
                if index > 0 { work.output += "," }
                work.output += String(byte)
                if index & 0xFFF == 0 { work.flushIfLarge() }
            }
            work.write(">>")
        }
    }

    static func bitstring(_ bits: Bitstring) -> String {
        guard !bits.bytes.isEmpty else { return "<<>>" }
        var parts = bits.bytes.bytes.dropLast().map { String($0) }
        let last = TextHelpers.lastSegment(of: bits)
        parts.append("\(last.value):\(last.size)")
        return "<<" + parts.joined(separator: ",") + ">>"
    }

    /// Appends one character of a quoted atom or string, escaped as `io_lib` does.
    static func appendEscaped(_ scalar: Unicode.Scalar, quote: Character, unicode: Bool = false, to out: inout String) {
        switch scalar.value {
        case 0x08: out += "\\b"
        case 0x09: out += "\\t"
        case 0x0A: out += "\\n"
        case 0x0B: out += "\\v"
        case 0x0C: out += "\\f"
        case 0x0D: out += "\\r"
        case 0x1B: out += "\\e"
        case 0x7F: out += "\\d"
        case 0x5C: out += "\\\\"
        case let c where c < 0x20 || (0x80...0x9F).contains(c):
            out += "\\" + TextHelpers.octal3(c)
        case let c where c > 0xFF && !unicode:
            // `~p` (not `~tp`) keeps its output Latin-1.
            out += "\\x{" + TextHelpers.hex(c) + "}"
        default:
            if Character(scalar) == quote { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
    }
}
