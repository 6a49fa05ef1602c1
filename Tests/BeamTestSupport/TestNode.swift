// A real distributed Erlang (or Elixir) node started for a test, with a control channel on
// its standard input so tests can check the node's own view (`nodes(hidden)`, process
// counts) independently of beamsh. Stopped by pid when the test is done.

import Foundation

public final class TestNode: @unchecked Sendable {
    public enum NameMode: Sendable, CustomStringConvertible {
        /// `-sname name` → `name@<short host name>`
        case short
        /// `-name name@127.0.0.1`
        case long
        /// `-name name@::1 -proto_dist inet6_tcp`
        case ipv6

        public var description: String {
            switch self {
            case .short: "short names"
            case .long: "long names"
            case .ipv6: "IPv6"
            }
        }
    }

    public let runtime: ErlangRuntime
    public let mode: NameMode
    /// The part before `@`.
    public let alive: String
    /// The full node name, e.g. `t_ab12@vm` or `t_ab12@::1`.
    public let name: String
    public let cookie: String
    public let elixir: Bool
    /// The distribution port when started with a fixed one (`--port` tests).
    public let distributionPort: Int?

    private let process: Process
    private let input: FileHandle
    private let output = LineBuffer()

    /// Starts a node and waits until it is up and registered.
    /// - parameters:
    ///   - elixir: load and start Elixir (needs the Debian runtime).
    ///   - epmdPort: the EPMD port the node registers with (`ERL_EPMD_PORT`).
    ///   - distributionPort: listen on exactly this port and skip EPMD (`-erl_epmd_port`-less setups).
    ///   - longNameHost: the host part of a `.long` name (another loopback address, say).
    public init(
        runtime: ErlangRuntime, mode: NameMode = .short, elixir: Bool = false, cookie: String? = nil,
        alive: String? = nil, extraArgs: [String] = [], epmdPort: Int? = nil, distributionPort: Int? = nil,
        longNameHost: String = "127.0.0.1"
    ) throws {
        checkBlockingCallIsAllowed("starting a node")
        self.runtime = runtime
        self.mode = mode
        self.elixir = elixir
        self.cookie = cookie ?? "c" + Self.randomToken(20)
        let alive = alive ?? "t_" + Self.randomToken(8)
        self.alive = alive
        self.distributionPort = distributionPort
        var args = ["-noshell", "-setcookie", self.cookie]
        switch mode {
        case .short:
            args += ["-sname", alive]
            name = alive + "@" + Self.shortHostName
        case .long:
            args += ["-name", alive + "@" + longNameHost]
            name = alive + "@" + longNameHost
        case .ipv6:
            args += ["-name", alive + "@::1", "-proto_dist", "inet6_tcp"]
            name = alive + "@::1"
        }
        if let distributionPort {
            args += ["-start_epmd", "false", "-erl_epmd_port", String(distributionPort)]
            args += ["-kernel", "inet_dist_listen_min", String(distributionPort),
                     "inet_dist_listen_max", String(distributionPort)]
        }
        if elixir {
            guard let lib = runtime.elixirLib else { throw TestSetupError("\(runtime) has no Elixir") }
            for app in ["elixir", "logger", "iex", "eex"] { args += ["-pa", "\(lib)/\(app)/ebin"] }
        }
        args += extraArgs
        let start = elixir ? "{ok, _} = application:ensure_all_started(elixir), {ok, _} = application:ensure_all_started(iex)," : ""
        args += ["-eval", start + Self.controlLoop]

        process = Process()
        process.executableURL = URL(fileURLWithPath: runtime.erl)
        process.arguments = args
        var environment = ProcessInfo.processInfo.environment
        if let epmdPort { environment["ERL_EPMD_PORT"] = String(epmdPort) }
        environment["HOME"] = environment["HOME"] ?? NSTemporaryDirectory()
        process.environment = environment
        let stdinPipe = Pipe()
        let stdoutPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stdoutPipe
        input = stdinPipe.fileHandleForWriting
        try process.run()
        let buffer = output
        let reader = stdoutPipe.fileHandleForReading
        Thread.detachNewThread {
            while true {
                let data = reader.availableData
                if data.isEmpty { buffer.close(); return }
                buffer.append(data)
            }
        }
        do {
            _ = try output.waitFor(marker: "__BEAMSH_READY__", timeout: 30)
        } catch {
            stop()
            throw TestSetupError("node \(name) on \(runtime) did not start: \(output.text)")
        }
    }

    deinit { stop() }

    /// What the node has printed so far (its error reports among it).
    public var printed: String { output.text }
    /// The operating system pid of the node's emulator.
    public var osPid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Stops the node with SIGSTOP (a frozen node: its kernel still accepts connections, nothing
    /// answers) and returns once the whole process is stopped: SIGSTOP reaches the emulator's
    /// threads one by one, and a scheduler still running could answer. `thaw()` resumes it.
    public func freeze() {
        checkBlockingCallIsAllowed("freezing a node")
        kill(osPid, SIGSTOP)
        for _ in 0..<100 {
            let status = (try? String(contentsOfFile: "/proc/\(osPid)/status", encoding: .utf8)) ?? ""
            if status.contains("State:\tT") { break }
            usleep(20_000)
        }
        usleep(200_000)
    }

    /// Resumes a node stopped with ``freeze()``.
    public func thaw() { kill(osPid, SIGCONT) }

    /// Evaluates Erlang expressions (ending with `.`) on the node itself and returns the value printed with `~w`,
    /// or throws with the error.
    @discardableResult
    public func eval(_ expressions: String, timeout: TimeInterval = 30) throws -> String {
        checkBlockingCallIsAllowed("TestNode.eval")
        let line = expressions.replacingOccurrences(of: "\n", with: " ")
        try input.write(contentsOf: Data((line + "\n").utf8))
        let reply = try output.waitFor(marker: "__BEAMSH_END__", timeout: timeout)
        let lines = reply.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        guard let last = lines.last else { throw TestSetupError("no reply from \(name)") }
        if last.hasPrefix("__BEAMSH_ERROR__") { throw TestSetupError("\(name): \(last)") }
        return last
    }

    /// A TCP port nothing listens on now, as the kernel hands one out (a random pick in the
    /// ephemeral range can meet a port in use). For a node told to listen on exactly that port.
    public static func unusedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSetupError("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = INADDR_ANY
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestSetupError("bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Stops the node: end of input first (a clean halt), then SIGKILL.
    public func stop() {
        guard process.isRunning else { return }
        checkBlockingCallIsAllowed("stopping a node")
        try? input.close()
        for _ in 0..<100 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Kills the emulator at once, as a crash or `kill -9` would.
    public func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    // MARK: -

    /// Reads one line at a time, evaluates it, prints the value and an end marker.
    private static let controlLoop = """
        io:format("__BEAMSH_READY__~n"), \
        Loop = fun L() -> \
          case io:get_line("") of \
            eof -> erlang:halt(0); \
            {error, _} -> erlang:halt(0); \
            Line -> \
              R = try \
                    {ok, T, _} = erl_scan:string(unicode:characters_to_list(Line)), \
                    {ok, Es} = erl_parse:parse_exprs(T), \
                    {value, V, _} = erl_eval:exprs(Es, []), \
                    io_lib:format("~w", [V]) \
                  catch C:E -> io_lib:format("__BEAMSH_ERROR__ ~w:~w", [C, E]) end, \
              io:format("~n~s~n__BEAMSH_END__~n", [R]), \
              L() \
          end \
        end, \
        Loop().
        """

    public static let shortHostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let full = String(cString: buffer)
        return String(full.split(separator: ".").first ?? Substring(full))
    }()

    public static func randomToken(_ length: Int) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<length).map { _ in letters.randomElement()! })
    }

    /// Two nodes with one cookie, connected to each other: the smallest cluster.
    public static func connectedPair(runtime: ErlangRuntime) throws -> (TestNode, TestNode) {
        let cookie = "c" + randomToken(20)
        let a = try TestNode(runtime: runtime, cookie: cookie)
        do {
            let b = try TestNode(runtime: runtime, cookie: cookie)
            guard try a.eval("net_kernel:connect_node('\(b.name)').") == "true" else {
                b.stop()
                throw TestSetupError("\(a.name) could not connect to \(b.name)")
            }
            return (a, b)
        } catch {
            a.stop()
            throw error
        }
    }
}

/// Output of a child process, waited on by marker.
final class LineBuffer: @unchecked Sendable {
    private let condition = NSCondition()
    private var buffer = ""
    private var closed = false

    var text: String {
        condition.lock()
        defer { condition.unlock() }
        return buffer
    }

    func append(_ data: Data) {
        condition.lock()
        buffer += String(decoding: data, as: UTF8.self)
        condition.broadcast()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until `marker` appears; returns and consumes everything before it.
    func waitFor(marker: String, timeout: TimeInterval) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let range = buffer.range(of: marker) {
                let before = String(buffer[..<range.lowerBound])
                buffer.removeSubrange(..<range.upperBound)
                return before
            }
            if closed { throw TestSetupError("process ended before \(marker)") }
            if !condition.wait(until: deadline) { throw TestSetupError("timed out waiting for \(marker)") }
        }
    }
}

/// A node's answer that is not what a test asked for.
public struct UnexpectedReply: Error, CustomStringConvertible {
    public let what: String, reply: String
    public init(what: String, reply: String) { (self.what, self.reply) = (what, reply) }
    public var description: String { "\(what): unexpected reply \(reply)" }
}

/// Counts the node's calls to `module:function/arity` from now on, with a call tracer that owns
/// its counter; returns the function that reads the count.
public func countCalls(on node: TestNode, to module: String, _ function: String, _ arity: Int) throws -> () throws -> Int {
    let table = "beamsh_calls_\(function)"
    _ = try node.eval(
        "code:ensure_loaded('\(module)'), "
        + "T = spawn(fun() -> ets:new(\(table), [named_table, public]), ets:insert(\(table), {n, 0}), "
        + "(fun L() -> receive {trace, _, call, _} -> ets:update_counter(\(table), n, 1), L() end end)() end), "
        + "timer:sleep(100), erlang:trace_pattern({'\(module)', \(function), \(arity)}, true, [global]), "
        + "erlang:trace(all, true, [call, {tracer, T}]), ok.")
    return {
        let reply = try node.eval("ets:lookup_element(\(table), n, 2).")
        guard let count = Int(reply) else { throw UnexpectedReply(what: "call count", reply: reply) }
        return count
    }
}
