// EPMD requests and replies (erl_dist_protocol, "EPMD Protocol"). Pure: bytes in, values out.

/// What EPMD knows about a registered node (PORT2_RESP).
public struct EPMDNodeInfo: Hashable, Sendable {
    public let port: Int
    /// 77 normal, 72 hidden.
    public let nodeType: UInt8
    /// 0 is TCP over IPv4 in the spec, but OTP registers 0 for inet6 too.
    public let transportProtocol: UInt8
    public let highestVersion: Int
    public let lowestVersion: Int
    public let alive: String
    public let extra: [UInt8]
}

/// One line of an EPMD NAMES reply.
public struct EPMDRegistration: Hashable, Sendable {
    public let alive: String
    public let port: Int
}

public struct EPMDError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case unreachable
        case notRegistered
        case malformedReply
        case timeout
    }
    public let kind: Kind
    public let description: String

    init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

public enum EPMDMessages {
    static let portPlease2Request: UInt8 = 122
    static let port2Response: UInt8 = 119
    static let namesRequestTag: UInt8 = 110

    /// PORT_PLEASE2_REQ for `alive`, framed with its 2-byte length.
    public static func portPleaseRequest(alive: String) -> [UInt8] {
        framed([portPlease2Request] + Array(alive.utf8))
    }

    /// NAMES_REQ, framed.
    public static func namesRequest() -> [UInt8] { framed([namesRequestTag]) }

    /// The first bytes of a reply that is not EPMD's, as text when they are printable ASCII (an
    /// HTTP server's `HTTP/1.1`), else as numbers.
    static func describeStart(of reply: [UInt8]) -> String {
        let start = reply.prefix(16)
        if start.isEmpty { return "it is empty" }
        if start.allSatisfy({ (0x20...0x7E).contains($0) }) {
            return "it starts with \"\(String(decoding: start, as: UTF8.self))\""
        }
        return "it starts with bytes \(Array(start.prefix(8)))"
    }

    /// The most a NAMES reply may take: about 20,000 registrations of typical length (EPMD
    /// itself caps a name at 255 bytes, and a host holds tens of nodes).
    static let namesReplyLimit = 4 << 20
    /// PORT2_RESP's largest: two length-prefixed fields of at most 64 KiB each.
    static let portPleaseReplyLimit = 12 + 2 * 65_535 + 2

    /// Whether `reply` holds a whole PORT2_RESP: its fixed part, the name and the extra field
    /// by their lengths (or just the result, when it is an error). Something that is not a
    /// PORT2_RESP at all is as complete as it gets (the parse then says what it is).
    static func portPleaseReplyIsComplete(_ reply: [UInt8]) -> Bool {
        guard let tag = reply.first else { return false }
        guard tag == port2Response else { return true }
        guard reply.count >= 2 else { return false }
        if reply[1] != 0 { return true }
        guard reply.count >= 12 else { return false }
        let nameEnd = 12 + (Int(reply[10]) << 8 | Int(reply[11]))
        guard reply.count >= nameEnd + 2 else { return false }
        return reply.count >= nameEnd + 2 + (Int(reply[nameEnd]) << 8 | Int(reply[nameEnd + 1]))
    }

    /// Parses the whole reply to PORT_PLEASE2_REQ (EPMD closes after it).
    /// Returns nil when the node is not registered.
    public static func parsePortPleaseReply(_ reply: [UInt8]) throws(EPMDError) -> EPMDNodeInfo? {
        var reader = ByteReader(reply)
        guard let tag = reader.u8(), tag == port2Response, let result = reader.u8() else {
            throw EPMDError(.malformedReply, "the reply to PORT_PLEASE2 is not EPMD's (\(Self.describeStart(of: reply))): is this port EPMD's?")
        }
        if result != 0 { return nil }
        guard let port = reader.u16(), let type = reader.u8(), let proto = reader.u8(), let high = reader.u16(),
            let low = reader.u16(), let nameLength = reader.u16(), let name = reader.bytes(Int(nameLength))
        else { throw EPMDError(.malformedReply, "EPMD's PORT2_RESP is truncated") }
        var extra: [UInt8] = []
        if let extraLength = reader.u16(), let e = reader.bytes(Int(extraLength)) { extra = e }
        return EPMDNodeInfo(
            port: Int(port), nodeType: type, transportProtocol: proto, highestVersion: Int(high),
            lowestVersion: Int(low), alive: String(decoding: name, as: UTF8.self), extra: extra)
    }

    /// Parses the whole reply to NAMES_REQ: EPMD's port, then lines `name N at port P`.
    public static func parseNamesReply(_ reply: [UInt8]) throws(EPMDError) -> [EPMDRegistration] {
        guard reply.count >= 4 else { throw EPMDError(.malformedReply, "EPMD's NAMES reply is truncated") }
        // Split on bytes: the reply can list hundreds of nodes, and Character-wise splitting
        // and comparison cost far more than the connections it saves.
        var result: [EPMDRegistration] = []
        for line in reply[4...].split(separator: UInt8(ascii: "\n")) {
            // "name foo at port 4321"
            let words = line.split(separator: UInt8(ascii: " "))
            // Anything else means the port is not EPMD's (an HTTP proxy answers too): saying
            // "no nodes registered" would send the operator the wrong way.
            guard words.count == 5, words[0].elementsEqual("name".utf8), words[2].elementsEqual("at".utf8),
                words[3].elementsEqual("port".utf8), let port = Self.decimal(words[4])
            else { throw EPMDError(.malformedReply, "the reply to NAMES is not EPMD's (is this port EPMD's?)") }
            result.append(EPMDRegistration(alive: String(decoding: words[1], as: UTF8.self), port: port))
        }
        return result
    }

    /// Registered names for a message: all of them up to `limit`, then how many more (an EPMD
    /// can hold thousands, and an error is one line).
    public static func listed(_ names: [String], limit: Int = 20) -> String {
        if names.isEmpty { return "none" }
        // (EPMD registers any bytes as a name: shown escaped.)
        let shown = names.prefix(limit).map { PeerText.printable($0, limit: 64) }.joined(separator: ", ")
        return names.count <= limit ? shown : shown + " and \(names.count - limit) more"
    }

    /// A port number written in decimal digits, or nil.
    private static func decimal(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 5 else { return nil }
        var value = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(d - UInt8(ascii: "0"))
        }
        return value
    }

    private static func framed(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendBigEndian(UInt16(body.count))
        return out + body
    }
}
