// Which lines the console remembers: never blank lines, never the line just recorded again,
// and never anything that looks like it carries a cookie.

// MARK: - Filtering

extension LineEditor {
    /// Whether `line` should be recorded in the history, given the entry recorded just before it.
    ///
    /// A line is skipped when it is blank (only whitespace), when it equals `previous`, or when
    /// ``isLikelySecret(_:)`` says it may carry a cookie.
    ///
    /// - parameters:
    ///   - line: the line as read, without its newline.
    ///   - previous: the newest history entry, if any.
    /// - returns: `true` when the line should be stored.
    public static func shouldRecord(_ line: String, previous: String?) -> Bool {
        // A pasted data blob is not worth recalling, and every session rewrites the shared file.
        if line.utf8.count > maxEntryBytes { return false }
        if line.allSatisfy(\.isWhitespace) { return false }
        if line == previous { return false }
        return !isLikelySecret(line)
    }

    /// The longest line kept in the history, in bytes.
    public static let maxEntryBytes = 4096

    /// Whether `line` looks like it contains a distribution cookie or sets one.
    ///
    /// Matches, case-insensitively: `--cookie` and `-setcookie` command-line options,
    /// `set_cookie`/`setcookie` calls (`Node.set_cookie(...)`, `erlang:set_cookie(...)`), and any word
    /// containing `cookie` that is followed by an assignment or a key separator: `RELEASE_COOKIE=...`,
    /// `cookie = "..."`, `cookie: :abc`, `"cookie" => ...`. Reading a cookie (`Node.get_cookie`) or
    /// comparing one (`cookie == x`) is not a secret.
    ///
    /// The rule errs on the side of not recording: a false positive only costs a history entry.
    public static func isLikelySecret(_ line: String) -> Bool {
        let lowered = Array(line.lowercased().utf8)
        for marker in ["--cookie", "-setcookie", "set_cookie", "setcookie"] where contains(lowered, Array(marker.utf8)) {
            return true
        }
        let cookie = Array("cookie".utf8)
        var start = 0
        while let found = firstIndex(of: cookie, in: lowered, from: start) {
            if isAssignment(after: found + cookie.count, in: lowered) { return true }
            start = found + 1
        }
        return false
    }

    /// After a `cookie` match: the rest of the identifier, an optional closing quote, blanks, then
    /// `=` (not `==` or `=~`), `=>`, or `:` (not `::`).
    private static func isAssignment(after index: Int, in bytes: [UInt8]) -> Bool {
        var i = index
        while i < bytes.count, isIdentifierByte(bytes[i]) { i += 1 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") { i += 1 }
        while i < bytes.count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 }
        guard i < bytes.count else { return false }
        let next: UInt8? = i + 1 < bytes.count ? bytes[i + 1] : nil
        switch bytes[i] {
        case UInt8(ascii: "="):
            return next != UInt8(ascii: "=") && next != UInt8(ascii: "~")
        case UInt8(ascii: ":"):
            return next != UInt8(ascii: ":")
        default:
            return false
        }
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "_")
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        firstIndex(of: needle, in: haystack, from: 0) != nil
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        var i = start
        while i + needle.count <= haystack.count {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
