import Foundation
import LineEditor
import Testing

/// When the input is not a terminal the editor reads plain lines and writes nothing.
@Suite struct PipedInputTests {
    @Test func linesComeBackWithoutNewlinesThenEndOfInput() throws {
        let inPipe = Pipe()
        let outPipe = Pipe()
        inPipe.fileHandleForWriting.write(Data("one\ntwo wörld\r\n\nlast".utf8))
        try inPipe.fileHandleForWriting.close()
        do {
            let editor = LineEditor(configuration: .init(
                inputDescriptor: inPipe.fileHandleForReading.fileDescriptor,
                outputDescriptor: outPipe.fileHandleForWriting.fileDescriptor))
            #expect(!editor.isInteractive)
            let prompt = "\u{1B}[33miex\u{1B}[0m> "
            #expect(editor.readLine(prompt: prompt) == .line("one"))
            #expect(editor.readLine(prompt: prompt) == .line("two wörld"))
            #expect(editor.readLine(prompt: prompt) == .line(""))
            #expect(editor.readLine(prompt: prompt) == .line("last"))
            #expect(editor.readLine(prompt: prompt) == .endOfInput)
            #expect(editor.readLine(prompt: prompt) == .endOfInput)
        }
        try outPipe.fileHandleForWriting.close()
        // The output is a pipe, not a terminal: not even the prompt was written.
        #expect(try outPipe.fileHandleForReading.readToEnd() == nil)
    }

    @Test func nothingPastTheNewlineIsConsumed() throws {
        let inPipe = Pipe()
        inPipe.fileHandleForWriting.write(Data("first\nrest of the script\n".utf8))
        try inPipe.fileHandleForWriting.close()
        let editor = LineEditor(configuration: .init(inputDescriptor: inPipe.fileHandleForReading.fileDescriptor))
        #expect(editor.readLine(prompt: "> ") == .line("first"))
        let rest = try inPipe.fileHandleForReading.readToEnd().map { String(decoding: $0, as: UTF8.self) }
        #expect(rest == "rest of the script\n")
    }
}
