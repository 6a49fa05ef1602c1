import Testing
@testable import ErlangTerm

@Suite struct SmokeTests {
    @Test func roundTripsATuple() throws {
        let term: Term = .tuple([.atom("ok"), 1, 2.5, [1, 2, 300], .binary("hi")])
        let bytes = try TermEncoder().encode(term)
        #expect(try TermDecoder().decode(bytes) == term)
    }
}
