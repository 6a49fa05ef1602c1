// Node names: `alive@host`, split at the first `@` so IPv6 hosts (`app@fdaa::2`) work.
// Short names (a host without dots) and long names (an FQDN or IP address) never mix.

/// Whether a node uses short (`-sname`) or long (`-name`) names.
public enum NameMode: Sendable, Hashable, CustomStringConvertible {
    case short
    case long

    public var description: String { self == .short ? "short names (-sname)" : "long names (-name)" }
    /// As guessed from a host: a host without a dot may still be a `-name` node's (`x@localhost`).
    public var guessedDescription: String { self == .short ? "a short name (-sname; no dot in the host)" : "a long name (-name)" }
}

/// A distributed node's name.
public struct NodeName: Hashable, Sendable, CustomStringConvertible {
    /// The part before `@`.
    public let alive: String
    /// The part after `@`: a short host name, an FQDN, an IPv4 or an IPv6 address.
    public let host: String

    public var description: String { "\(alive)@\(host)" }

    /// The naming mode the host implies: IP addresses and names with dots are long names.
    public var mode: NameMode {
        if host.utf8.contains(UInt8(ascii: ":")) || host.utf8.contains(UInt8(ascii: ".")) { return .long }
        return .short
    }

    /// True when the host is an IPv6 address (the node runs `-proto_dist inet6_tcp`).
    public var isIPv6Address: Bool { host.utf8.contains(UInt8(ascii: ":")) }

    public init(alive: String, host: String) throws(NodeNameError) {
        guard !alive.isEmpty else { throw NodeNameError("node name has nothing before '@'") }
        guard !host.isEmpty else { throw NodeNameError("node name has nothing after '@'") }
        guard !host.utf8.contains(UInt8(ascii: "@")) else { throw NodeNameError("node name has more than one '@'") }
        // (A blank or a control character is no part of a host name: a stray space would otherwise read as a DNS failure.)
        guard !host.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw NodeNameError("the host '\(PeerText.printable(host, limit: 64))' has a blank or a control character in it")
        }
        guard alive.utf8.count + host.utf8.count < 255 else { throw NodeNameError("node name is longer than 255 bytes") }
        for scalar in alive.unicodeScalars where !Self.isAliveCharacter(scalar) {
            throw NodeNameError("'\(alive)' is not a valid node name: use letters, digits, '_' and '-'")
        }
        self.alive = alive
        self.host = host
    }

    /// Parses `alive@host`; a bare `alive` gets `defaultHost` (this machine's short name).
    public init(parsing text: String, defaultHost: @autoclosure () -> String = Host.shortName) throws(NodeNameError) {
        guard !text.isEmpty else { throw NodeNameError("the node name is empty") }
        if let at = text.firstIndex(of: "@") {
            try self.init(alive: String(text[..<at]), host: String(text[text.index(after: at)...]))
        } else {
            try self.init(alive: text, host: defaultHost())
        }
    }

    /// A unique name for this console: `beamsh_<pid>_<random>@<host>`, with a host that
    /// matches the target's naming mode so the target accepts us.
    public static func uniqueConsoleName(for target: NodeName, prefix: String = "beamsh") -> NodeName {
        let random = base36(UInt32.random(in: 0...UInt32.max))
        // Only characters valid in an alive part, so this cannot throw.
        return try! NodeName(alive: "\(prefix)_\(Host.processID)_\(random)", host: consoleHost(for: target))
    }

    /// This host as a name of `target`'s form: its short name, or for a long name its FQDN,
    /// else a loopback address of the target's family (any long name is accepted, and we are
    /// hidden and initiate, so nobody connects back).
    public static func consoleHost(for target: NodeName) -> String {
        switch target.mode {
        case .short: return Host.shortName
        case .long:
            let fqdn = Host.fullName
            return fqdn.utf8.contains(UInt8(ascii: ".")) ? fqdn : (target.isIPv6Address ? "::1" : "127.0.0.1")
        }
    }

    /// `value` in base 36 (digits, then lower-case letters). `String(_:radix:)` runs generic code
    /// whose first use costs runtime type lookups at every start-up.
    static func base36(_ value: UInt32) -> String {
        var digits: [UInt8] = []
        var rest = value
        repeat {
            let digit = UInt8(rest % 36)
            digits.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
            rest /= 36
        } while rest > 0
        digits.reverse()
        return String(decoding: digits, as: UTF8.self)
    }

    private static func isAliveCharacter(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-": return true
        default: return s.value > 127  // Erlang accepts UTF-8 names
        }
    }
}

public struct NodeNameError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
