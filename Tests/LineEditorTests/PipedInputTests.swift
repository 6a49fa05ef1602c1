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

    /// Typing at a terminal with the output piped (`beamsh NODE | tee log`): the prompt is written
    /// to the pipe, plain, as iex writes it.
    @Test func aTerminalOnTheInputSideStillGetsThePrompt() throws {
        var master: Int32 = -1, slave: Int32 = -1
        guard openpty(&master, &slave, nil, nil, nil) == 0 else {
            Issue.record("no pseudo-terminal")
            return
        }
        defer { close(master); close(slave) }
        let outPipe = Pipe()
        _ = "one\n".withCString { write(master, $0, 4) }
        do {
            let editor = LineEditor(configuration: .init(
                inputDescriptor: slave, outputDescriptor: outPipe.fileHandleForWriting.fileDescriptor))
            #expect(!editor.isInteractive)
            #expect(editor.readLine(prompt: "\u{1B}[33miex\u{1B}[0m> ") == .line("one"))
        }
        try outPipe.fileHandleForWriting.close()
        #expect(try outPipe.fileHandleForReading.readToEnd() == Data("iex> ".utf8))
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
