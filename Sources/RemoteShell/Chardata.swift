// Erlang chardata (`unicode:chardata()`) to and from Swift strings, as the I/O protocol
// carries it: binaries (UTF-8 when the encoding is `unicode`, bytes when `latin1`), lists of
// code points, and nested lists of both.

import ErlangTerm

/// The encoding an I/O request names.
public enum IOEncoding: Sendable, Hashable {
    case unicode, latin1

    init?(_ term: Term) {
        switch term.atomValue?.name {
        case "unicode", "utf8": self = .unicode
        case "latin1": self = .latin1
        default: return nil
        }
    }
}

enum Chardata {
    /// The text of `term`, or nil when it is not chardata. A `unicode` binary that is not UTF-8
    /// shows with replacement characters, unless `strict`: then it is not chardata either, as a
    /// node's group leader judges what it is asked to print.
    static func string(_ term: Term, encoding: IOEncoding = .unicode, strict: Bool = false) -> String? {
        var scalars = String.UnicodeScalarView()
        guard append(term, encoding: encoding, strict: strict, to: &scalars, depth: 0) else { return nil }
        return String(scalars)
    }

    private static func append(
        _ term: Term, encoding: IOEncoding, strict: Bool, to out: inout String.UnicodeScalarView, depth: Int
    ) -> Bool {
        guard depth < 10_000 else { return false }
        switch term {
        case .binary(let b):
            switch encoding {
            case .unicode:
                if strict {
                    guard let text = b.utf8String else { return false }
                    out.append(contentsOf: text.unicodeScalars)
                } else {
                    out.append(contentsOf: String(decoding: b.bytes, as: UTF8.self).unicodeScalars)
                }
            case .latin1:
                out.append(contentsOf: b.bytes.map { Unicode.Scalar($0) })
            }
            return true
        case .integer(let v):
            guard let u = UInt32(exactly: v), let s = Unicode.Scalar(u) else { return false }
            out.append(s)
            return true
        case .list(let l):
            for e in l.elements where !append(e, encoding: encoding, strict: strict, to: &out, depth: depth + 1) { return false }
            if let tail = l.tail { return append(tail, encoding: encoding, strict: strict, to: &out, depth: depth + 1) }
            return true
        default:
            return false
        }
    }

    /// The UTF-8 bytes of `term` as pieces to write one after another: a `unicode` binary that is
    /// valid UTF-8 is passed on as the slice of the message it arrived in, so a 50 MB
    /// `IO.puts` is not copied into a string and back (it peaked at eight times its size);
    /// characters between binaries are encoded into small arrays. nil when `term` is not
    /// chardata, or holds invalid UTF-8 (which a node's group leader refuses to print, and so
    /// does beamsh's: see ``string(_:encoding:strict:)``).
    static func utf8Pieces(_ term: Term, encoding: IOEncoding = .unicode) -> [ArraySlice<UInt8>]? {
        var pieces: [ArraySlice<UInt8>] = []
        var pending: [UInt8] = []
        guard appendPieces(term, encoding: encoding, to: &pieces, pending: &pending, depth: 0) else { return nil }
        if !pending.isEmpty { pieces.append(pending[...]) }
        return pieces
    }

    private static func appendPieces(
        _ term: Term, encoding: IOEncoding, to pieces: inout [ArraySlice<UInt8>], pending: inout [UInt8], depth: Int
    ) -> Bool {
        guard depth < 10_000 else { return false }
        switch term {
        case .binary(let b):
            let bytes = b.bytes
            if encoding == .unicode || bytes.allSatisfy({ $0 < 0x80 }) {
                guard encoding == .latin1 || isValidUTF8(bytes) else { return false }
                // Small binaries join the pending bytes: fewer, larger writes.
                if bytes.count < 512 {
                    pending.append(contentsOf: bytes)
                } else {
                    if !pending.isEmpty {
                        pieces.append(pending[...])
                        pending = []
                    }
                    pieces.append(bytes)
                }
            } else {
                for byte in bytes { appendScalar(UInt32(byte), to: &pending) }
            }
            return true
        case .integer(let v):
            guard let u = UInt32(exactly: v), Unicode.Scalar(u) != nil else { return false }
            appendScalar(u, to: &pending)
            return true
        case .list(let l):
            for e in l.elements where !appendPieces(e, encoding: encoding, to: &pieces, pending: &pending, depth: depth + 1) {
                return false
            }
            if let tail = l.tail { return appendPieces(tail, encoding: encoding, to: &pieces, pending: &pending, depth: depth + 1) }
            return true
        default:
            return false
        }
    }

    private static func appendScalar(_ value: UInt32, to bytes: inout [UInt8]) {
        switch value {
        case ..<0x80:
            bytes.append(UInt8(value))
        case ..<0x800:
            bytes.append(UInt8(0xC0 | (value >> 6)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        case ..<0x10000:
            bytes.append(UInt8(0xE0 | (value >> 12)))
            bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        default:
            bytes.append(UInt8(0xF0 | (value >> 18)))
            bytes.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        }
    }

    /// Whether `bytes` is well-formed UTF-8 (checked in place, no copy).
    static func isValidUTF8(_ bytes: ArraySlice<UInt8>) -> Bool {
        if #available(macOS 26.0, *) { return (try? UTF8Span(validating: bytes.span)) != nil }
        return String(validating: bytes, as: UTF8.self) != nil
    }

    /// A prompt as `io:format` would show it: chardata, an atom's name, or nothing.
    static func prompt(_ term: Term) -> String {
        if let text = string(term) { return text }
        if let atom = term.atomValue { return atom.name }
        return ""
    }

    /// Bytes read from the console as a read's reply: a `unicode` request gets their UTF-8
    /// text (nil when they are not UTF-8). A `latin1` one gets piped bytes as they are
    /// (`IO.binread` of piped data gets exactly that data), and `typed` text as Latin-1
    /// characters, as a terminal's group leader gives them (`é` is 233; nil beyond U+00FF).
    static func reply(_ bytes: [UInt8], binary: Bool, encoding: IOEncoding, typed: Bool) -> Term? {
        let latin1: [UInt8]
        switch encoding {
        case .unicode:
            guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
            return binary ? .binary(Binary(bytes)) : .charlist(text)
        case .latin1 where typed:
            guard let text = String(validating: bytes, as: UTF8.self), text.unicodeScalars.allSatisfy({ $0.value <= 0xFF })
            else { return nil }
            latin1 = text.unicodeScalars.map { UInt8($0.value) }
        case .latin1:
            latin1 = bytes
        }
        return binary ? .binary(Binary(latin1)) : .list(latin1.map { .integer(Int($0)) })
    }
}
