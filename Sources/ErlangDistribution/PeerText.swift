// Text a peer chose (a node name in the handshake, EPMD's list of names), made safe to print:
// such text arrives before anyone is authenticated, so it must not drive the operator's
// terminal (escape sequences that retitle, clear or recolour it) nor flood a one-line error.

public enum PeerText {
    /// `text` with control characters written as escapes (`\e`, `\n`, `\x{9B}`), cut to `limit`
    /// characters with the length it had.
    public static func printable(_ text: String, limit: Int = 255) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                out += "…(\(text.utf8.count) bytes)"
                break
            }
            count += 1
            switch scalar {
            case "\u{1B}": out += "\\e"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            default:
                if Self.isHidden(scalar) {
                    out += "\\x{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Whether `text` prints as itself: nothing ``printable(_:limit:)`` would change.
    public static func isPlain(_ text: String, limit: Int = 255) -> Bool {
        text.unicodeScalars.count <= limit && text.unicodeScalars.allSatisfy { !isHidden($0) && $0 != "\\" }
    }

    /// Control characters, and the invisible ones that change how text around them shows
    /// (format characters: a right-to-left override, a zero-width space).
    static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.properties.generalCategory == .format
    }
}
