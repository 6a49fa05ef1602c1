// A test body's synchronous work (starting a node, running `erl` or `beamsh` to the end, a
// node's control channel, seconds of decoding) holds the thread it runs on until it ends. On
// Swift concurrency's shared threads (as many as cores: two in CI) two such tests held up every
// other test's tasks, and timing checks of the product failed for a stall of the test process,
// not of beamsh. Suites whose tests block or compute for long carry `@Suite(.ownThreads)`: each
// test runs on threads of its own, the shared threads stay the product's, and the operating
// system shares the cores. The blocking helpers record an issue when called from a task on the
// shared threads, so a suite without the trait fails at once, not on a loaded day.

import Foundation
import Testing

/// Runs each test of a suite (or one test) with ``BlockingTestThreads`` as its preferred task
/// executor: the test body and its child tasks run there, so a blocking call holds only a
/// thread of its own. The product's own tasks stay on the shared threads.
public struct OwnThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self  // per test case: a suite's own scope would span them all
    }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(BlockingTestThreads.shared) { try await function() }
    }
}

extension Trait where Self == OwnThreadsTrait {
    /// The tests block their threads (nodes, child processes, long computations): run them on
    /// threads of their own.
    public static var ownThreads: Self { OwnThreadsTrait() }
}

/// A task executor that starts another thread whenever every one of its threads is busy, so a
/// job that blocks holds up no other. Threads that run out of work wait for more.
public final class BlockingTestThreads: TaskExecutor, @unchecked Sendable {
    public static let shared = BlockingTestThreads()

    private let condition = NSCondition()
    private var queue: [UnownedJob] = []
    private var idleThreads = 0

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        queue.append(job)
        // Each waiting thread takes one job; more jobs than waiting threads need a new one.
        if queue.count > idleThreads { startThread() } else { condition.signal() }
        condition.unlock()
    }

    private func startThread() {
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            pthread_setspecific(blockingThreadKey, UnsafeRawPointer(bitPattern: 1))
            Unmanaged<BlockingTestThreads>.fromOpaque(raw!).takeRetainedValue().work()
            return nil
        }, Unmanaged.passRetained(self).toOpaque())
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(thread)
    }

    private func work() {
        let executor = asUnownedTaskExecutor()
        condition.lock()
        while true {
            while queue.isEmpty {
                idleThreads += 1
                condition.wait()
                idleThreads -= 1
            }
            let job = queue.removeFirst()
            condition.unlock()
            job.runSynchronously(on: executor)
            condition.lock()
        }
    }

    /// Whether the calling thread is one of this executor's.
    public static var isCurrentThread: Bool { pthread_getspecific(blockingThreadKey) != nil }
}

private let blockingThreadKey: pthread_key_t = {
    var key = pthread_key_t()
    precondition(pthread_key_create(&key, nil) == 0)
    return key
}()

/// Records an issue when `what` (a call that blocks its thread) runs in a task on Swift
/// concurrency's shared threads: the suite lacks `.ownThreads`, or an unstructured task
/// should be a ``blockingTask(_:)``. Calls from threads outside any task (a scripted
/// input's reader) are fine.
public func checkBlockingCallIsAllowed(_ what: @autoclosure () -> String) {
    let inTask = withUnsafeCurrentTask { $0 != nil }
    guard inTask, !BlockingTestThreads.isCurrentThread else { return }
    Issue.record("\(what()) blocks one of Swift's shared threads (as many as cores): mark the suite @Suite(.ownThreads)")
}

/// An unstructured task on the test threads, for blocking work started beside the test's own
/// flow (`beamsh` run to its end while the test freezes the node). `Task.detached` would put it
/// on the shared threads; this one also keeps the test's context, so its issues name the test.
public func blockingTask<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Task<T, Error> {
    Task(executorPreference: BlockingTestThreads.shared) { try await body() }
}

/// ``blockingTask(_:)`` for work that cannot fail.
@discardableResult
public func blockingTask<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> Task<T, Never> {
    Task(executorPreference: BlockingTestThreads.shared) { await body() }
}
