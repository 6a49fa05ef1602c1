/// Why bytes could not be decoded as a term. Always carries the offset of the problem.
public struct TermDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The buffer ended inside a term.
        case truncated
        /// The first byte was not 131.
        case badVersion(UInt8)
        /// A tag this decoder does not know.
        case unknownTag(UInt8)
        /// `LOCAL_EXT`: node-local encoding, only valid inside the node that produced it.
        case localEncoding
        /// An atom cache reference outside a distribution header.
        case atomCacheReference
        /// `FUN_EXT`, removed from OTP long ago.
        case obsoleteFun
        /// A field that breaks the format (bad UTF-8, a length that cannot fit, a wrong field type).
        case invalid(String)
        /// Containers nested deeper than the decoder's limit.
        case tooDeep(limit: Int)
        /// A term whose decoded form would take more memory than the decoder's limit, in bytes.
        case tooLarge(limit: Int)
        /// A compressed term larger than allowed, or not valid zlib data.
        case compression(String)
        /// Bytes left over after a complete term.
        case trailingBytes(count: Int)
    }

    public let kind: Kind
    /// Offset in the input (from the first byte given to the decoder). For a problem inside a
    /// compressed term, the offset of its compressed data.
    public let offset: Int
    /// For a problem inside a compressed term: where it is in the uncompressed term.
    public let uncompressedOffset: Int?

    public init(_ kind: Kind, at offset: Int, uncompressedOffset: Int? = nil) {
        self.kind = kind
        self.offset = offset
        self.uncompressedOffset = uncompressedOffset
    }

    public var description: String {
        let what: String
        switch kind {
        case .truncated: what = offset == 0 && uncompressedOffset == nil ? "empty input: no term" : "input ends in the middle of a term"
        case .badVersion(let v): what = "expected version byte 131, found \(v)"
        case .unknownTag(let t): what = "unknown tag \(t)"
        case .localEncoding: what = "LOCAL_EXT (tag 121) is node-local and cannot be decoded outside its node"
        case .atomCacheReference: what = "atom cache reference (tag 82) outside a distribution header"
        case .obsoleteFun: what = "FUN_EXT (tag 117) is obsolete"
        case .invalid(let why): what = why
        case .tooDeep(let limit): what = "terms nested deeper than \(limit) levels"
        case .tooLarge(let limit): what = "the term would take more than \(limit) bytes of memory once decoded"
        case .compression(let why): what = "compressed term: \(why)"
        case .trailingBytes(let n): what = "\(n == 1 ? "1 byte" : "\(n) bytes") after the end of the term"
        }
        if let uncompressedOffset {
            return "\(what) (at byte \(uncompressedOffset) of the term compressed at byte \(offset))"
        }
        return "\(what) (at byte \(offset))"
    }
}
