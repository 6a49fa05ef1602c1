// A tiny driver for the pseudo-terminal tests of LineEditor: reads lines with a coloured prompt
// and reports each result on its own line. Not shipped.
//
//   GOT:<line>      a line was read (and added to the history)
//   INTERRUPTED     Ctrl-C at the prompt
//   EOF             Ctrl-D on an empty line, or the end of the input; then it exits 0
//   SIGINT          the interrupt handler ran (Ctrl-C while no line is read)
//
// The line `wait` stands for a remote evaluation: it waits up to 10 s for Ctrl-C, then reports
// EVAL-INTERRUPTED or EVAL-DONE.
//
// The lines `ask` and `ask-early` stand for an evaluation's `IO.gets` that a Ctrl-C signal
// interrupts: the read `answer? ` is ended by `interruptReading()` from another thread, when
// the probe gets SIGUSR1 (`ask`: it first reports ASKING:<its pid>, and the test types a little
// before it signals) or before the read starts (`ask-early`); the read reports as above, as
// ANSWER:<line>, ANSWER-INTERRUPTED or ANSWER-EOF.
//
// Environment: PROBE_HISTORY, a history file to load and save (none when unset);
// PROBE_PLAIN_PROMPT=1 for a prompt without colours.

import Dispatch
import LineEditor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let historyPath = getenv("PROBE_HISTORY").map { String(cString: $0) }
let plain = getenv("PROBE_PLAIN_PROMPT") != nil
let editor = LineEditor(configuration: .init(programName: "line-editor-probe", historyPath: historyPath))
// Enum's entries list with arities (`max/1`, `max/2`), as the node's expander names them.
let words: [CompletionCandidate] = [
    "apple", "apricot", "banana", .init("Enum.map", label: "map/2"), .init("Enum.max", label: "max/1"),
    .init("Enum.max", label: "max/2"), .init("Enum.member?", label: "member?/2"), "café",
]
editor.completion = { lineUpToCursor in
    let word = lineUpToCursor.split(omittingEmptySubsequences: false, whereSeparator: { $0 == " " || $0 == "(" }).last ?? ""
    return words.filter { $0.replacement.hasPrefix(word) }
}
let prompt = plain ? "probe> " : "\u{1B}[1;32mprobe\u{1B}[0m> "

func report(_ text: String) {
    print(text)
    fflush(nil)
}

let interrupted = DispatchSemaphore(value: 0)
signal(SIGUSR1, SIG_IGN)
let interruptRequest = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
interruptRequest.setEventHandler { @Sendable in editor.interruptReading() }
interruptRequest.resume()
LineEditor.installInterruptHandler {
    report("SIGINT")
    interrupted.signal()
}

loop: while true {
    switch editor.readLine(prompt: prompt) {
    case .line(let line):
        report("GOT:\(line)")
        editor.addToHistory(line)
        if line == "ask" || line == "ask-early" {
            editor.acceptOutputUntilLineRead()
            if line == "ask-early" {
                editor.interruptReading()
            } else {
                report("ASKING:\(getpid())")
            }
            switch editor.readLine(prompt: "answer? ") {
            case .line(let answer): report("ANSWER:\(answer)")
            case .interrupted: report("ANSWER-INTERRUPTED")
            case .endOfInput: report("ANSWER-EOF")
            }
        }
        if line == "wait" {
            report(interrupted.wait(timeout: .now() + 10) == .success ? "EVAL-INTERRUPTED" : "EVAL-DONE")
        }
    case .interrupted:
        report("INTERRUPTED")
    case .endOfInput:
        report("EOF")
        break loop
    }
}
if case .failure(let error) = editor.saveHistory() { report("HISTORY-ERROR:\(error)") }
