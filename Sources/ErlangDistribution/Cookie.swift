// The shared secret. It is never printed: `description` and every error redact it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A distribution cookie. Printing it shows `<cookie redacted>`, never the value.
public struct Cookie: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The cookie's bytes, as `atom_to_list(Cookie)` gives them.
    let bytes: [UInt8]

    public init(_ value: String) { bytes = Array(value.utf8) }

    public var isEmpty: Bool { bytes.isEmpty }
    public var description: String { "<cookie redacted>" }
    public var debugDescription: String { "<cookie redacted>" }
}

/// Where the cookie came from: shown to the user in place of the value.
public enum CookieSource: Sendable, Hashable, CustomStringConvertible {
    case file(String)
    case environment(String)
    case commandLine
    case homeFile(String)

    public var description: String {
        switch self {
        case .file(let path): return "--cookie-file \(path)"
        case .environment(let name): return "$\(name)"
        case .commandLine: return "--cookie"
        case .homeFile(let path): return path
        }
    }
}

public struct CookieError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// Finds the cookie the way a release operator expects, first found wins:
/// `--cookie-file`, `RELEASE_COOKIE`, `--cookie`, `~/.erlang.cookie`.
public struct CookieResolver: Sendable {
    public var cookieFile: String?
    public var commandLineCookie: String?
    public var environment: [String: String]

    public init(cookieFile: String?, commandLineCookie: String?, environment: [String: String]) {
        self.cookieFile = cookieFile
        self.commandLineCookie = commandLineCookie
        self.environment = environment
    }

    /// The cookie, where it came from, and warnings for the user (never containing the value).
    public func resolve() throws(CookieError) -> (cookie: Cookie, source: CookieSource, warnings: [String]) {
        var warnings: [String] = []
        if let path = cookieFile {
            guard let text = Self.readFile(path) else { throw CookieError(description: "cannot read cookie file \(path)") }
            let value = Self.firstLine(text)
            guard !value.isEmpty else { throw CookieError(description: "cookie file \(path) is empty") }
            return (Cookie(value), .file(path), warnings)
        }
        if let value = environment["RELEASE_COOKIE"], !value.isEmpty {
            return (Cookie(value), .environment("RELEASE_COOKIE"), warnings)
        }
        if let value = commandLineCookie, !value.isEmpty {
            warnings.append("--cookie is visible to other users in the process list; prefer --cookie-file or RELEASE_COOKIE")
            return (Cookie(value), .commandLine, warnings)
        }
        let home = environment["HOME"] ?? ""
        let path = home + "/.erlang.cookie"
        if !home.isEmpty, let text = Self.readFile(path) {
            let value = Self.firstLine(text)
            if !value.isEmpty {
                var info = stat()
                if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
                    warnings.append("\(path) is readable by group or others; erl refuses such a file (chmod 400 \(path))")
                }
                return (Cookie(value), .homeFile(path), warnings)
            }
        }
        throw CookieError(description:
            "no cookie found; tried --cookie-file, $RELEASE_COOKIE, --cookie and \(home.isEmpty ? "~" : home)/.erlang.cookie")
    }

    private static func firstLine(_ text: String) -> String {
        String(text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first ?? "")
            .trimmingCharacters(in: " \t")
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
            if bytes.count > 1 << 20 { return nil }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s.removeFirst() }
        while let l = s.last, chars.contains(l) { s.removeLast() }
        return String(s)
    }
}
