import Foundation
import Testing
import BeamTestSupport

/// The fixture itself must work on every runtime, or every integration test is moot.
@Suite(.ownThreads) struct TestNodeFixtureTests {
    @Test(arguments: [TestNode.NameMode.short, .long, .ipv6])
    func startsANodeOnEveryRuntime(mode: TestNode.NameMode) throws {
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime, mode: mode)
            defer { node.stop() }
            #expect(try node.eval("node() =:= '\(node.name)'.") == "true")
            #expect(try node.eval("lists:sum([1,2,3]).") == "6")
        }
    }
}

/// Tests that block (nodes, child processes) run on threads of their own: two of them on
/// Swift's shared threads (two in CI) stalled every other test's tasks.
@Suite(.ownThreads) struct BlockingCallsTests {
    /// A test of such a suite and its child tasks run on the test threads, and more of them
    /// blocking than the machine has cores do not wait for each other: on the shared threads,
    /// the last would start when the first ended (6 s, not 3).
    @Test func blockingTestsRunOnThreadsOfTheirOwn() async throws {
        #expect(BlockingTestThreads.isCurrentThread)
        let blockers = ProcessInfo.processInfo.activeProcessorCount + 2
        let started = ContinuousClock.now
        let onTestThreads = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<blockers {
                group.addTask {
                    usleep(3_000_000)
                    return BlockingTestThreads.isCurrentThread
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(onTestThreads == blockers)
        #expect(ContinuousClock.now - started < .seconds(5), "the blocked tasks waited for each other")
    }

    /// A blocking call from a test on the shared threads is an issue: the suite lacks the trait.
    @Test func aBlockingCallOnTheSharedThreadsIsAnIssue() async {
        await withTaskExecutorPreference(globalConcurrentExecutor) {
            withKnownIssue { checkBlockingCallIsAllowed("this call") }
        }
        checkBlockingCallIsAllowed("the same call on the test's own threads")
    }
}
