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
    /// The text of `term`, or nil when it is not chardata.
    static func string(_ term: Term, encoding: IOEncoding = .unicode) -> String? {
        var scalars = String.UnicodeScalarView()
        guard append(term, encoding: encoding, to: &scalars, depth: 0) else { return nil }
        return String(scalars)
    }

    private static func append(_ term: Term, encoding: IOEncoding, to out: inout String.UnicodeScalarView, depth: Int) -> Bool {
        guard depth < 10_000 else { return false }
        switch term {
        case .binary(let b):
            switch encoding {
            case .unicode:
                out.append(contentsOf: String(decoding: b.bytes, as: UTF8.self).unicodeScalars)
            case .latin1:
                out.append(contentsOf: b.bytes.map { Unicode.Scalar($0) })
            }
            return true
        case .integer(let v):
            guard let u = UInt32(exactly: v), let s = Unicode.Scalar(u) else { return false }
            out.append(s)
            return true
        case .list(let l):
            for e in l.elements where !append(e, encoding: encoding, to: &out, depth: depth + 1) { return false }
            if let tail = l.tail { return append(tail, encoding: encoding, to: &out, depth: depth + 1) }
            return true
        default:
            return false
        }
    }

    /// A prompt as `io:format` would show it: chardata, an atom's name, or nothing.
    static func prompt(_ term: Term) -> String {
        if let text = string(term) { return text }
        if let atom = term.atomValue { return atom.name }
        return ""
    }

    /// Text as the reply to a read request: a binary in binary mode, else a list of code points.
    static func reply(_ text: String, binary: Bool, encoding: IOEncoding) -> Term {
        if binary {
            switch encoding {
            case .unicode: return .binary(text)
            case .latin1: return .binary(Binary(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }))
            }
        }
        return .charlist(text)
    }
}
