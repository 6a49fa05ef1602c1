import BeamTestSupport
import BigInt
import Testing
@testable import ErlangTerm

@Suite(.ownThreads) struct ParserTests {
    let parser = ErlangTermParser()

    @Test func numbers() throws {
        #expect(try parser.parse("42") == 42)
        #expect(try parser.parse("-7") == -7)
        #expect(try parser.parse("16#ff") == 255)
        #expect(try parser.parse("-2#1010") == -10)
        #expect(try parser.parse("1_000") == 1000)
        #expect(try parser.parse("$a") == 97)
        #expect(try parser.parse("$\\n") == 10)
        #expect(try parser.parse("$\\x{1F600}") == 0x1F600)
        #expect(try parser.parse("123456789012345678901234567890") == .integer(BigInt("123456789012345678901234567890", radix: 10)!))
        #expect(try parser.parse("-9223372036854775808") == .integer(Int.min))
        #expect(try parser.parse("1.5") == 1.5)
        #expect(try parser.parse("-1.0e-5") == -1e-5)
        #expect(try parser.parse("2.5E+3") == 2500.0)
    }

    /// Every base Erlang reads, 36 included (`36#z` is 35), in either case, up to numbers of many
    /// machine words, against the digits' value computed one at a time.
    @Test func everyBaseUpTo36() throws {
        #expect(try parser.parse("36#z") == 35)
        #expect(try parser.parse("36#10") == 36)
        #expect(try parser.parse("36#Zz") == 1295)
        #expect(try parser.parse("-36#1_0") == -36)
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        var generator = SystemRandomNumberGenerator()
        for base in 2...36 {
            for length in [1, 5, 13, 40, 64, 65, 200] {
                let digits = (0..<length).map { _ in Int.random(in: 0..<base, using: &generator) }
                var expected = BigInt(0)
                for digit in digits { expected = expected * BigInt(base) + BigInt(digit) }
                let text = String(digits.map { alphabet[$0] })
                #expect(try parser.parse("\(base)#\(text)") == .integer(expected), "\(base)#\(text)")
                #expect(try parser.parse("\(base)#\(text.uppercased())") == .integer(expected))
            }
            // The first letter past the base's digits is not a digit of it.
            let beyond = alphabet[base % 36]
            if base < 36 {
                #expect(throws: TermParseError(.invalidNumber("'1\(beyond)' in base \(base)"), at: 0)) {
                    try parser.parse("\(base)#1\(beyond)")
                }
            }
        }
    }

    @Test func atomsAndStrings() throws {
        #expect(try parser.parse("ok") == .ok)
        #expect(try parser.parse("a@b_C1") == .atom("a@b_C1"))
        #expect(try parser.parse("'hello world'") == .atom("hello world"))
        #expect(try parser.parse("'it\\'s\\n'") == .atom("it's\n"))
        #expect(try parser.parse("'end'") == .atom("end"))
        #expect(try parser.parse("\"abc\"") == .charlist("abc"))
        #expect(try parser.parse("\"ab\" \"cd\"") == .charlist("abcd"))
        #expect(try parser.parse("\"\"") == .emptyList)
        #expect(try parser.parse("\"\\x{100}\\101\\^A\\s\"") == [256, 65, 1, 32])
        #expect(try parser.parse("'日本'") == .atom("日本"))
    }

    /// `<0.B.C>`, as a node prints its own processes, only where the caller says how to read it.
    @Test func localPids() throws {
        for text in ["<0.1.2>", "<0.2"] {
            #expect(throws: TermParseError(.pid(.notAccepted), at: 0)) { try parser.parse(text) }
        }
        let node: Atom = "app@host"
        let reading = ErlangTermParser(localPid: { $0 < 100 ? Pid(node: node, id: $0, serial: $1, creation: 7) : nil })
        #expect(try reading.parse("{<0.42.3>, [<0.0.0>]}")
                == .tuple([.pid(Pid(node: node, id: 42, serial: 3, creation: 7)), [.pid(Pid(node: node, id: 0, serial: 0, creation: 7))]]))
        #expect(try reading.parse("<<1>>") == .binary(Binary([1])), "a binary still starts with <<")
        for (text, problem) in [("<1.2.3>", TermParseError.PidProblem.anotherNodes(1)), ("<0.2>", .malformed), ("<0.2.3", .malformed),
                                ("<0.4294967296.0>", .malformed), ("<0.100.0>", .unknown(number: 100, serial: 0))] {
            #expect(throws: TermParseError(.pid(problem), at: 1)) { try reading.parse("[" + text + "]") }
        }
    }

    @Test func containers() throws {
        #expect(try parser.parse("{ok, [1, 2], {}}") == .tuple([.ok, [1, 2], .tuple([])]))
        #expect(try parser.parse("[1|2]") == .list(TermList([1], tail: 2)))
        #expect(try parser.parse("[1,2|[3]]") == [1, 2, 3])
        #expect(try parser.parse("#{a => 1, <<\"k\">> => [x]}") ==
            .map([(key: .atom("a"), value: 1), (key: .binary("k"), value: [.atom("x")])]))
        #expect(try parser.parse("#{a => 1, a => 2}") == .map([(key: .atom("a"), value: 2)]))
        #expect(try parser.parse("#{}") == .map([]))
        #expect(try parser.parse("  {a}. % done") == .tuple([.atom("a")]))
    }

    @Test func binaries() throws {
        #expect(try parser.parse("<<>>") == .binary(Binary([UInt8]())))
        #expect(try parser.parse("<<\"abc\">>") == .binary("abc"))
        #expect(try parser.parse("<<1,2,3>>") == .binary(Binary([1, 2, 3])))
        #expect(try parser.parse("<<1,2:3>>") == .bitstring(Bitstring(bytes: Binary([1, 0b0100_0000]), bitsInLastByte: 3)))
        #expect(try parser.parse("<<\"é\"/utf8>>") == .binary("é"))
        #expect(try parser.parse("<<256:16, -1>>") == .binary(Binary([1, 0, 255])))
        #expect(try parser.parse("<<\"a\", 98>>") == .binary("ab"))
    }

    @Test(arguments: [
        ("", TermParseError.Kind.unexpectedEnd, 0),
        ("{1,", .unexpectedEnd, 3),
        ("{1 2}", .unexpected("2"), 3),
        ("[1|2,3]", .unexpected("','"), 4),
        ("X", .variable("X"), 0),
        ("{ok, end}", .reservedWord("end"), 5),
        ("'abc", .invalidLiteral("unterminated quoted atom"), 0),
        ("16#zz", .invalidNumber("'zz' in base 16"), 0),
        ("1 2", .unexpected("2"), 2),
        ("#{a}", .unexpected("'}'"), 3),
        ("<<a>>", .invalidBinarySegment("expected an integer or a string"), 2),
    ])
    func errors(text: String, kind: TermParseError.Kind, offset: Int) {
        #expect(throws: TermParseError(kind, at: offset)) { try parser.parse(text) }
    }

    /// Everything the Erlang formatter prints (bar funs) parses back to the same term.
    @Test func readsTheFormatterOutput() throws {
        let formatter = ErlangFormatter()
        for term in TermCorpus.all {
            if case .export = term { continue }
            let text = formatter.format(term)
            #expect(try parser.parse(text) == term, "\(text)")
        }
    }

    /// What OTP 25's and OTP 28's own `~p` print for the corpus parses to the term they printed.
    @Test func readsTheRuntimesPrinting() throws {
        let terms = TermCorpus.all.filter { if case .export = $0 { return false } else { return true } }
        for runtime in try ErlangRuntime.requireAll() {
            let printed = try RuntimeCheck.runtimePrinting(terms, elixir: false, on: runtime)
            #expect(printed.lines.count == terms.count)
            for (term, line) in zip(printed.terms, printed.lines) {
                #expect(try parser.parse(line) == term, "\(runtime): \(line)")
            }
        }
    }

    /// Long containers: each element is added in place (a list of 20,000 took 1.3 s when
    /// every element copied the list so far).
    @Test func longContainers() throws {
        let count = 200_000
        let numbers = (0..<count).map(String.init).joined(separator: ",")
        #expect(try parser.parse("[" + numbers + "]") == .list(TermList((0..<count).map { Term.integer($0) })))
        #expect(try parser.parse("{" + numbers + "}") == .tuple((0..<count).map { Term.integer($0) }))
        let pairs = (0..<count).map { "\($0) => \($0)" }.joined(separator: ",")
        #expect(try parser.parse("#{" + pairs + "}").mapValue?.count == count)
        #expect(try parser.parse("[" + numbers + "|tail]") == .list(TermList((0..<count).map { Term.integer($0) }, tail: .atom("tail"))))
    }

    @Test func millionDeepNesting() throws {
        let depth = 1_000_000
        let text = String(repeating: "[{", count: depth) + "x" + String(repeating: "}]", count: depth)
        let term = try parser.parse(text)
        #expect(ErlangFormatter().format(term) == text)
    }
}

extension ParserTests {
    @Test func listTailsNormalise() throws {
        #expect(try parser.parse("[1|[2|[3|4]]]") == .list(TermList([1, 2, 3], tail: 4)))
        #expect(try parser.parse("[1|[]]") == [1])
        #expect(try parser.parse("{maybe, else}") == .tuple([.atom("maybe"), .atom("else")]))
    }
}
