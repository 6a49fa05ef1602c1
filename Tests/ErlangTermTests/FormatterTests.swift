import BeamTestSupport
import BigInt
import Testing
@testable import ErlangTerm

@Suite(.ownThreads) struct FormatterTests {
    let elixir = ElixirFormatter()
    let erlang = ErlangFormatter()

    /// A local fun whose index and old index differ (checked against OTP 25 and Elixir 1.14 by
    /// patching a real fun's bytes): `~p` shows the old index, `inspect` the new one.
    @Test func funsShowTheIndexEachLanguageShows() {
        let fun = Term.fun(Fun(arity: 0, uniq: Array(repeating: 1, count: 16), index: 50, module: "erl_eval", oldIndex: 43,
                               oldUniq: 3_316_493, pid: Pid(node: "a@b", id: 1, serial: 0, creation: 1), freeVariables: []))
        #expect(erlang.format(fun) == "#Fun<erl_eval.43.3316493>")
        #expect(elixir.format(fun) == "#Function<50.3316493/0 in :erl_eval>")
    }

    @Test(arguments: [
        (0.0, "0.0"), (-0.0, "-0.0"), (1.0, "1.0"), (0.1, "0.1"), (1e-5, "1.0e-5"), (1e20, "1.0e20"),
        (100.0, "100.0"), (1000.0, "1.0e3"), (0.0001, "0.0001"), (0.000123, "1.23e-4"), (123456.0, "123456.0"),
        (9007199254740992.0, "9.007199254740992e15"), (9007199254740990.0, "9007199254740990.0"),
        (Double.leastNonzeroMagnitude, "5.0e-324"), (1.7976931348623157e308, "1.7976931348623157e308"), (-2.5, "-2.5"),
    ])
    func erlangFloats(value: Double, text: String) {
        #expect(erlang.format(.float(value)) == text)
    }

    @Test(arguments: [
        (1000.0, "1000.0"), (1e15, "1000000000000000.0"), (1e16, "1.0e16"), (9007199254740992.0, "9007199254740992.0"),
        (1e-5, "1.0e-5"), (0.5, "0.5"), (-1000.0, "-1000.0"), (1e20, "1.0e20"),
    ])
    func elixirFloats(value: Double, text: String) {
        #expect(elixir.format(.float(value)) == text)
    }

    @Test func elixirAtoms() {
        #expect(elixir.format(.atom("ok")) == ":ok")
        #expect(elixir.format(.true) == "true")
        #expect(elixir.format(.nil) == "nil")
        #expect(elixir.format(.atom("Elixir.Foo.Bar")) == "Foo.Bar")
        // An alias whose first part is Elixir keeps its prefix, as `inspect` keeps it.
        #expect(elixir.format(.atom("Elixir.Elixir")) == "Elixir.Elixir")
        #expect(elixir.format(.atom("Elixir.Elixir.Foo")) == "Elixir.Elixir.Foo")
        #expect(elixir.format(.atom("Elixir.foo")) == ":\"Elixir.foo\"")
        #expect(elixir.format(.atom("a b")) == ":\"a b\"")
        #expect(elixir.format(.atom("+")) == ":+")
        #expect(elixir.format(.atom("::")) == ":\"::\"")
        #expect(elixir.format(.atom("foo?")) == ":foo?")
        #expect(elixir.format(.atom("#{x}")) == ":\"\\#{x}\"")
        #expect(elixir.format(.atom("é")) == ":\"é\"")
    }

    @Test func elixirContainers() {
        #expect(elixir.format([.tuple([.atom("a"), 1]), .tuple([.atom("b"), 2])]) == "[a: 1, b: 2]")
        #expect(elixir.format(.list(TermList([1], tail: 2))) == "[1 | 2]")
        #expect(elixir.format(.tuple([1, 2])) == "{1, 2}")
        #expect(elixir.format(.map([(key: .atom("a"), value: 1)])) == "%{a: 1}")
        #expect(elixir.format(.map([(key: .binary("k"), value: 1), (key: .atom("a"), value: 2)])) == "%{\"k\" => 1, :a => 2}")
        #expect(elixir.format(.charlist("abc")) == "~c\"abc\"")
        #expect(elixir.format(.binary("a\n\"#{")) == "\"a\\n\\\"\\#{\"")
        #expect(elixir.format(.binary(Binary([1, 2, 3]))) == "<<1, 2, 3>>")
        #expect(elixir.format(.bitstring(Bitstring(bytes: Binary([1, 0b0100_0000]), bitsInLastByte: 3))) == "<<1, 2::size(3)>>")
        let user = Term.map([(key: .atom("__struct__"), value: .atom("Elixir.MyApp.User")), (key: .atom("name"), value: .binary("x"))])
        #expect(elixir.format(user) == "%MyApp.User{name: \"x\"}")
        var plain = ElixirFormatter.Options()
        plain.structs = false
        #expect(ElixirFormatter(options: plain).format(user) == "%{__struct__: MyApp.User, name: \"x\"}")
        // A standard struct without all of its fields is the map it is, as inspect/2 prints it.
        let partial = Term.map([(key: .atom("__struct__"), value: .atom("Elixir.URI")), (key: .atom("host"), value: .binary("x"))])
        #expect(elixir.format(partial) == "%{__struct__: URI, host: \"x\"}")
        let range = Term.map([(key: .atom("__struct__"), value: .atom("Elixir.Range")), (key: .atom("first"), value: 1),
                              (key: .atom("last"), value: 3), (key: .atom("step"), value: 1)])
        #expect(elixir.format(range) == "1..3")
        #expect(ElixirFormatter(options: plain).format(range) == "%{__struct__: Range, first: 1, last: 3, step: 1}")
        // Atoms over 255 bytes of UTF-8 (Elixir's tokenizer refuses them quoted).
        let long = Atom(String(repeating: "λ", count: 200))
        #expect(elixir.format(.atom(long)) == "String.to_atom(\"\(long.name)\")")
        #expect(elixir.format(.list([.tuple([.atom(long), 1])])) == "[{String.to_atom(\"\(long.name)\"), 1}]")
        #expect(elixir.format(.map([(key: .atom(long), value: 1)])) == "%{String.to_atom(\"\(long.name)\") => 1}")
    }

    @Test func identifiers() {
        let pid = Pid(node: "nonode@nohost", id: 85, serial: 0, creation: 0)
        let remote = Pid(node: "app@host", id: 85, serial: 0, creation: 1)
        let reference = Reference(node: "nonode@nohost", creation: 0, ids: [3, 2, 1])
        let port = Port(node: "nonode@nohost", id: 5, creation: 0)
        #expect(elixir.format(.pid(pid)) == "#PID<0.85.0>")
        #expect(elixir.format(.pid(remote)) == "#PID<app@host.85.0>")
        #expect(elixir.format(.reference(reference)) == "#Reference<0.1.2.3>")
        #expect(elixir.format(.port(port)) == "#Port<0.5>")
        #expect(erlang.format(.pid(pid)) == "<0.85.0>")
        #expect(erlang.format(.pid(remote)) == "<app@host.85.0>")
        #expect(erlang.format(.reference(reference)) == "#Ref<0.1.2.3>")
        #expect(erlang.format(.port(port)) == "#Port<0.5>")
        var options = ElixirFormatter.Options()
        options.localNode = "app@host"
        #expect(ElixirFormatter(options: options).format(.pid(remote)) == "#PID<0.85.0>")
        let abs = Term.export(ExportFun(module: "erlang", function: "abs", arity: 1))
        #expect(elixir.format(abs) == "&:erlang.abs/1")
        #expect(erlang.format(abs) == "fun erlang:abs/1")
        #expect(elixir.format(.export(ExportFun(module: "Elixir.Enum", function: "map", arity: 2))) == "&Enum.map/2")
        #expect(erlang.format(.export(ExportFun(module: "a b", function: "end", arity: 2))) == "fun 'a b':'end'/2")
    }

    @Test func erlangTerms() {
        #expect(erlang.format(.atom("end")) == "'end'")
        #expect(erlang.format(.atom("Foo")) == "'Foo'")
        #expect(erlang.format(.atom("a@b")) == "a@b")
        #expect(erlang.format(.charlist("abc")) == "\"abc\"")
        #expect(erlang.format(.binary("abc")) == "<<\"abc\">>")
        #expect(erlang.format(.binary(Binary([1, 2, 3]))) == "<<1,2,3>>")
        #expect(erlang.format(.bitstring(Bitstring(bytes: Binary([1, 0b0100_0000]), bitsInLastByte: 3))) == "<<1,2:3>>")
        #expect(erlang.format(.list(TermList([1], tail: 2))) == "[1|2]")
        #expect(erlang.format(.map([(key: .atom("a"), value: 1)])) == "#{a => 1}")
        #expect(erlang.format(.tuple([1, [2]])) == "{1,[2]}")
    }

    // MARK: - Against the real runtimes

    /// Our printing equals OTP 25's `~p` and Elixir 1.14's `inspect/2` for the common corpus.
    @Test func matchesTheRuntimesOwnPrinting() throws {
        guard let runtime = ErlangRuntime.system else { throw TestSetupError("Debian's erlang/elixir missing") }
        let erl = try RuntimeCheck.runtimePrinting(TermCorpus.common, elixir: false, on: runtime)
        #expect(erl.terms.count == TermCorpus.common.count && erl.lines.count == TermCorpus.common.count)
        for (term, expected) in zip(erl.terms, erl.lines) {
            #expect(erlang.format(term) == expected)
        }
        var options = ElixirFormatter.Options()
        options.charlistStyle = .singleQuotes
        let ex = try RuntimeCheck.runtimePrinting(TermCorpus.common, elixir: true, on: runtime)
        #expect(ex.terms.count == TermCorpus.common.count && ex.lines.count == TermCorpus.common.count)
        for (term, expected) in zip(ex.terms, ex.lines) {
            #expect(ElixirFormatter(options: options).format(term) == expected)
        }
    }

    /// With `unicode`, our printing equals `~tp` on OTP 25 and OTP 28: UTF-8 text in binaries as
    /// `<<"é"/utf8>>`, atoms' characters beyond Latin-1 as themselves, and the rest as `~p`.
    @Test func unicodeMatchesTheRuntimesTp() throws {
        var options = ErlangFormatter.Options()
        options.unicode = true
        let tp = ErlangFormatter(options: options)
        let text: [Term] = [
            .binary(Binary(Array("héllo wörld".utf8))), .binary(Binary(Array("日本".utf8))),
            .binary(Binary([0xC4, 0xA0])), .binary(Binary([104, 0xE9, 108])), .binary(Binary(Array("é\n\t\"\\".utf8))),
            .binary(Binary(Array("é\u{0}".utf8))), .binary(Binary(Array("é\u{85}".utf8))), .binary(Binary([0xFF, 0xFE])),
            .atom("日本"), .atom("é"), .atom("Émile"), .atom("a\u{3B1}b"), .atom("é\u{9F}"),
            .charlist("héllo"), .list(TermList([.integer(0x65E5)])),
            .tuple([.binary(Binary(Array("ü".utf8))), .map([(key: .binary(Binary(Array("ключ".utf8))), value: .atom("ключ"))])]),
            // Longer than a streamed piece, so streaming writes it a piece at a time.
            .binary(Binary(Array(String(repeating: "aé\n", count: 30_000).utf8))),
        ]
        for runtime in try ErlangRuntime.requireAll() {
            let printed = try RuntimeCheck.runtimePrinting(TermCorpus.common + text, elixir: false, unicode: true, on: runtime)
            #expect(printed.terms.count == TermCorpus.common.count + text.count && printed.lines.count == printed.terms.count)
            for (term, expected) in zip(printed.terms, printed.lines) {
                #expect(tp.format(term) == expected, "\(runtime)")
                #expect(streamedText(tp, term) == expected, "\(runtime), streamed")
            }
        }
        // The binary of text that differs between the two: `~p` reads its bytes as Latin-1.
        #expect(erlang.format(text[0]) == "<<\"hÃ©llo wÃ¶rld\">>")
        #expect(tp.format(text[0]) == "<<\"héllo wörld\"/utf8>>")
    }

    private func streamedText(_ printer: ErlangFormatter, _ term: Term) -> String {
        var pieces = ""
        printer.format(term, to: { pieces += $0 })
        return pieces
    }

    /// Pids, ports, references and export funs a runtime made print as that runtime prints them
    /// (its own node's identifiers with a leading 0): `~p` on OTP 25 and 28, `inspect/2` on
    /// Elixir 1.14.
    @Test func identifiersPrintAsTheRuntimePrintsThem() throws {
        for runtime in try ErlangRuntime.requireAll() {
            let erl = try RuntimeCheck.runtimeOwnIdentifiers(elixir: false, on: runtime)
            #expect(erl.terms.count == 9 && erl.lines.count == 9, "\(runtime): \(erl)")
            for (term, expected) in zip(erl.terms, erl.lines) { #expect(erlang.format(term) == expected, "\(runtime)") }
        }
        guard let runtime = ErlangRuntime.system, runtime.hasElixir else { throw TestSetupError("Elixir missing") }
        let ex = try RuntimeCheck.runtimeOwnIdentifiers(elixir: true, on: runtime)
        #expect(ex.terms.count == 9 && ex.lines.count == 9, "\(ex)")
        for (term, expected) in zip(ex.terms, ex.lines) { #expect(elixir.format(term) == expected) }
    }

    @Test func erlangTextReadsBackOnEveryRuntime() throws {
        let terms = TermCorpus.all
        let lines = terms.map { erlang.format($0) }
        for runtime in try ErlangRuntime.requireAll() {
            let bad = try RuntimeCheck.erlangMismatches(terms, lines, on: runtime)
            #expect(bad.isEmpty, "\(runtime): \(bad.map { lines[$0] })")
        }
    }

    /// The golden terms (what a real `term_to_binary` wrote) that hold no pid, port, reference
    /// or fun print as Erlang text `erl_parse` reads back, and as Elixir text that evaluates back,
    /// to the identical term.
    @Test func goldenTermsPrintAsTextThatReadsBack() throws {
        func printsBack(_ term: Term) -> Bool {
            switch term {
            case .pid, .port, .reference, .fun, .export: return false
            case .tuple(let t): return t.elements.allSatisfy(printsBack)
            case .list(let l): return l.allSatisfy(printsBack) && l.tail.map(printsBack) ?? true
            case .map(let m): return m.allSatisfy { printsBack($0.key) && printsBack($0.value) }
            default: return true
            }
        }
        // Both runtimes' golden terms (OTP 25's and OTP 28's own term_to_binary output).
        let terms = try Golden.vectors.filter { $0.isCanonical }
            .map { try TermDecoder().decode($0.bytes) }.filter(printsBack)
        #expect(terms.count >= 180, "the golden set shrank: \(terms.count)")
        let lines = terms.map { erlang.format($0) }
        for runtime in try ErlangRuntime.requireAll() {
            let bad = try RuntimeCheck.erlangMismatches(terms, lines, on: runtime)
            #expect(bad.isEmpty, "\(runtime): \(bad.map { lines[$0].prefix(200) })")
        }
        guard let runtime = ErlangRuntime.system, runtime.hasElixir else { throw TestSetupError("Elixir missing") }
        for charlistStyle in [ElixirFormatter.CharlistStyle.sigil, .singleQuotes] {
            var options = ElixirFormatter.Options()
            options.charlistStyle = charlistStyle
            let elixirLines = terms.map { ElixirFormatter(options: options).format($0) }
            let bad = try RuntimeCheck.elixirMismatches(terms, elixirLines, on: runtime)
            #expect(bad.isEmpty, "\(charlistStyle): \(bad.map { elixirLines[$0].prefix(200) })")
        }
    }

    @Test func elixirTextEvaluatesBack() throws {
        guard let runtime = ErlangRuntime.system, runtime.hasElixir else { throw TestSetupError("Elixir missing") }
        // A complete URI struct evaluates to the identical map.
        let uriFields = ["authority", "fragment", "host", "path", "port", "query", "scheme", "userinfo"]
        let uri = Term.map([(key: .atom("__struct__"), value: .atom("Elixir.URI"))]
            + uriFields.map { (key: .atom($0), value: $0 == "host" ? .binary("example.com") : .nil) })
        for charlistStyle in [ElixirFormatter.CharlistStyle.sigil, .singleQuotes] {
            var options = ElixirFormatter.Options()
            options.charlistStyle = charlistStyle
            let formatter = ElixirFormatter(options: options)
            let terms = TermCorpus.all + [uri]
            let lines = terms.map { formatter.format($0) }
            #expect(lines.last == "%URI{scheme: nil, userinfo: nil, host: \"example.com\", port: nil, path: nil, query: nil, fragment: nil}")
            let bad = try RuntimeCheck.elixirMismatches(terms, lines, on: runtime)
            #expect(bad.isEmpty, "\(bad.map { lines[$0] })")
        }
    }

    /// Standard-library structs, as the runtime's own `inspect/2` prints them where that text
    /// reads back (ranges, ISO dates and times, MapSets, URI's field order, an exception without
    /// `__exception__`), and every one of them, those in struct form included, evaluates back to
    /// the identical term.
    @Test func standardStructsPrintAsInspectDoesAndReadBack() throws {
        guard let runtime = ErlangRuntime.system, runtime.hasElixir else { throw TestSetupError("Elixir missing") }
        func make(_ module: String, _ fields: [(String, Term)]) -> Term {
            .map([(key: .atom("__struct__"), value: .atom(Atom("Elixir." + module)))] + fields.map { (key: .atom(Atom($0.0)), value: $0.1) })
        }
        let iso: (String, Term) = ("calendar", .atom("Elixir.Calendar.ISO"))
        func date(_ y: Int, _ m: Int, _ d: Int) -> [(String, Term)] { [("year", .integer(y)), ("month", .integer(m)), ("day", .integer(d))] }
        func time(_ h: Int, _ mi: Int, _ s: Int, _ us: Int, _ precision: Int) -> [(String, Term)] {
            [("hour", .integer(h)), ("minute", .integer(mi)), ("second", .integer(s)), ("microsecond", .tuple([.integer(us), .integer(precision)]))]
        }
        func utc(_ zone: String, _ abbr: String, _ offset: Int) -> [(String, Term)] {
            [("time_zone", .binary(zone)), ("zone_abbr", .binary(abbr)), ("utc_offset", .integer(offset)), ("std_offset", 0)]
        }
        func uri(authority: Term) -> Term {
            make("URI", [("scheme", .binary("https")), ("authority", authority), ("userinfo", .nil), ("host", .binary("x.org")),
                         ("port", 443), ("path", .binary("/p")), ("query", .binary("q=1")), ("fragment", .nil)])
        }
        func range(_ first: Int, _ last: Int, _ step: Int) -> Term { make("Range", [("first", .integer(first)), ("last", .integer(last)), ("step", .integer(step))]) }
        func mapSet(_ elements: [Term]) -> Term { make("MapSet", [("map", .map(elements.map { (key: $0, value: .emptyList) })), ("version", 2)]) }
        // Printed as inspect/2 prints them.
        let likeInspect: [Term] = [
            uri(authority: .nil), uri(authority: .binary("x.org")),
            range(1, 3, 1), range(5, 1, 1), range(-1, -5, -1), range(1, 9, 2), range(7, 7, 1),
            make("Date", date(2024, 1, 2) + [iso]), make("Date", date(-5, 1, 2) + [iso]), make("Date", date(2024, 2, 29) + [iso]),
            make("Time", time(10, 11, 12, 0, 0) + [iso]), make("Time", time(10, 11, 12, 500_000, 1) + [iso]),
            make("Time", time(1, 2, 3, 5, 6) + [iso]), make("Time", time(23, 59, 59, 120_000, 3) + [iso]),
            make("NaiveDateTime", date(2024, 1, 2) + time(10, 11, 12, 0, 0) + [iso]),
            make("DateTime", date(2024, 1, 2) + time(10, 11, 12, 500_000, 1) + [iso] + utc("Etc/UTC", "UTC", 0)),
            mapSet([]), mapSet([1, .atom("a"), .binary("b"), .tuple([1])]),
            make("ArgumentError", [("__exception__", .true), ("message", .binary("x"))]),
        ]
        let inspected = try RuntimeCheck.runtimePrinting(likeInspect, elixir: true, on: runtime)
        #expect(inspected.terms.count == likeInspect.count)
        for (term, expected) in zip(inspected.terms, inspected.lines) { #expect(elixir.format(term) == expected) }
        // Where inspect's text would not read back to the same term, the struct form, which does
        // (fields in the map's order: these maps were built here, not sent by a BEAM).
        let structForm: [(Term, String)] = [
            (make("Date", date(2023, 2, 29) + [iso]), "%Date{year: 2023, month: 2, day: 29, calendar: Calendar.ISO}"),
            (make("Time", time(1, 2, 3, 5, 1) + [iso]), "%Time{hour: 1, minute: 2, second: 3, microsecond: {5, 1}, calendar: Calendar.ISO}"),
            (make("Date", date(2024, 1, 2) + [("calendar", .atom("Elixir.Cal.Other"))]), "%Date{year: 2024, month: 1, day: 2, calendar: Cal.Other}"),
            (make("Range", [("first", .float(1.0)), ("last", 3), ("step", 1)]), "%Range{first: 1.0, last: 3, step: 1}"),
            (make("MapSet", [("map", .map([(key: 1, value: 2)])), ("version", 2)]), "%MapSet{map: %{1 => 2}, version: 2}"),
        ]
        for (term, text) in structForm { #expect(elixir.format(term) == text) }
        let paris = make("DateTime", date(2024, 1, 2) + time(10, 11, 12, 0, 0) + [iso] + utc("Europe/Paris", "CET", 3600))
        #expect(elixir.format(paris).hasPrefix("%DateTime{"))
        let all = likeInspect + structForm.map(\.0) + [paris]
        let lines = all.map { elixir.format($0) }
        let bad = try RuntimeCheck.elixirMismatches(all, lines, on: runtime)
        #expect(bad.isEmpty, "\(bad.map { lines[$0] })")
    }

    /// An integer beyond 4,096 words prints in base 16 (decimal text is quadratic in its length),
    /// which Erlang and Elixir read back as the same integer; JSON tags it. Smaller ones stay decimal.
    @Test func hugeIntegersPrintInBase16AndReadBack() throws {
        let words = BigIntegerText.decimalWordLimit + 1
        var huge = BigInt(1) << (64 * (words - 1))  // exactly `words` words
        huge += BigInt(0xABCDEF)
        #expect(huge.magnitude.words.count == words)
        let hex = "1" + String(repeating: "0", count: 16 * (words - 1) - 6) + "ABCDEF"
        let negative = Term.bigInteger(-huge)
        #expect(erlang.format(.bigInteger(huge)) == "16#" + hex)
        #expect(erlang.format(negative) == "-16#" + hex)
        #expect(elixir.format(negative) == "-0x" + hex)
        #expect(TermJSON().encode(.list([.bigInteger(huge)])) == "[{\"$bigint\":\"0x" + hex + "\"}]")
        #expect(erlang.format(.bigInteger(BigInt(1) << 100)) == "1267650600228229401496703205376")
        let terms: [Term] = [.bigInteger(huge), negative, .tuple([.bigInteger(huge + 1), 7])]
        for runtime in try ErlangRuntime.requireAll() {
            let lines = terms.map { erlang.format($0) }
            let bad = try RuntimeCheck.erlangMismatches(terms, lines, on: runtime)
            #expect(bad.isEmpty, "\(runtime): \(bad)")
        }
        guard let runtime = ErlangRuntime.system, runtime.hasElixir else { throw TestSetupError("Elixir missing") }
        let lines = terms.map { elixir.format($0) }
        let bad = try RuntimeCheck.elixirMismatches(terms, lines, on: runtime)
        #expect(bad.isEmpty, "\(bad)")
    }

    // MARK: - Depth

    /// Bytes of `depth` nested one-element lists (or tuples) around `[]`.
    static func nestedBytes(depth: Int, tuples: Bool) -> [UInt8] {
        var bytes: [UInt8] = [131]
        bytes.reserveCapacity(depth * 6 + 2)
        for _ in 0..<depth { bytes += tuples ? [104, 1] : [108, 0, 0, 0, 1] }
        bytes.append(106)
        if !tuples { bytes += [UInt8](repeating: 106, count: depth) }
        return bytes
    }

    @Test(arguments: [false, true])
    func millionDeepTermsPrint(tuples: Bool) throws {
        let depth = 1_000_000
        let term = try TermDecoder().decode(Self.nestedBytes(depth: depth, tuples: tuples))
        let (open, close) = tuples ? ("{", "}") : ("[", "]")
        let expected = String(repeating: open, count: depth) + "[]" + String(repeating: close, count: depth)
        #expect(elixir.format(term) == expected)
        #expect(erlang.format(term) == expected)
        let json = TermJSON().encode(term)
        #expect(json.utf8.count > 2 * depth)
        #expect(json.hasSuffix(tuples ? "]}" : "]]"))
    }
}

extension FormatterTests {
    /// Random doubles of every magnitude print exactly as OTP's `~p` and Elixir's `inspect/2` print them.
    @Test func randomFloatsMatchTheRuntimes() throws {
        guard let runtime = ErlangRuntime.system else { throw TestSetupError("Debian's erlang/elixir missing") }
        var generator = SystemRandomNumberGenerator()
        var floats: [Term] = []
        while floats.count < 600 {
            let value: Double
            switch floats.count % 3 {
            case 0: value = Double(bitPattern: generator.next())
            case 1: value = Double(Int64.random(in: -1_000_000_000...1_000_000_000, using: &generator)) * 1000
            default: value = Double.random(in: -1e-3...1e-3, using: &generator)
            }
            if value.isFinite { floats.append(.float(value)) }
        }
        let erl = try RuntimeCheck.runtimePrinting(floats, elixir: false, on: runtime)
        #expect(erl.lines.count == floats.count && erl.terms.count == floats.count)
        for (term, expected) in zip(erl.terms, erl.lines) { #expect(erlang.format(term) == expected) }
        let ex = try RuntimeCheck.runtimePrinting(floats, elixir: true, on: runtime)
        #expect(ex.lines.count == floats.count && ex.terms.count == floats.count)
        for (term, expected) in zip(ex.terms, ex.lines) { #expect(elixir.format(term) == expected) }
    }
}
