// A real pseudo-terminal for end-to-end console tests: a private tmux server runs the
// program; keys go in with send-keys, the screen comes back with capture-pane.

import Foundation

public final class Terminal: @unchecked Sendable {
    private let socket = "beamsh-e2e-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    /// Starts `command` (by `bash -c`, which survives the Ctrl-C its child handles) in a `columns`x`rows` terminal with extra environment.
    /// `NO_COLOR` is not inherited (test runners set it): pass it in `environment` when wanted.
    public init(_ command: String, environment: [String: String] = [:], columns: Int = 120, rows: Int = 40) throws {
        let assignments = environment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        // A fresh tmux server occasionally goes away while starting next to other servers;
        // a session that is really there answers has-session.
        for attempt in 1...3 {
            try? tmux(["new-session", "-d", "-s", "e2e", "-x", "\(columns)", "-y", "\(rows)",
                      "bash", "-c", "env -u NO_COLOR \(assignments) \(command); echo \"EXIT:$?\"; sleep 600"], capture: false)
            usleep(200_000)
            if (try? tmux(["has-session", "-t", "e2e"], capture: false)) != nil { return }
            if attempt == 3 { throw TestSetupError("tmux did not keep a session running") }
        }
    }

    deinit { close() }

    /// Types text literally.
    public func type(_ text: String) throws { try tmux(["send-keys", "-t", "e2e", "-l", text], capture: false) }

    /// Presses keys by tmux name: `Enter`, `Tab`, `C-c`, `C-d`, `Up`...
    public func press(_ keys: String...) throws { try tmux(["send-keys", "-t", "e2e"] + keys, capture: false) }

    /// Pastes text as a terminal does (all of it at once, newlines included).
    public func paste(_ text: String) throws {
        try tmux(["set-buffer", "-b", "e2e-paste", "--", text], capture: false)
        try tmux(["paste-buffer", "-b", "e2e-paste", "-t", "e2e"], capture: false)
    }

    /// Types a line and presses Enter.
    public func enter(_ line: String) throws {
        try type(line)
        try press("Enter")
    }

    /// The visible screen.
    public func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", "e2e"]) }

    /// The visible screen with its colors, as escape sequences (`capture-pane -e`).
    public func screenWithColors() throws -> String { try tmux(["capture-pane", "-p", "-e", "-t", "e2e"]) }

    /// Waits until the screen shows `text` at least `count` times; returns the screen, or throws
    /// with the screen after `timeout` seconds.
    @discardableResult
    public func waitFor(_ text: String, count: Int = 1, timeout: Double = 30) async throws -> String {
        let started = Date()
        let deadline = started.addingTimeInterval(timeout)
        var last = ""
        var captures = 0
        var failures: [String] = []
        while Date() < deadline {
            // A capture can fail while tmux is still settling; only the deadline is final.
            let current: String
            do {
                current = try screen()
            } catch {
                failures.append("\(error)")
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            captures += 1
            last = current
            if last.components(separatedBy: text).count - 1 >= count { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        // One look after the deadline: tests that block the cooperative pool (2 threads on 2
        // cores) can keep this task from running for the whole wait, and a screen that is
        // right by then is right.
        if let current = try? screen() {
            captures += 1
            last = current
            if last.components(separatedBy: text).count - 1 >= count { return last }
        }
        throw TestSetupError("""
            the screen never showed \(count)x \(text.debugDescription) in \(timeout) s \
            (\(captures) captures, \(failures.count) failed\(failures.last.map { ", last: \($0)" } ?? "")):
            \(last)
            """)
    }

    /// Ends the tmux server and everything in it.
    /// (`kill-session` first: some sandboxes leave the server running after `kill-server`.)
    public func close() {
        _ = try? tmux(["kill-session", "-t", "e2e"], capture: false)
        _ = try? tmux(["kill-server"], capture: false)
    }

    @discardableResult
    private func tmux(_ arguments: [String], capture: Bool = true) throws -> String {
        try runTmux(socket: socket, arguments, capture: capture)
    }
}

public struct TmuxError: Error, CustomStringConvertible {
    public var arguments: [String]
    public var status: Int32
    public var output: String = ""
    public var description: String { "tmux \(arguments.joined(separator: " ")) exited with \(status): \(output)" }
}

/// Runs tmux on a private server socket; returns its standard output when `capture` is set.
/// Spawned and reaped directly (`posix_spawn`, `waitpid`) rather than with `Process`: a
/// command that starts the server leaves a daemon holding whatever `Process` set up.
@discardableResult
public func runTmux(socket: String, _ arguments: [String], capture: Bool = true) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["TERM"] = environment["TERM"].flatMap { $0 == "dumb" ? nil : $0 } ?? "xterm-256color"
        environment.removeValue(forKey: "TMUX")
        let argv = ["tmux", "-L", socket, "-f", "/dev/null"] + arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Output goes to a file the child opens itself, not a pipe: tests spawn processes on
        // other threads all the time, and one that inherited a pipe's write end would keep this
        // read waiting until it exits (a stale screen, a timed-out test). Never a pipe for a
        // command that may start the server either: the daemon would keep it open.
        let outputPath = NSTemporaryDirectory() + "beamsh-tmux-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { unlink(outputPath) }
        if capture {
            posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }

        var pid: pid_t = 0
        let status = withCStrings(argv) { cArgv in
            withCStrings(envp) { cEnvp in posix_spawnp(&pid, "tmux", &actions, nil, cArgv, cEnvp) }
        }
        guard status == 0 else { throw TmuxError(arguments: arguments, status: status) }
        var exitStatus: Int32 = 0
        while waitpid(pid, &exitStatus, 0) < 0, errno == EINTR {}
        let output = capture ? (FileManager.default.contents(atPath: outputPath) ?? Data()) : Data()
        let code = (exitStatus >> 8) & 0xFF
        guard (exitStatus & 0x7F) == 0, code == 0 || arguments.first == "kill-server" else {
            throw TmuxError(arguments: arguments, status: code, output: String(decoding: output, as: UTF8.self))
        }
        return String(decoding: output, as: UTF8.self)
    }

private func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}
