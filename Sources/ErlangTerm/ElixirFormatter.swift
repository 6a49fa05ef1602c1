// Elixir syntax for terms, as `inspect/2` writes it, on one line.

/// Prints terms in Elixir syntax, like `inspect(term, limit: :infinity, width: :infinity)`.
///
/// Terms without pids, ports, references and funs print as text that `Code.eval_string/1`
/// evaluates back to an identical (`===`) term. The rules follow Elixir 1.14's `inspect/2`:
/// - `true`, `false`, `nil` bare; aliases without their prefix (`:"Elixir.Foo.Bar"` → `Foo.Bar`);
///   `:atom`, `:foo?`, operators such as `:+` and `:<>` unquoted; anything else quoted,
///   `:"hello world"`. Atoms with non-ASCII characters are always quoted (`:"é"`): always
///   valid, where bare Unicode atoms depend on Elixir's identifier rules;
/// - binaries that are printable UTF-8 as `"text"` with Elixir escapes (`\n`, `\"`, `\#{`),
///   others as `<<1, 2, 3>>`; bitstrings as `<<1, 2::size(3)>>`;
/// - printable ASCII charlists as `~c"abc"` (or `'abc'`, see ``Options/charlistStyle``);
/// - keyword lists `[a: 1, b: 2]`, improper lists `[1 | 2]`, tuples `{1, 2}`;
/// - maps `%{a: 1}` when every key is an atom, else `%{"k" => 1, :a => 2}`; maps with a
///   `__struct__` alias as `%Name{...}` (see ``Options/structs``; an exception without its
///   `__exception__: true`, URI in its own field order), unless a standard struct's fields are
///   missing or extra (then `%{__struct__: URI, host: "x"}`); ranges, ISO dates and times and
///   MapSets in `inspect`'s own forms where they read back (`1..3`, `~D[2024-01-02]`,
///   `MapSet.new([1])`; ``StandardStructText``);
/// - atoms Elixir's tokenizer cannot read back (quoted, over 255 bytes of UTF-8) as
///   `String.to_atom("…")`;
/// - integers of any size, floats in the shortest text that reads back to the same value
///   (`1.0`, `0.1`, `1.0e-5`, `1.0e20`);
/// - `#PID<0.85.0>`, `#Port<0.5>`, `#Reference<0.W2.W1.W0>` (words most significant first),
///   `#Function<Index.Uniq/Arity in Module>`, `&Mod.fun/2`, `&:erlang.abs/1`.
///
/// Identifiers of another node than ``Options/localNode`` show that node's name where Elixir
/// shows a node index: `#PID<app@host.85.0>` instead of `#PID<5.85.0>` (an index means nothing
/// outside the node that printed it). Such text does not evaluate back.
///
/// Printing is iterative: nesting depth is limited only by memory.
public struct ElixirFormatter: Sendable {
    /// How charlists (lists of printable ASCII characters) print.
    public enum CharlistStyle: Sendable {
        /// `~c"abc"`, the form Elixir 1.15 and later print.
        case sigil
        /// `'abc'`, the form Elixir 1.14 and earlier print.
        case singleQuotes
    }

    /// How terms are printed.
    public struct Options: Sendable {
        /// The node whose pids, ports and references print with a leading `0`.
        public var localNode: Atom = "nonode@nohost"
        public var charlistStyle: CharlistStyle = .sigil
        /// Print maps with a `__struct__` alias key as `%Name{...}`. A struct evaluates back
        /// only when its module is loaded and the map has all of its fields; turn this off for
        /// text that must evaluate to the exact map.
        public var structs: Bool = true
        public init() {}
    }

    public var options: Options

    public init(options: Options = Options()) { self.options = options }

    /// The term in Elixir syntax, on one line.
    public func format(_ term: Term) -> String {
        var work = PrintWork()
        let options = options
        return work.run(term) { term, work in
            Self.visit(term, options: options, into: &work)
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
                Self.visit(term, options: options, into: &work)
            }
        }
    }

    private static func visit(_ term: Term, options: Options, into work: inout PrintWork) {
        switch term {
        case .integer(let value):
            work.write(String(value))
        case .bigInteger(let value):
            work.write(BigIntegerText.elixir(value))
        case .float(let value):
            work.write(FloatText.elixir(value))
        case .atom(let atom):
            work.write(Self.atom(atom))
        case .tuple(let tuple):
            work.container(open: "{", tuple, separator: ", ", close: "}")
        case .list(let list):
            if list.isProper, let text = charlist(list, style: options.charlistStyle) {
                work.write(text)
            } else if list.isProper, let keys = keywordKeys(list.elements) {
                let pairs = zip(keys, list.elements).map { key, element in
                    (key: PrintStep.text(keywordKey(key)), value: element.tupleElements![1])
                }
                work.pairs(open: "[", pairs, infix: "", separator: ", ", close: "]")
            } else {
                let tail = list.tail.map { (bar: " | ", term: $0) }
                work.container(open: "[", list, separator: ", ", tail: tail, close: "]")
            }
        case .map(let map):
            visitMap(map, options: options, into: &work)
        case .binary(let binary) where binary.count > PrintWork.sinkPiece && work.sink != nil:
            Self.writeBinary(binary, into: &work)
        case .binary(let binary):
            work.write(Self.binary(binary))
        case .bitstring(let bits):
            work.write(Self.bitstring(bits))
        case .pid(let pid):
            work.write("#PID<\(ErlangFormatter.node(pid.node, options.localNode)).\(pid.id).\(pid.serial)>")
        case .port(let port):
            work.write("#Port<\(ErlangFormatter.node(port.node, options.localNode)).\(port.id)>")
        case .reference(let reference):
            let words = reference.ids.reversed().map { String($0) }.joined(separator: ".")
            work.write("#Reference<\(ErlangFormatter.node(reference.node, options.localNode)).\(words)>")
        case .fun(let fun):
            work.write("#Function<\(fun.index).\(fun.oldUniq)/\(fun.arity) in \(Self.atom(fun.module))>")
        case .export(let export):
            work.write("&\(Self.atom(export.module)).\(Self.functionName(export.function))/\(export.arity)")
        }
    }

    private static func visitMap(_ map: TermMap, options: Options, into work: inout PrintWork) {
        var keys: [Atom] = []
        keys.reserveCapacity(map.count)
        for pair in map {
            guard case .atom(let key) = pair.key, !key.name.hasPrefix("Elixir."), !tooLongForElixirSource(key.name) else {
                let pairs = map.map { (key: PrintStep.term($0.key), value: $0.value) }
                work.pairs(open: "%{", pairs, infix: " => ", separator: ", ", close: "}")
                return
            }
            keys.append(key)
        }
        var open = "%{"
        var skip: Set<Int> = []
        var order: [Int] = Array(keys.indices)
        if options.structs, let index = keys.firstIndex(of: "__struct__"),
            case .atom(let module) = map[index].value, let name = aliasName(module),
            hasItsFields(module, keys)
        {
            let fields = Dictionary(uniqueKeysWithValues: keys.indices.filter { $0 != index }.map { (keys[$0].name, map[$0].value) })
            if StandardStructText.print(module.name, fields, into: &work) { return }
            open = "%" + name + "{"
            skip.insert(index)
            // An exception's `__exception__: true` is implied by its struct, as `inspect` has it.
            if let flag = keys.firstIndex(of: "__exception__"), map[flag].value == .atom(.true) { skip.insert(flag) }
            // URI's own `inspect` order, with `authority` (deprecated) only when set.
            if module.name == "Elixir.URI" {
                order = ["scheme", "authority", "userinfo", "host", "port", "path", "query", "fragment"].compactMap { field in
                    guard let i = keys.firstIndex(of: Atom(field)) else { return nil }
                    return field == "authority" && map[i].value == .nil ? nil : i
                }
            }
        }
        var pairs: [(key: PrintStep, value: Term)] = []
        pairs.reserveCapacity(map.count)
        for index in order where !skip.contains(index) {
            pairs.append((key: .text(keywordKey(keys[index])), value: map[index].value))
        }
        work.pairs(open: open, pairs, infix: "", separator: ", ", close: "}")
    }

    // MARK: - Atoms

    /// Operator atoms that Elixir 1.14 prints without quotes (`:+`, `:<>`, `:%{}`).
    /// `:"::"`, `:"//"`, `:"<|>"`, `:"~~~"` and `:"^^^"` need quotes there.
    static let bareOperators: Set<String> = [
        "~>>", "~>", "|||", "||", "|>", "|", ">>>", ">=", ">", "=~", "===", "==", "=", "<~>", "<~", "<>",
        "<=", "<<~", "<<<", "<-", "<", "+++", "++", "+", "^", "&&&", "&&", "&", "\\\\", "/", "*", "**", "@",
        "..", ".", "!==", "!=", "!", "->", "---", "--", "-", "...", "%{}", "{}", "%", "<<>>", "..//",
    ]

    /// An atom as Elixir source text (`:ok`, `true`, `Foo.Bar`, `:"a b"`).
    static func atom(_ atom: Atom) -> String {
        let name = atom.name
        if name == "true" || name == "false" || name == "nil" { return name }
        if let alias = aliasName(atom) { return alias }
        if isIdentifierAtom(name) || bareOperators.contains(name) { return ":" + name }
        if tooLongForElixirSource(name) { return "String.to_atom(" + quoted(name) + ")" }
        return ":" + quoted(name)
    }

    /// Elixir's tokenizer (1.14 at least) refuses a quoted atom of more than 255 bytes of UTF-8,
    /// though the BEAM's limit is 255 characters: `:"ÿÿ…"` fails to evaluate, even as `inspect`
    /// prints it. Such an atom prints as the call that makes it, a key as a `=>` key.
    static func tooLongForElixirSource(_ name: String) -> Bool { name.utf8.count > 255 }

    /// The fields of standard-library structs (unchanged since Elixir 1.12), so that a map that
    /// names one of them but lacks or adds fields prints as the map it is, as `inspect` does:
    /// `%URI{host: "x"}` would evaluate to a whole URI. Other modules cannot be checked offline
    /// and print as structs.
    static let standardStructFields: [String: Set<String>] = [
        "Elixir.URI": ["authority", "fragment", "host", "path", "port", "query", "scheme", "userinfo"],
        "Elixir.Range": ["first", "last", "step"],
        "Elixir.Version": ["build", "major", "minor", "patch", "pre"],
        "Elixir.Date": ["calendar", "day", "month", "year"],
        "Elixir.Time": ["calendar", "hour", "microsecond", "minute", "second"],
        "Elixir.NaiveDateTime": ["calendar", "day", "hour", "microsecond", "minute", "month", "second", "year"],
        "Elixir.DateTime": ["calendar", "day", "hour", "microsecond", "minute", "month", "second", "std_offset",
                            "time_zone", "utc_offset", "year", "zone_abbr"],
        "Elixir.MapSet": ["map", "version"],
    ]

    /// Whether a map with `keys` (`__struct__` among them) is a whole `module` struct, as far as
    /// can be told here.
    static func hasItsFields(_ module: Atom, _ keys: [Atom]) -> Bool {
        guard let fields = standardStructFields[module.name] else { return true }
        return keys.count == fields.count + 1 && keys.allSatisfy { $0.name == "__struct__" || fields.contains($0.name) }
    }

    /// `Foo.Bar` for `:"Elixir.Foo.Bar"`, `Elixir` for `:Elixir`; `nil` when not an alias.
    /// An alias whose first part is `Elixir` keeps its prefix, as `inspect` keeps it:
    /// `:"Elixir.Elixir.Foo"` is `Elixir.Elixir.Foo` (`Elixir.Foo` would read back as `:"Elixir.Foo"`).
    static func aliasName(_ atom: Atom) -> String? {
        let name = atom.name
        if name == "Elixir" { return name }
        guard name.hasPrefix("Elixir.") else { return nil }
        let rest = name.dropFirst("Elixir.".count)
        if rest == "Elixir" || rest.hasPrefix("Elixir.") {
            return rest.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isAliasSegment) ? name : nil
        }
        return rest.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isAliasSegment) ? String(rest) : nil
    }

    private static func isAliasSegment(_ segment: Substring) -> Bool {
        guard let first = segment.utf8.first, (0x41...0x5A).contains(first) else { return false }
        return segment.utf8.allSatisfy { isASCIIWordCharacter($0) }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_@]*[?!]?`
    static func isIdentifierAtom(_ name: String) -> Bool {
        var bytes = Array(name.utf8)[...]
        guard let first = bytes.first, isASCIILetter(first) || first == 0x5F else { return false }
        if let last = bytes.last, last == 0x3F || last == 0x21 { bytes = bytes.dropLast() }
        return bytes.dropFirst().allSatisfy { isASCIIWordCharacter($0) || $0 == 0x40 }
    }

    /// A keyword key, `a: ` or `"a b": `.
    static func keywordKey(_ key: Atom) -> String {
        let name = key.name
        if name != "Elixir", isIdentifierAtom(name) || bareOperators.contains(name) { return name + ": " }
        return quoted(name) + ": "
    }

    /// A function name after `Module.`: bare when a call could use it as written.
    static func functionName(_ name: Atom) -> String {
        let text = name.name
        if let first = text.utf8.first, !(0x41...0x5A).contains(first), isIdentifierAtom(text) { return text }
        if bareOperators.contains(text) { return text }
        return quoted(text)
    }

    /// The atoms that make a proper list a keyword list, or `nil`: every element a pair whose
    /// first element is an atom that is not an alias (`[{Foo, 1}]` stays a list of tuples).
    static func keywordKeys(_ elements: [Term]) -> [Atom]? {
        if elements.isEmpty { return nil }
        var keys: [Atom] = []
        keys.reserveCapacity(elements.count)
        for element in elements {
            guard case .tuple(let pair) = element, pair.count == 2, case .atom(let key) = pair[0],
                !key.name.hasPrefix("Elixir."), !tooLongForElixirSource(key.name)
            else { return nil }
            keys.append(key)
        }
        return keys
    }

    // MARK: - Strings, charlists, binaries

    /// Code points `String.printable?/1` accepts (besides the escaped controls).
    static func isPrintable(_ c: UInt32) -> Bool {
        (0x20...0x7E).contains(c) || (0xA0...0xD7FF).contains(c) || (0xE000...0xFFFD).contains(c)
            || (0x10000...0x10FFFF).contains(c) || (0x07...0x0D).contains(c) || c == 0x1B || c == 0x7F
    }

    /// `List.ascii_printable?/1`: printable ASCII and the escaped controls.
    static func isASCIIPrintable(_ c: Int) -> Bool {
        (32...126).contains(c) || (7...13).contains(c) || c == 27
    }

    static func charlist(_ list: TermList, style: CharlistStyle) -> String? {
        if list.isEmpty { return nil }
        let quote: Character
        switch style {
        case .sigil: quote = "\""
        case .singleQuotes: quote = "'"
        }
        var out = quote == "'" ? "'" : "~c\""
        var previous: Unicode.Scalar? = nil
        for element in list.elements {
            guard case .integer(let c) = element, isASCIIPrintable(c) else { return nil }
            let scalar = Unicode.Scalar(UInt8(c))
            appendEscaped(scalar, after: previous, quote: quote, to: &out)
            previous = scalar
        }
        out.append(quote)
        return out
    }

    static func binary(_ binary: Binary) -> String {
        if let text = binary.utf8String, text.unicodeScalars.allSatisfy({ isPrintable($0.value) }) {
            return quoted(text)
        }
        return "<<" + binary.bytes.map { String($0) }.joined(separator: ", ") + ">>"
    }

    /// ``binary(_:)`` written a piece at a time (a large binary's text is several times its size).
    static func writeBinary(_ binary: Binary, into work: inout PrintWork) {
        if let text = binary.utf8String, text.unicodeScalars.allSatisfy({ isPrintable($0.value) }) {
            work.output += "\""
            var previous: Unicode.Scalar? = nil
            for (index, scalar) in text.unicodeScalars.enumerated() {
                appendEscaped(scalar, after: previous, quote: "\"", to: &work.output)
                previous = scalar
                if index & 0xFFF == 0 { work.flushIfLarge() }
            }
            work.output += "\""
            return
        }
        work.output += "<<"
        for (index, byte) in binary.bytes.enumerated() {
            if index > 0 { work.output += ", " }
            work.output += String(byte)
            if index & 0xFFF == 0 { work.flushIfLarge() }
        }
        work.output += ">>"
    }

    static func bitstring(_ bits: Bitstring) -> String {
        guard !bits.bytes.isEmpty else { return "<<>>" }
        var parts = bits.bytes.bytes.dropLast().map { String($0) }
        let last = TextHelpers.lastSegment(of: bits)
        parts.append("\(last.value)::size(\(last.size))")
        return "<<" + parts.joined(separator: ", ") + ">>"
    }

    /// Text in double quotes with Elixir escapes.
    static func quoted(_ text: String) -> String {
        var out = "\""
        var previous: Unicode.Scalar? = nil
        for scalar in text.unicodeScalars {
            appendEscaped(scalar, after: previous, quote: "\"", to: &out)
            previous = scalar
        }
        out += "\""
        return out
    }

    /// Appends one character of a string, charlist or quoted atom, escaped as `inspect` does.
    /// `#` is escaped only before `{`, where it would start an interpolation: `previous` is the
    /// character before this one, already written as a bare `#` when it was one.
    static func appendEscaped(
        _ scalar: Unicode.Scalar, after previous: Unicode.Scalar?, quote: Character, to out: inout String
    ) {
        switch scalar.value {
        case 0x00: out += "\\0"
        case 0x07: out += "\\a"
        case 0x08: out += "\\b"
        case 0x09: out += "\\t"
        case 0x0A: out += "\\n"
        case 0x0B: out += "\\v"
        case 0x0C: out += "\\f"
        case 0x0D: out += "\\r"
        case 0x1B: out += "\\e"
        case 0x7F: out += "\\d"
        case 0x5C: out += "\\\\"
        case 0xFEFF: out += "\\uFEFF"
        case let c where c < 0x20:
            out += "\\x" + TextHelpers.hex(c, minimumDigits: 2)
        case let c where (0x80...0x9F).contains(c):
            // `\x80` would be a byte, not the code point U+0080.
            out += "\\u" + TextHelpers.hex(c, minimumDigits: 4)
        case 0x7B where previous == "#":
            out.removeLast()
            out += "\\#{"
        default:
            if Character(scalar) == quote { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
    }

    private static func isASCIILetter(_ b: UInt8) -> Bool { (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
    private static func isASCIIWordCharacter(_ b: UInt8) -> Bool {
        isASCIILetter(b) || (0x30...0x39).contains(b) || b == 0x5F
    }
}
