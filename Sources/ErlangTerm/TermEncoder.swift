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
        var versioned: [UInt8] = [externalTermVersion]
        try Self.encodeBody(term, into: &versioned)
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
    public static func encodeVersioned(_ term: Term, into buffer: inout [UInt8]) throws(TermEncodingError) {
        buffer.append(externalTermVersion)
        try encodeBody(term, into: &buffer)
    }

    /// Appends the term without a version byte.
    public static func encodeBody(_ term: Term, into buffer: inout [UInt8]) throws(TermEncodingError) {
        var writer = Writer(out: buffer)
        buffer = []
        defer { buffer = writer.out }
        try writer.write(term)
    }
}

private struct Writer {
    var out: [UInt8]

    enum Work {
        /// Elements `next..<count` of a container still to write; a list then writes its tail.
        case items([Term], next: Int, tail: Term?, isList: Bool)
        /// Patch the size field of a fun that started at this offset.
        case funEnd(start: Int)
    }
    var work: [Work] = []

    mutating func write(_ root: Term) throws(TermEncodingError) {
        try emit(root)
        outer: while let top = work.popLast() {
            switch top {
            case .items(let elements, var next, let tail, let isList):
                while next < elements.count {
                    let element = elements[next]
                    next += 1
                    if element.containerStorage != nil {
                        // Come back for the rest after the container (whose work goes on top).
                        work.append(.items(elements, next: next, tail: tail, isList: isList))
                        try emit(element)
                        continue outer
                    }
                    try emit(element)
                }
                if isList {
                    if let tail { try emit(tail) } else { out.append(ExternalTermTag.nil.rawValue) }
                }
            case .funEnd(let start):
                let size = UInt32(out.count - start)
                out.withUnsafeMutableBytes { raw in
                    raw.storeBytes(of: size.bigEndian, toByteOffset: start, as: UInt32.self)
                }
            }
        }
    }

    /// Writes a leaf completely, or a container's header and schedules its elements.
    private mutating func emit(_ term: Term) throws(TermEncodingError) {
        switch term {
        case .integer(let v):
            writeInteger(v)
        case .bigInteger(let v):
            if let small = Int(exactly: v) { writeInteger(small) } else { try writeBig(v) }
        case .float(let v):
            out.append(ExternalTermTag.newFloat.rawValue)
            out.appendBigEndian(v.bitPattern)
        case .atom(let a):
            try writeAtom(a)
        case .tuple(let t):
            let n = t.count
            if n <= 255 {
                out.append(ExternalTermTag.smallTuple.rawValue)
                out.append(UInt8(n))
            } else {
                out.append(ExternalTermTag.largeTuple.rawValue)
                out.appendBigEndian(try length32(n, "tuple"))
            }
            if n > 0 { work.append(.items(t.storage.elements, next: 0, tail: nil, isList: false)) }
        case .list(let l):
            let n = l.count
            if n == 0 {
                if let tail = l.tail { try emit(tail) } else { out.append(ExternalTermTag.nil.rawValue) }
                return
            }
            if l.isProper, n <= 65535, let bytes = Self.byteString(l.storage.elements) {
                out.append(ExternalTermTag.string.rawValue)
                out.appendBigEndian(UInt16(n))
                out.append(contentsOf: bytes)
                return
            }
            out.append(ExternalTermTag.list.rawValue)
            out.appendBigEndian(try length32(n, "list"))
            work.append(.items(l.storage.elements, next: 0, tail: l.storage.tail, isList: true))
        case .map(let m):
            out.append(ExternalTermTag.map.rawValue)
            out.appendBigEndian(try length32(m.count, "map"))
            if m.count > 0 { work.append(.items(m.storage.elements, next: 0, tail: nil, isList: false)) }
        case .binary(let b):
            out.append(ExternalTermTag.binary.rawValue)
            out.appendBigEndian(try length32(b.count, "binary"))
            out.append(contentsOf: b.bytes)
        case .bitstring(let b):
            out.append(ExternalTermTag.bitBinary.rawValue)
            out.appendBigEndian(try length32(b.bytes.count, "bitstring"))
            out.append(b.bitsInLastByte)
            out.append(contentsOf: b.bytes.bytes)
        case .pid(let p):
            try writePid(p)
        case .port(let p):
            // OTP 26+ writes every port as V4_PORT_EXT (64-bit id), whatever its size; OTP 24
            // and later decode it. (OTP 25 itself still wrote NEW_PORT_EXT for 32-bit ids.)
            out.append(ExternalTermTag.v4Port.rawValue)
            try writeAtom(p.node)
            out.appendBigEndian(p.id)
            out.appendBigEndian(p.creation)
        case .reference(let r):
            guard (1...5).contains(r.ids.count) else {
                throw TermEncodingError("a reference has 1 to 5 id words, not \(r.ids.count)")
            }
            out.append(ExternalTermTag.newerReference.rawValue)
            out.appendBigEndian(UInt16(r.ids.count))
            try writeAtom(r.node)
            out.appendBigEndian(r.creation)
            for id in r.ids { out.appendBigEndian(id) }
        case .export(let e):
            out.append(ExternalTermTag.export.rawValue)
            try writeAtom(e.module)
            try writeAtom(e.function)
            out.append(ExternalTermTag.smallInteger.rawValue)
            out.append(e.arity)
        case .fun(let f):
            guard f.uniq.count == 16 else { throw TermEncodingError("a fun's uniq is 16 bytes, not \(f.uniq.count)") }
            let start = out.count + 1
            out.append(ExternalTermTag.newFun.rawValue)
            out.appendBigEndian(UInt32(0))  // size, patched by .funEnd
            out.append(f.arity)
            out.append(contentsOf: f.uniq)
            out.appendBigEndian(f.index)
            out.appendBigEndian(try length32(f.freeVariables.count, "fun environment"))
            try writeAtom(f.module)
            writeInteger(f.oldIndex)
            writeInteger(f.oldUniq)
            try writePid(f.pid)
            work.append(.funEnd(start: start))
            if !f.freeVariables.isEmpty {
                work.append(.items(f.freeVariables.storage.elements, next: 0, tail: nil, isList: false))
            }
        }
    }

    private func length32(_ n: Int, _ what: String) throws(TermEncodingError) -> UInt32 {
        guard let v = UInt32(exactly: n) else { throw TermEncodingError("\(what) too large to encode (\(n))") }
        return v
    }

    /// The bytes of a list whose elements are all integers 0...255, or nil.
    private static func byteString(_ elements: [Term]) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(elements.count)
        for e in elements {
            guard case .integer(let v) = e, v >= 0, v <= 255 else { return nil }
            bytes.append(UInt8(v))
        }
        return bytes
    }

    private mutating func writeInteger(_ v: Int) {
        if v >= 0 && v <= 255 {
            out.append(ExternalTermTag.smallInteger.rawValue)
            out.append(UInt8(v))
        } else if v >= Int(Int32.min) && v <= Int(Int32.max) {
            out.append(ExternalTermTag.integer.rawValue)
            out.appendBigEndian(UInt32(bitPattern: Int32(v)))
        } else {
            var magnitude = v.magnitude
            var digits: [UInt8] = []
            while magnitude > 0 {
                digits.append(UInt8(truncatingIfNeeded: magnitude))
                magnitude >>= 8
            }
            out.append(ExternalTermTag.smallBig.rawValue)
            out.append(UInt8(digits.count))
            out.append(v < 0 ? 1 : 0)
            out.append(contentsOf: digits)
        }
    }

    private mutating func writeBig(_ v: BigInt) throws(TermEncodingError) {
        var digits: [UInt8] = []
        for word in v.magnitude.words {
            var w = word
            for _ in 0..<(UInt.bitWidth / 8) {
                digits.append(UInt8(truncatingIfNeeded: w))
                w >>= 8
            }
        }
        while digits.last == 0 { digits.removeLast() }
        if digits.count <= 255 {
            out.append(ExternalTermTag.smallBig.rawValue)
            out.append(UInt8(digits.count))
        } else {
            out.append(ExternalTermTag.largeBig.rawValue)
            out.appendBigEndian(try length32(digits.count, "integer"))
        }
        out.append(v.sign == .minus ? 1 : 0)
        out.append(contentsOf: digits)
    }

    private mutating func writePid(_ p: Pid) throws(TermEncodingError) {
        out.append(ExternalTermTag.newPid.rawValue)
        try writeAtom(p.node)
        out.appendBigEndian(p.id)
        out.appendBigEndian(p.serial)
        out.appendBigEndian(p.creation)
    }

    private mutating func writeAtom(_ atom: Atom) throws(TermEncodingError) {
        let count = atom.name.utf8.count
        if count <= 255 {
            out.append(ExternalTermTag.smallAtomUTF8.rawValue)
            out.append(UInt8(count))
        } else if count <= 65535 {
            out.append(ExternalTermTag.atomUTF8.rawValue)
            out.appendBigEndian(UInt16(count))
        } else {
            throw TermEncodingError("atom of \(count) bytes is too long")
        }
        out.append(contentsOf: atom.name.utf8)
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
