// Text of integers beyond a machine word.

import BigInt

/// Decimal text for integers of up to ``decimalWordLimit`` words, base-16 text beyond. Decimal
/// conversion divides the whole number once per 19 digits (quadratic in its length: 200 KB of
/// input kept `beamsh decode` busy for minutes), while base 16 is one pass over its words. Both
/// languages read `16#FF` (Erlang) and `0xFF` (Elixir) back as the same integer, and a number of
/// more than 78,000 digits is not read by eye.
enum BigIntegerText {
    /// 4,096 64-bit words: 262,144 bits, 78,914 decimal digits, about 8 million word divisions.
    static let decimalWordLimit = 4096

    /// Decimal text, or nil when the integer is too long for it.
    static func decimal(_ value: BigInt) -> String? {
        value.magnitude.words.count <= decimalWordLimit ? value.description : nil
    }

    /// `prefix` then the magnitude in upper-case hexadecimal, a `-` first when negative.
    static func hex(_ value: BigInt, prefix: String) -> String {
        var digits: [UInt8] = []
        let words = value.magnitude.words
        digits.reserveCapacity(words.count * 16 + prefix.utf8.count + 1)
        if value.sign == .minus, !value.isZero { digits.append(UInt8(ascii: "-")) }
        digits.append(contentsOf: prefix.utf8)
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var leading = true
        for word in words.reversed() {
            for shift in stride(from: 60, through: 0, by: -4) {
                let nibble = Int((word >> UInt(shift)) & 0xF)
                if leading && nibble == 0 { continue }
                leading = false
                digits.append(hexDigits[nibble])
            }
        }
        if leading { digits.append(UInt8(ascii: "0")) }
        return String(decoding: digits, as: UTF8.self)
    }

    static func erlang(_ value: BigInt) -> String { decimal(value) ?? hex(value, prefix: "16#") }
    static func elixir(_ value: BigInt) -> String { decimal(value) ?? hex(value, prefix: "0x") }
}
