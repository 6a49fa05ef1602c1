// Printing in pieces (`format(_:to:)`, `encode(_:to:)`, used for replies too large to hold as
// one string) gives exactly the text of printing whole, in every formatter.

@testable import ErlangTerm
import Testing
import BeamTestSupport

/// Seconds of decoding and printing per test: on threads of their own (see OwnThreads.swift).
@Suite(.ownThreads) struct StreamedPrintingTests {
    /// Terms around and beyond the piece size: large binaries of each kind, long lists, deep
    /// nesting, and a spread of random terms.
    static let terms: [Term] = {
        let printable = Binary(Array(repeating: UInt8(ascii: "a"), count: 200_000) + Array("\"\\\n\u{7F}é".utf8))
        let raw = Binary((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let unicode = Binary(Array(String(repeating: "héllo wörld ", count: 20_000).utf8))
        var terms: [Term] = [
            .binary(printable), .binary(raw), .binary(unicode),
            .list(TermList((0..<100_000).map { .integer($0) })),
            .tuple([.binary(raw), .list([.binary(printable), .atom("ok")]), .map([(key: .atom("k"), value: .binary(unicode))])]),
            (0..<2_000).reduce(Term.emptyList) { inner, i in .list([.integer(i), inner]) },
        ]
        var random = RandomTerms(seed: 7)
        for _ in 0..<200 { terms.append(random.term(depth: 5)) }
        return terms
    }()

    @Test func piecesMakeTheWholeText() {
        var pretty = TermJSON.Options()
        pretty.pretty = true
        for (index, term) in Self.terms.enumerated() {
            func streamed(_ print: ((String) -> Void) -> Void) -> (text: String, largest: Int) {
                var pieces: [String] = []
                print { pieces.append($0) }
                return (pieces.joined(), pieces.map(\.utf8.count).max() ?? 0)
            }
            let erlang = streamed { ErlangFormatter().format(term, to: $0) }
            #expect(erlang.text == ErlangFormatter().format(term), "Erlang, term \(index)")
            let elixir = streamed { ElixirFormatter().format(term, to: $0) }
            #expect(elixir.text == ElixirFormatter().format(term), "Elixir, term \(index)")
            let json = streamed { TermJSON().encode(term, to: $0) }
            #expect(json.text == TermJSON().encode(term), "JSON, term \(index)")
            let prettyJSON = streamed { TermJSON(options: pretty).encode(term, to: $0) }
            #expect(prettyJSON.text == TermJSON(options: pretty).encode(term), "pretty JSON, term \(index)")
            // No piece holds much more than one piece's worth, however large the term.
            for (name, largest) in [("Erlang", erlang.largest), ("Elixir", elixir.largest), ("JSON", json.largest)] {
                #expect(largest < 4 * PrintWork.sinkPiece, "\(name), term \(index): a piece of \(largest) bytes")
            }
        }
    }
}
