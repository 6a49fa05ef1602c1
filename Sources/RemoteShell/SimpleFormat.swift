// The plain cases of `io_lib:format/2`, done here so `io:format` costs one round trip, not two.

import BigInt
import ErlangTerm

/// `io:format(Format, Args)` reaches the group leader as `{put_chars, unicode, io_lib, format,
/// [Format, Args]}`: the text is to be made by the I/O server. beamsh would have to ask the node
/// (a second round trip per line, four times what a BEAM group leader spends on it). The
/// formats operators write in loops (`"~p~n"` with a number, `"~s: ~B~n"`) are formatted here
/// instead, when the result is certain to be what `io_lib:format/2` makes of them; anything
/// else (a field width, a float, a pid, a term to pretty-print, text beyond ASCII where bytes
/// and characters could differ) returns nil and goes to the node as before.
/// A test feeds the same formats and arguments to each runtime's `io_lib:format/2`.
enum SimpleFormat {
    static func format(_ format: Term, _ arguments: Term) -> String? {
        guard let control = asciiFormat(format), let args = arguments.listElements else { return nil }
        var out = ""
        var remaining = args[...]
        var scalars = control.unicodeScalars.makeIterator()
        while let c = scalars.next() {
            guard c == "~" else {
                out.unicodeScalars.append(c)
                continue
            }
            guard var directive = scalars.next() else { return nil }  // a lone ~ at the end: badarg
            var unicode = false
            if directive == "t" {
                unicode = true
                guard let next = scalars.next() else { return nil }
                directive = next
            }
            switch directive {
            case "n" where !unicode: out += "\n"
            case "~" where !unicode: out += "~"
            case "s":
                guard let arg = remaining.popFirst(), let text = unicode ? unicodeText(arg) : asciiText(arg) else { return nil }
                out += text
            case "p", "w":
                guard let arg = remaining.popFirst(), let text = plainTerm(arg) else { return nil }
                out += text
            case "B" where !unicode:
                guard let arg = remaining.popFirst(), let text = integerText(arg) else { return nil }
                out += text
            case "i" where !unicode:
                guard remaining.popFirst() != nil else { return nil }
            default:
                return nil  // widths, precisions, padding, other directives: the node's job
            }
        }
        return remaining.isEmpty ? out : nil  // arguments left over: badarg on the node
    }

    /// An integer's decimal text.
    private static func integerText(_ term: Term) -> String? {
        switch term {
        case .integer(let v): return String(v)
        case .bigInteger(let v): return String(v)
        default: return nil
        }
    }

    /// What `~p` and `~w` print alike: integers, and atoms that need no quotes.
    private static func plainTerm(_ term: Term) -> String? {
        if let text = integerText(term) { return text }
        guard let atom = term.atomValue, isBareASCIIAtom(atom.name) else { return nil }
        return atom.name
    }

    /// `[a-z][A-Za-z0-9_@]*` and not a keyword (`maybe` and `else` are keywords only since OTP 27).
    private static func isBareASCIIAtom(_ name: String) -> Bool {
        guard let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else { return false }
        let nameCharacter = name.utf8.allSatisfy { b in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: "@")
        }
        return nameCharacter && !ErlangFormatter.reservedWords.contains(name)
    }


    /// The format: an ASCII binary, atom or flat list (`io_lib:format/2` takes no deep list).
    private static func asciiFormat(_ term: Term) -> String? {
        if case .list(let l) = term {
            guard l.isProper, l.elements.allSatisfy({ if case .integer(let v) = $0 { return (0..<0x80).contains(v) } else { return false } })
            else { return nil }
        }
        return asciiText(term)
    }

    /// ASCII chardata (a binary, a possibly deep list of characters and binaries) or an atom:
    /// where bytes and characters are the same, so `~s` and the format itself read it alike.
    private static func asciiText(_ term: Term) -> String? {
        // A character alone is not chardata: io_lib raises badarg for `~s` of 65 and a format of 65.
        if case .integer = term { return nil }
        if let atom = term.atomValue {
            return atom.name.utf8.allSatisfy({ $0 < 0x80 }) ? atom.name : nil
        }
        var out = String.UnicodeScalarView()
        return collect(term, into: &out, depth: 0, ascii: true) ? String(out) : nil
    }

    /// `~ts`: chardata with UTF-8 binaries and code points, or an atom.
    private static func unicodeText(_ term: Term) -> String? {
        if case .integer = term { return nil }
        if let atom = term.atomValue { return atom.name }
        var out = String.UnicodeScalarView()
        return collect(term, into: &out, depth: 0, ascii: false) ? String(out) : nil
    }

    private static func collect(_ term: Term, into out: inout String.UnicodeScalarView, depth: Int, ascii: Bool) -> Bool {
        guard depth < 100 else { return false }
        switch term {
        case .binary(let b):
            if ascii {
                guard b.bytes.allSatisfy({ $0 < 0x80 }) else { return false }
                out.append(contentsOf: b.bytes.lazy.map { Unicode.Scalar($0) })
            } else {
                guard let text = String(validating: b.bytes, as: UTF8.self) else { return false }
                out.append(contentsOf: text.unicodeScalars)
            }
            return true
        case .integer(let v):
            guard let u = UInt32(exactly: v), ascii ? u < 0x80 : true, let s = Unicode.Scalar(u) else { return false }
            out.append(s)
            return true
        case .list(let l):
            guard l.isProper else { return false }  // legal chardata with a binary tail, but rare: the node's job
            for e in l.elements {
                guard collect(e, into: &out, depth: depth + 1, ascii: ascii) else { return false }
            }
            return true
        default:
            return false
        }
    }
}
