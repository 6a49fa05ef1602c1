// Encoding terms the way a modern BEAM does (`term_to_binary/1` on OTP 26+): UTF-8 atoms,
// NEW_FLOAT, NEW_PID, NEWER_REFERENCE, V4_PORT, the smallest integer form,
// STRING_EXT for short lists of bytes. Iterative, like the decoder.

import BigInt

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
        // Two passes, as the BEAM's term_to_binary does: measure (which also finds every term
        // that cannot be encoded, before anything is written), then write into exactly that
        // much memory without a capacity check per byte.
        var counter = Traversal(sink: ByteCounter())
        try counter.run(term)
        let body = counter.sink.position
        let size = body + (versioned ? 1 : 0)
        let write = { (base: UnsafeMutablePointer<UInt8>) in
            var at = base
            if versioned {
                at.initialize(to: externalTermVersion)
                at += 1
            }
            var writer = Traversal(sink: ByteFiller(base: at, capacity: body))
            do {
                try writer.run(term)
            } catch {
                preconditionFailure("term encoder: the writing pass failed after measuring: \(error)")
            }
            precondition(writer.sink.position == body, "term encoder: measured and written sizes differ")
        }
        if buffer.isEmpty {
            buffer = [UInt8](unsafeUninitializedCapacity: size) { out, initialized in
                write(out.baseAddress!)  // size >= 1: every term takes a byte
                initialized = size
            }
        } else {
            // Zero-filled room keeps the caller's buffer and its amortised growth.
            let prefix = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: size))
            buffer.withUnsafeMutableBufferPointer { write($0.baseAddress! + prefix) }
        }
    }
}

// MARK: - Sinks

/// Where a traversal puts bytes: counted first, then written.
private protocol ByteSink {
    var position: Int { get }
    mutating func byte(_ value: UInt8)
    mutating func bigEndian<T: FixedWidthInteger>(_ value: T)
    mutating func bytes(_ raw: UnsafeRawBufferPointer)
    /// Overwrites 4 bytes written earlier at `offset` (a fun's size field).
    mutating func patchBigEndian(_ value: UInt32, at offset: Int)
}

private struct ByteCounter: ByteSink {
    var position = 0
    @inline(__always) mutating func byte(_ value: UInt8) { position += 1 }
    @inline(__always) mutating func bigEndian<T: FixedWidthInteger>(_ value: T) { position += MemoryLayout<T>.size }
    @inline(__always) mutating func bytes(_ raw: UnsafeRawBufferPointer) { position += raw.count }
    @inline(__always) mutating func patchBigEndian(_ value: UInt32, at offset: Int) {}
}

/// Writes into memory of the measured size; every write is bounds-checked all the same.
private struct ByteFiller: ByteSink {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var position = 0

    init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inline(__always) private func check(_ count: Int) {
        precondition(count <= capacity - position, "term encoder: write past the measured size")
    }
    @inline(__always) mutating func byte(_ value: UInt8) {
        check(1)
        base[position] = value
        position += 1
    }
    @inline(__always) mutating func bigEndian<T: FixedWidthInteger>(_ value: T) {
        check(MemoryLayout<T>.size)
        UnsafeMutableRawPointer(base + position).storeBytes(of: value.bigEndian, as: T.self)
        position += MemoryLayout<T>.size
    }
    @inline(__always) mutating func bytes(_ raw: UnsafeRawBufferPointer) {
        check(raw.count)
        if let from = raw.baseAddress { UnsafeMutableRawPointer(base + position).copyMemory(from: from, byteCount: raw.count) }
        position += raw.count
    }
    @inline(__always) mutating func patchBigEndian(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset <= position - 4)
        UnsafeMutableRawPointer(base + offset).storeBytes(of: value.bigEndian, as: UInt32.self)
    }
}

// MARK: - Traversal

/// Walks a term depth-first with an explicit stack (deep terms cannot overflow the thread's
/// stack) and hands its encoding to the sink.
private struct Traversal<Sink: ByteSink> {
    var sink: Sink

    enum Work {
        /// Elements `next..<count` of a container still to write; a list then writes its tail.
        /// The pointers stay valid: the root term, which owns every container, outlives the walk.
        case items(UnsafePointer<Term>, count: Int, next: Int, list: Unmanaged<ContainerStorage>?)
        /// Patch the size field of a fun whose tag is at this offset.
        case funEnd(start: Int)
    }
    var work: [Work] = []

    init(sink: Sink) { self.sink = sink }

    mutating func run(_ root: Term) throws(TermEncodingError) {
        try withUnsafePointer(to: root) { root throws(TermEncodingError) in try emit(root) }
        outer: while let top = work.popLast() {
            switch top {
            case .items(let base, let count, var next, let list):
                while next < count {
                    // Elements are read in place (no copy, no reference counting).
                    let element = base + next
                    next += 1
                    if case .integer(let v) = element.pointee {
                        writeInteger(v)
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
            case .funEnd(let start):
                sink.patchBigEndian(try length32(sink.position - start, "fun"), at: start)
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
        switch term.pointee {
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
            if n <= 255 {
                sink.byte(ExternalTermTag.smallTuple.rawValue)
                sink.byte(UInt8(n))
            } else {
                sink.byte(ExternalTermTag.largeTuple.rawValue)
                sink.bigEndian(try length32(n, "tuple"))
            }
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
            sink.byte(ExternalTermTag.binary.rawValue)
            sink.bigEndian(try length32(b.count, "binary"))
            b.bytes.withUnsafeBytes { sink.bytes($0) }
        case .bitstring(let b):
            sink.byte(ExternalTermTag.bitBinary.rawValue)
            sink.bigEndian(try length32(b.bytes.count, "bitstring"))
            sink.byte(b.bitsInLastByte)
            b.bytes.bytes.withUnsafeBytes { sink.bytes($0) }
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
            let start = sink.position + 1
            sink.byte(ExternalTermTag.newFun.rawValue)
            sink.bigEndian(UInt32(0))  // size, patched by .funEnd
            sink.byte(f.arity)
            f.uniq.withUnsafeBytes { sink.bytes($0) }
            sink.bigEndian(f.index)
            sink.bigEndian(try length32(f.freeVariables.count, "fun environment"))
            try writeAtom(f.module)
            writeInteger(f.oldIndex)
            writeInteger(f.oldUniq)
            try writePid(f.pid)
            work.append(.funEnd(start: start))
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

    private mutating func writeBig(_ v: BigInt) throws(TermEncodingError) {
        // Little-endian magnitude bytes without the high zero bytes.
        var words = Array(v.magnitude.words)
        while words.last == 0 { words.removeLast() }
        let digits = words.isEmpty ? 0 : (words.count - 1) * (UInt.bitWidth / 8)
            + (UInt.bitWidth - words[words.count - 1].leadingZeroBitCount + 7) / 8
        if digits <= 255 {
            sink.byte(ExternalTermTag.smallBig.rawValue)
            sink.byte(UInt8(digits))
        } else {
            sink.byte(ExternalTermTag.largeBig.rawValue)
            sink.bigEndian(try length32(digits, "integer"))
        }
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
        sink.byte(ExternalTermTag.newPid.rawValue)
        try writeAtom(p.node)
        sink.bigEndian(p.id)
        sink.bigEndian(p.serial)
        sink.bigEndian(p.creation)
    }

    private mutating func writeAtom(_ atom: Atom) throws(TermEncodingError) {
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
    }
}

extension Term {
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
