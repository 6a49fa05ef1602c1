// Recycled storage of small containers. A decode makes one allocation per tuple, list or map, and
// malloc's share of that is most of a small container's cost (119 of the 267 instructions a level
// of a deep `{N, {N, ...}}` chain took); the BEAM decodes onto a process heap it keeps. So freeing
// a term keeps the storage of its small containers (emptied) for the next decode, as malloc's
// own caches and the BEAM's allocators keep freed memory, within a fixed budget.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Emptied container storages by capacity (1...``maxCapacity``), for one owner at a time.
struct RecycledStorage {
    static let maxCapacity = 8
    /// What the shared pool keeps at most: 2 MiB by the decoder's own cost estimate.
    static let budget = 2 << 20

    private var byCapacity: [[ContainerStorage]] = []
    /// The storages' cost (``ContainerStorage/cost(capacity:)``), summed.
    private(set) var bytes = 0

    var isEmpty: Bool { bytes == 0 }

    /// A storage of exactly `capacity` slots, empty and with no tail, if one is kept.
    @inline(__always)
    mutating func take(capacity: Int) -> ContainerStorage? {
        guard capacity < byCapacity.count, let storage = byCapacity[capacity].popLast() else { return nil }
        bytes &-= ContainerStorage.cost(capacity: capacity)
        return storage
    }

    /// Keeps `storage`, which nobody else holds and whose elements are gone, if it is small and
    /// `budget` allows; otherwise it is freed as usual when the caller lets go of it.
    mutating func keep(_ storage: ContainerStorage, budget: Int = RecycledStorage.budget) {
        let capacity = storage.slotCount
        guard capacity >= 1, capacity <= Self.maxCapacity else { return }
        let cost = ContainerStorage.cost(capacity: capacity)
        guard bytes + cost <= budget else { return }
        storage.resetForReuse()
        if byCapacity.isEmpty { byCapacity = Array(repeating: [], count: Self.maxCapacity + 1) }
        byCapacity[capacity].append(storage)
        bytes += cost
    }

    /// Moves what `other` keeps here, within `budget`; what does not fit stays in `other`
    /// (emptied of the rest). The smaller of the two is the one copied.
    mutating func merge(_ other: inout RecycledStorage, budget: Int = RecycledStorage.budget) {
        if bytes < other.bytes { swap(&self, &other) }
        for capacity in other.byCapacity.indices {
            while bytes + ContainerStorage.cost(capacity: capacity) <= budget, let storage = other.byCapacity[capacity].popLast() {
                other.bytes -= ContainerStorage.cost(capacity: capacity)
                keep(storage, budget: budget)
            }
        }
    }

    /// Whether `storage` is among those kept (for tests: a kept object is alive, so its identity
    /// cannot be a new allocation's).
    func contains(_ storage: ObjectIdentifier) -> Bool {
        byCapacity.contains { $0.contains { ObjectIdentifier($0) == storage } }
    }
}

/// The storages kept between decodes, shared by every thread. A decode takes all of them at
/// its start (one lock) and gives back what it did not use; freeing gives back in one lock per
/// term freed. Nobody waits for the lock: a thread that finds it taken (a connection's event
/// loop decoding while the caller frees the previous reply) goes without, since sleeping on a
/// contended lock costs more than the malloc it would save (it doubled the time of 10,000
/// sequential calls).
final class StoragePool: @unchecked Sendable {
    static let shared = StoragePool()

    /// Allocated apart: a mutex must not move, and `&` of a stored property promises no fixed address.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        return mutex
    }()
    private var kept = RecycledStorage()

    private init() {}

    /// Everything kept, for one decode (nothing when another decode has it).
    func takeAll() -> RecycledStorage {
        var taken = RecycledStorage()
        guard pthread_mutex_trylock(mutex) == 0 else { return taken }
        swap(&taken, &kept)
        pthread_mutex_unlock(mutex)
        return taken
    }

    /// Keeps what `storages` holds, within the budget; what does not fit is freed, outside the
    /// lock, and `storages` is left empty.
    func giveBack(_ storages: inout RecycledStorage) {
        guard !storages.isEmpty else { return }
        if pthread_mutex_trylock(mutex) == 0 {
            kept.merge(&storages)
            pthread_mutex_unlock(mutex)
        }
        storages = RecycledStorage()
    }

    /// What the pool keeps now, by the decoder's cost estimate (for tests).
    var keptBytes: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return kept.bytes
    }

    /// Which of `storages` the pool keeps now (for tests).
    func keptAmong(_ storages: [ObjectIdentifier]) -> Set<ObjectIdentifier> {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return Set(storages.filter { kept.contains($0) })
    }
}
