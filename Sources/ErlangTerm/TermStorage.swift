// Container storage for terms. A container's header and elements share one allocation
// (`ManagedBuffer` tail allocation): one malloc per tuple, list or map, and element access
// through pointers, without the exclusivity checks a class's array property costs. The deinit
// dismantles uniquely owned descendants with an explicit worklist: releasing a term nested a
// million levels deep must not recurse.

@usableFromInline
struct ContainerHeader {
    /// Elements initialized so far; all of them once the container is built.
    @usableFromInline var count: Int
    @usableFromInline let capacity: Int
    /// A list's tail when it is not `[]`.
    @usableFromInline var tail: Term?
}

/// Immutable children of a tuple, list, map or fun. Shared between copies of a term; only the
/// decoder appends, and only to storage it has just created and nobody else holds.
@usableFromInline
final class ContainerStorage: ManagedBuffer<ContainerHeader, Term> {
    /// Empty storage with room for `capacity` elements.
    @usableFromInline
    static func make(capacity: Int) -> ContainerStorage {
        let buffer = create(minimumCapacity: capacity) { _ in ContainerHeader(count: 0, capacity: capacity, tail: nil) }
        return unsafeDowncast(buffer, to: ContainerStorage.self)
    }

    @usableFromInline
    static func make<C: Collection>(_ elements: C, tail: Term?) -> ContainerStorage where C.Element == Term {
        let count = elements.count
        if count == 0, tail == nil { return empty }
        let storage = make(capacity: count)
        storage.withUnsafeMutablePointers { header, base in
            var slot = base
            for element in elements.prefix(count) {
                slot.initialize(to: element)
                slot += 1
            }
            header.pointee.count = slot - base
            header.pointee.tail = tail
        }
        return storage
    }

    /// The storage of every empty tuple and `[]` made by `make(_:tail:)`.
    @usableFromInline nonisolated(unsafe) static let empty = make(capacity: 0)

    @inlinable var count: Int { withUnsafeMutablePointerToHeader { $0.pointee.count } }
    var slotCount: Int { withUnsafeMutablePointerToHeader { $0.pointee.capacity } }

    /// What a storage of `capacity` slots costs in memory, malloc's header and rounding
    /// included (the decoder's estimate, checked against glibc's count of bytes in use).
    static func cost(capacity: Int) -> Int { 72 &+ capacity &* MemoryLayout<Term>.stride }

    /// Readies an emptied storage (no elements left) for ``RecycledStorage``: no tail either.
    func resetForReuse() {
        withUnsafeMutablePointerToHeader { header in
            precondition(header.pointee.count == 0, "a recycled storage must be empty")
            header.pointee.tail = nil
        }
    }
    @inlinable var tail: Term? { withUnsafeMutablePointerToHeader { $0.pointee.tail } }

    @inlinable
    subscript(position: Int) -> Term {
        withUnsafeMutablePointers { header, base in
            precondition(position >= 0 && position < header.pointee.count, "index out of range")
            return base[position]
        }
    }

    /// The elements. Valid while this storage is alive: callers keep it alive around the use.
    @inlinable
    var elementBuffer: UnsafeBufferPointer<Term> {
        withUnsafeMutablePointers { header, base in UnsafeBufferPointer(start: base, count: header.pointee.count) }
    }

    // MARK: Building (decoder only)

    /// The header and the elements, for a builder that keeps this storage alive meanwhile.
    @inlinable
    var unsafePointers: (header: UnsafeMutablePointer<ContainerHeader>, elements: UnsafeMutablePointer<Term>) {
        withUnsafeMutablePointers { ($0, $1) }
    }

    @inlinable
    func append(_ element: __owned Term) {
        assert(self !== Self.empty)
        return withUnsafeMutablePointers { header, base in
            let count = header.pointee.count
            precondition(count < header.pointee.capacity, "container storage is full")
            (base + count).initialize(to: element)
            header.pointee.count = count + 1
        }
    }

    /// Moves the last element out.
    func removeLast() -> Term {
        assert(self !== Self.empty)
        return withUnsafeMutablePointers { header, base in
            precondition(header.pointee.count > 0)
            header.pointee.count -= 1
            return (base + header.pointee.count).move()
        }
    }

    func setTail(_ tail: Term?) {
        assert(self !== Self.empty)
        withUnsafeMutablePointerToHeader { $0.pointee.tail = tail }
    }

    /// New storage with room for `minimumCapacity` elements (or twice the current capacity, if
    /// more and not `exactly`), holding this storage's elements, which are moved out (this
    /// storage is left empty).
    func movedToLarger(minimumCapacity: Int, exactly: Bool = false) -> ContainerStorage {
        assert(self !== Self.empty)
        let doubled = exactly ? 0 : 2 * withUnsafeMutablePointerToHeader { $0.pointee.capacity }
        let larger = Self.make(capacity: Swift.max(minimumCapacity, doubled))
        withUnsafeMutablePointers { header, base in
            larger.withUnsafeMutablePointers { newHeader, newBase in
                newBase.moveInitialize(from: base, count: header.pointee.count)
                newHeader.pointee.count = header.pointee.count
            }
            header.pointee.count = 0
        }
        return larger
    }

    // MARK: Freeing

    deinit {
        var pending: [Term] = []
        withUnsafeMutablePointers { header, base in Self.takeNested(header, base, into: &pending) }
        Self.dismantle(&pending)
    }

    /// Moves the elements (and tail) that hold elements of their own onto `pending` and frees the
    /// others in place, leaving the storage empty. Only what can cascade goes on the worklist, so
    /// a chain like `{N, {N, ...}}` keeps it at one term instead of growing it by one leaf per
    /// level (which made large blocks for the allocator to merge, slowing the next decode).
    @inline(__always)
    private static func takeNested(
        _ header: UnsafeMutablePointer<ContainerHeader>, _ base: UnsafeMutablePointer<Term>,
        into pending: inout [Term]
    ) {
        let count = header.pointee.count
        header.pointee.count = 0
        for i in 0..<count {
            if base[i].holdsElements { pending.append((base + i).move()) } else { (base + i).deinitialize(count: 1) }
        }
        if let tail = header.pointee.tail, tail.holdsElements {
            header.pointee.tail = nil
            pending.append(tail)
        }
    }

    /// Dismantles what `pending` holds; the small containers' storage is kept for the next
    /// decode (``StoragePool``) instead of being freed.
    private static func dismantle(_ pending: inout [Term]) {
        var recycled = RecycledStorage()
        while let last = pending.popLast() {
            guard var storage = last.containerStorage else { continue }
            _ = consume last
            // Only dismantle what nobody else holds; shared storage is freed by its last owner.
            guard isKnownUniquelyReferenced(&storage) else { continue }
            storage.withUnsafeMutablePointers { header, base in takeNested(header, base, into: &pending) }
            recycled.keep(storage)
        }
        StoragePool.shared.giveBack(&recycled)
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

    /// True for a container with elements or a tail: freeing it may cascade.
    @inlinable
    var holdsElements: Bool {
        switch self {
        case .tuple(let t): return t.storage.count > 0
        case .list(let l): return l.storage.count > 0 || l.storage.tail != nil
        case .map(let m): return m.storage.count > 0
        case .fun(let f): return f.freeVariables.storage.count > 0
        default: return false
        }
    }
}

// MARK: - Tuple

/// The elements of a tuple.
public struct TermArray: Sendable, RandomAccessCollection, ExpressibleByArrayLiteral {
    // Immutable once built, so sharing it across threads is safe; ManagedBuffer itself cannot
    // declare that.
    @usableFromInline nonisolated(unsafe) let storage: ContainerStorage

    @usableFromInline init(storage: ContainerStorage) { self.storage = storage }
    public init(_ elements: [Term]) { storage = .make(elements, tail: nil) }
    public init(arrayLiteral elements: Term...) { self.init(elements) }

    public var elements: [Term] { withExtendedLifetime(storage) { Array(storage.elementBuffer) } }
    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }
    public subscript(position: Int) -> Term { storage[position] }
}

// MARK: - List

/// A list: its elements and, for an improper list, the tail that is not `[]`.
public struct TermList: Sendable, RandomAccessCollection, ExpressibleByArrayLiteral {
    // Immutable once built, so sharing it across threads is safe; ManagedBuffer itself cannot
    // declare that.
    @usableFromInline nonisolated(unsafe) let storage: ContainerStorage

    /// `[]`
    public static let empty = TermList(storage: .empty)

    @usableFromInline init(storage: ContainerStorage) { self.storage = storage }

    /// A proper list, or an improper one when `tail` is given (a `[]` tail makes it proper).
    /// A list tail is merged: `TermList([1], tail: [2])` is `[1, 2]`, as in Erlang, so a list's
    /// tail is never itself a list.
    public init(_ elements: [Term], tail: Term? = nil) {
        if case .list(let t)? = tail {
            // `t` already obeys the rule, so one merge suffices.
            storage = .make(t.isEmpty ? elements : elements + t.elements, tail: t.tail)
        } else {
            // An empty list with a tail (`[ | T]`) is not Erlang; the codec never produces it.
            storage = .make(elements, tail: tail)
        }
    }
    public init(arrayLiteral elements: Term...) { self.init(elements) }

    public var elements: [Term] { withExtendedLifetime(storage) { Array(storage.elementBuffer) } }
    /// The tail of an improper list; `nil` for a proper list.
    public var tail: Term? { storage.tail }
    public var isProper: Bool { storage.tail == nil }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }
    public subscript(position: Int) -> Term { storage[position] }
}

// MARK: - Map

/// The pairs of a map, in the order they were decoded or given. Equality ignores order.
public struct TermMap: Sendable, RandomAccessCollection {
    /// Keys and values interleaved: k0, v0, k1, v1, ...
    // Immutable once built, so sharing it across threads is safe; ManagedBuffer itself cannot
    // declare that.
    @usableFromInline nonisolated(unsafe) let storage: ContainerStorage

    public init(_ pairs: [(key: Term, value: Term)]) {
        var flat: [Term] = []
        flat.reserveCapacity(pairs.count * 2)
        for (k, v) in pairs {
            flat.append(k)
            flat.append(v)
        }
        storage = .make(flat, tail: nil)
    }

    /// Keys and values interleaved.
    init(interleaved: [Term]) { storage = .make(interleaved, tail: nil) }
    init(storage: ContainerStorage) { self.storage = storage }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count / 2 }
    public subscript(position: Int) -> (key: Term, value: Term) {
        (storage[2 * position], storage[2 * position + 1])
    }

    /// The value for `key` (exact equality), or `nil`.
    public subscript(key: Term) -> Term? {
        withExtendedLifetime(storage) {
            let e = storage.elementBuffer
            var i = 0
            while i + 1 < e.count {
                if e[i] == key { return e[i + 1] }
                i += 2
            }
            return nil
        }
    }

    public subscript(atom key: Atom) -> Term? { self[.atom(key)] }
}
