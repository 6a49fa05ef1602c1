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
    ///
    /// A slot holds a key's index + 1 in its low half (0: empty) and the high half of the key's
    /// hash above it: keys that meet in a slot almost always differ there, so they are told apart
    /// without reaching into the keys (a binary key is a box and its bytes elsewhere in memory,
    /// two cache misses on a large map).
    private static func fastCheck(_ terms: UnsafeBufferPointer<Term>, count: Int, maxProbe: Int) -> Bool? {
        guard count < Int(UInt32.max) else { return nil }
        var capacity = 16
        while capacity < count * 2 { capacity <<= 1 }
        let mask = capacity - 1
        let hashHalf: UInt64 = 0xFFFF_FFFF_0000_0000
        var slots = [UInt64](repeating: 0, count: capacity)
        return slots.withUnsafeMutableBufferPointer { slots -> Bool? in
            for i in 0..<count {
                let hash = quickHash(terms[2 * i])
                var slot = Int(truncatingIfNeeded: hash) & mask
                var probes = 0
                while true {
                    let entry = slots[slot]
                    if entry == 0 {
                        slots[slot] = hash & hashHalf | UInt64(i + 1)
                        break
                    }
                    if entry & hashHalf == hash & hashHalf,
                       terms[2 * (Int(truncatingIfNeeded: entry & ~hashHalf) - 1)] == terms[2 * i] {
                        return true
                    }
                    probes += 1
                    if probes > maxProbe { return nil }
                    slot = (slot + 1) & mask
                }
            }
            return false
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
        // The last 1...7 bytes in at most two loads (overlapping where they are fewer than
        // eight); the length is already in `h`, so this only has to be a function of the bytes.
        let left = bytes.count - i
        var last: UInt64 = 0
        if left >= 4 {
            last = UInt64(bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))
                | UInt64(bytes.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self)) << 32
        } else if left > 0 {
            last = UInt64(bytes[i]) | UInt64(bytes[i + left >> 1]) << 8 | UInt64(bytes[bytes.count - 1]) << 16
        }
        // MurmurHash3's finalizer: every input bit reaches the low bits the slot is taken from.
        h ^= last
        h = (h ^ h >> 33) &* 0xFF51_AFD7_ED55_8CCD
        h = (h ^ h >> 33) &* 0xC4CE_B9FE_1A85_EC53
        return h ^ h >> 33
    }

    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        var h = x &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return h
    }
}
