@testable import LineEditor
import Testing

@Suite struct PromptTextTests {
    @Test func escapeSequencesAreMarkedForLibedit() {
        let prompt = "\u{1B}[33miex\u{1B}[0m(app@host)1> "
        #expect(PromptText.markingEscapes(prompt) == "\u{1}\u{1B}[33m\u{1}iex\u{1}\u{1B}[0m\u{1}(app@host)1> ")
        #expect(PromptText.markingEscapes("iex(1)> ") == "iex(1)> ")
        let marked = "\u{1}\u{1B}[1m\u{1}x> "
        #expect(PromptText.markingEscapes(marked) == marked)
    }

    @Test func plainPromptsHaveNoEscapes() {
        #expect(PromptText.plain("\u{1B}[1;32mprobe\u{1B}[0m> ") == "probe> ")
        #expect(PromptText.plain("\u{1}\u{1B}[1m\u{1}x> ") == "x> ")
        #expect(PromptText.plain("\u{1B}]0;title\u{07}é> ") == "é> ")
        #expect(PromptText.plain("\u{1B}]0;title\u{1B}\\> ") == "> ")
        #expect(PromptText.plain("trailing\u{1B}") == "trailing")
    }

    /// libedit draws one line and drops control characters: the lines before the last are
    /// written first, and tabs become spaces to the next multiple of 8 columns.
    @Test func multiLinePromptsAreSplitAndTabsExpanded() {
        #expect(PromptText.splitForEditing("Choose:\n 1) a\n> ") == ("Choose:\n 1) a\n", "> "))
        #expect(PromptText.splitForEditing("name? ") == ("", "name? "))
        #expect(PromptText.splitForEditing("tab\there ") == ("", "tab     here "))
        #expect(PromptText.splitForEditing("a\n\u{1B}[1mx\u{1B}[0m\ty") == ("a\n", "\u{1B}[1mx\u{1B}[0m       y"))
        #expect(PromptText.splitForEditing("done\n") == ("done\n", ""))
    }
}
