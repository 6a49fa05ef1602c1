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
/// Noncopyable: it owns a reference to each storage it keeps, released when it goes. One stack
/// per capacity in plain memory, so taking a storage is a load and a decrement (an array of
/// arrays cost a uniqueness check on each and a generic `popLast`: 40 of the 177 instructions a
/// level of a deep chain took).
struct RecycledStorage: ~Copyable {
    static let maxCapacity = 8
    /// What the shared pool keeps at most: 2 MiB by the decoder's own cost estimate.
    static let budget = 2 << 20

    private struct Stack {
        var items: UnsafeMutablePointer<Unmanaged<ContainerStorage>>? = nil
        var count = 0
        var room = 0
    }

    /// `maxCapacity + 1` stacks, indexed by capacity; made at the first `keep`.
    private var stacks: UnsafeMutablePointer<Stack>? = nil
    /// The storages' cost (``ContainerStorage/cost(capacity:)``), summed.
    private(set) var bytes = 0

    init() {}

    deinit {
        guard let stacks else { return }
        for capacity in 0...Self.maxCapacity {
            let stack = stacks[capacity]
            for i in 0..<stack.count { stack.items![i].release() }
            free(stack.items)
        }
        stacks.deinitialize(count: Self.maxCapacity + 1)
        stacks.deallocate()
    }

    var isEmpty: Bool { bytes == 0 }

    /// A storage of exactly `capacity` slots, empty and with no tail, if one is kept.
    @inline(__always)
    mutating func take(capacity: Int) -> ContainerStorage? {
        guard capacity <= Self.maxCapacity, let stacks else { return nil }
        let stack = stacks + capacity
        let count = stack.pointee.count
        guard count > 0 else { return nil }
        stack.pointee.count = count &- 1
        bytes &-= ContainerStorage.cost(capacity: capacity)
        return stack.pointee.items.unsafelyUnwrapped[count &- 1].takeRetainedValue()
    }

    /// Keeps `storage`, which nobody else holds and whose elements are gone, if it is small and
    /// `budget` allows; otherwise it is freed as usual when the caller lets go of it.
    mutating func keep(_ storage: ContainerStorage, budget: Int = RecycledStorage.budget) {
        let capacity = storage.slotCount
        guard capacity >= 1, capacity <= Self.maxCapacity else { return }
        let cost = ContainerStorage.cost(capacity: capacity)
        guard bytes + cost <= budget else { return }
        storage.resetForReuse()
        push(Unmanaged.passRetained(storage), capacity: capacity)
        bytes += cost
    }

    private mutating func push(_ storage: Unmanaged<ContainerStorage>, capacity: Int) {
        let stacks = self.stacks ?? {
            let made = UnsafeMutablePointer<Stack>.allocate(capacity: Self.maxCapacity + 1)
            made.initialize(repeating: Stack(), count: Self.maxCapacity + 1)
            self.stacks = made
            return made
        }()
        let stack = stacks + capacity
        if stack.pointee.count == stack.pointee.room {
            let room = Swift.max(16, 2 * stack.pointee.room)
            guard let grown = realloc(stack.pointee.items, room * MemoryLayout<Unmanaged<ContainerStorage>>.stride) else {
                fatalError("out of memory for recycled storage")
            }
            stack.pointee.items = grown.bindMemory(to: Unmanaged<ContainerStorage>.self, capacity: room)
            stack.pointee.room = room
        }
        stack.pointee.items.unsafelyUnwrapped[stack.pointee.count] = storage
        stack.pointee.count += 1
    }

    /// Moves what `other` keeps here, within `budget`; what does not fit stays in `other`
    /// (emptied of the rest). The smaller of the two is the one copied.
    mutating func merge(_ other: inout RecycledStorage, budget: Int = RecycledStorage.budget) {
        if bytes < other.bytes { swap(&self, &other) }
        guard let from = other.stacks else { return }
        for capacity in 1...Self.maxCapacity {
            let cost = ContainerStorage.cost(capacity: capacity)
            let stack = from + capacity
            while stack.pointee.count > 0, bytes + cost <= budget {
                stack.pointee.count -= 1
                other.bytes -= cost
                push(stack.pointee.items.unsafelyUnwrapped[stack.pointee.count], capacity: capacity)
                bytes += cost
            }
        }
    }

    /// Whether `storage` is among those kept (for tests: a kept object is alive, so its identity
    /// cannot be a new allocation's).
    func contains(_ storage: ObjectIdentifier) -> Bool {
        guard let stacks else { return false }
        for capacity in 0...Self.maxCapacity {
            let stack = stacks[capacity]
            for i in 0..<stack.count where ObjectIdentifier(stack.items![i].takeUnretainedValue()) == storage { return true }
        }
        return false
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
