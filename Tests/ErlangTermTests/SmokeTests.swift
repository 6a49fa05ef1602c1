import Testing
@testable import ErlangTerm

@Suite struct SmokeTests {
    @Test func roundTripsATuple() throws {
        let term: Term = .tuple([.atom("ok"), 1, 2.5, [1, 2, 300], .binary("hi")])
        let bytes = try TermEncoder().encode(term)
        #expect(try TermDecoder().decode(bytes) == term)
    }
}

@Suite struct Latin1Tests {
    /// Every byte is the code point of its value, alone and among others.
    @Test func eachByteIsItsCodePoint() {
        let all = (0...255).map { UInt8($0) }
        let text = all.withUnsafeBytes { String(latin1: $0) }
        #expect(text.unicodeScalars.map(\.value) == all.map { UInt32($0) })
        for byte in all {
            let one = [byte].withUnsafeBytes { String(latin1: $0) }
            #expect(one.unicodeScalars.map(\.value) == [UInt32(byte)])
        }
        #expect([UInt8]().withUnsafeBytes { String(latin1: $0) }.isEmpty)
        let pandu: [UInt8] = [0x70, 0x40, 0xF1, 0x61, 0x6E, 0x64, 0xFA]
        #expect(pandu.withUnsafeBytes { String(latin1: $0) } == "p@ñandú")
    }
}
