import BigInt
import Foundation
import Testing
import BeamTestSupport
@testable import ErlangTerm

/// Seconds of decoding and printing per test: on threads of their own (see OwnThreads.swift).
@Suite(.ownThreads) struct JSONTests {
    let json = TermJSON()

    @Test func scalars() {
        #expect(json.encode(1) == "1")
        #expect(json.encode(.integer(BigInt(10).power(30))) == "1000000000000000000000000000000")
        #expect(json.encode(1e-5) == "1.0e-5")
        #expect(json.encode(.true) == "true")
        #expect(json.encode(.false) == "false")
        #expect(json.encode(.nil) == "null")
        #expect(json.encode(.ok) == "\"ok\"")
        #expect(json.encode(.binary("a\"b\\\n\u{7f}é")) == "\"a\\\"b\\\\\\n\\u007Fé\"")
        // Not printable, so not a string, though valid UTF-8.
        #expect(json.encode(.binary("\u{1}")) == "{\"$binary\":\"AQ==\"}")
        #expect(json.encode(.binary(Binary([0, 1, 2, 255]))) == "{\"$binary\":\"AAEC/w==\"}")
        #expect(json.encode(.bitstring(Bitstring(bytes: Binary([0b1010_0000]), bitsInLastByte: 3))) ==
            "{\"$bitstring\":\"oA==\",\"bits\":3}")
    }

    @Test func containers() {
        #expect(json.encode([1, 2]) == "[1,2]")
        #expect(json.encode(.charlist("ab")) == "[97,98]")
        #expect(json.encode(.emptyList) == "[]")
        #expect(json.encode(.list(TermList([1], tail: 2))) == "{\"$improper_list\":[1],\"tail\":2}")
        #expect(json.encode(.tuple([.ok, 1])) == "{\"$tuple\":[\"ok\",1]}")
        #expect(json.encode(.map([])) == "{}")
        #expect(json.encode(.map([(key: .atom("a"), value: 1), (key: .binary("b"), value: [])])) == "{\"a\":1,\"b\":[]}")
        // `:a` and `"a"` would be the same JSON key.
        #expect(json.encode(.map([(key: .atom("a"), value: 1), (key: .binary("a"), value: 2)])) ==
            "{\"$map\":[[\"a\",1],[\"a\",2]]}")
        #expect(json.encode(.map([(key: 1, value: 2)])) == "{\"$map\":[[1,2]]}")
        // A key that is a tag's would read back as that tag (`%{"$tuple" => [1]}` as `{1}`);
        // other `$` keys are plain keys.
        #expect(json.encode(.map([(key: .binary("$tuple"), value: [1])])) == "{\"$map\":[[\"$tuple\",[1]]]}")
        #expect(json.encode(.map([(key: .atom("$pid"), value: .binary("<0.1.0>")), (key: .atom("node"), value: .atom("a@b"))]))
                == "{\"$map\":[[\"$pid\",\"<0.1.0>\"],[\"node\",\"a@b\"]]}")
        #expect(json.encode(.map([(key: .binary("$set"), value: 1)])) == "{\"$set\":1}")
    }

    @Test func identifiers() {
        let pid = Term.pid(Pid(node: "app@host", id: 85, serial: 0, creation: 1))
        #expect(json.encode(pid) == "{\"$pid\":\"<app@host.85.0>\",\"node\":\"app@host\"}")
        let local = Term.pid(Pid(node: "nonode@nohost", id: 85, serial: 0, creation: 0))
        #expect(json.encode(local) == "{\"$pid\":\"<0.85.0>\",\"node\":\"nonode@nohost\"}")
        let abs = Term.export(ExportFun(module: "erlang", function: "abs", arity: 1))
        #expect(json.encode(abs) == "{\"$fun\":\"fun erlang:abs/1\",\"module\":\"erlang\",\"function\":\"abs\",\"arity\":1}")
        let reference = Term.reference(Reference(node: "nonode@nohost", creation: 0, ids: [3, 2, 1]))
        #expect(json.encode(reference) == "{\"$ref\":\"#Ref<0.1.2.3>\",\"node\":\"nonode@nohost\"}")
    }

    @Test func pretty() {
        var options = TermJSON.Options()
        options.pretty = true
        let text = TermJSON(options: options).encode(.map([(key: .atom("a"), value: [1, .tuple([])]), (key: .atom("b"), value: .map([]))]))
        #expect(text == """
            {
              "a": [
                1,
                {
                  "$tuple": []
                }
              ],
              "b": {}
            }
            """)
    }

    /// Indentation stops growing at ``TermJSON/maxIndentLevels``: pretty output of a deep term
    /// stays linear in its size (100,000 levels would otherwise be gigabytes of spaces).
    @Test func prettyIndentationIsCappedForDeepTerms() throws {
        var options = TermJSON.Options()
        options.pretty = true
        let depth = 100_000
        var term = Term.list(.empty)
        for _ in 0..<depth { term = .list(TermList([term])) }
        let text = TermJSON(options: options).encode(term)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let widest = lines.map { $0.prefix { $0 == " " }.count }.max() ?? 0
        #expect(TermJSON.maxIndentLevels == 64, "the README says 64 levels")
        #expect(widest == 2 * TermJSON.maxIndentLevels)
        #expect(lines.count == 2 * depth + 1)
        #expect(text.utf8.count < 2 * depth * (2 * TermJSON.maxIndentLevels + 2))
        // Shallow levels indent as before.
        #expect(lines[1] == "  [" && lines[2] == "    [")
        // Still one JSON value: the compact form's brackets in the same order.
        #expect(String(text.filter { $0 == "[" || $0 == "]" }) == json.encode(term))
    }

    /// Every corpus term, compact and pretty, is valid JSON to Foundation's parser.
    @Test func corpusIsValidJSON() throws {
        var options = TermJSON.Options()
        options.pretty = true
        for term in TermCorpus.all {
            for text in [json.encode(term), TermJSON(options: options).encode(term)] {
                let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
                #expect(parsed != nil, "not JSON: \(text)")
            }
        }
        let parsed = try JSONSerialization.jsonObject(with: Data(json.encode(.binary("x\u{7f}\t")).utf8), options: [.fragmentsAllowed])
        #expect(parsed as? String == "x\u{7f}\t")
    }
}
