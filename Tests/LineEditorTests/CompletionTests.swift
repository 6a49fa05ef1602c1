@testable import LineEditor
import Testing

@Suite struct CompletionTests {
    private let delimiters = LineEditor.Configuration().completionWordDelimiters

    @Test func theWordKeepsDotsColonsAndQuestionMarks() {
        #expect(CompletionLogic.currentWord(of: "x = Enum.ma", delimiters: delimiters) == "Enum.ma")
        #expect(CompletionLogic.currentWord(of: "foo(:erlang.mem", delimiters: delimiters) == ":erlang.mem")
        #expect(CompletionLogic.currentWord(of: "lists:ma", delimiters: delimiters) == "lists:ma")
        #expect(CompletionLogic.currentWord(of: "x ", delimiters: delimiters) == "")
        #expect(CompletionLogic.currentWord(of: "", delimiters: delimiters) == "")
    }

    @Test func oneCandidateReplacesTheWord() {
        let action = CompletionLogic.action(lineUpToCursor: "x = ban", candidates: ["banana"], delimiters: delimiters)
        #expect(action == .replace(replacing: 3, with: "banana"))
    }

    @Test func severalCandidatesExtendToTheirCommonPrefixThenList() {
        let first = CompletionLogic.action(lineUpToCursor: "Enum.m", candidates: ["Enum.map", "Enum.max"], delimiters: delimiters)
        #expect(first == .replace(replacing: 6, with: "Enum.ma"))
        let second = CompletionLogic.action(lineUpToCursor: "Enum.ma", candidates: ["Enum.max", "Enum.map", "Enum.map"], delimiters: delimiters)
        #expect(second == .list(["Enum.map", "Enum.max"]))
    }

    /// Listings show labels (name and arity, as IEx lists them); what is inserted is the name.
    @Test func listsShowLabelsOnePerArity() {
        let candidates: [CompletionCandidate] = [
            .init("Enum.max", label: "max/1"), .init("Enum.max", label: "max/2"), .init("Enum.map", label: "map/2"),
            .init("Enum.max_by", label: "max_by/2"),
        ]
        #expect(CompletionLogic.action(lineUpToCursor: "Enum.ma", candidates: candidates, delimiters: delimiters)
                == .list(["map/2", "max/1", "max/2", "max_by/2"]))
        // Extending uses the names, never a label.
        #expect(CompletionLogic.action(lineUpToCursor: "Enum.m", candidates: candidates, delimiters: delimiters)
                == .replace(replacing: 6, with: "Enum.ma"))
        let maxes = Array(candidates.prefix(2))
        #expect(CompletionLogic.action(lineUpToCursor: "x = Enum.m", candidates: maxes, delimiters: delimiters)
                == .replace(replacing: 6, with: "Enum.max"))
        // The name complete: its arities are listed, one alone too (as IEx shows `sleep/1`).
        #expect(CompletionLogic.action(lineUpToCursor: "Enum.max", candidates: maxes, delimiters: delimiters)
                == .list(["max/1", "max/2"]))
        #expect(CompletionLogic.action(lineUpToCursor: "Enum.map", candidates: [.init("Enum.map", label: "map/2")],
                                       delimiters: delimiters) == .list(["map/2"]))
    }

    @Test func nothingToDoRingsTheBell() {
        #expect(CompletionLogic.action(lineUpToCursor: "zz", candidates: [], delimiters: delimiters) == .none)
        #expect(CompletionLogic.action(lineUpToCursor: "apple", candidates: ["apple"], delimiters: delimiters) == .none)
    }

    @Test func lengthsCountUnicodeScalarsAsLibeditDoes() {
        let action = CompletionLogic.action(lineUpToCursor: "x = caf", candidates: ["café"], delimiters: delimiters)
        #expect(action == .replace(replacing: 3, with: "café"))
        #expect(CompletionLogic.commonPrefix(["é1", "é2"]) == "é")
        #expect(CompletionLogic.commonPrefix([]) == "")
    }

    @Test func candidatesAreListedInColumnsLikeLs() {
        let text = CompletionLogic.columns(["a", "bb", "c", "d", "e"], width: 10)
        // Column width 4 ("bb" + 2): 3 columns fit in 10, so 2 rows filled top to bottom.
        #expect(text == "a   c   e\nbb  d\n")
        #expect(CompletionLogic.columns(["a-very-long-candidate", "b"], width: 10) == "a-very-long-candidate\nb\n")
        #expect(CompletionLogic.columns([], width: 80) == "")
    }
}
