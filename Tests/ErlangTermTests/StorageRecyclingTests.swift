// Freed small containers are kept for the next decode (StorageRecycling.swift): a kept storage
// comes back empty and without its old tail, the pool stays within its budget, and decodes that
// reuse storage give the same terms, from one thread or several at once.

import Testing
import BeamTestSupport
@testable import ErlangTerm

/// Seconds of decoding on several threads: on threads of their own (see OwnThreads.swift).
@Suite(.ownThreads) struct StorageRecyclingTests {
    @Test func aKeptStorageComesBackEmptyWithoutItsTail() throws {
        var kept = RecycledStorage()
        let improper = TermList([1], tail: .atom("tail")).storage
        _ = improper.removeLast()
        kept.keep(improper)
        // (RecycledStorage is noncopyable: #expect is given plain values read off it.)
        let bytes = kept.bytes
        #expect(bytes == ContainerStorage.cost(capacity: 1))
        let wrongCapacity = kept.take(capacity: 2)
        #expect(wrongCapacity == nil, "kept by exact capacity")
        let taken = kept.take(capacity: 1)
        let again = try #require(taken)
        #expect(again === improper && again.count == 0 && again.tail == nil)
        var isEmpty = kept.isEmpty
        #expect(isEmpty)
        // Too large to keep: left to be freed.
        let large = ContainerStorage.make(capacity: RecycledStorage.maxCapacity + 1)
        kept.keep(large)
        isEmpty = kept.isEmpty
        #expect(isEmpty)
    }

    @Test func theBudgetBoundsWhatIsKept() {
        var kept = RecycledStorage()
        let each = ContainerStorage.cost(capacity: 2)
        for _ in 0..<(RecycledStorage.budget / each + 100) { kept.keep(ContainerStorage.make(capacity: 2)) }
        let full = kept.bytes
        #expect(full <= RecycledStorage.budget && full > RecycledStorage.budget - each)
        var more = RecycledStorage()
        for _ in 0..<10 { more.keep(ContainerStorage.make(capacity: 3)) }
        let offered = more.bytes
        kept.merge(&more)
        let merged = kept.bytes, leftOver = more.bytes
        #expect(merged <= RecycledStorage.budget)
        #expect(merged + leftOver == full + offered, "what did not fit stays with the giver")
        // Freeing a term of many small containers leaves the shared pool within its budget too.
        var term: Term? = .list(TermList((0..<200_000).map { .tuple([.integer($0), .atom("x")]) }))
        #expect(term != nil)
        term = nil
        #expect(StoragePool.shared.keptBytes <= RecycledStorage.budget)
    }

    /// Decodes that reuse freed storage give the terms the bytes say: an improper list's storage
    /// reused for a proper list keeps no tail, a deep chain decodes again the same.
    @Test func reusedStorageDecodesTheSameTerms() throws {
        let improper = try TermEncoder().encode(.list(TermList([.list(TermList([1, 2], tail: .atom("t"))), .tuple([1, 2])])))
        let proper = try TermEncoder().encode(.list(TermList([.list(TermList([3, 4])), .tuple([5, 6])])))
        var deep: Term = .tuple([])
        for i in 0..<5_000 { deep = .tuple([.integer(i), deep]) }
        let deepBytes = try TermEncoder().encode(deep)
        for _ in 0..<3 {
            var first: Term? = try TermDecoder().decode(improper)
            #expect(try TermEncoder().encode(try #require(first)) == improper)
            first = nil
            let second = try TermDecoder().decode(proper)
            #expect(try TermEncoder().encode(second) == proper)
            guard case .list(let outer) = second, case .list(let inner) = outer[0] else {
                Issue.record("not a list of a list")
                return
            }
            #expect(inner.isProper)
            var chain: Term? = try TermDecoder().decode(deepBytes)
            #expect(try TermEncoder().encode(try #require(chain)) == deepBytes)
            chain = nil
        }
    }

    /// A part of a term that someone still holds is never recycled when the rest is freed: it
    /// stays intact through the decodes that follow.
    @Test func aHeldPartSurvivesItsParentsFreeing() throws {
        let bytes = try TermEncoder().encode(.list(TermList((0..<50).map { .tuple([.integer($0), .tuple([.atom("k"), .integer($0)])]) })))
        // {k, 7}, inside a tuple inside the list: the only thing kept of the term (nothing else
        // of it outlives this function), so freeing the term dismantles everything around it.
        func heldPart() throws -> Term? {
            guard case .list(let items) = try TermDecoder().decode(bytes), case .tuple(let pair) = items[7] else { return nil }
            return pair[1]
        }
        let held = try #require(try heldPart())
        for _ in 0..<5 { _ = try TermDecoder().decode(bytes) }
        #expect(held == .tuple([.atom("k"), .integer(7)]))
        #expect(try TermEncoder().encode(held) == TermEncoder().encode(.tuple([.atom("k"), .integer(7)])))
    }

    /// Freeing a term puts its nested storage in the pool, and the next decode builds with it.
    /// Told by object identity while the pool holds the storage (alive, so no new allocation can
    /// have its address). The pool is shared by every test running at once: another decode may
    /// take what was kept in between, so a try that sees that is repeated.
    @Test func freedStorageIsReused() throws {
        var chain: Term = .tuple([])
        for i in 0..<200 { chain = .tuple([.integer(i), chain]) }
        let bytes = try TermEncoder().encode(chain)
        func storages(of term: Term) -> [ObjectIdentifier] {
            var found: [ObjectIdentifier] = []
            var next = term
            while case .tuple(let elements) = next, elements.count == 2 {
                found.append(ObjectIdentifier(elements.storage))
                next = elements[1]
            }
            return found
        }
        var kept = false, taken = false
        for _ in 0..<200 where !taken {
            _ = StoragePool.shared.takeAll()  // room for the chain, should other frees have filled the pool
            var first: Term? = try TermDecoder().decode(bytes)
            let firstStorages = storages(of: try #require(first))
            #expect(firstStorages.count == 200)
            first = nil
            let keptNow = StoragePool.shared.keptAmong(firstStorages)
            guard !keptNow.isEmpty else { continue }  // the pool was full, or another decode took them
            kept = true
            let second = try TermDecoder().decode(bytes)
            taken = !keptNow.isDisjoint(with: storages(of: second))
        }
        #expect(kept, "freeing the chain kept none of its storage")
        #expect(taken, "decoding the chain again took none of the kept storage")
    }

    @Test func decodesOnSeveralThreadsAtOnce() async throws {
        var deep: Term = .tuple([])
        for i in 0..<2_000 { deep = .tuple([.integer(i), .list(TermList([.atom("a"), .integer(i)])), deep]) }
        let bytes = try TermEncoder().encode(deep)
        let same = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<50 {
                        guard let term = try? TermDecoder().decode(bytes), (try? TermEncoder().encode(term)) == bytes else {
                            return false
                        }
                    }
                    return true
                }
            }
            var all = true
            for await ok in group { all = all && ok }
            return all
        }
        #expect(same)
    }
}
