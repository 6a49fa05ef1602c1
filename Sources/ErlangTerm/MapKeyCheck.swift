// Duplicate-key detection for decoded maps. The BEAM rejects a map whose keys repeat, so
// the decoder must look at every key; a general `Set<Term>` (SipHash through `Hashable`)
// made that the largest cost of decoding a big map. Map keys are almost always integers,
// atoms or binaries: those get a cheap hash and an open-addressing table of key indices.
// Hostile input cannot turn this quadratic: a probe sequence longer than `maxProbe` means
// crafted collisions, and the check starts over with the seeded `Set<Term>`.

enum MapKeyCheck {
    static let maxProbe = 64

    /// True when two keys of the interleaved key/value array are equal (`=:=`).
    /// (`maxProbe` is a parameter only so tests can force the fallback.)
    static func hasDuplicateKey(_ interleaved: [Term], maxProbe: Int = maxProbe) -> Bool {
        interleaved.withUnsafeBufferPointer { hasDuplicateKey($0, maxProbe: maxProbe) }
    }

    static func hasDuplicateKey(_ interleaved: UnsafeBufferPointer<Term>, maxProbe: Int = maxProbe) -> Bool {
        let count = interleaved.count / 2
        if count < 2 { return false }
        if count <= 8 {
            for i in 1..<count {
                for j in 0..<i where interleaved[2 * i] == interleaved[2 * j] { return true }
            }
            return false
        }
        switch fastCheck(interleaved, count: count, maxProbe: maxProbe) {
        case .some(let duplicate): return duplicate
        case .none: return setCheck(interleaved, count: count)
        }
    }

    /// nil when the probe limit was hit (the keys collide suspiciously: use the seeded set).
    private static func fastCheck(_ terms: UnsafeBufferPointer<Term>, count: Int, maxProbe: Int) -> Bool? {
        var capacity = 16
        while capacity < count * 2 { capacity <<= 1 }
        let mask = capacity - 1
        var slots = [Int](repeating: -1, count: capacity)
        return slots.withUnsafeMutableBufferPointer { slots -> Bool? in
            do {
                for i in 0..<count {
                    let key = terms[2 * i]
                    var slot = Int(truncatingIfNeeded: quickHash(key)) & mask
                    var probes = 0
                    while true {
                        let other = slots[slot]
                        if other < 0 {
                            slots[slot] = i
                            break
                        }
                        if terms[2 * other] == key { return true }
                        probes += 1
                        if probes > maxProbe { return nil }
                        slot = (slot + 1) & mask
                    }
                }
                return false
            }
        }
    }

    private static func setCheck(_ interleaved: UnsafeBufferPointer<Term>, count: Int) -> Bool {
        var seen = Set<Term>(minimumCapacity: count)
        for i in 0..<count where !seen.insert(interleaved[2 * i]).inserted { return true }
        return false
    }

    /// Equal terms hash equal: integers by value, atoms and binaries by their bytes, anything
    /// else through `Hashable`.
    @inline(__always)
    static func quickHash(_ term: Term) -> UInt64 {
        switch term {
        case .integer(let value): return mix(UInt64(bitPattern: Int64(value)))
        case .atom(let atom):
            var name = atom.name
            return name.withUTF8 { mix(hashBytes(UnsafeRawBufferPointer($0)) ^ 0xA7) }
        case .binary(let binary):
            return binary.bytes.withUnsafeBytes { mix(hashBytes($0)) }
        default:
            return UInt64(bitPattern: Int64(term.hashValue))
        }
    }

    /// Eight bytes at a time, multiply and fold: fast for the short keys maps have.
    @inline(__always)
    private static func hashBytes(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        var last: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count {
            last |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        return (h ^ last) &* 0xC4CE_B9FE_1A85_EC53
    }

    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        var h = x &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return h
    }
}
