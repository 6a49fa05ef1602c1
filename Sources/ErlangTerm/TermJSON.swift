// A JSON rendering of terms for scripts (`beamsh --format json`, `beamsh decode --json`).

/// Renders terms as JSON for scripting. The mapping is lossy where JSON has no matching type,
/// and tags every such case with a `$`-key object so scripts can tell them apart:
///
/// | term | JSON |
/// |---|---|
/// | integer, bignum | number (`12345678901234567890` stays exact in the text) |
/// | bignum of more than 78,914 digits | `{"$bigint": "0x1F..."}` (base 16: see ``BigIntegerText``) |
/// | float | number, shortest round-trip form (`0.1`, `1.0e-5`) |
/// | `true`, `false` | `true`, `false` |
/// | `nil` | `null` |
/// | other atom | string (`:ok` → `"ok"`) |
/// | printable UTF-8 binary | string |
/// | other binary | `{"$binary": "<base64>"}` |
/// | bitstring | `{"$bitstring": "<base64>", "bits": 3}` (bits used in the last byte) |
/// | proper list (a charlist too) | array (`'abc'` → `[97, 98, 99]`) |
/// | improper list | `{"$improper_list": [1, 2], "tail": 3}` |
/// | tuple | `{"$tuple": [...]}` |
/// | map with atom or printable binary keys, unique as strings, none a tag below (`"$tuple"`...) | object |
/// | any other map | `{"$map": [[key, value], ...]}` |
/// | pid | `{"$pid": "<0.85.0>", "node": "app@host"}` |
/// | port | `{"$port": "#Port<0.5>", "node": "app@host"}` |
/// | reference | `{"$ref": "#Ref<0.1.2.3>", "node": "app@host"}` |
/// | local fun | `{"$fun": "#Fun<m.1.2>", "module": "m", "arity": 1}` |
/// | export fun | `{"$fun": "fun m:f/1", "module": "m", "function": "f", "arity": 1}` |
///
/// The identifier texts are ``ErlangFormatter``'s (so a pid of another node than
/// ``Options/localNode`` shows that node's name). Strings are escaped as RFC 8259 requires;
/// characters beyond ASCII are written as UTF-8. Rendering is iterative, so any depth works;
/// pretty output indents by two spaces per level up to ``maxIndentLevels`` levels, and no
/// further: deeper levels line up with that one, so the output of a deep term stays linear in
/// its size (a term 100,000 levels deep would otherwise take gigabytes of spaces).
public struct TermJSON: Sendable {
    /// The deepest level pretty output indents further (see the type's discussion).
    public static let maxIndentLevels = 64

    /// How JSON is written.
    public struct Options: Sendable {
        /// Line breaks and two-space indentation instead of the compact form.
        public var pretty: Bool = false
        /// The node whose identifiers print with a leading `0`.
        public var localNode: Atom = "nonode@nohost"
        public init() {}
    }

    public var options: Options

    public init(options: Options = Options()) { self.options = options }

    /// The term as JSON text.
    public func encode(_ term: Term) -> String {
        var writer = Writer(options: options)
        return writer.run(term)
    }

    /// The same document handed to `sink` in pieces as it is made (about 64 KB each), so that a
    /// huge term is written without its whole text in memory.
    public func encode(_ term: Term, to sink: (String) -> Void) {
        withoutActuallyEscaping(sink) { sink in
            var writer = Writer(options: options)
            writer.sink = sink
            _ = writer.run(term)
        }
    }
}

// MARK: - Writer

extension TermJSON {
    private enum Value {
        case term(Term)
        case array([Term])
        case raw(String)
    }

    private enum Step {
        case value(Value, depth: Int)
        case text(String)
        /// A closing bracket, on a line of its own at `depth` when pretty. (The line's text is
        /// made when written: kept for each open level, it took half a kilobyte per level.)
        case close(Character, depth: Int)
        /// A member's key: after a comma unless first, on a new line at `depth` when pretty.
        case key(String, first: Bool, depth: Int)
        /// An array's elements from `index` on: one step for the rest, not one per element.
        case elements([Term], index: Int, depth: Int)
    }

    private struct Writer {
        let options: Options
        var output = ""
        var steps: [Step] = []
        var sink: ((String) -> Void)?

        init(options: Options) { self.options = options }

        mutating func run(_ root: Term) -> String {
            steps.append(.value(.term(root), depth: 0))
            while let step = steps.popLast() {
                switch step {
                case .text(let text): output += text
                case .close(let bracket, let depth):
                    appendNewline(depth)
                    output.append(bracket)
                case .key(let key, let first, let depth):
                    if !first { output += "," }
                    appendNewline(depth)
                    output += TermJSON.quote(key)
                    output += options.pretty ? ": " : ":"
                case .value(let value, let depth): write(value, depth: depth)
                case .elements(let elements, let index, let depth):
                    if index > 0 { output += "," }
                    appendNewline(depth + 1)
                    if index + 1 < elements.count { steps.append(.elements(elements, index: index + 1, depth: depth)) }
                    write(.term(elements[index]), depth: depth + 1)
                }
                flushIfLarge()
            }
            if let sink, !output.isEmpty {
                sink(output)
                output = ""
            }
            return output
        }

        mutating func flushIfLarge() {
            guard let sink, output.utf8.count >= PrintWork.sinkPiece else { return }
            sink(output)
            output = ""
            output.reserveCapacity(PrintWork.sinkPiece * 2)
        }

        /// `text` quoted as a JSON string, written a piece at a time.
        mutating func writeQuoted<S: Sequence>(_ scalars: S) where S.Element == Unicode.Scalar {
            output += "\""
            var count = 0
            for scalar in scalars {
                TermJSON.appendQuoted(scalar, to: &output)
                count += 1
                if count & 0xFFF == 0 { flushIfLarge() }
            }
            output += "\""
        }

        private func newline(_ depth: Int) -> String {
            options.pretty ? "\n" + String(repeating: "  ", count: min(depth, TermJSON.maxIndentLevels)) : ""
        }

        private static let indentation = String(repeating: " ", count: 2 * TermJSON.maxIndentLevels)

        /// ``newline(_:)`` written straight into the output.
        private mutating func appendNewline(_ depth: Int) {
            guard options.pretty else { return }
            output += "\n"
            output.append(contentsOf: Self.indentation.prefix(2 * min(depth, TermJSON.maxIndentLevels)))
        }

        private mutating func write(_ value: Value, depth: Int) {
            switch value {
            case .raw(let text): output += text
            case .array(let elements): array(elements, depth: depth)
            case .term(let term): write(term, depth: depth)
            }
        }

        private mutating func array(_ elements: [Term], depth: Int) {
            guard !elements.isEmpty else {
                output += "[]"
                return
            }
            output += "["
            steps.append(.close("]", depth: depth))
            steps.append(.elements(elements, index: 0, depth: depth))
        }

        private mutating func object(_ members: [(key: String, value: Value)], depth: Int) {
            guard !members.isEmpty else {
                output += "{}"
                return
            }
            output += "{"
            steps.append(.close("}", depth: depth))
            var index = members.count - 1
            while index >= 0 {
                steps.append(.value(members[index].value, depth: depth + 1))
                steps.append(.key(members[index].key, first: index == 0, depth: depth + 1))
                index -= 1
            }
        }

        private func identifier(_ term: Term) -> String {
            ErlangFormatter(options: { var o = ErlangFormatter.Options(); o.localNode = options.localNode; return o }())
                .format(term)
        }

        private mutating func write(_ term: Term, depth: Int) {
            switch term {
            case .integer(let value):
                output += String(value)
            case .bigInteger(let value):
                // A number beyond 78,914 digits is a tagged base-16 string: decimal text would
                // take time quadratic in its length (BigIntegerText).
                if let decimal = BigIntegerText.decimal(value) {
                    output += decimal
                } else {
                    output += "{\"$bigint\":" + TermJSON.quote(BigIntegerText.hex(value, prefix: "0x")) + "}"
                }
            case .float(let value):
                output += FloatText.erlang(value)
            case .atom(let atom):
                switch atom {
                case .true: output += "true"
                case .false: output += "false"
                case .nil: output += "null"
                default: output += TermJSON.quote(atom.name)
                }
            case .binary(let binary) where binary.count > PrintWork.sinkPiece && sink != nil:
                if let text = TermJSON.printableText(binary) {
                    writeQuoted(text.unicodeScalars)
                } else {
                    // {"$binary": "<base64>"}, the base64 written a piece at a time.
                    output += options.pretty ? "{" + newline(depth + 1) + "\"$binary\": " : "{\"$binary\":"
                    writeQuoted(Base64.encode(binary.bytes).unicodeScalars)
                    output += newline(depth) + "}"
                }
            case .binary(let binary):
                if let text = TermJSON.printableText(binary) {
                    output += TermJSON.quote(text)
                } else {
                    object([("$binary", .raw(TermJSON.quote(Base64.encode(binary.bytes))))], depth: depth)
                }
            case .bitstring(let bits):
                object(
                    [("$bitstring", .raw(TermJSON.quote(Base64.encode(bits.bytes.bytes)))),
                     ("bits", .raw(String(bits.bitsInLastByte)))], depth: depth)
            case .list(let list):
                if let tail = list.tail {
                    object([("$improper_list", .array(list.elements)), ("tail", .term(tail))], depth: depth)
                } else {
                    array(list.elements, depth: depth)
                }
            case .tuple(let tuple):
                object([("$tuple", .array(tuple.elements))], depth: depth)
            case .map(let map):
                if let keys = TermJSON.objectKeys(map) {
                    object(zip(keys, map).map { ($0, .term($1.value)) }, depth: depth)
                } else {
                    let pairs = map.map { Term.list([$0.key, $0.value]) }
                    object([("$map", .array(pairs))], depth: depth)
                }
            case .pid(let pid):
                object([("$pid", .raw(TermJSON.quote(identifier(term)))), ("node", .raw(TermJSON.quote(pid.node.name)))],
                       depth: depth)
            case .port(let port):
                object([("$port", .raw(TermJSON.quote(identifier(term)))), ("node", .raw(TermJSON.quote(port.node.name)))],
                       depth: depth)
            case .reference(let reference):
                object([("$ref", .raw(TermJSON.quote(identifier(term)))),
                        ("node", .raw(TermJSON.quote(reference.node.name)))], depth: depth)
            case .fun(let fun):
                object([("$fun", .raw(TermJSON.quote(identifier(term)))), ("module", .raw(TermJSON.quote(fun.module.name))),
                        ("arity", .raw(String(fun.arity)))], depth: depth)
            case .export(let export):
                object([("$fun", .raw(TermJSON.quote(identifier(term)))),
                        ("module", .raw(TermJSON.quote(export.module.name))),
                        ("function", .raw(TermJSON.quote(export.function.name))),
                        ("arity", .raw(String(export.arity)))], depth: depth)
            }
        }
    }

    /// The binary's text when it is valid UTF-8 made of printable characters (as Elixir's
    /// `String.printable?/1` decides), else `nil`.
    static func printableText(_ binary: Binary) -> String? {
        guard let text = binary.utf8String,
            text.unicodeScalars.allSatisfy({ ElixirFormatter.isPrintable($0.value) })
        else { return nil }
        return text
    }

    /// The keys that mark a tagged object: a map with one of them as a key is written as
    /// `{"$map": ...}`, so `%{"$tuple" => [1]}` is never read back as the tuple `{1}`.
    static let tags: Set<String> = ["$binary", "$bitstring", "$improper_list", "$tuple", "$map", "$pid", "$port", "$ref", "$fun", "$bigint"]

    /// Object keys for a map whose keys are all atoms or printable binaries, distinct as
    /// strings (`:a` and `"a"` in one map would collide) and none a tag's; else `nil`.
    static func objectKeys(_ map: TermMap) -> [String]? {
        var keys: [String] = []
        keys.reserveCapacity(map.count)
        var seen = Set<String>()
        for pair in map {
            let key: String
            switch pair.key {
            case .atom(let atom): key = atom.name
            case .binary(let binary):
                guard let text = printableText(binary) else { return nil }
                key = text
            default: return nil
            }
            guard !tags.contains(key), seen.insert(key).inserted else { return nil }
            keys.append(key)
        }
        return keys
    }

    /// A JSON string literal (RFC 8259 §7).
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars { appendQuoted(scalar, to: &out) }
        out += "\""
        return out
    }

    /// One character of a JSON string, escaped where JSON needs it.
    static func appendQuoted(_ scalar: Unicode.Scalar, to out: inout String) {
        switch scalar.value {
        case 0x22: out += "\\\""
        case 0x5C: out += "\\\\"
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out += "\\t"
        case 0x08: out += "\\b"
        case 0x0C: out += "\\f"
        case let c where c < 0x20 || c == 0x7F:
            out += "\\u" + TextHelpers.hex(c, minimumDigits: 4)
        default:
            out.unicodeScalars.append(scalar)
        }
    }
}

// MARK: - Base64

/// Standard base64 with padding (RFC 4648 §4); ErlangTerm has no Foundation.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let remaining = bytes.endIndex - index
            let b0 = bytes[index]
            let b1 = remaining > 1 ? bytes[index + 1] : 0
            let b2 = remaining > 2 ? bytes[index + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(remaining > 1 ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(remaining > 2 ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
