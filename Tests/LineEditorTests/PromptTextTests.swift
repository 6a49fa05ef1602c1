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
}
