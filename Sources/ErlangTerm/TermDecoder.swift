// Decoding the external term format.
// https://www.erlang.org/doc/apps/erts/erl_ext_dist.html
//
// The decoder is iterative (an explicit stack of open containers), so nesting depth is
// bounded by `Options.maxDepth`, not by the thread's stack. Every length field is checked
// against the bytes actually left before anything is allocated for it, and every allocation
// is charged to `Options.maxTermMemory` first: a few input bytes can stand for tens of bytes
// of terms (`{[]}` is 3 bytes in, 96 in memory), and a compressed term for a thousand times more.

import BigInt
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes terms from bytes.
public struct TermDecoder: Sendable {
    public struct Options: Sendable {
        /// The deepest nesting of tuples, lists, maps and funs accepted. Deeper input is a
        /// ``TermDecodingError/Kind/tooDeep(limit:)`` error.
        public var maxDepth: Int = 1_000_000
        /// The largest size a compressed term may claim once uncompressed.
        public var maxUncompressedSize: Int = 1 << 30
        /// The most memory the decoded term may take, in bytes, not counting binaries' bytes
        /// (they share the input). Estimated from what the decoder allocates; larger input is a
        /// ``TermDecodingError/Kind/tooLarge(limit:)`` error before the allocation that crosses it.
        public var maxTermMemory: Int = 1 << 30
        public init() {}
    }

    public var options: Options

    public init(options: Options = Options()) { self.options = options }

    /// Decodes a standalone term: the version byte 131, then the term (possibly compressed).
    /// The whole input must be one term.
    public func decode(_ bytes: [UInt8]) throws(TermDecodingError) -> Term {
        try decode(bytes[...])
    }

    /// Decodes a standalone term from a slice; binaries in the result share the slice's storage.
    public func decode(_ bytes: ArraySlice<UInt8>) throws(TermDecodingError) -> Term {
        var offset = bytes.startIndex
        let term = try decodeVersioned(bytes, at: &offset)
        if offset != bytes.endIndex {
            throw TermDecodingError(.trailingBytes(count: bytes.endIndex - offset), at: offset - bytes.startIndex)
        }
        return term
    }

    /// Decodes one versioned term (131, then the term) starting at `offset`, and advances it.
    /// This is the form used inside distribution messages, where terms follow each other.
    public func decodeVersioned(_ bytes: ArraySlice<UInt8>, at offset: inout Int) throws(TermDecodingError) -> Term {
        guard offset < bytes.endIndex else { throw TermDecodingError(.truncated, at: offset - bytes.startIndex) }
        let version = bytes[offset]
        guard version == externalTermVersion else {
            throw TermDecodingError(.badVersion(version), at: offset - bytes.startIndex)
        }
        offset += 1
        if offset < bytes.endIndex, bytes[offset] == ExternalTermTag.compressed.rawValue {
            return try decodeCompressed(bytes, at: &offset)
        }
        return try decodeBody(bytes, at: &offset)
    }

    /// Decodes one term without a version byte starting at `offset`, and advances it.
    public func decodeBody(_ bytes: ArraySlice<UInt8>, at offset: inout Int) throws(TermDecodingError) -> Term {
        let result: Result<(Term, Int), TermDecodingError> = bytes.withUnsafeBytes { raw in
            var parser = Parser(storage: bytes, raw: raw, position: offset - bytes.startIndex, options: options)
            defer { parser.finishRecycling() }
            do throws(TermDecodingError) {
                let term = try parser.parse()
                return .success((term, parser.position))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let (term, position)):
            offset = bytes.startIndex + position
            return term
        case .failure(let error):
            throw error
        }
    }

    private func decodeCompressed(_ bytes: ArraySlice<UInt8>, at offset: inout Int) throws(TermDecodingError) -> Term {
        let start = offset - bytes.startIndex
        guard bytes.endIndex - offset >= 5 else { throw TermDecodingError(.truncated, at: start) }
        let size = Int(bytes[offset + 1]) << 24 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 8
            | Int(bytes[offset + 4])
        let compressed = bytes[(offset + 5)...]
        // Deflate cannot expand data more than about 1032:1; a larger claim is a lie.
        guard size <= options.maxUncompressedSize else {
            throw TermDecodingError(
                .compression("claims \(size) bytes uncompressed, over the limit of \(options.maxUncompressedSize)"),
                at: start)
        }
        guard size <= compressed.count * 1032 + 64 else {
            throw TermDecodingError(
                .compression("claims \(size) bytes from \(compressed.count) compressed bytes"), at: start)
        }
        let inflated: (bytes: [UInt8], consumed: Int)
        do throws(ZlibError) {
            inflated = try Zlib.inflate(compressed, expectedSize: size)
        } catch {
            throw TermDecodingError(.compression(error.message), at: start)
        }
        var inner = 0
        let term: Term
        do throws(TermDecodingError) {
            term = try decodeBody(inflated.bytes[...], at: &inner)
        } catch {
            // Offsets inside the inflated data mean nothing in the input: say which is which.
            throw TermDecodingError(error.kind, at: start + 5, uncompressedOffset: error.offset)
        }
        guard inner == inflated.bytes.count else {
            throw TermDecodingError(.invalid("compressed term has \(inflated.bytes.count - inner) extra bytes"), at: start)
        }
        offset += 5 + inflated.consumed
        return term
    }
}

// MARK: - Parser

/// One pass over a buffer. `raw` is valid for the parser's lifetime only.
private struct Parser: ~Copyable {
    let storage: ArraySlice<UInt8>
    let raw: UnsafeRawBufferPointer
    /// `raw`'s bytes and count apart, for the reads on every term's path: no optional base
    /// address to test each time. Never read past `byteCount` (every read is checked first).
    let bytes: UnsafePointer<UInt8>
    let byteCount: Int
    var position: Int
    let maxDepth: Int
    let maxTermMemory: Int
    /// What may still be allocated (``TermDecoder/Options/maxTermMemory``).
    var memoryLeft: Int
    var atomCache = AtomCache()
    /// The sum of `remaining` over open frames: terms not started yet, each needing a byte.
    /// Kept at most the bytes left (checked as each container opens), as are `remaining` and a
    /// depth (at most `maxDepth`): their arithmetic wraps, with no overflow check to make.
    var pendingElements = 0
    /// Storage that freed terms left for reuse (``StoragePool``), taken at the start and given
    /// back at the end (``finishRecycling()``).
    var recycled = StoragePool.shared.takeAll()

    init(storage: ArraySlice<UInt8>, raw: UnsafeRawBufferPointer, position: Int, options: TermDecoder.Options) {
        self.storage = storage
        self.raw = raw
        // An empty buffer may have no address; nothing is ever read from it then.
        self.bytes = raw.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(bitPattern: 1)!
        self.byteCount = raw.count
        self.position = position
        self.maxDepth = options.maxDepth
        self.maxTermMemory = options.maxTermMemory
        self.memoryLeft = options.maxTermMemory
    }

    typealias Frame = OpenContainer

    struct FunHeader {
        var arity: UInt8
        var uniq: [UInt8]
        var index: UInt32
        var module: Atom
        var oldIndex: Int
        var oldUniq: Int
        var pid: Pid
    }

    var remainingBytes: Int { byteCount &- position }

    // MARK: Memory

    // The costs include malloc's own header and rounding; they were checked against glibc's
    // count of bytes in use after decoding lists of each kind of term.

    /// An allocation's cost beyond its bytes.
    static let blockOverhead = 32
    /// A container's storage: its object and header, then its slots.
    static func containerCost(_ slots: Int) -> Int { ContainerStorage.cost(capacity: slots) }  // slots < 2^34
    /// A term kept in a box of its own (`indirect` cases: binaries, pids, ports, funs...).
    static let boxCost = 64

    /// Storage for a container of `capacity` slots: a recycled one when kept, else a new one.
    @inline(__always)
    private mutating func makeStorage(capacity: Int) -> ContainerStorage {
        recycled.take(capacity: capacity) ?? ContainerStorage.make(capacity: capacity)
    }

    /// Gives back the recycled storage this decode did not use.
    mutating func finishRecycling() { StoragePool.shared.giveBack(&recycled) }

    /// Takes `bytes` from the memory budget before they are allocated.
    @inline(__always)
    private mutating func charge(_ bytes: Int, at offset: Int) throws(TermDecodingError) {
        memoryLeft &-= bytes
        if memoryLeft < 0 { throw TermDecodingError(.tooLarge(limit: maxTermMemory), at: offset) }
    }

    // MARK: Main loop

    // Containers are built top-down, as the BEAM's own decoder does: a container's term is put
    // in its parent's slot (or the result) as soon as its header is read, and filled in place
    // afterwards. A container whose last slot has been given out is finished at once, so the
    // stack only holds containers still waiting for terms (a `{N, {N, ...}}` chain keeps one
    // frame however deep it goes) and finishing one never cascades.

    mutating func parse() throws(TermDecodingError) -> Term {
        var stack = OpenContainers()
        var result = ResultCell()
        while true {
            // Runs of plain leaves inside a container skip the general machinery below.
            // (Not for the first of two: a pair such as `{Key, Nested}` gains nothing from the setup.)
            if let top = stack.top, top.pointee.remaining > 2 { try fillLeaves(top) }
            let term: Term
            let tagOffset = position
            let tag = try readU8()
            switch tag {
            case ExternalTermTag.smallInteger.rawValue:
                term = .integer(Int(try readU8()))
            case ExternalTermTag.integer.rawValue:
                term = .integer(Int(Int32(bitPattern: try readU32())))
            case ExternalTermTag.smallAtomUTF8.rawValue, ExternalTermTag.atomUTF8.rawValue,
                ExternalTermTag.smallAtom.rawValue, ExternalTermTag.atom.rawValue:
                term = .atom(try readAtomBody(tag: tag, tagOffset: tagOffset))
            case ExternalTermTag.nil.rawValue:
                term = .list(.empty)
            case ExternalTermTag.newFloat.rawValue:
                let value = Double(bitPattern: try readU64())
                // Erlang has no NaN or infinities; binary_to_term/1 rejects them too.
                guard value.isFinite else {
                    throw TermDecodingError(.invalid("NEW_FLOAT_EXT is not a finite float"), at: tagOffset)
                }
                term = .float(value)
            case ExternalTermTag.float.rawValue:
                term = .float(try readOldFloat())
            case ExternalTermTag.smallTuple.rawValue, ExternalTermTag.largeTuple.rawValue:
                let arity = tag == ExternalTermTag.smallTuple.rawValue ? Int(try readU8()) : Int(try readU32())
                if arity == 0 {
                    term = .tuple(TermArray([]))
                } else {
                    let depth = try admit(terms: arity, at: tagOffset, on: stack)
                    let storage = makeStorage(capacity: arity)
                    let pointers = storage.unsafePointers
                    try open(.tuple(TermArray(storage: consume storage)), .tuple, pointers, terms: arity, depth: depth,
                             at: tagOffset, on: &stack, result: &result)
                    // A tuple's first element is most often a leaf (`{ok, V}`, `{Key, Nested}`): taken
                    // here, it skips a turn of the main loop and its dispatch on the tag.
                    if let top = stack.top, top.pointee.remaining > 1, let leaf = try readLeaf() {
                        top.pointee.append(leaf)
                        top.pointee.remaining &-= 1
                        pendingElements &-= 1
                    }
                    if let top = stack.top, top.pointee.remaining == 1, case .tuple = top.pointee.kind {
                        try followTupleChain(top)
                    }
                    continue
                }
            case ExternalTermTag.list.rawValue:
                let count = Int(try readU32())
                if count == 0 {
                    // A zero-length LIST_EXT is just its tail.
                    continue
                }
                if isAtListTail(stack) {
                    // `[A | [B, C | T]]` is the list `[A, B, C | T]`: keep filling the same list, so
                    // a list is one value whatever its encoding, and a chain of tails adds no depth.
                    try extendList(by: count, at: tagOffset, on: &stack)
                } else {
                    // The elements, then the tail (which goes in the header, not among the elements).
                    let depth = try admit(terms: count + 1, at: tagOffset, on: stack)
                    let storage = makeStorage(capacity: count)
                    let pointers = storage.unsafePointers
                    try open(.list(TermList(storage: consume storage)), .list, pointers, terms: count + 1, depth: depth,
                             at: tagOffset, on: &stack, result: &result)
                }
                continue
            case ExternalTermTag.map.rawValue:
                let arity = Int(try readU32())
                if arity == 0 {
                    term = .map(TermMap(interleaved: []))
                } else {
                    try check(count: arity, minimumBytesEach: 2, at: tagOffset)
                    let depth = try admit(terms: arity * 2, at: tagOffset, on: stack)
                    let storage = makeStorage(capacity: arity * 2)
                    let pointers = storage.unsafePointers
                    try open(.map(TermMap(storage: consume storage)), .map, pointers, terms: arity * 2, depth: depth,
                             at: tagOffset, on: &stack, result: &result)
                    continue
                }
            case ExternalTermTag.string.rawValue:
                if isAtListTail(stack) {
                    // A STRING_EXT tail: its bytes join the list's elements, and its `[]` ends the list.
                    let length = Int(try readU16())
                    try need(length)
                    // It ends the list, so room for exactly its bytes.
                    let top = stack.top!
                    try makeRoom(for: length, inListAt: top, exactly: true, at: tagOffset)
                    appendStringBytes(length, to: top)
                    term = .list(.empty)
                } else {
                    term = try readString(tagOffset: tagOffset)
                }
            case ExternalTermTag.binary.rawValue:
                let length = Int(try readU32())
                try charge(Self.boxCost, at: tagOffset)
                term = .binary(Binary(try readSlice(length)))
            case ExternalTermTag.bitBinary.rawValue:
                term = try readBitBinary(tagOffset: tagOffset)
            case ExternalTermTag.smallBig.rawValue:
                term = try readBig(length: Int(try readU8()), tagOffset: tagOffset)
            case ExternalTermTag.largeBig.rawValue:
                term = try readBig(length: Int(try readU32()), tagOffset: tagOffset)
            case ExternalTermTag.newPid.rawValue, ExternalTermTag.pid.rawValue:
                try charge(Self.boxCost, at: tagOffset)
                term = .pid(try readPidBody(tag: tag))
            case ExternalTermTag.newPort.rawValue, ExternalTermTag.port.rawValue, ExternalTermTag.v4Port.rawValue:
                try charge(Self.boxCost, at: tagOffset)
                term = .port(try readPortBody(tag: tag))
            case ExternalTermTag.newerReference.rawValue, ExternalTermTag.newReference.rawValue,
                ExternalTermTag.reference.rawValue:
                // The box and the id words' array.
                try charge(Self.boxCost + Self.blockOverhead + 32, at: tagOffset)
                term = .reference(try readReferenceBody(tag: tag, tagOffset: tagOffset))
            case ExternalTermTag.export.rawValue:
                try charge(Self.boxCost, at: tagOffset)
                term = .export(try readExportBody(tagOffset: tagOffset))
            case ExternalTermTag.newFun.rawValue:
                // The box (a fun is large) and its uniq's array; free variables are a container.
                try charge(2 * Self.boxCost + 2 * Self.blockOverhead + 16, at: tagOffset)
                let (header, freeCount) = try readFunHeader(tagOffset: tagOffset)
                if freeCount == 0 {
                    term = .fun(Fun(header, freeVariables: TermArray([])))
                } else {
                    let depth = try admit(terms: freeCount, at: tagOffset, on: stack)
                    let storage = makeStorage(capacity: freeCount)
                    let pointers = storage.unsafePointers
                    try open(.fun(Fun(header, freeVariables: TermArray(storage: consume storage))), .fun, pointers,
                             terms: freeCount, depth: depth, at: tagOffset, on: &stack, result: &result)
                    continue
                }
            case ExternalTermTag.local.rawValue:
                throw TermDecodingError(.localEncoding, at: tagOffset)
            case ExternalTermTag.atomCacheReference.rawValue:
                throw TermDecodingError(.atomCacheReference, at: tagOffset)
            case ExternalTermTag.fun.rawValue:
                throw TermDecodingError(.obsoleteFun, at: tagOffset)
            case ExternalTermTag.compressed.rawValue:
                throw TermDecodingError(.invalid("a compressed term can only start a standalone term"), at: tagOffset)
            default:
                throw TermDecodingError(.unknownTag(tag), at: tagOffset)
            }

            // A leaf: the whole term, or the next term of the innermost container.
            guard let top = stack.top else { return term }
            place(consume term, in: top)
            if top.pointee.remaining == 0 {
                try finish(stack.pop())
                if stack.count == 0 { return result.take() }
            }
        }
    }

    /// Puts a term in the container's next slot: an element, or a list's tail (where `[]`
    /// leaves the list proper).
    @inline(__always)
    private mutating func place(_ term: consuming Term, in frame: UnsafeMutablePointer<Frame>) {
        if frame.pointee.isList, frame.pointee.remaining == 1 {
            // Only `[]` arrives here as a list: a list tail is merged by `extendList`.
            if case .list = term {} else { frame.pointee.header.pointee.tail = term }
        } else {
            frame.pointee.append(term)
        }
        frame.pointee.remaining &-= 1
        pendingElements &-= 1
    }

    /// Checks that a container of `terms` terms may start here, before anything is allocated
    /// for it; returns its depth.
    @inline(__always)
    private mutating func admit(terms: Int, at offset: Int, on stack: borrowing OpenContainers) throws(TermDecodingError) -> Int {
        let parent = stack.top
        // This container is no longer pending; each of its terms and each term still pending
        // elsewhere needs at least one byte.
        let pendingAfter = parent == nil ? 0 : pendingElements &- 1
        if terms &+ pendingAfter > remainingBytes {
            throw TermDecodingError(.invalid("claims \(terms) terms (a list's tail counts as one) with \(Self.bytes(remainingBytes)) left"),
                                    at: offset)
        }
        let depth = (parent?.pointee.depth ?? 0) &+ 1
        guard depth <= maxDepth else { throw TermDecodingError(.tooDeep(limit: maxDepth), at: offset) }
        try charge(Self.containerCost(terms), at: offset)
        return depth
    }

    /// Starts a container admitted by `admit`: puts its term in its parent (or the result) and
    /// opens a frame to fill its storage.
    @inline(__always)
    private mutating func open(
        _ term: consuming Term, _ kind: Frame.Kind, _ pointers: Frame.StoragePointers, terms: Int, depth: Int, at offset: Int,
        on stack: inout OpenContainers, result: inout ResultCell
    ) throws(TermDecodingError) {
        let slot: UnsafeMutablePointer<Term>?
        if let parent = stack.top {
            // (A list is never a list's tail, which is merged instead: its slot is an element.)
            slot = kind == .list ? parent.pointee.nextSlot : nil
            place(term, in: parent)
            pendingElements &+= terms
            if parent.pointee.remaining == 0 {
                // The parent is complete: its frame becomes this container's (a pop and a push).
                try finish(parent.pointee)
                parent.pointee = Frame(kind, remaining: terms, pointers, slot: slot, depth: depth, at: offset)
                return
            }
        } else {
            slot = result.put(term)
            pendingElements &+= terms
        }
        stack.push(Frame(kind, remaining: terms, pointers, slot: slot, depth: depth, at: offset))
    }

    /// Decodes a run of small tuples, each the last element of the one before (`{K, {K, ...}}`,
    /// records wrapping records, `{ok, {...}}`), without the main loop: the tuple in `top` waits
    /// only for its last element, and while that is another small tuple, the child takes the
    /// parent's place in the same frame (a finished tuple needs no check) and its leading leaves
    /// are read straight in. The checks are the main loop's, in the same order. Stops, with the
    /// frame consistent, at the first term it does not handle.
    @inline(__always)
    private mutating func followTupleChain(_ top: UnsafeMutablePointer<Frame>) throws(TermDecodingError) {
        while top.pointee.remaining == 1, byteCount &- position >= 2,
              bytes[position] == ExternalTermTag.smallTuple.rawValue, bytes[position &+ 1] != 0 {
            let tagOffset = position
            let arity = Int(bytes[position &+ 1])
            position &+= 2
            // As `admit`: the child is no longer pending, each of its terms needs a byte.
            if arity &+ (pendingElements &- 1) > remainingBytes {
                throw TermDecodingError(.invalid("claims \(arity) terms (a list's tail counts as one) with \(Self.bytes(remainingBytes)) left"),
                                        at: tagOffset)
            }
            let depth = top.pointee.depth &+ 1
            guard depth <= maxDepth else { throw TermDecodingError(.tooDeep(limit: maxDepth), at: tagOffset) }
            try charge(Self.containerCost(arity), at: tagOffset)
            let storage = makeStorage(capacity: arity)
            let pointers = storage.unsafePointers
            top.pointee.append(.tuple(TermArray(storage: consume storage)))
            top.pointee = Frame(.tuple, remaining: arity, pointers, slot: nil, depth: depth, at: tagOffset)
            pendingElements &+= arity &- 1
            while top.pointee.remaining > 1, let leaf = try readLeaf() {
                top.pointee.append(leaf)
                top.pointee.remaining &-= 1
                pendingElements &-= 1
            }
        }
    }

    /// Checks a container that has all its terms (its last ones may still be filling).
    private func finish(_ frame: Frame) throws(TermDecodingError) {
        if case .map = frame.kind {
            // Keys come before their values, so every key is complete here.
            let keys = UnsafeBufferPointer(start: frame.elements, count: frame.header.pointee.count)
            if MapKeyCheck.hasDuplicateKey(keys) {
                throw TermDecodingError(.invalid("map has a duplicate key"), at: frame.offset)
            }
        }
    }

    /// Decodes leaves straight into the innermost container while more than one term is missing
    /// (the last one may be a list tail, which the main loop handles). Stops at anything else.
    private mutating func fillLeaves(_ top: UnsafeMutablePointer<Frame>) throws(TermDecodingError) {
        var remaining = top.pointee.remaining
        let header = top.pointee.header, elements = top.pointee.elements
        var count = header.pointee.count
        let capacity = header.pointee.capacity
        defer { header.pointee.count = count }  // also on a throw: the storage frees what it holds
        while remaining > 1, let term = try readLeaf() {
            precondition(count < capacity, "container storage is full")
            (elements + count).initialize(to: term)
            count += 1
            remaining -= 1
        }
        pendingElements -= top.pointee.remaining - remaining
        top.pointee.remaining = remaining
    }

    /// The next term when it is a common leaf, else nil with nothing consumed.
    @inline(__always)
    private mutating func readLeaf() throws(TermDecodingError) -> Term? {
        // Wrapping arithmetic: `position` never passes `byteCount`, so nothing here can overflow.
        let left = byteCount &- position
        guard left > 0 else { return nil }
        let tagOffset = position
        let tag = bytes[position]
        switch tag {
        case ExternalTermTag.smallInteger.rawValue:
            guard left >= 2 else { return nil }
            position = tagOffset &+ 2
            return .integer(Int(bytes[tagOffset &+ 1]))
        case ExternalTermTag.integer.rawValue:
            guard left >= 5 else { return nil }
            position = tagOffset &+ 5
            let value = UnsafeRawPointer(bytes + (tagOffset &+ 1)).loadUnaligned(as: UInt32.self)
            return .integer(Int(Int32(bitPattern: UInt32(bigEndian: value))))
        case ExternalTermTag.nil.rawValue:
            position += 1
            return .list(.empty)
        case ExternalTermTag.smallAtomUTF8.rawValue, ExternalTermTag.atomUTF8.rawValue,
            ExternalTermTag.smallAtom.rawValue, ExternalTermTag.atom.rawValue:
            position += 1
            return .atom(try readAtomBody(tag: tag, tagOffset: tagOffset))
        case ExternalTermTag.binary.rawValue:
            position += 1
            let length = Int(try readU32())
            try charge(Self.boxCost, at: tagOffset)
            return .binary(Binary(try readSlice(length)))
        case ExternalTermTag.newPid.rawValue:
            position += 1
            try charge(Self.boxCost, at: tagOffset)
            return .pid(try readPidBody(tag: tag))
        default:
            return nil
        }
    }

    /// True when the next term is the tail of the innermost open list.
    @inline(__always)
    private func isAtListTail(_ stack: borrowing OpenContainers) -> Bool {
        guard let top = stack.top, case .list = top.pointee.kind else { return false }
        return top.pointee.remaining == 1
    }

    /// Replaces the innermost list's pending tail with `count` more elements and a new tail.
    private mutating func extendList(by count: Int, at offset: Int, on stack: inout OpenContainers) throws(TermDecodingError) {
        // The tail's place becomes `count` elements and a tail, each needing a byte.
        if count + pendingElements > remainingBytes {
            throw TermDecodingError(.invalid("claims \(count) elements with \(Self.bytes(remainingBytes)) left"), at: offset)
        }
        pendingElements += count
        let top = stack.top!
        top.pointee.remaining += count
        try makeRoom(for: count, inListAt: top, at: offset)
    }

    /// Makes the list frame's storage hold `count` more elements. Grows geometrically unless
    /// told the size is final: a long chain of tails stays linear.
    private mutating func makeRoom(
        for count: Int, inListAt frame: UnsafeMutablePointer<Frame>, exactly: Bool = false, at offset: Int
    ) throws(TermDecodingError) {
        let header = frame.pointee.header
        if header.pointee.capacity - header.pointee.count < count {
            let minimumCapacity = header.pointee.count + count
            // The new storage (up to twice the minimum when growing geometrically); the old one,
            // charged when it was made, is freed.
            try charge(Self.containerCost(exactly ? minimumCapacity : 2 * minimumCapacity), at: offset)
            frame.pointee.moveToLarger(minimumCapacity: minimumCapacity, exactly: exactly)
        }
    }

    /// "1 byte", "2 bytes".
    static func bytes(_ n: Int) -> String { n == 1 ? "1 byte" : "\(n) bytes" }

    /// A count of elements cannot exceed the bytes left: each takes at least one byte.
    private func check(count: Int, minimumBytesEach: Int, at offset: Int) throws(TermDecodingError) {
        if count > remainingBytes / minimumBytesEach + 1 {
            throw TermDecodingError(.invalid("claims \(count) elements with \(Self.bytes(remainingBytes)) left"), at: offset)
        }
    }

    // MARK: Primitive reads

    @inline(__always)
    private mutating func need(_ n: Int) throws(TermDecodingError) {
        if n > byteCount &- position || n < 0 { throw TermDecodingError(.truncated, at: position) }
    }

    // After `need`, `position + n` is at most `byteCount`: the reads advance with wrapping
    // arithmetic, which has no overflow check to make.

    @inline(__always)
    private mutating func readU8() throws(TermDecodingError) -> UInt8 {
        try need(1)
        defer { position &+= 1 }
        return bytes[position]
    }

    @inline(__always)
    private mutating func readU16() throws(TermDecodingError) -> UInt16 {
        try need(2)
        defer { position &+= 2 }
        return UInt16(bigEndian: UnsafeRawPointer(bytes + position).loadUnaligned(as: UInt16.self))
    }

    @inline(__always)
    private mutating func readU32() throws(TermDecodingError) -> UInt32 {
        try need(4)
        defer { position &+= 4 }
        return UInt32(bigEndian: UnsafeRawPointer(bytes + position).loadUnaligned(as: UInt32.self))
    }

    @inline(__always)
    private mutating func readU64() throws(TermDecodingError) -> UInt64 {
        try need(8)
        defer { position &+= 8 }
        return UInt64(bigEndian: UnsafeRawPointer(bytes + position).loadUnaligned(as: UInt64.self))
    }

    /// A zero-copy slice of the input.
    private mutating func readSlice(_ length: Int) throws(TermDecodingError) -> ArraySlice<UInt8> {
        try need(length)
        let start = storage.startIndex + position
        position += length
        return storage[start..<(start + length)]
    }

    // MARK: Leaves

    private mutating func readOldFloat() throws(TermDecodingError) -> Double {
        let start = position
        try need(31)
        // The text ends at the first NUL (what follows is ignored, as the BEAM does). It must be a
        // decimal float with a point, like "%.20e" output: no spaces, hex floats, "inf" or "nan".
        let text = UnsafeRawBufferPointer(rebasing: raw[position..<(position + 31)]).prefix { $0 != 0 }
        position += 31
        guard Self.isDecimalFloat(text), let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite
        else {
            throw TermDecodingError(.invalid("FLOAT_EXT text is not a finite decimal float"), at: start)
        }
        return value
    }

    /// `[+-]digits.digits[(e|E)[+-]digits]`
    private static func isDecimalFloat(_ text: Slice<UnsafeRawBufferPointer>) -> Bool {
        var i = text.startIndex
        func digits() -> Bool {
            let from = i
            while i < text.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[i]) { i += 1 }
            return i > from
        }
        func sign() { if i < text.endIndex, text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-") { i += 1 } }
        sign()
        guard digits(), i < text.endIndex, text[i] == UInt8(ascii: ".") else { return false }
        i += 1
        guard digits() else { return false }
        if i < text.endIndex, text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E") {
            i += 1
            sign()
            guard digits() else { return false }
        }
        return i == text.endIndex
    }

    private mutating func readString(tagOffset: Int) throws(TermDecodingError) -> Term {
        let length = Int(try readU16())
        try need(length)
        if length == 0 { return .list(.empty) }
        try charge(Self.containerCost(length), at: tagOffset)
        let storage = makeStorage(capacity: length)
        appendStringBytes(length, to: storage)
        return .list(TermList(storage: storage))
    }

    /// Appends the next `length` bytes (already checked to be there) as integers.
    private mutating func appendStringBytes(_ length: Int, to storage: ContainerStorage) {
        for i in position..<(position + length) { storage.append(.integer(Int(raw[i]))) }
        position += length
    }

    private mutating func appendStringBytes(_ length: Int, to frame: UnsafeMutablePointer<Frame>) {
        for i in position..<(position + length) { frame.pointee.append(.integer(Int(raw[i]))) }
        position += length
    }

    private mutating func readBitBinary(tagOffset: Int) throws(TermDecodingError) -> Term {
        let length = Int(try readU32())
        let bits = try readU8()
        // OTP 25 decodes zero bytes with zero bits as <<>> (OTP 28 aborts the VM on it).
        if length == 0, bits == 0 { return .binary(Binary([])) }
        guard length > 0, (1...8).contains(bits) else {
            throw TermDecodingError(.invalid("BIT_BINARY_EXT with \(bits) bits in the last of \(length) bytes"),
                                    at: tagOffset)
        }
        var bytes = try readSlice(length)
        // The box, and a copy of the bytes when the last one has stray bits.
        try charge(Self.boxCost + 2 * Self.blockOverhead + length, at: tagOffset)
        if bits == 8 { return .binary(Binary(bytes)) }
        // Unused low bits are not part of the value; keep them zero so equality is exact.
        let mask: UInt8 = ~(0xFF >> bits)
        let last = bytes[bytes.endIndex - 1]
        if last & ~mask != 0 {
            var copy = Array(bytes)
            copy[copy.count - 1] = last & mask
            bytes = copy[...]
        }
        return .bitstring(Bitstring(bytes: Binary(bytes), bitsInLastByte: bits))
    }

    private mutating func readBig(length: Int, tagOffset: Int) throws(TermDecodingError) -> Term {
        // Any non-zero sign byte means negative, as in the BEAM.
        let negative = try readU8() != 0
        try need(length)
        // A big one is a box, the words read and the BigInt's own.
        let bigCost = Self.boxCost + 2 * (Self.blockOverhead + length)
        defer { position += length }
        if length <= 8 {
            var magnitude: UInt64 = 0
            for i in 0..<length { magnitude |= UInt64(raw[position + i]) << (8 * UInt64(i)) }
            if !negative, magnitude <= UInt64(Int.max) { return .integer(Int(magnitude)) }
            if negative, magnitude <= UInt64(Int.max) + 1 { return .integer(Int(truncatingIfNeeded: 0 &- magnitude)) }
            try charge(bigCost, at: tagOffset)
            let big = BigInt(sign: negative ? .minus : .plus, magnitude: BigUInt(magnitude))
            return .bigInteger(big)
        }
        try charge(bigCost, at: tagOffset)
        var words = [UInt](repeating: 0, count: (length + 7) / 8)
        for i in 0..<length { words[i / 8] |= UInt(raw[position + i]) << (8 * UInt(i % 8)) }
        let big = BigInt(sign: negative ? .minus : .plus, magnitude: BigUInt(words: words))
        // Non-canonical input (leading zero bytes) may still fit a machine word.
        if let small = Int(exactly: big) { return .integer(small) }
        return .bigInteger(big)
    }

    // MARK: Atoms

    private mutating func readAtom() throws(TermDecodingError) -> Atom {
        let tagOffset = position
        let tag = try readU8()
        switch tag {
        case ExternalTermTag.smallAtomUTF8.rawValue, ExternalTermTag.atomUTF8.rawValue,
            ExternalTermTag.smallAtom.rawValue, ExternalTermTag.atom.rawValue:
            return try readAtomBody(tag: tag, tagOffset: tagOffset)
        case ExternalTermTag.atomCacheReference.rawValue:
            throw TermDecodingError(.atomCacheReference, at: tagOffset)
        default:
            throw TermDecodingError(.invalid("expected an atom, found tag \(tag)"), at: tagOffset)
        }
    }

    private mutating func readAtomBody(tag: UInt8, tagOffset: Int) throws(TermDecodingError) -> Atom {
        let small = tag == ExternalTermTag.smallAtomUTF8.rawValue || tag == ExternalTermTag.smallAtom.rawValue
        let length = small ? Int(try readU8()) : Int(try readU16())
        try need(length)
        let start = position
        position += length
        let bytes = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
        let utf8 = tag == ExternalTermTag.smallAtomUTF8.rawValue || tag == ExternalTermTag.atomUTF8.rawValue
        if let cached = atomCache.lookup(bytes, utf8: utf8) { return cached }
        // Up to 15 UTF-8 bytes are stored in the String itself; longer text is a block (Latin-1
        // bytes may take two each).
        if length > 15 { try charge(Self.blockOverhead + 2 * length, at: tagOffset) }
        let name: String
        let ascii = Self.isASCII(bytes)
        if ascii {
            // ASCII reads the same in UTF-8 and Latin-1 and needs no validation (most atoms are;
            // `String(validating:)` costs a generic metadata lookup per call).
            if length > 255 { throw TermDecodingError(.invalid("atom longer than 255 characters"), at: tagOffset) }
            name = String(decoding: bytes, as: UTF8.self)
        } else if utf8 {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw TermDecodingError(.invalid("atom is not valid UTF-8"), at: tagOffset)
            }
            if length > 255, text.unicodeScalars.count > 255 {
                throw TermDecodingError(.invalid("atom longer than 255 characters"), at: tagOffset)
            }
            name = text
        } else {
            if length > 255 { throw TermDecodingError(.invalid("atom longer than 255 characters"), at: tagOffset) }
            name = String(latin1: bytes)
        }
        let atom = Atom(name)
        atomCache.insert(bytes, utf8: utf8, ascii: ascii, atom: atom)
        return atom
    }

    /// True when no byte has its high bit set; eight bytes at a time.
    @inline(__always)
    private static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= bytes.count {
            high |= bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            high |= UInt64(bytes[i])
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    // MARK: Identifiers

    private mutating func readPidBody(tag: UInt8) throws(TermDecodingError) -> Pid {
        let node = try readAtom()
        let id = try readU32()
        let serial = try readU32()
        let creation = tag == ExternalTermTag.newPid.rawValue ? try readU32() : UInt32(try readU8())
        return Pid(node: node, id: id, serial: serial, creation: creation)
    }

    private mutating func readPortBody(tag: UInt8) throws(TermDecodingError) -> Port {
        let node = try readAtom()
        let id: UInt64 = tag == ExternalTermTag.v4Port.rawValue ? try readU64() : UInt64(try readU32())
        let creation = tag == ExternalTermTag.port.rawValue ? UInt32(try readU8()) : try readU32()
        return Port(node: node, id: id, creation: creation)
    }

    private mutating func readReferenceBody(tag: UInt8, tagOffset: Int) throws(TermDecodingError) -> Reference {
        if tag == ExternalTermTag.reference.rawValue {
            let node = try readAtom()
            let id = try readU32()
            let creation = UInt32(try readU8())
            return Reference(node: node, creation: creation, ids: [id])
        }
        let count = Int(try readU16())
        guard (1...5).contains(count) else {
            throw TermDecodingError(.invalid("reference with \(count) id words (1 to 5 allowed)"), at: tagOffset)
        }
        let node = try readAtom()
        let creation = tag == ExternalTermTag.newerReference.rawValue ? try readU32() : UInt32(try readU8())
        var ids: [UInt32] = []
        ids.reserveCapacity(count)
        for _ in 0..<count { ids.append(try readU32()) }
        return Reference(node: node, creation: creation, ids: ids)
    }

    // MARK: Funs

    private mutating func readExportBody(tagOffset: Int) throws(TermDecodingError) -> ExportFun {
        let module = try readAtom()
        let function = try readAtom()
        let arityOffset = position
        // A BEAM writes SMALL_INTEGER_EXT, and also reads INTEGER_EXT here.
        guard let arity = UInt8(exactly: try readSmallOrInteger(what: "export fun arity")) else {
            throw TermDecodingError(.invalid("export fun arity is not 0...255"), at: arityOffset)
        }
        return ExportFun(module: module, function: function, arity: arity)
    }

    private mutating func readSmallOrInteger(what: String = "fun field") throws(TermDecodingError) -> Int {
        let at = position
        switch try readU8() {
        case ExternalTermTag.smallInteger.rawValue: return Int(try readU8())
        case ExternalTermTag.integer.rawValue: return Int(Int32(bitPattern: try readU32()))
        default: throw TermDecodingError(.invalid("\(what) is not an integer"), at: at)
        }
    }

    private mutating func readFunHeader(tagOffset: Int) throws(TermDecodingError) -> (FunHeader, Int) {
        // Size (the fun's total length) is not checked: the BEAM ignores it too.
        _ = try readU32()
        let arity = try readU8()
        let uniq = Array(try readSlice(16))
        let index = try readU32()
        let freeCount = Int(try readU32())
        let module = try readAtom()
        let oldIndex = try readSmallOrInteger()
        let oldUniq = try readSmallOrInteger()
        let pidOffset = position
        let pidTag = try readU8()
        guard pidTag == ExternalTermTag.newPid.rawValue || pidTag == ExternalTermTag.pid.rawValue else {
            throw TermDecodingError(.invalid("fun creator is not a pid"), at: pidOffset)
        }
        let pid = try readPidBody(tag: pidTag)
        try check(count: freeCount, minimumBytesEach: 1, at: tagOffset)
        let header = FunHeader(arity: arity, uniq: uniq, index: index, module: module,
                               oldIndex: oldIndex, oldUniq: oldUniq, pid: pid)
        return (header, freeCount)
    }
}

extension Fun {
    fileprivate init(_ header: Parser.FunHeader, freeVariables: TermArray) {
        self.init(arity: header.arity, uniq: header.uniq, index: header.index, module: header.module,
                  oldIndex: header.oldIndex, oldUniq: header.oldUniq, pid: header.pid,
                  freeVariables: freeVariables)
    }
}

// MARK: - Atom cache

/// Remembers recently decoded atoms so repeated ones (node names in every pid, map keys)
/// are not validated and allocated again. Direct-mapped, keyed by the encoded bytes, which
/// are compared with the atom's own UTF-8: an entry holds no copy of them. So a Latin-1 atom
/// is kept only when it is ASCII (its bytes are then its UTF-8).
private struct AtomCache {
    private struct Entry {
        var utf8: Bool
        var atom: Atom

        @inline(__always)
        func matches(_ bytes: UnsafeRawBufferPointer, utf8: Bool) -> Bool {
            guard self.utf8 == utf8 else { return false }
            var name = atom.name
            return name.withUTF8 { own in
                own.count == bytes.count && memcmp(own.baseAddress!, bytes.baseAddress!, bytes.count) == 0
            }
        }
    }
    /// The first two atoms are kept inline: a distribution message (a control tuple of pids, a
    /// `{Ref, Reply}`) rarely names more, and then needs no table.
    private var first: Entry?
    private var second: Entry?
    private var table: [Entry?] = []

    @inline(__always)
    private func slot(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let first = bytes.first, let last = bytes.last else { return 0 }
        return (bytes.count &* 31 &+ Int(first) &* 7 &+ Int(last)) & 63
    }

    func lookup(_ bytes: UnsafeRawBufferPointer, utf8: Bool) -> Atom? {
        guard !bytes.isEmpty else { return nil }
        if first?.matches(bytes, utf8: utf8) == true { return first!.atom }
        if second?.matches(bytes, utf8: utf8) == true { return second!.atom }
        guard !table.isEmpty, table[slot(bytes)]?.matches(bytes, utf8: utf8) == true else { return nil }
        return table[slot(bytes)]!.atom
    }

    /// `ascii`: the bytes are ASCII (required of a Latin-1 atom, see above).
    mutating func insert(_ bytes: UnsafeRawBufferPointer, utf8: Bool, ascii: Bool, atom: Atom) {
        guard bytes.count <= 64, !bytes.isEmpty, utf8 || ascii else { return }
        let entry = Entry(utf8: utf8, atom: atom)
        if first == nil { first = entry; return }
        if second == nil { second = entry; return }
        if table.isEmpty { table = [Entry?](repeating: nil, count: 64) }
        table[slot(bytes)] = entry
    }
}

// MARK: - Open containers

/// A container being filled: it still waits for `remaining` terms. Its storage is owned by the
/// term in its parent's slot (or the result), which stays put while the container is open.
private struct OpenContainer {
    enum Kind: UInt8 {
        case tuple
        case list  // the last term is the tail
        case map
        case fun
    }
    let kind: Kind
    var isList: Bool { kind == .list }
    var remaining: Int
    /// The storage's header and elements, kept at hand: appending touches no reference count.
    private(set) var header: UnsafeMutablePointer<ContainerHeader>
    private(set) var elements: UnsafeMutablePointer<Term>
    /// Where a list's term is, to swap in a larger storage (only lists grow).
    let slot: UnsafeMutablePointer<Term>?
    let depth: Int
    let offset: Int

    typealias StoragePointers = (header: UnsafeMutablePointer<ContainerHeader>, elements: UnsafeMutablePointer<Term>)

    /// `pointers` are those of storage the term in `slot` (or elsewhere in the term) holds.
    init(_ kind: Kind, remaining: Int, _ pointers: StoragePointers, slot: UnsafeMutablePointer<Term>?, depth: Int, at offset: Int) {
        self.kind = kind
        self.remaining = remaining
        (header, elements) = pointers
        self.slot = slot
        self.depth = depth
        self.offset = offset
    }

    /// Where the next element goes (valid until the storage is swapped).
    var nextSlot: UnsafeMutablePointer<Term> { elements + header.pointee.count }

    @inline(__always)
    func append(_ term: consuming Term) {
        let count = header.pointee.count
        precondition(count < header.pointee.capacity, "container storage is full")
        (elements + count).initialize(to: term)
        header.pointee.count = count &+ 1
    }

    /// Swaps a list's storage for a larger one holding the same elements. Only the innermost
    /// container grows, so no open container keeps a slot inside the old storage.
    mutating func moveToLarger(minimumCapacity: Int, exactly: Bool) {
        guard let slot, case .list(let old) = slot.pointee else { preconditionFailure("only a list grows") }
        let larger = old.storage.movedToLarger(minimumCapacity: minimumCapacity, exactly: exactly)
        (header, elements) = larger.unsafePointers
        slot.pointee = .list(TermList(storage: larger))
    }
}

/// The decoded term while it is built: the root container's slot. Frees what was decoded when
/// decoding fails part-way.
private struct ResultCell: ~Copyable {
    private let cell = UnsafeMutablePointer<Term>.allocate(capacity: 1)
    private var filled = false

    mutating func put(_ term: consuming Term) -> UnsafeMutablePointer<Term> {
        cell.initialize(to: term)
        filled = true
        return cell
    }

    mutating func take() -> Term {
        filled = false
        return cell.move()
    }

    deinit {
        if filled { cell.deinitialize(count: 1) }
        cell.deallocate()
    }
}

/// The decoder's stack of open containers, innermost last, in linked segments of plain memory.
/// A deep term pushes and pops once per level, and frames are trivial to copy (no reference
/// counting, no uniqueness check). Segments stay under 1 KiB: growing never copies a frame and
/// never asks malloc for a large block, which would make glibc merge the small blocks it keeps
/// for reuse (`malloc_consolidate`) and send every container allocation after it down its slow
/// path. A segment emptied by popping is kept for the next push.
private struct OpenContainers: ~Copyable {
    private struct SegmentLinks {
        var previous: UnsafeMutableRawPointer?
        var next: UnsafeMutableRawPointer?
    }
    private static let framesPerSegment = 16
    private static let framesOffset = MemoryLayout<SegmentLinks>.stride
        .roundedUp(to: MemoryLayout<OpenContainer>.alignment)

    private let first: UnsafeMutableRawPointer
    /// The segment holding the innermost frame (the first one when the stack is empty).
    private var segment: UnsafeMutableRawPointer
    /// Frames used in `segment`: 1...framesPerSegment unless the stack is empty.
    private var used = 0
    private(set) var count = 0

    init() {
        first = Self.makeSegment(after: nil)
        segment = first
    }

    deinit {
        // Frames own nothing (their containers belong to the term being built).
        var next: UnsafeMutableRawPointer? = first
        while let s = next {
            next = Self.links(s).pointee.next
            free(s)
        }
    }

    private static func makeSegment(after previous: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer {
        guard let s = malloc(framesOffset + framesPerSegment * MemoryLayout<OpenContainer>.stride) else {
            fatalError("out of memory for open containers")
        }
        s.bindMemory(to: SegmentLinks.self, capacity: 1).initialize(to: SegmentLinks(previous: previous, next: nil))
        (s + framesOffset).bindMemory(to: OpenContainer.self, capacity: framesPerSegment)
        return s
    }

    @inline(__always)
    private static func links(_ s: UnsafeMutableRawPointer) -> UnsafeMutablePointer<SegmentLinks> {
        s.assumingMemoryBound(to: SegmentLinks.self)
    }

    @inline(__always)
    private static func frames(_ s: UnsafeMutableRawPointer) -> UnsafeMutablePointer<OpenContainer> {
        (s + framesOffset).assumingMemoryBound(to: OpenContainer.self)
    }

    /// The innermost open container; valid until the next push or pop.
    private(set) var top: UnsafeMutablePointer<OpenContainer>? = nil

    @inline(__always)
    mutating func push(_ frame: OpenContainer) {
        if used == Self.framesPerSegment { moveToNextSegment() }
        let slot = Self.frames(segment) + used
        slot.initialize(to: frame)
        top = slot
        used += 1
        count += 1
    }

    private mutating func moveToNextSegment() {
        let links = Self.links(segment)
        if let next = links.pointee.next {
            segment = next
        } else {
            let next = Self.makeSegment(after: segment)
            links.pointee.next = next
            segment = next
        }
        used = 0
    }

    /// Removes the innermost frame.
    @inline(__always)
    mutating func pop() -> OpenContainer {
        used -= 1
        count -= 1
        let frame = (Self.frames(segment) + used).move()
        if used == 0, let previous = Self.links(segment).pointee.previous {
            segment = previous
            used = Self.framesPerSegment
        }
        top = count == 0 ? nil : Self.frames(segment) + (used - 1)
        return frame
    }
}

extension Int {
    fileprivate func roundedUp(to alignment: Int) -> Int { (self + alignment - 1) / alignment * alignment }
}
