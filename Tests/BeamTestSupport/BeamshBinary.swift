// Running the built `beamsh` binary in end-to-end tests.

import Foundation

public enum BeamshBinary {
    /// The `beamsh` under test: `$BEAMSH_BINARY` when set (scripts/test points it at the release
    /// binary from scripts/build-release), otherwise the one built next to the test bundle.
    public static var path: String {
        if let chosen = ProcessInfo.processInfo.environment["BEAMSH_BINARY"], !chosen.isEmpty {
            return chosen.hasPrefix("/") ? chosen : ErlangRuntime.repositoryRoot + "/" + chosen
        }
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments.first { $0.contains(".xctest") } ?? CommandLine.arguments[0])
            .deletingLastPathComponent()
        var candidates = [bundleDirectory.appendingPathComponent("beamsh").path]
        let buildDirectory = ErlangRuntime.repositoryRoot + "/.build"
        candidates += ["debug", "release"].map { "\(buildDirectory)/\($0)/beamsh" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// Whether the binary under test was chosen through `$BEAMSH_BINARY` (scripts/test: the
    /// release build) rather than built next to the tests.
    public static var isFromEnvironment: Bool {
        !(ProcessInfo.processInfo.environment["BEAMSH_BINARY"] ?? "").isEmpty
    }

    /// Copies the binary under test to `destination`, executable by everyone. `cp` writes the
    /// copy, not this process: a child another test forks from this process at that instant
    /// would inherit a descriptor open for writing on the copy and hold it until it execs, and
    /// the kernel refuses to run a file open for writing ("Text file busy").
    public static func copy(to destination: String) throws {
        let copied = try runProcess("/bin/cp", [path, destination])
        guard copied.status == 0 else {
            throw NSError(domain: "BeamshBinary", code: Int(copied.status),
                          userInfo: [NSLocalizedDescriptionKey: "cp \(path) \(destination): \(copied.stderr)"])
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: destination)
    }

    /// Runs beamsh with `arguments`; the cookie goes through RELEASE_COOKIE unless nil.
    public static func run(
        _ arguments: [String], cookie: String?, environment: [String: String] = [:], stdin: String? = nil,
        timeout: TimeInterval = 60
    ) throws -> ProcessResult {
        var env = environment
        env["RELEASE_COOKIE"] = cookie ?? ""
        env["NO_COLOR"] = "1"
        return try runProcess(path, arguments, environment: env, stdin: stdin, timeout: timeout)
    }
}
