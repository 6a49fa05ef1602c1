// Container storage for terms. Every container owns its children through a
// `ContainerStorage`, whose deinit dismantles uniquely owned descendants with an explicit
// worklist: releasing a term nested a million levels deep must not recurse.

/// Immutable children of a tuple, list or map. Shared between copies of a term.
@usableFromInline
final class ContainerStorage: @unchecked Sendable {
    // `var` only so deinit can detach children; never mutated while shared.
    @usableFromInline var elements: [Term]
    @usableFromInline var tail: Term?

    @usableFromInline
    init(elements: [Term], tail: Term? = nil) {
        self.elements = elements
        self.tail = tail
    }

    deinit {
        guard Self.mayNest(elements) || tail != nil else { return }
        var pending = elements
        elements = []
        if let tail { pending.append(tail) }
        tail = nil
        while let last = pending.popLast() {
            guard var storage = last.containerStorage else { continue }
            _ = consume last
            // Only dismantle what nobody else holds; shared storage is freed by its last owner.
            if isKnownUniquelyReferenced(&storage) {
                pending.append(contentsOf: storage.elements)
                storage.elements = []
                if let t = storage.tail { pending.append(t) }
                storage.tail = nil
            }
        }
    }

    @inline(__always)
    private static func mayNest(_ elements: [Term]) -> Bool {
        for element in elements where element.containerStorage != nil { return true }
        return false
    }
}

extension Term {
    @usableFromInline
    var containerStorage: ContainerStorage? {
        switch self {
        case .tuple(let t): return t.storage
        case .list(let l): return l.storage
        case .map(let m): return m.storage
        case .fun(let f): return f.freeVariables.storage
        default: return nil
        }
    }
}

// MARK: - Tuple

/// The elements of a tuple.
public struct TermArray: Sendable, RandomAccessCollection, ExpressibleByArrayLiteral {
    @usableFromInline let storage: ContainerStorage

    public init(_ elements: [Term]) { storage = ContainerStorage(elements: elements) }
    public init(arrayLiteral elements: Term...) { self.init(elements) }

    public var elements: [Term] { storage.elements }
    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.elements.count }
    public subscript(position: Int) -> Term { storage.elements[position] }
}

// MARK: - List

/// A list: its elements and, for an improper list, the tail that is not `[]`.
public struct TermList: Sendable, RandomAccessCollection, ExpressibleByArrayLiteral {
    @usableFromInline let storage: ContainerStorage

    /// `[]`
    public static let empty = TermList([])

    /// A proper list, or an improper one when `tail` is given (a `[]` tail makes it proper).
    /// A list tail is merged: `TermList([1], tail: [2])` is `[1, 2]`, as in Erlang, so a list's
    /// tail is never itself a list.
    public init(_ elements: [Term], tail: Term? = nil) {
        if case .list(let t)? = tail {
            // `t` already obeys the rule, so one merge suffices.
            storage = ContainerStorage(elements: t.isEmpty ? elements : elements + t.elements, tail: t.tail)
        } else if elements.isEmpty, let tail {
            // `[ | T]` is not a list: normalise to a one-element improper list is wrong too,
            // so keep the tail alone; the codec never produces this shape.
            storage = ContainerStorage(elements: [], tail: tail)
        } else {
            storage = ContainerStorage(elements: elements, tail: tail)
        }
    }
    public init(arrayLiteral elements: Term...) { self.init(elements) }

    public var elements: [Term] { storage.elements }
    /// The tail of an improper list; `nil` for a proper list.
    public var tail: Term? { storage.tail }
    public var isProper: Bool { storage.tail == nil }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.elements.count }
    public subscript(position: Int) -> Term { storage.elements[position] }
}

// MARK: - Map

/// The pairs of a map, in the order they were decoded or given. Equality ignores order.
public struct TermMap: Sendable, RandomAccessCollection {
    /// Keys and values interleaved: k0, v0, k1, v1, ...
    @usableFromInline let storage: ContainerStorage

    public init(_ pairs: [(key: Term, value: Term)]) {
        var flat: [Term] = []
        flat.reserveCapacity(pairs.count * 2)
        for (k, v) in pairs {
            flat.append(k)
            flat.append(v)
        }
        storage = ContainerStorage(elements: flat)
    }

    /// Keys and values interleaved, as decoded.
    init(interleaved: [Term]) { storage = ContainerStorage(elements: interleaved) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.elements.count / 2 }
    public subscript(position: Int) -> (key: Term, value: Term) {
        (storage.elements[2 * position], storage.elements[2 * position + 1])
    }

    /// The value for `key` (exact equality), or `nil`.
    public subscript(key: Term) -> Term? {
        let e = storage.elements
        var i = 0
        while i < e.count {
            if e[i] == key { return e[i + 1] }
            i += 2
        }
        return nil
    }

    public subscript(atom key: Atom) -> Term? { self[.atom(key)] }
}
