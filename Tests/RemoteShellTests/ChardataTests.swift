// Remote output's text: chardata to UTF-8 pieces, the same text the string path makes.

import ErlangTerm
import Foundation
@testable import RemoteShell
import Testing

@Suite struct ChardataTests {
    static let big = Binary(Array(repeating: UInt8(ascii: "a"), count: 4096) + Array("é✓😀".utf8))

    /// Every form of chardata gives the same text as pieces as through a string, and a large
    /// binary is passed on as the received slice, not copied.
    @Test func piecesSpellTheSameText() throws {
        // Each form with the text it stands for (as `unicode:characters_to_binary/2` reads it).
        let bigText = String(repeating: "a", count: 4096) + "é✓😀"
        let forms: [(Term, IOEncoding, String)] = [
            (.binary("plain"), .unicode, "plain"),
            (.binary("héllo ✓ 😀"), .unicode, "héllo ✓ 😀"),
            (.list([104, 0xE9, .binary("llo"), .list([.binary(" ✓"), 0x1F600]), .emptyList]), .unicode, "héllo ✓😀"),
            (.list(TermList([.binary("a")], tail: .binary("b"))), .unicode, "ab"),
            (.binary(Binary([0x68, 0xE9, 0xFF])), .latin1, "hé\u{FF}"),
            (.list([.binary(Binary([0xE9])), 0xFF]), .latin1, "é\u{FF}"),
            (.binary(Self.big), .unicode, bigText),
            (.list([.binary("x"), .binary(Self.big), 10]), .unicode, "x" + bigText + "\n"),
            (.emptyList, .unicode, ""),
        ]
        for (term, encoding, expected) in forms {
            let pieces = try #require(Chardata.utf8Pieces(term, encoding: encoding), "\(term)")
            let text = try #require(Chardata.string(term, encoding: encoding))
            #expect(text == expected, "\(term) \(encoding)")
            #expect(pieces.flatMap { Array($0) } == Array(expected.utf8), "\(term) \(encoding)")
        }
        let shared = try #require(Chardata.utf8Pieces(.binary(Self.big)))
        #expect(shared.count == 1)
        Self.big.bytes.withUnsafeBufferPointer { original in
            shared[0].withUnsafeBufferPointer { piece in #expect(piece.baseAddress == original.baseAddress) }
        }
    }

    /// Not chardata, or invalid UTF-8 in a unicode binary: nil, so the string path (which
    /// shows replacement characters, or refuses) decides.
    @Test func notChardataOrInvalidUTF8IsNil() {
        for term: Term in [.atom("a"), .tuple([1]), .list([-1]), .list([0xD800]), .list([0x110000]),
                           .binary(Binary([0xFF])), .binary(Binary([0xC3])), .binary(Binary([0xED, 0xA0, 0x80])),
                           .binary(Binary([0xC0, 0x80]))] {
            #expect(Chardata.utf8Pieces(term) == nil, "\(term)")
        }
        #expect(Chardata.isValidUTF8(Array("héllo ✓ 😀".utf8)[...]))
    }

    /// A fan-out member's output keeps its first bytes, cut between characters, and counts the
    /// rest exactly, whether it comes as text or as pieces.
    @Test func cappedOutputCutsPiecesBetweenCharacters() {
        let text = String(repeating: "é", count: 10) + "tail"
        for limit in [0, 1, 2, 3, 5, 19, 20, 21, 24, 30] {
            let asText = CappedOutput(limit: limit)
            asText.write(text)
            let asPieces = CappedOutput(limit: limit)
            let bytes = Array(text.utf8)
            asPieces.write(utf8: [bytes[0..<6], bytes[6...]])  // pieces hold whole characters
            #expect(asPieces.text == asText.text, "limit \(limit)")
            // The first whole characters that fit (é is two bytes), then "tail" as far as it fits.
            let kept = String(repeating: "é", count: min(limit, 20) / 2) + String("tail".prefix(max(0, limit - 20)))
            let dropped = 24 - kept.utf8.count
            let expected = dropped == 0 ? kept : kept + (kept.isEmpty ? "" : "\n") + "... (\(dropped) more bytes of output not shown)\n"
            #expect(asText.text == expected, "limit \(limit): \(asText.text)")
        }
    }
}
