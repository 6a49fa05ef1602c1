// Small, local helpers for the cluster views: plain-text tables, human sizes and durations,
// a minimal JSON writer, and term accessors. The full term formatters (ElixirFormatter,
// ErlangFormatter, TermJSON) live in ErlangTerm once merged; these only cover what the views
// print, so the views never depend on them.

import ErlangTerm

// MARK: - Text tables

/// A left-aligned plain-text table; numeric columns can be right-aligned.
public struct TextTable: Sendable {
    public var header: [String]
    public var rows: [[String]] = []
    /// Column indexes aligned to the right (numbers).
    public var rightAligned: Set<Int> = []

    public init(header: [String], rightAligned: Set<Int> = []) {
        self.header = header
        self.rightAligned = rightAligned
    }

    public mutating func add(_ row: [String]) { rows.append(row) }

    /// How a table too wide for the terminal gives way, one step at a time until it fits.
    public enum Narrowing: Sendable, Equatable {
        /// The column goes, whole.
        case drop(Int)
        /// The text column's cells are cut to fit, down to `minimum` characters, ending in "…".
        case shrink(Int, minimum: Int)
    }

    /// The table as lines joined by newlines, without a trailing newline.
    /// - parameters:
    ///   - maxWidth: the terminal's width, or nil (no limit).
    ///   - narrowing: what may give way when the table is wider than `maxWidth`, in order. Before
    ///     any step, and after each, the last column, if it is text (left-aligned), may lose its
    ///     tail at the line's end while `lastMinimum` characters of it still show. Cells of the
    ///     other columns are never cut mid-way (a cut number reads as another number); only when
    ///     every step is spent are the lines cut at `maxWidth`.
    public func render(maxWidth: Int? = nil, narrowing: [Narrowing] = [], lastMinimum: Int = 10) -> String {
        let all = [header] + rows
        // Each cell's width once: a cluster's link matrix has a cell per pair of nodes.
        let cellWidths = all.map { $0.map(Self.width) }
        var natural = [Int](repeating: 0, count: header.count)
        for row in cellWidths {
            for (i, w) in row.enumerated() where i < natural.count { natural[i] = max(natural[i], w) }
        }
        var visible = Array(natural.indices)
        var widths = natural
        if let maxWidth {
            var steps = narrowing[...]
            while true {
                let total = visible.reduce(0) { $0 + widths[$1] } + 2 * max(0, visible.count - 1)
                let excess = total - maxWidth
                if excess <= 0 { break }
                if let last = visible.last, !rightAligned.contains(last), widths[last] - excess >= min(lastMinimum, widths[last]) {
                    break  // the line's end cuts the last column's tail
                }
                guard let step = steps.popFirst() else { break }
                switch step {
                case .drop(let column):
                    visible.removeAll { $0 == column }
                case .shrink(let column, let minimum):
                    if visible.contains(column) { widths[column] = min(widths[column], max(minimum, widths[column] - excess)) }
                }
            }
        }
        let rightAlignedVisible = visible.map { rightAligned.contains($0) }
        // Lines are built as bytes: a cluster's link matrix is a cell per pair of nodes.
        var out: [UInt8] = []
        for (r, (row, rowWidths)) in zip(all, cellWidths).enumerated() {
            if r > 0 { out.append(UInt8(ascii: "\n")) }
            let lineStart = out.count
            var lineWidth = 0
            for (position, i) in visible.enumerated() where i < row.count {
                var cell = row[i]
                var cellWidth = rowWidths[i]
                if cellWidth > widths[i] {
                    cell = Self.prefix(cell, columns: max(0, widths[i] - 1)) + "…"
                    cellWidth = Self.width(cell)
                }
                let pad = max(0, widths[i] - cellWidth)
                let last = position == visible.count - 1
                if position > 0 { out.append(contentsOf: [0x20, 0x20]); lineWidth += 2 }
                if rightAlignedVisible[position] {
                    out.append(contentsOf: repeatElement(0x20, count: pad))
                    out.append(contentsOf: cell.utf8)
                    lineWidth += pad + cellWidth
                } else {
                    out.append(contentsOf: cell.utf8)
                    lineWidth += cellWidth
                    if !last {
                        out.append(contentsOf: repeatElement(0x20, count: pad))
                        lineWidth += pad
                    }
                }
            }
            if let maxWidth, lineWidth > maxWidth {
                let line = String(decoding: out[lineStart...], as: UTF8.self)
                out.removeSubrange(lineStart...)
                out.append(contentsOf: Self.prefix(line, columns: maxWidth).utf8)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Terminal columns a cell takes: its byte count when ASCII (almost every cell), else the
    /// columns of its characters (grapheme clusters), two for a wide one.
    static func width(_ cell: String) -> Int {
        cell.utf8.allSatisfy { $0 < 0x80 } ? cell.utf8.count : cell.reduce(0) { $0 + columns($1) }
    }

    /// `text` in lines of at most `width` columns, broken at blanks (a word longer than the
    /// width stands alone on its line).
    static func wrappingWords(_ text: String, width: Int) -> [String] {
        guard Self.width(text) > width else { return [text] }
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if line.isEmpty {
                line = String(word)
            } else if Self.width(line) + 1 + Self.width(String(word)) <= width {
                line += " " + word
            } else {
                lines.append(line)
                line = String(word)
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// The longest start of `text` that takes at most `columns` terminal columns.
    static func prefix(_ text: String, columns limit: Int) -> String {
        var used = 0
        var end = text.startIndex
        for (index, character) in zip(text.indices, text) {
            used += columns(character)
            if used > limit { break }
            end = text.index(after: index)
        }
        return String(text[..<end])
    }

    /// Terminal columns a character takes: two for East Asian wide and fullwidth characters and
    /// emoji shown as such (Unicode's East Asian Width W and F, as terminals draw them), else one.
    static func columns(_ character: Character) -> Int {
        guard let first = character.unicodeScalars.first, first.value >= 0x1100 else { return 1 }
        if first.properties.isEmojiPresentation { return 2 }
        switch first.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
             0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
             0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }
}

// MARK: - Human units

public enum Human {
    /// 1536 → "1.5 KiB".
    public static func bytes(_ value: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(value)
        var unit = 0
        while v >= 1024, unit < units.count - 1 {
            v /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : "\(fixed(v, v < 10 ? 1 : 0)) \(units[unit])"
    }

    /// Milliseconds → "3d 4h", "2h 5m", "4m 10s", "12s".
    public static func uptime(milliseconds: Int) -> String {
        let s = milliseconds / 1000
        let (d, h, m) = (s / 86400, s % 86400 / 3600, s % 3600 / 60)
        if d > 0 { return "\(d)d \(h)h" }
        if h > 0 { return "\(h)h \(m)m" }
        if m > 0 { return "\(m)m \(s % 60)s" }
        return "\(s)s"
    }

    /// "2.0 s"; under a second in milliseconds ("1.0 ms", not "0.0 s").
    public static func seconds(_ duration: Duration) -> String {
        seconds(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    public static func seconds(_ s: Double) -> String {
        s >= 0.9995 || s == 0 ? "\(fixed(s, 1)) s" : "\(fixed(s * 1000, s < 0.01 ? 1 : 0)) ms"
    }

    /// A duration in milliseconds with one decimal: "12.3 ms".
    public static func milliseconds(_ duration: Duration) -> String {
        let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return "\(fixed(ms, 1)) ms"
    }

    /// 1234567 → "1,234,567".
    public static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return value < 0 ? "-" + out : out
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals == 0 { return String(Int(rounded)) }
        let whole = Int(rounded.rounded(.towardZero))
        let fraction = Int(((abs(rounded) - Double(abs(whole))) * scale).rounded())
        let sign = rounded < 0 && whole == 0 ? "-" : ""
        let fractionText = String(fraction)
        return sign + String(whole) + "." + String(repeating: "0", count: max(0, decimals - fractionText.count)) + fractionText
    }
}

// MARK: - JSON

/// A minimal JSON value and writer for `--format json`. (A seam for ErlangTerm's TermJSON:
/// the views build these values from facts they already decoded, never from raw terms.)
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    /// Keys keep their order.
    case object([(String, JSONValue)])
    /// JSON text made elsewhere (a term's JSON mapping, ``TermJSON``), written as it is.
    case raw(String)

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.serialized() == rhs.serialized() }

    /// Compact JSON text.
    public func serialized() -> String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += String(n)
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .string(let s): Self.quote(s, into: &out)
        case .raw(let text): out += text
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension JSONValue {
    init(_ text: String?) { self = text.map { .string($0) } ?? .null }
    init(_ number: Int?) { self = number.map { .number($0) } ?? .null }
}

// MARK: - Terms

extension Term {
    /// `{Key, Value}` pairs of a proplist as a dictionary keyed by atom name.
    var proplist: [String: Term] {
        var out: [String: Term] = [:]
        for item in listElements ?? [] {
            if let pair = item.tupleElements, pair.count == 2, let key = pair[0].atomValue { out[key.name] = pair[1] }
        }
        return out
    }

    /// `<0.123.0>` as the node itself prints its own pids.
    static func localPidText(_ pid: Pid) -> String { "<0.\(pid.id).\(pid.serial)>" }

    /// A short, plain rendering for table cells: atoms, integers, strings, `M:F/A`, pids.
    var cellText: String {
        switch self {
        case .atom(let a): return a.name
        case .integer(let i): return String(i)
        case .bigInteger(let b): return String(b)
        case .float(let d): return "\(d)"
        case .pid(let p): return Term.localPidText(p)
        case .binary(let b): return b.utf8String ?? "<<binary>>"
        case .tuple(let t):
            if t.count == 3, let m = t[0].atomValue, let f = t[1].atomValue, let a = t[2].intValue {
                return Self.mfaText(m, f, a)
            }
            return "{" + t.elements.map(\.cellText).joined(separator: ",") + "}"
        case .list:
            if let s = stringValue, !s.isEmpty { return s }
            return "[" + (listElements ?? []).map(\.cellText).joined(separator: ",") + "]"
        default: return "\(self)"
        }
    }

    /// `Elixir.Foo`'s `bar/1` as `Foo.bar/1`, `gen_server:loop/7` as is.
    static func mfaText(_ module: Atom, _ function: Atom, _ arity: Int) -> String {
        if module.name.hasPrefix("Elixir.") { return "\(module.name.dropFirst(7)).\(function.name)/\(arity)" }
        return "\(module.name):\(function.name)/\(arity)"
    }
}
