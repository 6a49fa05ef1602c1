// LineEditor driven through a real pseudo-terminal: tmux runs `line-editor-probe`, keys are sent
// with `send-keys`, and the screen is read with `capture-pane`.

import BeamTestSupport
import Foundation
import Testing

/// A private tmux server (its own socket) running one session; `kill()` ends the server.
final class TmuxSession {
    private let socket = "beamsh-line-editor-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    /// Starts `command` (run by `sh -c`) in an 80x24 terminal.
    init(_ command: String, environment: [String: String] = [:]) throws {
        let assignments = environment.map { "\($0.key)=\(shellQuoted($0.value))" }.joined(separator: " ")
        // The shell reports how the probe ended and the terminal mode it left, then stays on screen.
        let script = "env \(assignments) \(command); echo \"EXIT:$?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\{0,1\\}icanon'; sleep 600"
        try tmux(["new-session", "-d", "-s", "probe", "-x", "80", "-y", "24", "sh", "-c", script], capture: false)
        let info = try tmux(["display-message", "-p", "-t", "probe", "#{pane_pid} #{socket_path}"])
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 1)
        panePID = info.first.flatMap { Int32($0) } ?? 0
        socketPath = info.count > 1 ? String(info[1]) : nil
    }

    /// The server's socket file, removed after the server (tmux leaves it behind when killed).
    private var socketPath: String?

    /// The pane's shell: it leads the process group the probe runs in.
    private var panePID: Int32 = 0

    deinit { kill() }

    /// Ends the tmux server and everything running in it.
    func kill() {
        if panePID > 0 {
            Foundation.kill(-panePID, SIGKILL)
            panePID = 0
        }
        _ = try? tmux(["kill-server"], capture: false)
        if let socketPath {
            unlink(socketPath)
            self.socketPath = nil
        }
    }

    /// Types `text` literally.
    func type(_ text: String) throws {
        try tmux(["send-keys", "-t", "probe", "-l", text], capture: false)
    }

    /// Presses keys by tmux name: `Enter`, `C-a`, `Up`, `Tab`...
    func press(_ keys: String...) throws {
        try tmux(["send-keys", "-t", "probe"] + keys, capture: false)
    }

    /// The screen as text (`escapes`: with colour sequences).
    func screen(escapes: Bool = false) throws -> String {
        try tmux(["capture-pane", "-p", "-t", "probe"] + (escapes ? ["-e"] : []))
    }

    /// Waits until the screen contains `text` `count` times, up to `timeout` seconds; returns the
    /// screen then. Records an issue (with the screen) when it never does.
    @discardableResult
    /// (Generous, with one last look after the deadline: tests that block on subprocesses can
    /// hold this process's two cooperative threads, so this task may not get to look for a while.)
    func waitFor(_ text: String, count: Int = 1, timeout: Double = 30, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        var looks = 0
        while true {
            let expired = Date() >= deadline
            last = try screen()
            looks += 1
            if last.components(separatedBy: text).count - 1 >= count { return last }
            if expired { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("screen never showed \(count)x \(text.debugDescription) (\(looks) looks in \(Int(timeout)) s):\n\(last)",
                     sourceLocation: sourceLocation)
        return last
    }

    /// Lines of the screen that start with `prefix`, e.g. the probe's `GOT:` reports.
    func lines(startingWith prefix: String) throws -> [String] {
        try screen().split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    /// Runs tmux on this session's socket; returns its standard output when `capture` is set.
    @discardableResult
    private func tmux(_ arguments: [String], capture: Bool = true) throws -> String {
        try runTmux(socket: socket, arguments, capture: capture)
    }
}

private func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// The probe built next to this test bundle (`swift build` / `swift test` build every product).
private func probePath() throws -> String {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("line-editor-probe").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    Issue.record("line-editor-probe not found near \(executable.path): run `swift build --product line-editor-probe`")
    throw CancellationError()
}

@Suite(.serialized, .ownThreads) struct TerminalTests {
    /// The prompt as it reads on screen (the probe's is green and bold).
    private let prompt = "probe>"  // capture-pane drops trailing blanks

    @Test func typingAndEmacsEditingWithAColouredPromptAndUTF8() async throws {
        let session = try TmuxSession(try probePath())
        defer { session.kill() }
        try await session.waitFor(prompt)
        let coloured = try session.screen(escapes: true)
        #expect(coloured.contains("32mprobe"), "\(coloured.debugDescription)")

        try session.type("bcd")
        try session.press("C-a")
        try session.type("a")
        try session.press("C-e")
        try session.type("é ✓")
        try session.press("Left", "Left", "BSpace")
        try session.press("Enter")
        let screen = try await session.waitFor("GOT:")
        #expect(try session.lines(startingWith: "GOT:") == ["GOT:abcd ✓"])
        // The colour codes took no column: the edited line sits right after the visible prompt.
        #expect(screen.contains("probe> abcd ✓\n"))
    }

    @Test func upArrowAndCtrlRRecallHistory() async throws {
        let session = try TmuxSession(try probePath())
        defer { session.kill() }
        try await session.waitFor(prompt)
        for line in ["Node.list", "Process.list |> length", ":erlang.memory"] {
            try session.type(line)
            try session.press("Enter")
        }
        try await session.waitFor("GOT:", count: 3)

        try session.press("Up", "Up", "Enter")
        try await session.waitFor("GOT:", count: 4)
        try session.press("C-r")
        try session.type("Node")
        try session.press("Enter")
        try await session.waitFor("GOT:", count: 5)
        #expect(try session.lines(startingWith: "GOT:").suffix(2) == ["GOT:Process.list |> length", "GOT:Node.list"])
    }

    @Test func tabCompletesThenLists() async throws {
        let session = try TmuxSession(try probePath())
        defer { session.kill() }
        try await session.waitFor(prompt)

        try session.type("x = ban")
        try session.press("Tab")
        try await session.waitFor("x = banana")
        try session.press("Enter")
        try await session.waitFor("GOT:x = banana")

        // "Enum." extends to "Enum.m"; the next Tab lists the candidates under the prompt by
        // their labels, one per arity, as IEx lists them.
        try session.type("Enum.")
        try session.press("Tab")
        try await session.waitFor("probe> Enum.m")
        try session.press("Tab")
        let screen = try await session.waitFor("member?/2")
        let listed = screen.split(separator: "\n").first { $0.hasPrefix("map/2") }.map { $0.split(separator: " ") }
        #expect(listed == ["map/2", "max/1", "max/2", "member?/2"], "\(screen)")
        // A complete word with several arities lists them.
        try session.type("ax")
        try session.press("Tab")
        try await session.waitFor("max/1  max/2")
        try session.press("Enter")
        try await session.waitFor("GOT:Enum.max")

        try session.type("caf")
        try session.press("Tab", "Enter")
        try await session.waitFor("GOT:café")
        #expect(try session.lines(startingWith: "GOT:") == ["GOT:x = banana", "GOT:Enum.max", "GOT:café"])
    }

    /// A read that a Ctrl-C signal interrupts (``LineEditor/interruptReading()``, for the
    /// `IO.gets` of an evaluation the signal ended) ends as Ctrl-C at it would, whether it waits
    /// already, with text typed, or has not started; the next prompt edits as usual.
    @Test func interruptReadingEndsTheReadAsCtrlCWould() async throws {
        let session = try TmuxSession(try probePath())
        defer { session.kill() }
        try await session.waitFor(prompt)
        try session.type("ask")
        try session.press("Enter")
        try await session.waitFor("answer?")
        try session.type("half")
        try await session.waitFor("answer? half")
        // The interrupt, from another thread, as a Ctrl-C signal during an evaluation's read sends it.
        let pid = try #require(try session.lines(startingWith: "ASKING:").first.flatMap { Int32($0.dropFirst(7)) })
        #expect(kill(pid, SIGUSR1) == 0)
        try await session.waitFor("ANSWER-INTERRUPTED")
        try session.type("ask-early")
        try session.press("Enter")
        try await session.waitFor("ANSWER-INTERRUPTED", count: 2)
        try session.type("ok")
        try session.press("Enter")
        let screen = try await session.waitFor("GOT:ok")
        #expect(try session.lines(startingWith: "ANSWER") == ["ANSWER-INTERRUPTED", "ANSWER-INTERRUPTED"], "\(screen)")
        #expect(screen.contains("answer? half^C"), "\(screen)")
    }

    /// The same with the output piped (`beamsh NODE | tee log`), where lines are read plainly,
    /// without libedit: the read still ends when asked, before it starts or while it waits.
    @Test func interruptReadingEndsAPlainRead() async throws {
        let session = try TmuxSession("\(try probePath()) | cat")
        defer { session.kill() }
        try await session.waitFor("probe>")
        try session.type("ask")
        try session.press("Enter")
        try await session.waitFor("answer?")
        let pid = try #require(try session.lines(startingWith: "ASKING:").first.flatMap { Int32($0.dropFirst(7)) })
        #expect(kill(pid, SIGUSR1) == 0)
        try await session.waitFor("ANSWER-INTERRUPTED")
        try session.type("ask-early")
        try session.press("Enter")
        try await session.waitFor("ANSWER-INTERRUPTED", count: 2)
        try session.type("ok")
        try session.press("Enter")
        try await session.waitFor("GOT:ok")
        #expect(try session.lines(startingWith: "GOT:") == ["GOT:ask", "GOT:ask-early", "GOT:ok"], "the typed line went to the next read")
    }

    @Test func ctrlCClearsTheLineCtrlDEndsAndTheTerminalIsRestored() async throws {
        let session = try TmuxSession(try probePath())
        defer { session.kill() }
        try await session.waitFor(prompt)

        try session.type("half typed")
        try session.press("C-c")
        try await session.waitFor("INTERRUPTED")
        try session.type("ok")
        try session.press("Enter")
        try await session.waitFor("GOT:")
        #expect(try session.lines(startingWith: "GOT:") == ["GOT:ok"])

        // Ctrl-D inside a line deletes; on an empty line it ends the input.
        try session.type("xy")
        try session.press("C-a", "C-d", "Enter")
        try await session.waitFor("GOT:y")
        try session.press("C-d")
        let screen = try await session.waitFor("EXIT:")
        #expect(screen.contains("EOF\nEXIT:0"))
        #expect(!screen.contains("SIGINT"))  // Ctrl-C at the prompt never reached the handler
        // The shell after the probe sees the terminal back in canonical mode.
        try await session.waitFor("\nicanon")
    }

    @Test func ctrlCDuringAnEvaluationReachesTheInterruptHandler() async throws {
        let session = try TmuxSession(try probePath())
        defer { session.kill() }
        try await session.waitFor(prompt)
        try session.type("wait")
        try session.press("Enter")
        try await session.waitFor("GOT:wait")
        try session.press("C-c")
        try await session.waitFor("EVAL-INTERRUPTED")
        // The terminal echoes `^C` in its normal mode, then the handler reports once.
        #expect(try session.screen().components(separatedBy: "SIGINT").count == 2)
        // Still alive and reading.
        try session.type("after")
        try session.press("Enter")
        try await session.waitFor("GOT:after")
    }

    @Test func historyPersistsAcrossSessionsWithoutSecrets() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let history = directory.file("state/beamsh/history")

        let first = try TmuxSession(try probePath(), environment: ["PROBE_HISTORY": history])
        defer { first.kill() }
        try await first.waitFor(prompt)
        for line in ["remember me", "Node.set_cookie(:hunter2)"] {
            try first.type(line)
            try first.press("Enter")
        }
        try await first.waitFor("GOT:", count: 2)
        try first.press("C-d")
        try await first.waitFor("EXIT:0")
        #expect(readText(history) == "remember me\n")

        let second = try TmuxSession(try probePath(), environment: ["PROBE_HISTORY": history])
        defer { second.kill() }
        try await second.waitFor(prompt)
        try second.press("Up")
        try await second.waitFor("probe> remember me")
        try second.press("Enter")
        try await second.waitFor("GOT:remember me")
    }

    @Test func pipedInputIsReadPlainlyWithoutEscapes() async throws {
        let session = try TmuxSession("printf 'one\\ntwo\\n' | \(shellQuoted(try probePath()))")
        defer { session.kill() }
        let screen = try await session.waitFor("EXIT:0")
        #expect(screen.contains("probe> GOT:one\nprobe> GOT:two\nprobe> EOF"))
        // The output is the terminal, so the prompt is shown, but without its colour.
        #expect(try !session.screen(escapes: true).contains("32m"))
    }
}
