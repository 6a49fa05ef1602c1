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
    /// What the handshake hashes: `atom_to_list(Cookie)`, one byte per character
    /// (dist_util:gen_digest/2). A node under a UTF-8 locale reads `-setcookie café` (how a
    /// release passes `RELEASE_COOKIE`) as the characters `café`, so the bytes are Latin-1
    /// `caf\xE9`; under a C locale it reads the UTF-8 bytes, one character each: that is
    /// ``otherReading``, tried when the first is rejected. Beyond U+00FF only the second
    /// can work (`erlang:md5/1` fails on a larger character), so it is the only one.
    let bytes: [UInt8]
    /// The value as text is written (UTF-8), to recognise it in text.
    private let utf8: [UInt8]

    public init(_ value: String) {
        utf8 = Array(value.utf8)
        let scalars = value.unicodeScalars
        let latin1 = scalars.allSatisfy { $0.value <= 0xFF }
        bytes = latin1 ? scalars.map { UInt8($0.value) } : utf8
        hasOtherReading = latin1 && bytes != utf8
    }

    private init(digesting bytes: [UInt8], utf8: [UInt8]) {
        (self.bytes, self.utf8, hasOtherReading) = (bytes, utf8, false)
    }

    private let hasOtherReading: Bool

    /// For a cookie beyond ASCII, the same text as a node under a C locale reads it from
    /// `-setcookie`: its UTF-8 bytes, one character each (`café` is then 'cafÃ©'). nil for ASCII.
    public var otherReading: Cookie? { hasOtherReading ? Cookie(digesting: utf8, utf8: utf8) : nil }

    public var isEmpty: Bool { bytes.isEmpty }

    /// Whether `text` contains the cookie's value, in any letter case (for keeping it out of
    /// what is written down, such as the console's history: `String.upcase("..")` of it is it
    /// too), without handing the value out.
    public func appears(in text: String) -> Bool {
        func folded(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
        let needle = utf8.map(folded)
        let haystack = text.utf8.map(folded)
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
    public var description: String { "<cookie redacted>" }
    public var debugDescription: String { "<cookie redacted>" }
}

/// Where the cookie came from: shown to the user in place of the value.
public enum CookieSource: Sendable, Hashable, CustomStringConvertible {
    case file(String)
    case environment(String)
    case commandLine
    /// A release's cookie (bin/app's: its env.sh's `RELEASE_COOKIE`, else `releases/COOKIE`).
    case release(String)
    case homeFile(String)

    public var description: String {
        switch self {
        case .file(let path): return "--cookie-file \(path)"
        case .environment(let name): return "$\(name)"
        case .commandLine: return "--cookie"
        case .release(let origin): return origin
        case .homeFile(let path): return path
        }
    }
}

public struct CookieError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// Finds the cookie the way a release operator expects, first found wins:
/// `--cookie-file`, `RELEASE_COOKIE`, `--cookie`, a release's cookie, `~/.erlang.cookie`.
public struct CookieResolver: Sendable {
    public var cookieFile: String?
    public var commandLineCookie: String?
    public var environment: [String: String]
    /// The root of the release beamsh reads, if any; its `releases/COOKIE` with where it is
    /// (never the value); and the env.sh that set `RELEASE_COOKIE` in `environment`, if it did.
    public var releaseRoot: String?
    public var releaseCookie: (value: String, origin: String)?
    public var releaseCookieScript: String?
    /// Why the release's `releases/COOKIE`, which is there, could not be read: the cookie
    /// bin/app would use, so that is the error (not "no cookie found").
    public var releaseCookieProblem: String?

    public init(cookieFile: String?, commandLineCookie: String?, environment: [String: String],
                releaseRoot: String? = nil, releaseCookie: (value: String, origin: String)? = nil, releaseCookieScript: String? = nil,
                releaseCookieProblem: String? = nil) {
        self.cookieFile = cookieFile
        self.commandLineCookie = commandLineCookie
        self.environment = environment
        self.releaseRoot = releaseRoot
        self.releaseCookie = releaseCookie
        self.releaseCookieScript = releaseCookieScript
        self.releaseCookieProblem = releaseCookieProblem
    }

    /// The cookie, where it came from, and warnings for the user (never containing the value).
    public func resolve() throws(CookieError) -> (cookie: Cookie, source: CookieSource, warnings: [String]) {
        var warnings: [String] = []
        if let path = cookieFile {
            let text: String
            switch Self.readFile(path) {
            case .success(let t): text = t
            case .failure(let reason): throw CookieError(description: "cannot read cookie file \(path): \(reason)")
            }
            let value = Self.firstLine(text)
            guard !value.isEmpty else { throw CookieError(description: "cookie file \(path) is empty") }
            return (Cookie(value), .file(path), warnings)
        }
        if environment["RELEASE_COOKIE"] == "" {
            warnings.append("RELEASE_COOKIE is set but empty: ignored")
        }
        if let value = environment["RELEASE_COOKIE"], !value.isEmpty {
            if let given = commandLineCookie, !given.isEmpty {
                warnings.append("--cookie is ignored: RELEASE_COOKIE is set and comes first (unset it to use --cookie)")
            }
            return (Cookie(value), releaseCookieScript.map { .release("$RELEASE_COOKIE set by \($0)") } ?? .environment("RELEASE_COOKIE"), warnings)
        }
        if let value = commandLineCookie, !value.isEmpty {
            warnings.append("--cookie is visible to other users in the process list; prefer --cookie-file or RELEASE_COOKIE")
            return (Cookie(value), .commandLine, warnings)
        }
        if let releaseCookie {
            return (Cookie(releaseCookie.value), .release(releaseCookie.origin), warnings)
        }
        if let releaseCookieProblem { throw CookieError(description: releaseCookieProblem) }
        let home = environment["HOME"] ?? ""
        let path = home + "/.erlang.cookie"
        if !home.isEmpty, access(path, F_OK) == 0 {
            let text: String
            switch Self.readFile(path) {
            case .success(let t): text = t
            case .failure(let reason): throw CookieError(description: "cannot read \(path): \(reason)")
            }
            let value = Self.firstLine(text)
            if !value.isEmpty {
                var info = stat()
                if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
                    warnings.append("\(path) is readable by group or others; erl refuses such a file (chmod 400 \(path))")
                }
                return (Cookie(value), .homeFile(path), warnings)
            }
        }
        let release = environment["RELEASE_COOKIE"] == "" ? "$RELEASE_COOKIE (set but empty)" : "$RELEASE_COOKIE"
        throw CookieError(description:
            "no cookie found; tried --cookie-file, \(release), --cookie, \(releaseRoot.map { "the release's \($0)/releases/COOKIE, " } ?? "")and \(home.isEmpty ? "~" : home)/.erlang.cookie")
    }

    /// The first line without surrounding blanks. `isNewline`, not a comparison with "\n": a
    /// file written on Windows ends its line with "\r\n", which Swift reads as one character.
    static func firstLine(_ text: String) -> String {
        String(text.split(whereSeparator: \.isNewline).first ?? "")
            .trimmingCharacters(in: " \t")
    }

    /// The file's text, or why it cannot be read.
    private static func readFile(_ path: String) -> Result<String, CookieFileProblem> {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { return .failure(CookieFileProblem("it is a directory")) }
        guard let file = fopen(path, "r") else { return .failure(CookieFileProblem(String(cString: strerror(errno)))) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
            if bytes.count > 1 << 20 { return .failure(CookieFileProblem("larger than 1 MiB, not a cookie")) }
        }
        if ferror(file) != 0 { return .failure(CookieFileProblem(String(cString: strerror(errno)))) }
        return .success(String(decoding: bytes, as: UTF8.self))
    }
}

/// Why a cookie file could not be read (never its content).
struct CookieFileProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
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
