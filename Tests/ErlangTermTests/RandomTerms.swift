// A seeded generator of random terms for property tests (reproducible: the seed is printed on failure).

import BigInt
@testable import ErlangTerm

/// SplitMix64: tiny, fast, and the same sequence on every platform.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct RandomTerms {
    var rng: SeededGenerator
    /// Leave out maps with more than one pair (whose pair order a BEAM may change) when true.
    var singlePairMaps = false
    /// The creator pid of every generated fun, when set.
    var funPid: Pid? = nil

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func bool() -> Bool { Bool.random(using: &rng) }

    mutating func term(depth: Int = 4) -> Term {
        let leafKinds = 14
        let kind = depth <= 0 ? int(0...(leafKinds - 1)) : int(0...(leafKinds + 4))
        switch kind {
        case 0: return .integer(int(0...255))
        case 1: return .integer(int(Int(Int32.min)...Int(Int32.max)))
        case 2: return .integer(Int.random(in: .min ... .max, using: &rng))
        case 3:
            let words = (0..<int(1...40)).map { _ in UInt.random(in: .min ... .max, using: &rng) }
            return .integer(BigInt(sign: bool() ? .minus : .plus, magnitude: BigUInt(words: words)))
        case 4:
            var d: Double
            repeat { d = Double(bitPattern: UInt64.random(in: .min ... .max, using: &rng)) } while !d.isFinite
            return .float(bool() ? d : [0.0, -0.0, 1.5, 0.1, 1e300, Double.leastNonzeroMagnitude][int(0...5)])
        case 5: return .atom(atom())
        case 6:
            let bytes = (0..<int(0...64)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return .binary(Binary(bytes))
        case 7:
            var bytes = (0..<int(1...16)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let bits = UInt8(int(1...7))
            bytes[bytes.count - 1] &= ~(0xFF >> bits)
            return .bitstring(Bitstring(bytes: Binary(bytes), bitsInLastByte: bits))
        case 8: return .pid(pid())
        case 9:
            let id = bool() ? UInt64(UInt32.random(in: 0...UInt32.max, using: &rng)) : UInt64.random(in: 0...(1 << 40), using: &rng)
            return .port(Port(node: node(), id: id, creation: UInt32.random(in: 0...UInt32.max, using: &rng)))
        case 10:
            let ids = (0..<[1, 2, 3, 3, 4, 5][int(0...5)]).map { _ in UInt32.random(in: 0...UInt32.max, using: &rng) }
            return .reference(Reference(node: node(), creation: UInt32.random(in: 0...UInt32.max, using: &rng), ids: ids))
        case 11: return .export(ExportFun(module: atom(), function: atom(), arity: UInt8(int(0...255))))
        case 12: return .emptyList
        case 13: return .charlist(String((0..<int(1...20)).map { _ in Character(Unicode.Scalar(UInt8(int(32...126)))) }))
        case 14: return .tuple((0..<int(0...6)).map { _ in term(depth: depth - 1) })
        case 15: return .list((0..<int(1...6)).map { _ in term(depth: depth - 1) })
        case 16:
            let elements = (0..<int(1...4)).map { _ in term(depth: depth - 1) }
            var tail = term(depth: depth - 1)
            while case .list = tail { tail = term(depth: 0) }
            return .list(TermList(elements, tail: tail))
        case 17:
            var pairs: [(key: Term, value: Term)] = []
            var seen = Set<Term>()
            for _ in 0..<(singlePairMaps ? int(0...1) : int(0...40)) {
                var key = term(depth: depth - 2)
                // 0.0 and -0.0 are one key before OTP 27 (a handwritten vector covers that case).
                if case .float(let d) = key, d == 0 { key = .float(0.0) }
                if seen.insert(key).inserted { pairs.append((key, term(depth: depth - 1))) }
            }
            return .map(pairs)
        default:
            let free = (0..<int(0...3)).map { _ in term(depth: depth - 1) }
            let uniq = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return .fun(Fun(arity: UInt8(int(0...5)), uniq: uniq, index: UInt32(int(0...100)), module: atom(),
                            oldIndex: int(0...100), oldUniq: int(0...Int(Int32.max)), pid: funPid ?? pid(),
                            freeVariables: TermArray(free)))
        }
    }

    mutating func atom() -> Atom {
        let pools: [ClosedRange<UInt32>] = [97...122, 32...126, 160...255, 0x3B1...0x3C9, 0x1F600...0x1F64F]
        let pool = pools[int(0...(pools.count - 1))]
        var s = String.UnicodeScalarView()
        for _ in 0..<[0, 1, 5, 12, 255][int(0...4)] { s.append(Unicode.Scalar(UInt32.random(in: pool, using: &rng))!) }
        return Atom(String(s))
    }

    mutating func node() -> Atom {
        let names = ["nonode@nohost", "a@b", "app@fdaa:0:1da8::2", "n\(int(0...9))@host"]
        return Atom(names[int(0...(names.count - 1))])
    }

    mutating func pid() -> Pid {
        Pid(node: node(), id: UInt32(int(0...Int(UInt32.max))), serial: UInt32(int(0...Int(UInt32.max))),
            creation: UInt32.random(in: 0...UInt32.max, using: &rng))
    }
}

extension Term {
    /// True when some map in the term has more than one pair (a BEAM may re-order those).
    var hasMultiPairMap: Bool {
        var pending = [self]
        while let t = pending.popLast() {
            switch t {
            case .map(let m):
                if m.count > 1 { return true }
                for p in m { pending.append(p.key); pending.append(p.value) }
            case .tuple(let a): pending.append(contentsOf: a.elements)
            case .list(let l): pending.append(contentsOf: l.elements); if let tail = l.tail { pending.append(tail) }
            case .fun(let f): pending.append(contentsOf: f.freeVariables.elements)
            default: break
            }
        }
        return false
    }
}
