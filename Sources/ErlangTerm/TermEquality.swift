// Exact equality (`=:=`) and hashing, both iterative so that deep terms cannot overflow the stack.

extension Term: Hashable {
    public static func == (lhs: Term, rhs: Term) -> Bool {
        var pending: [(Term, Term)] = []
        guard shallowEqual(lhs, rhs, pending: &pending) else { return false }
        while let (a, b) = pending.popLast() {
            guard shallowEqual(a, b, pending: &pending) else { return false }
        }
        return true
    }

    /// Compares the top level of two terms; children that still need comparing go to `pending`.
    private static func shallowEqual(_ lhs: Term, _ rhs: Term, pending: inout [(Term, Term)]) -> Bool {
        switch lhs {
        case .integer(let a): if case .integer(let b) = rhs { return a == b }
        case .bigInteger(let a): if case .bigInteger(let b) = rhs { return a == b }
        case .float(let a): if case .float(let b) = rhs { return a.bitPattern == b.bitPattern }
        case .atom(let a): if case .atom(let b) = rhs { return a == b }
        case .binary(let a): if case .binary(let b) = rhs { return a == b }
        case .bitstring(let a): if case .bitstring(let b) = rhs { return a == b }
        case .pid(let a): if case .pid(let b) = rhs { return a == b }
        case .port(let a): if case .port(let b) = rhs { return a == b }
        case .reference(let a): if case .reference(let b) = rhs { return a == b }
        case .export(let a): if case .export(let b) = rhs { return a == b }
        case .tuple(let a): if case .tuple(let b) = rhs { return pairUp(a.storage, b.storage, pending: &pending) }
        case .list(let a): if case .list(let b) = rhs { return pairUp(a.storage, b.storage, pending: &pending) }
        case .map(let a): if case .map(let b) = rhs { return mapsMatch(a, b, pending: &pending) }
        case .fun(let a):
            if case .fun(let b) = rhs {
                guard a.arity == b.arity, a.uniq == b.uniq, a.index == b.index, a.module == b.module,
                    a.oldIndex == b.oldIndex, a.oldUniq == b.oldUniq, a.pid == b.pid
                else { return false }
                return pairUp(a.freeVariables.storage, b.freeVariables.storage, pending: &pending)
            }
        }
        return false
    }

    private static func mapsMatch(_ a: TermMap, _ b: TermMap, pending: inout [(Term, Term)]) -> Bool {
        guard a.count == b.count else { return false }
        if a.storage === b.storage { return true }
        // Same key order (the common case, both from a BEAM): compare pairwise.
        var sameOrder = true
        for i in 0..<a.count where a[i].key != b[i].key {
            sameOrder = false
            break
        }
        if sameOrder { return pairUp(a.storage, b.storage, pending: &pending) }
        var index: [Term: Term] = [:]
        index.reserveCapacity(b.count)
        for pair in b { index[pair.key] = pair.value }
        for pair in a {
            guard let other = index[pair.key] else { return false }
            pending.append((pair.value, other))
        }
        return true
    }

    private static func pairUp(
        _ a: ContainerStorage, _ b: ContainerStorage, pending: inout [(Term, Term)]
    ) -> Bool {
        if a === b { return true }
        guard a.count == b.count, (a.tail == nil) == (b.tail == nil) else { return false }
        if let ta = a.tail, let tb = b.tail { pending.append((ta, tb)) }
        withExtendedLifetime((a, b)) {
            let x = a.elementBuffer, y = b.elementBuffer
            for i in x.indices.reversed() { pending.append((x[i], y[i])) }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Leaves (most map keys) hash without allocating a worklist.
        var pending: [Term] = []
        Self.hashShallow(self, into: &hasher, pending: &pending)
        while let term = pending.popLast() {
            Self.hashShallow(term, into: &hasher, pending: &pending)
        }
    }

    /// Hashes the top level of `term`; children still to hash go to `pending`.
    private static func hashShallow(_ term: Term, into hasher: inout Hasher, pending: inout [Term]) {
        switch term {
        case .integer(let v): hasher.combine(0 as UInt8); hasher.combine(v)
        case .bigInteger(let v): hasher.combine(1 as UInt8); hasher.combine(v)
        case .float(let v): hasher.combine(2 as UInt8); hasher.combine(v == 0 ? 0 : v.bitPattern)
        case .atom(let v): hasher.combine(3 as UInt8); hasher.combine(v)
        case .binary(let v): hasher.combine(4 as UInt8); hasher.combine(v)
        case .bitstring(let v): hasher.combine(5 as UInt8); hasher.combine(v)
        case .pid(let v): hasher.combine(6 as UInt8); hasher.combine(v)
        case .port(let v): hasher.combine(7 as UInt8); hasher.combine(v)
        case .reference(let v): hasher.combine(8 as UInt8); hasher.combine(v)
        case .export(let v): hasher.combine(9 as UInt8); hasher.combine(v)
        case .tuple(let t):
            hasher.combine(10 as UInt8); hasher.combine(t.count)
            pending.append(contentsOf: t)
        case .list(let l):
            hasher.combine(11 as UInt8); hasher.combine(l.count)
            pending.append(contentsOf: l)
            if let tail = l.tail { pending.append(tail) }
        case .map(let m):
            // Pair order does not matter for equality, so only the size is hashed.
            hasher.combine(12 as UInt8); hasher.combine(m.count)
        case .fun(let f):
            hasher.combine(13 as UInt8); hasher.combine(f.module); hasher.combine(f.index)
            hasher.combine(f.uniq)
        }
    }
}

extension TermArray: Hashable {
    public static func == (lhs: TermArray, rhs: TermArray) -> Bool { Term.tuple(lhs) == Term.tuple(rhs) }
    public func hash(into hasher: inout Hasher) { Term.tuple(self).hash(into: &hasher) }
}

extension TermList: Hashable {
    public static func == (lhs: TermList, rhs: TermList) -> Bool { Term.list(lhs) == Term.list(rhs) }
    public func hash(into hasher: inout Hasher) { Term.list(self).hash(into: &hasher) }
}

extension TermMap: Hashable {
    public static func == (lhs: TermMap, rhs: TermMap) -> Bool { Term.map(lhs) == Term.map(rhs) }
    public func hash(into hasher: inout Hasher) { Term.map(self).hash(into: &hasher) }
}
