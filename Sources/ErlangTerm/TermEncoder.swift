// Encoding terms the way a modern BEAM does (`term_to_binary/1` on OTP 26+): UTF-8 atoms,
// NEW_FLOAT, NEW_PID, NEWER_REFERENCE, V4_PORT, the smallest integer form,
// STRING_EXT for short lists of bytes. Iterative, like the decoder.

import BigInt

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a term cannot be encoded.
public struct TermEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Encodes terms to bytes.
public struct TermEncoder: Sendable {
    /// zlib level for `term_to_binary(T, [{compressed, Level}])`-style output; `nil` for none.
    public var compressionLevel: Int32?

    public init(compressionLevel: Int32? = nil) { self.compressionLevel = compressionLevel }

    /// A standalone term: 131, then the term (compressed when asked and smaller, as the BEAM does).
    public func encode(_ term: Term) throws(TermEncodingError) -> [UInt8] {
        var versioned: [UInt8] = []
        try Self.encodeVersioned(term, into: &versioned)
        if let level = compressionLevel, level > 0 {
            let body = versioned[1...]
            let packed = Zlib.deflate(body, level: level)
            // term_to_binary keeps the uncompressed form when compression does not pay.
            if packed.count + 5 < body.count {
                var out: [UInt8] = [externalTermVersion, ExternalTermTag.compressed.rawValue]
                out.reserveCapacity(packed.count + 6)
                out.appendBigEndian(UInt32(body.count))
                out.append(contentsOf: packed)
                return out
            }
        }
        return versioned
    }

    /// Appends 131 and the term to `buffer` (the form used inside distribution messages).
    /// On error `buffer` is unchanged.
    public static func encodeVersioned(_ term: Term, into buffer: inout [UInt8]) throws(TermEncodingError) {
        try append(term, versioned: true, to: &buffer)
    }

    /// Appends the term without a version byte. On error `buffer` is unchanged.
    public static func encodeBody(_ term: Term, into buffer: inout [UInt8]) throws(TermEncodingError) {
        try append(term, versioned: false, to: &buffer)
    }

    private static func append(_ term: Term, versioned: Bool, to buffer: inout [UInt8]) throws(TermEncodingError) {
        // One pass into a raw buffer that grows by doubling (no capacity or uniqueness check of
        // an array per byte); large binaries are not copied into it but spliced in when the
        // result is assembled, so each of their bytes is copied once. An error leaves `buffer`
        // as it was.
        var writer = Traversal(sink: OutputBuffer())
        defer { writer.sink.deallocate() }
        if versioned { writer.sink.byte(externalTermVersion) }
        try writer.run(term)
        writer.sink.append(to: &buffer)
    }
}

// MARK: - Output

/// A malloc'ed buffer grown by doubling, plus the large binaries to splice in after given
/// offsets of it.
private struct OutputBuffer {
    /// Binaries at least this large are spliced in rather than copied twice.
    static let spliceThreshold = 64 * 1024

    private var base: UnsafeMutableRawPointer
    private var capacity = 256
    private var used = 0
    private var splices: [(offset: Int, bytes: ArraySlice<UInt8>)] = []
    private var splicedBytes = 0

    // malloc and realloc rather than allocate-and-copy: a large block grows in place or by
    // remapping its pages (glibc's mremap), so the bytes written are not copied again and the
    // pages they fill are not faulted in a second time at each doubling.
    init() { base = Self.resized(nil, to: 256) }

    mutating func deallocate() { free(base) }

    private static func resized(_ block: UnsafeMutableRawPointer?, to byteCount: Int) -> UnsafeMutableRawPointer {
        guard let resized = realloc(block, byteCount) else { fatalError("out of memory for an encoding of \(byteCount) bytes") }
        return resized
    }

    /// Bytes written so far, spliced binaries included.
    var position: Int { used + splicedBytes }
    /// Where the next byte goes in the buffer itself, for `patchBigEndian` and `repeatBytes`.
    var mark: Int { used }

    @inline(__always)
    private mutating func reserve(_ count: Int) {
        if count > capacity - used { grow(count) }
    }

    private mutating func grow(_ count: Int) {
        var newCapacity = capacity * 2
        while newCapacity - used < count { newCapacity *= 2 }
        base = Self.resized(base, to: newCapacity)
        capacity = newCapacity
    }

    @inline(__always) mutating func byte(_ value: UInt8) {
        reserve(1)
        base.storeBytes(of: value, toByteOffset: used, as: UInt8.self)
        used += 1
    }

    @inline(__always) mutating func bigEndian<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        base.storeBytes(of: value.bigEndian, toByteOffset: used, as: T.self)
        used += MemoryLayout<T>.size
    }

    @inline(__always) mutating func bytes(_ raw: UnsafeRawBufferPointer) {
        reserve(raw.count)
        if let from = raw.baseAddress { (base + used).copyMemory(from: from, byteCount: raw.count) }
        used += raw.count
    }

    /// A binary's bytes: copied, or kept by reference and spliced in by `append(to:)`.
    mutating func binary(_ bytes: ArraySlice<UInt8>) {
        if bytes.count >= Self.spliceThreshold {
            splices.append((used, bytes))
            splicedBytes += bytes.count
        } else {
            bytes.withUnsafeBytes { self.bytes($0) }
        }
    }

    /// Overwrites 4 bytes written earlier at `mark` (a fun's size field).
    mutating func patchBigEndian(_ value: UInt32, at mark: Int) {
        precondition(mark >= 0 && mark <= used - 4)
        base.storeBytes(of: value.bigEndian, toByteOffset: mark, as: UInt32.self)
    }

    /// Writes again `count` bytes written earlier at `mark` (none of them spliced).
    /// A pid whose node atom was written before, at `atomMark` (`atomLength` bytes): one room
    /// check and one copy for the whole pid (a list of a node's pids is mostly this).
    @inline(__always) mutating func pid(repeatingAtomAt atomMark: Int, atomLength: Int, id: UInt32, serial: UInt32, creation: UInt32) {
        precondition(atomMark >= 0 && atomLength >= 0 && atomMark <= used - atomLength)
        let count = 13 &+ atomLength
        reserve(count)  // may move the buffer: pointers only after it
        let start = base + used
        start.storeBytes(of: ExternalTermTag.newPid.rawValue, as: UInt8.self)
        (start + 1).copyMemory(from: base + atomMark, byteCount: atomLength)
        let ids = start + 1 + atomLength
        ids.storeBytes(of: id.bigEndian, as: UInt32.self)
        (ids + 4).storeBytes(of: serial.bigEndian, as: UInt32.self)
        (ids + 8).storeBytes(of: creation.bigEndian, as: UInt32.self)
        used &+= count
    }

    @inline(__always) mutating func repeatBytes(at mark: Int, count: Int) {
        precondition(mark >= 0 && count >= 0 && mark <= used - count)
        reserve(count)  // may move the buffer: pointers only after it
        (base + used).copyMemory(from: base + mark, byteCount: count)
        used += count
    }

    /// Large outputs are fresh memory from the kernel (glibc maps blocks over 32 MiB anew each
    /// time), and faulting it in 4 KiB at a time costs more than the copy: ask for huge pages
    /// where the kernel offers them on request (transparent huge pages in `madvise` mode).
    private static func preferHugePages(_ start: UnsafeMutableRawPointer, byteCount: Int) {
        #if canImport(Glibc)
        let huge = 2 << 20
        guard byteCount >= 8 * huge else { return }
        let first = (Int(bitPattern: start) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: start) + byteCount) & ~(huge - 1)
        guard end > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(aligned, end - first, MADV_HUGEPAGE)
        #endif
    }

    /// Appends everything written, splices in place, to `buffer`.
    func append(to buffer: inout [UInt8]) {
        let total = position
        let write = { (out: UnsafeMutableRawPointer) in
            var from = 0
            var to = out
            for splice in splices {
                to.copyMemory(from: base + from, byteCount: splice.offset - from)
                to += splice.offset - from
                from = splice.offset
                splice.bytes.withUnsafeBytes { to.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                to += splice.bytes.count
            }
            to.copyMemory(from: base + from, byteCount: used - from)
        }
        if buffer.isEmpty {
            buffer = [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
                if total > 0 {
                    let destination = UnsafeMutableRawPointer(out.baseAddress!)
                    Self.preferHugePages(destination, byteCount: total)
                    write(destination)
                }
                initialized = total
            }
        } else {
            let prefix = buffer.count
            buffer.reserveCapacity(prefix + total)
            buffer.append(contentsOf: repeatElement(0, count: total))
            buffer.withUnsafeMutableBytes { write($0.baseAddress! + prefix) }
        }
    }
}

// MARK: - Traversal

/// Walks a term depth-first with an explicit stack (deep terms cannot overflow the thread's
/// stack) and hands its encoding to the sink.
private struct Traversal {
    var sink: OutputBuffer

    enum Work {
        /// Elements `next..<count` of a container still to write; a list then writes its tail.
        /// The pointers stay valid: the root term, which owns every container, outlives the walk.
        case items(UnsafePointer<Term>, count: Int, next: Int, list: Unmanaged<ContainerStorage>?)
        /// Patch the size field (at `mark`) of a fun whose size counts from `start`.
        case funEnd(start: Int, mark: Int)
    }
    var work: [Work] = []
    /// The last atom written, where its encoding starts (`sink.mark`) and how long it is.
    private var lastAtom: (name: String, mark: Int, length: Int)?

    init(sink: OutputBuffer) { self.sink = sink }

    mutating func run(_ root: Term) throws(TermEncodingError) {
        try withUnsafePointer(to: root) { root throws(TermEncodingError) in try emit(root) }
        outer: while let top = work.popLast() {
            switch top {
            case .items(var base, var count, var next, var list):
                while next < count {
                    // Elements are read in place (no copy, no reference counting).
                    let element = base + next
                    next += 1
                    if case .integer(let v) = element.pointee {
                        writeInteger(v)
                        continue
                    }
                    if let elements = Term.tupleElements(element) {
                        // Into the tuple right here: its elements become the current run, and the
                        // rest of this one waits on the stack (unless nothing is left of it, so a
                        // deep chain of last elements needs no stack and no push and pop per level).
                        try writeSized(elements.count, small: .smallTuple, large: .largeTuple, "tuple")
                        guard let first = elements.baseAddress, elements.count > 0 else { continue }
                        if next < count || list != nil {
                            work.append(.items(base, count: count, next: next, list: list))
                        }
                        (base, count, next, list) = (first, elements.count, 0, nil)
                        continue
                    }
                    // The commonest leaves without the general `emit` (and its copy of the term).
                    // One `if case` each: a `switch` here copies the term first.
                    if case .pid(let p) = element.pointee {
                        try writePid(p)
                        continue
                    }
                    if case .atom(let a) = element.pointee {
                        try writeAtom(a)
                        continue
                    }
                    if case .binary(let b) = element.pointee {
                        try writeBinary(b)
                        continue
                    }
                    if element.pointee.isContainer {
                        // Come back for the rest after the container (whose work goes on top),
                        // unless nothing is left: a deep chain of last elements needs no stack.
                        if next < count || list != nil {
                            work.append(.items(base, count: count, next: next, list: list))
                        }
                        try emit(element)
                        continue outer
                    }
                    try emit(element)
                }
                if let list {
                    if let tail = list._withUnsafeGuaranteedRef({ $0.tail }) {
                        try withUnsafePointer(to: tail) { tail throws(TermEncodingError) in try emit(tail) }
                    } else {
                        sink.byte(ExternalTermTag.nil.rawValue)
                    }
                }
            case .funEnd(let start, let mark):
                sink.patchBigEndian(try length32(sink.position - start, "fun"), at: mark)
            }
        }
    }

    private mutating func schedule(_ storage: ContainerStorage, isList: Bool) {
        let elements = storage.elementBuffer
        work.append(.items(elements.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Term>.alignment)!,
                           count: elements.count, next: 0,
                           list: isList ? Unmanaged.passUnretained(storage) : nil))
    }

    /// Writes a leaf completely, or a container's header and schedules its elements.
    private mutating func emit(_ term: UnsafePointer<Term>) throws(TermEncodingError) {
        try emit(borrowing: term.pointee)
    }

    private mutating func emit(borrowing term: borrowing Term) throws(TermEncodingError) {
        switch term {
        case .integer(let v):
            writeInteger(v)
        case .bigInteger(let v):
            if let small = Int(exactly: v) { writeInteger(small) } else { try writeBig(v) }
        case .float(let v):
            sink.byte(ExternalTermTag.newFloat.rawValue)
            sink.bigEndian(v.bitPattern)
        case .atom(let a):
            try writeAtom(a)
        case .tuple(let t):
            let n = t.count
            try writeSized(n, small: .smallTuple, large: .largeTuple, "tuple")
            if n > 0 { schedule(t.storage, isList: false) }
        case .list(let l):
            let n = l.count
            if n == 0 {
                if let tail = l.tail {
                    try withUnsafePointer(to: tail) { tail throws(TermEncodingError) in try emit(tail) }
                } else {
                    sink.byte(ExternalTermTag.nil.rawValue)
                }
                return
            }
            if l.isProper, n <= 65535, writeByteString(l.storage) { return }
            sink.byte(ExternalTermTag.list.rawValue)
            sink.bigEndian(try length32(n, "list"))
            schedule(l.storage, isList: true)
        case .map(let m):
            sink.byte(ExternalTermTag.map.rawValue)
            sink.bigEndian(try length32(m.count, "map"))
            if m.count > 0 { schedule(m.storage, isList: false) }
        case .binary(let b):
            try writeBinary(b)
        case .bitstring(let b):
            sink.byte(ExternalTermTag.bitBinary.rawValue)
            sink.bigEndian(try length32(b.bytes.count, "bitstring"))
            sink.byte(b.bitsInLastByte)
            sink.binary(b.bytes.bytes)
        case .pid(let p):
            try writePid(p)
        case .port(let p):
            // OTP 26+ writes every port as V4_PORT_EXT (64-bit id), whatever its size; OTP 24
            // and later decode it. (OTP 25 itself still wrote NEW_PORT_EXT for 32-bit ids.)
            sink.byte(ExternalTermTag.v4Port.rawValue)
            try writeAtom(p.node)
            sink.bigEndian(p.id)
            sink.bigEndian(p.creation)
        case .reference(let r):
            guard (1...5).contains(r.ids.count) else {
                throw TermEncodingError("a reference has 1 to 5 id words, not \(r.ids.count)")
            }
            sink.byte(ExternalTermTag.newerReference.rawValue)
            sink.bigEndian(UInt16(r.ids.count))
            try writeAtom(r.node)
            sink.bigEndian(r.creation)
            for id in r.ids { sink.bigEndian(id) }
        case .export(let e):
            sink.byte(ExternalTermTag.export.rawValue)
            try writeAtom(e.module)
            try writeAtom(e.function)
            sink.byte(ExternalTermTag.smallInteger.rawValue)
            sink.byte(e.arity)
        case .fun(let f):
            guard f.uniq.count == 16 else { throw TermEncodingError("a fun's uniq is 16 bytes, not \(f.uniq.count)") }
            sink.byte(ExternalTermTag.newFun.rawValue)
            let start = sink.position, mark = sink.mark
            sink.bigEndian(UInt32(0))  // size, patched by .funEnd
            sink.byte(f.arity)
            f.uniq.withUnsafeBytes { sink.bytes($0) }
            sink.bigEndian(f.index)
            sink.bigEndian(try length32(f.freeVariables.count, "fun environment"))
            try writeAtom(f.module)
            writeInteger(f.oldIndex)
            writeInteger(f.oldUniq)
            try writePid(f.pid)
            work.append(.funEnd(start: start, mark: mark))
            if !f.freeVariables.isEmpty { schedule(f.freeVariables.storage, isList: false) }
        }
    }

    private func length32(_ n: Int, _ what: String) throws(TermEncodingError) -> UInt32 {
        guard let v = UInt32(exactly: n) else { throw TermEncodingError("\(what) too large to encode (\(n))") }
        return v
    }

    /// Writes a proper list whose elements are all integers 0...255 as STRING_EXT, as the BEAM
    /// does; false (nothing written) for any other list.
    private mutating func writeByteString(_ storage: ContainerStorage) -> Bool {
        let elements = storage.elementBuffer
        for e in elements {
            guard case .integer(let v) = e, v >= 0, v <= 255 else { return false }
        }
        sink.byte(ExternalTermTag.string.rawValue)
        sink.bigEndian(UInt16(elements.count))
        for e in elements {
            if case .integer(let v) = e { sink.byte(UInt8(v)) }
        }
        return true
    }

    @inline(__always)
    private mutating func writeInteger(_ v: Int) {
        if v >= 0 && v <= 255 {
            sink.bigEndian(UInt16(ExternalTermTag.smallInteger.rawValue) << 8 | UInt16(v))
        } else if v >= Int(Int32.min) && v <= Int(Int32.max) {
            sink.byte(ExternalTermTag.integer.rawValue)
            sink.bigEndian(UInt32(bitPattern: Int32(v)))
        } else {
            var magnitude = v.magnitude
            let digits = (UInt.bitWidth - magnitude.leadingZeroBitCount + 7) / 8
            sink.byte(ExternalTermTag.smallBig.rawValue)
            sink.byte(UInt8(digits))
            sink.byte(v < 0 ? 1 : 0)
            for _ in 0..<digits {
                sink.byte(UInt8(truncatingIfNeeded: magnitude))
                magnitude >>= 8
            }
        }
    }

    /// A tag and a count: the small form (one-byte count) up to 255, else the large (four bytes).
    @inline(__always)
    private mutating func writeSized(_ n: Int, small: ExternalTermTag, large: ExternalTermTag, _ what: String)
        throws(TermEncodingError)
    {
        if n <= 255 {
            sink.bigEndian(UInt16(small.rawValue) << 8 | UInt16(n))
        } else {
            sink.byte(large.rawValue)
            sink.bigEndian(try length32(n, what))
        }
    }

    private mutating func writeBinary(_ b: Binary) throws(TermEncodingError) {
        sink.byte(ExternalTermTag.binary.rawValue)
        sink.bigEndian(try length32(b.count, "binary"))
        sink.binary(b.bytes)
    }

    private mutating func writeBig(_ v: BigInt) throws(TermEncodingError) {
        // Little-endian magnitude bytes without the high zero bytes.
        var words = Array(v.magnitude.words)
        while words.last == 0 { words.removeLast() }
        let digits = words.isEmpty ? 0 : (words.count - 1) * (UInt.bitWidth / 8)
            + (UInt.bitWidth - words[words.count - 1].leadingZeroBitCount + 7) / 8
        try writeSized(digits, small: .smallBig, large: .largeBig, "integer")
        sink.byte(v.sign == .minus ? 1 : 0)
        var written = 0
        for word in words {
            var w = word
            for _ in 0..<(UInt.bitWidth / 8) where written < digits {
                sink.byte(UInt8(truncatingIfNeeded: w))
                w >>= 8
                written += 1
            }
        }
    }

    private mutating func writePid(_ p: Pid) throws(TermEncodingError) {
        if let last = lastAtom, last.name == p.node.name {
            sink.pid(repeatingAtomAt: last.mark, atomLength: last.length, id: p.id, serial: p.serial, creation: p.creation)
            return
        }
        sink.byte(ExternalTermTag.newPid.rawValue)
        try writeAtom(p.node)
        sink.bigEndian(p.id)
        sink.bigEndian(p.serial)
        sink.bigEndian(p.creation)
    }

    private mutating func writeAtom(_ atom: Atom) throws(TermEncodingError) {
        // The same atom again (every pid of a node names it): copy its encoding from where it
        // was last written. Atoms are never spliced, so those bytes are in the buffer.
        if let last = lastAtom, last.name == atom.name {
            sink.repeatBytes(at: last.mark, count: last.length)
            return
        }
        let mark = sink.mark
        let utf8 = atom.name.utf8
        let count = utf8.count
        if count <= 255 {
            sink.byte(ExternalTermTag.smallAtomUTF8.rawValue)
            sink.byte(UInt8(count))
        } else if count <= 65535 {
            sink.byte(ExternalTermTag.atomUTF8.rawValue)
            sink.bigEndian(UInt16(count))
        } else {
            throw TermEncodingError("atom of \(count) bytes is too long")
        }
        let copied: Void? = utf8.withContiguousStorageIfAvailable { sink.bytes(UnsafeRawBufferPointer($0)) }
        if copied == nil {
            for byte in utf8 { sink.byte(byte) }
        }
        lastAtom = (atom.name, mark, sink.mark - mark)
    }
}

extension Term {
    /// A tuple's elements, read in place (valid while the term is alive); nil for anything else.
    @inline(__always)
    fileprivate static func tupleElements(_ term: UnsafePointer<Term>) -> UnsafeBufferPointer<Term>? {
        borrowedTupleElements(term.pointee)
    }

    @inline(__always)
    private static func borrowedTupleElements(_ term: borrowing Term) -> UnsafeBufferPointer<Term>? {
        switch term {
        case .tuple(let t): return t.storage.elementBuffer
        default: return nil
        }
    }

    /// A tuple, list, map or fun: `emit` may schedule work for it.
    @inline(__always)
    fileprivate var isContainer: Bool {
        switch self {
        case .tuple, .list, .map, .fun: return true
        default: return false
        }
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
