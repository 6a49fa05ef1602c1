// io:format's plain cases, formatted in beamsh: checked against each runtime's io_lib:format/2.

import BeamTestSupport
import BigInt
import ErlangDistribution
import ErlangTerm
import Foundation
@testable import RemoteShell
import Testing

@Suite(.ownThreads) struct SimpleFormatTests {
    static let pid = Term.pid(Pid(node: "a@b", id: 1, serial: 0, creation: 1))

    /// (format, arguments, whether beamsh must format it itself): the cases operators write in
    /// loops must be handled here, or the round trip saved silently stops being saved.
    static let cases: [(Term, [Term], Bool)] = [
        (.charlist("~p~n"), [42], true),
        (.charlist("line ~p~n"), [-7], true),
        (.charlist("~w"), [.integer(BigInt(1) << 100)], true),
        (.charlist("~p ~w~n"), [.atom("ok"), .atom("aB_9@x")], true),
        (.charlist("~p"), [.atom("true")], true),
        (.charlist("~s~n"), [.charlist("abc")], true),
        (.binary("~s: ~B~n"), [.binary("name"), 12], true),
        (.atom("~s"), [.atom("hello")], true),
        (.charlist("~s"), [.list([.charlist("a"), .list([98, .binary("c")]), .emptyList])], true),
        (.charlist("~ts~n"), [.binary("héllo ✓")], true),
        (.charlist("~ts"), [.list([0x1F600, 0xE9])], true),
        (.charlist("~ts"), [.atom("héllo")], true),
        (.charlist("~tp ~tw"), [5, .atom("ok")], true),
        (.charlist("a~~b~n"), [], true),
        (.charlist("~i~p"), [.tuple([1, 2]), 1], true),
        (.charlist("tab\there~n"), [], true),
        (.charlist("~s"), [.emptyList], true),
        // The node's: quoting, widths, floats, pids, bytes beyond ASCII, bad arity, bad input.
        (.charlist("~p"), [.atom("Elixir.Foo")], false),
        (.charlist("~p"), [.atom("maybe")], false),
        (.charlist("~p"), [.atom("end")], false),
        (.charlist("~p"), [.charlist("abc")], false),
        (.charlist("~p"), [1.5], false),
        (.charlist("~p"), [pid], false),
        (.charlist("~5p|~-5s|"), [1, .charlist("ab")], false),
        (.charlist("~.16B"), [255], false),
        (.charlist("~s"), [.binary(Binary([200]))], false),
        (.charlist("~s"), [.list([300])], false),
        (.charlist("~ts"), [.binary(Binary([255]))], false),
        (.charlist("é ~p"), [1], false),
        (.charlist("~p ~p"), [1], false),
        (.charlist("~p"), [1, 2], false),
        (.charlist("~"), [], false),
        (.charlist("~n"), [1], false),
        (.list([.charlist("~p")]), [1], false),
        // A bare character is no text: the node raises badarg, and so must the line.
        (.charlist("~s~n"), [65], false),
        (.charlist("~s~n"), [1], false),
        (.charlist("~ts|"), [1], false),
        (.integer(65), [], false),
    ]

    @Test func theCasesOperatorsWriteAreFormattedHere() {
        for (format, arguments, handled) in Self.cases {
            #expect((SimpleFormat.format(format, .list(arguments)) != nil) == handled, "\(format) \(arguments)")
        }
    }

    /// Whatever beamsh formats itself is exactly what the node's `io_lib:format/2` makes of it,
    /// on OTP 25 and OTP 28: the listed cases and a few thousand random ones.
    @Test func matchesTheNodesIoLibFormat() async throws {
        var random = SeededRandom(seed: 2026)
        var all = Self.cases
        for _ in 0..<3000 { all.append(Self.randomCase(&random)) }
        for runtime in try ErlangRuntime.requireAll() {
            let node = try TestNode(runtime: runtime)
            defer { node.stop() }
            let connection = try await connect(node)
            var compared = 0
            for (format, arguments, _) in all {
                guard let ours = SimpleFormat.format(format, .list(arguments)) else { continue }
                let theirs = try await connection.call("io_lib", "format", [format, .list(arguments)], timeout: .seconds(10))
                #expect(!theirs.isTagged("badrpc"), "\(runtime): the node refused \(format) \(arguments): \(theirs)")
                #expect(Chardata.string(theirs) == ours, "\(runtime): \(format) \(arguments)")
                compared += 1
            }
            #expect(compared > 1000, "\(runtime): only \(compared) cases were formatted here")
            await connection.close()
        }
    }

    /// A format of random pieces (text, directives, some the node's) and arguments to match or not.
    static func randomCase(_ random: inout SeededRandom) -> (Term, [Term], Bool) {
        let atoms = ["ok", "error", "true", "node@host", "a_B9", "Upper", "with space", "end", "héllo", "x"]
        let texts = ["", "abc", "a b\tc", "héllo", "✓", "~"]
        var format = ""
        var arguments: [Term] = []
        for _ in 0..<random.next(upTo: 5) {
            switch random.next(upTo: 12) {
            case 0: format += texts[random.next(upTo: 3)]
            case 1: format += "~n"
            case 2: format += "~~"
            case 3, 4:
                format += random.next(upTo: 2) == 0 ? "~p" : "~tw"
                arguments.append(random.next(upTo: 2) == 0 ? .integer(random.next(upTo: 2_000_001) - 1_000_000)
                                 : .atom(atoms[random.next(upTo: atoms.count)]))
            case 5:
                format += "~s"
                let text = texts[random.next(upTo: texts.count)]
                arguments.append([Term.charlist(text), .binary(text), .atom(text), .list([.charlist(text), .binary(text)])][random.next(upTo: 4)])
            case 6:
                format += "~ts"
                let text = texts[random.next(upTo: texts.count)]
                arguments.append([Term.charlist(text), .binary(text), .list([.binary(text), .charlist(text)])][random.next(upTo: 3)])
            case 7:
                format += "~B"
                arguments.append(.integer(random.next(upTo: 1000) - 500))
            case 8:
                format += "~i"
                arguments.append(.tuple([1, .atom("x")]))
            case 9:
                format += "~w"
                arguments.append(.integer(BigInt(random.next(upTo: 1000)) << 70))
            case 10:
                format += "~p"
                arguments.append(1.25)  // the node's (a float)
            default:
                format += "~s"
                arguments.append(.binary(Binary([UInt8(0x61 + random.next(upTo: 26))])))
            }
        }
        let asBinary = random.next(upTo: 3) == 0
        return (asBinary ? .binary(format) : .charlist(format), arguments, true)
    }
}

/// A small deterministic generator (SplitMix64), so a failure can be replayed.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(upTo bound: Int) -> Int {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        z ^= z >> 31
        return Int(z % UInt64(bound))
    }
}
