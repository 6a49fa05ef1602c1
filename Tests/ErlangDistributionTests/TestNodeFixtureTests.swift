import Testing
import BeamTestSupport

/// The fixture itself must work on every runtime, or every integration test is moot.
@Suite struct TestNodeFixtureTests {
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
