// Floats in the shortest text that reads back to the same value, written the way the BEAM
// writes them (`io_lib_format:fwrite_g/1`, used by `~p`, `float_to_list(F, [short])` and
// Elixir's `Float.to_string/1`).

/// The shortest decimal digits of a finite double and where its decimal point goes.
struct ShortestDecimal {
    /// Significant digits, no leading or trailing zeros; empty for zero.
    var digits: [UInt8]
    /// The value is `0.<digits> × 10^pointPosition`.
    var pointPosition: Int
    var isNegative: Bool

    /// Swift's `description` already produces the shortest round-trip digits (as the BEAM
    /// does); only its layout (`1e-05`, `1.2345e+16`) differs, so take the digits apart.
    init(_ value: Double) {
        precondition(value.isFinite, "the BEAM has no NaN or infinite floats")
        isNegative = value.sign == .minus
        let text = value.magnitude.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var digits: [UInt8] = []
        var integerDigits = 0
        var seenPoint = false
        for c in mantissa.utf8 {
            if c == UInt8(ascii: ".") {
                seenPoint = true
                continue
            }
            digits.append(c)
            if !seenPoint { integerDigits += 1 }
        }
        var point = integerDigits + exponent
        var start = 0
        while start < digits.count, digits[start] == UInt8(ascii: "0") {
            start += 1
            point -= 1
        }
        var end = digits.count
        while end > start, digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
        self.digits = Array(digits[start..<end])
        self.pointPosition = self.digits.isEmpty ? 0 : point
    }
}

enum FloatText {
    /// `~p` / `float_to_list(F, [short])`: plain notation unless scientific is strictly
    /// shorter, and always scientific for integral values at or above 2^53 (where plain
    /// digits would suggest a precision the double does not have).
    static func erlang(_ value: Double) -> String {
        let d = ShortestDecimal(value)
        let sign = d.isNegative ? "-" : ""
        if d.digits.isEmpty { return sign + "0.0" }
        let digits = String(decoding: d.digits, as: UTF8.self)
        let count = d.digits.count
        let place = d.pointPosition
        if place > 0 && place < count {
            let split = digits.index(digits.startIndex, offsetBy: place)
            return sign + digits[..<split] + "." + digits[split...]
        }
        let scientific = scientificText(digits, exponent: place - 1)
        let plain: String
        if place <= 0 {
            plain = "0." + String(repeating: "0", count: -place) + digits
        } else {
            if value.magnitude >= 9_007_199_254_740_992.0 { return sign + scientific }
            plain = digits + String(repeating: "0", count: place - count) + ".0"
        }
        return sign + (plain.utf8.count <= scientific.utf8.count ? plain : scientific)
    }

    /// Elixir's `inspect/2` (1.14): integral values in [1, 1e16) as plain digits with `.0`,
    /// everything else as ``erlang(_:)``.
    static func elixir(_ value: Double) -> String {
        let magnitude = value.magnitude
        if magnitude >= 1, magnitude < 1e16, magnitude.rounded(.towardZero) == magnitude {
            // Exact: every integer below 1e16 that a double holds fits an Int64.
            return String(Int64(value)) + ".0"
        }
        return erlang(value)
    }

    private static func scientificText(_ digits: String, exponent: Int) -> String {
        let first = digits.prefix(1)
        let rest = digits.dropFirst()
        return first + "." + (rest.isEmpty ? "0" : rest) + "e" + String(exponent)
    }
}
