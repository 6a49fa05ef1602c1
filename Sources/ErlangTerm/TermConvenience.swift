// Building and taking apart terms in Swift code.

import BigInt

extension Term: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByArrayLiteral {
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    /// An array literal is a proper list.
    public init(arrayLiteral elements: Term...) { self = .list(TermList(elements)) }
}

extension Term {
    /// `{E1, E2, ...}`
    public static func tuple(_ elements: [Term]) -> Term { .tuple(TermArray(elements)) }
    /// A proper list.
    public static func list(_ elements: [Term]) -> Term { .list(TermList(elements)) }
    /// An atom by name.
    public static func atom(_ name: String) -> Term { .atom(Atom(name)) }
    /// A binary holding the UTF-8 bytes of `text` (an Elixir string).
    public static func binary(_ text: String) -> Term { .binary(Binary(text)) }
    /// A map from pairs.
    public static func map(_ pairs: [(key: Term, value: Term)]) -> Term { .map(TermMap(pairs)) }
    /// A charlist: the list of `text`'s code points (an Erlang string).
    public static func charlist(_ text: String) -> Term { .list(text.unicodeScalars.map { .integer(Int($0.value)) }) }
    /// An integer of any size, normalised to ``integer(_:)`` when it fits.
    public static func integer(_ value: BigInt) -> Term {
        if let small = Int(exactly: value) { return .integer(small) }
        return .bigInteger(value)
    }

    public static let `true`: Term = .atom(.true)
    public static let `false`: Term = .atom(.false)
    public static let `nil`: Term = .atom(.nil)
    public static let ok: Term = .atom(.ok)
    public static let emptyList: Term = .list(.empty)

    // MARK: Taking apart

    public var atomValue: Atom? { if case .atom(let a) = self { return a } else { return nil } }
    public var intValue: Int? { if case .integer(let v) = self { return v } else { return nil } }
    public var tupleElements: [Term]? { if case .tuple(let t) = self { return t.elements } else { return nil } }
    /// The elements of a proper list.
    public var listElements: [Term]? {
        if case .list(let l) = self, l.isProper { return l.elements } else { return nil }
    }
    public var binaryValue: Binary? { if case .binary(let b) = self { return b } else { return nil } }
    public var pidValue: Pid? { if case .pid(let p) = self { return p } else { return nil } }
    public var referenceValue: Reference? { if case .reference(let r) = self { return r } else { return nil } }
    public var mapValue: TermMap? { if case .map(let m) = self { return m } else { return nil } }
    /// A binary's UTF-8 text, or a printable charlist's text.
    public var stringValue: String? {
        switch self {
        case .binary(let b): return b.utf8String
        case .list(let l) where l.isProper:
            var text = String.UnicodeScalarView()
            for e in l.elements {
                guard case .integer(let v) = e, let u = UInt32(exactly: v), let s = Unicode.Scalar(u) else { return nil }
                text.append(s)
            }
            return String(text)
        default: return nil
        }
    }
    public var isEmptyList: Bool { if case .list(let l) = self { return l.isEmpty && l.isProper } else { return false } }

    /// True when the term is a tuple whose first element is the atom `tag`.
    public func isTagged(_ tag: Atom) -> Bool {
        guard case .tuple(let t) = self, let first = t.first, case .atom(let a) = first else { return false }
        return a == tag
    }
}
