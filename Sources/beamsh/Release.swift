// A Mix release's own settings, read the way its `bin/app` script reads them. Inside a release
// container, RELEASE_NODE and the cookie usually live in the release (`releases/VSN/env.sh`,
// `releases/COOKIE`), not in the operator's shell: `bin/app remote` sources them, and so must
// `beamsh` to be a drop-in for it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct Release {
    /// The release's root folder (`RELEASE_ROOT`: the folder holding `bin/` and `releases/`).
    let root: String
    let name: String
    let version: String
    /// What the release's env.sh set or changed, among the variables beamsh reads (its
    /// `RELEASE_COOKIE` too: in bin/app it replaces the shell's), plus bin/app's defaults for
    /// `RELEASE_NODE` (the release's name) and `RELEASE_DISTRIBUTION` (sname).
    let environment: [String: String]
    /// The env.sh that ran, if any: where a `RELEASE_COOKIE` in `environment` comes from.
    let envScript: String?
    /// `releases/COOKIE`, the cookie bin/app uses when `RELEASE_COOKIE` is not set, and where it is.
    let fileCookie: (value: String, origin: String)?
    /// Why `releases/COOKIE`, which is there, could not be read (never the value).
    let fileCookieProblem: String?
    /// Said to the user when the release's own settings look wrong (never a cookie's value).
    let warnings: [String]

    /// The variables taken over from env.sh: those beamsh reads.
    static let variables = ["RELEASE_NODE", "RELEASE_DISTRIBUTION", "RELEASE_COOKIE", "ERL_EPMD_PORT", "DNS_CLUSTER_QUERY"]

    /// True when `folder` holds a release (`releases/start_erl.data`, which bin/app reads).
    static func isRelease(_ folder: String) -> Bool {
        access(folder + "/releases/start_erl.data", R_OK) == 0
    }

    /// Reads the release at `root` as bin/app does for `remote`: the version from
    /// `releases/start_erl.data` (unless `RELEASE_VSN` is set), then `releases/VSN/env.sh` sourced
    /// by `/bin/sh` with `RELEASE_ROOT`, `RELEASE_NAME`, `RELEASE_VSN`, `RELEASE_COMMAND=remote`
    /// and `RELEASE_PROG` set, as bin/app sets them before sourcing it.
    static func load(root given: String, environment: [String: String]) throws(ReleaseError) -> Release {
        let root = absolutePath(given)
        guard isRelease(root) else {
            throw ReleaseError("\(given) is not a Mix release: it has no releases/start_erl.data (give the folder that holds bin/ and releases/)",
                               isRelease: false)
        }
        let version: String
        if let set = environment["RELEASE_VSN"], !set.isEmpty {
            version = set
        } else {
            // "ERTS_VSN REL_VSN", as `cut -d' ' -f2` reads it.
            let fields = (readSmallFile(root + "/releases/start_erl.data") ?? "").split(whereSeparator: { $0 == " " || $0.isNewline })
            guard fields.count >= 2 else { throw ReleaseError("\(root)/releases/start_erl.data does not name a release version") }
            version = String(fields[1])
        }
        let versionFolder = root + "/releases/" + version
        guard access(versionFolder, F_OK) == 0 else {
            let origin = environment["RELEASE_VSN"].map { "RELEASE_VSN is \($0), but " } ?? ""
            throw ReleaseError("\(origin)the release has no \(versionFolder)")
        }
        let name: String
        if let set = environment["RELEASE_NAME"], !set.isEmpty {
            name = set
        } else {
            // The release's name is its .rel file's (bin/app has it written in; bin/ may also
            // hold other scripts, such as Phoenix's bin/server).
            guard let rel = filesInFolder(versionFolder).first(where: { $0.hasSuffix(".rel") }) else {
                throw ReleaseError("\(versionFolder) has no .rel file to take the release's name from (set RELEASE_NAME)")
            }
            name = String(rel.dropLast(4))
        }
        var sourced: [String: String] = [:]
        let envScript = versionFolder + "/env.sh"
        let hasEnvScript = access(envScript, F_OK) == 0
        if hasEnvScript {
            var scriptEnvironment = environment
            scriptEnvironment["RELEASE_ROOT"] = root
            scriptEnvironment["RELEASE_NAME"] = name
            scriptEnvironment["RELEASE_VSN"] = version
            scriptEnvironment["RELEASE_COMMAND"] = "remote"
            scriptEnvironment["RELEASE_PROG"] = environment["RELEASE_PROG"] ?? name
            sourced = try source(envScript, as: "\(root)/bin/\(name)", environment: scriptEnvironment)
        }
        var settings: [String: String] = [:]
        for variable in variables {
            if let value = sourced[variable], value != environment[variable] { settings[variable] = value }
        }
        // bin/app's defaults, after env.sh.
        if (sourced["RELEASE_NODE"] ?? environment["RELEASE_NODE"] ?? "").isEmpty { settings["RELEASE_NODE"] = name }
        if (sourced["RELEASE_DISTRIBUTION"] ?? environment["RELEASE_DISTRIBUTION"] ?? "").isEmpty { settings["RELEASE_DISTRIBUTION"] = "sname" }
        var fileCookie: (String, String)?
        var fileCookieProblem: String?
        var warnings: [String] = []
        let cookiePath = root + "/releases/COOKIE"
        if access(cookiePath, F_OK) == 0, readSmallFile(cookiePath) == nil {
            fileCookieProblem = "cannot read \(cookiePath): \(String(cString: strerror(errno)))"
        }
        if let text = readSmallFile(cookiePath) {
            // bin/app reads it with `$(cat ...)`, which drops trailing "\n" only: a "\r" before it
            // stays part of the cookie, as the node got it.
            var bytes = Array(text.utf8)
            while bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
            if bytes.isEmpty {
                warnings.append("\(cookiePath) is empty")
            } else {
                fileCookie = (String(decoding: bytes, as: UTF8.self), cookiePath)
            }
        }
        return Release(root: root, name: name, version: version, environment: settings, envScript: hasEnvScript ? envScript : nil,
                       fileCookie: fileCookie, fileCookieProblem: fileCookieProblem, warnings: warnings)
    }

    /// Sources `script` in `/bin/sh` (with `set -e`, as bin/app runs it; `$0` is bin/app's path
    /// and `$1` is `remote`, as there) and returns the `variables` that are set afterwards. The
    /// script's own output goes to standard error.
    private static func source(_ script: String, as program: String, environment: [String: String]) throws(ReleaseError) -> [String: String] {
        // Each set variable is printed as NAME=VALUE and a NUL (values may hold anything but
        // NUL). The list is in the text, not in the positional parameters, which env.sh may
        // shift or set; tracing (`set -x` in env.sh) is turned off first: it would print the cookie.
        let text = """
            set -e
            . \(shellQuoted(script)) >&2
            { set +x; } 2>/dev/null
            for __beamsh_name in \(variables.joined(separator: " ")); do
              eval "__beamsh_set=\\${$__beamsh_name+x} __beamsh_value=\\${$__beamsh_name-}"
              if [ -n "$__beamsh_set" ]; then printf '%s=%s\\000' "$__beamsh_name" "$__beamsh_value"; fi
            done
            """
        let result = runCapturingOutput("/bin/sh", ["sh", "-c", text, program, "remote"], environment: environment)
        guard case .exited(0) = result.status else {
            throw ReleaseError("the release's \(script) failed (\(result.status)); bin/app remote would fail the same way")
        }
        var values: [String: String] = [:]
        for entry in result.output.split(separator: 0) {
            guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            values[String(decoding: entry[..<equals], as: UTF8.self)] = String(decoding: entry[(equals + 1)...], as: UTF8.self)
        }
        return values
    }

    /// `text` as one word for the shell.
    private static func shellQuoted(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    private static func absolutePath(_ path: String) -> String {
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if realpath(path, &resolved) != nil { return String(cString: resolved) }
        return path
    }

    private static func filesInFolder(_ folder: String) -> [String] {
        guard let directory = opendir(folder) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            names.append(name)
        }
        return names.sorted()
    }

    /// A small text file's content (up to 64 KiB), or nil.
    private static func readSmallFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = fread(&buffer, 1, buffer.count, file)
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}

struct ReleaseError: Error, CustomStringConvertible {
    let description: String
    /// False when the folder holds no release at all (a usage error), true when the release is
    /// there but could not be read (its env.sh failed, its files are wrong).
    let isRelease: Bool
    init(_ description: String, isRelease: Bool = true) {
        self.description = description
        self.isRelease = isRelease
    }
}

/// How a child process ended.
enum ChildStatus: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    case notStarted(Int32)

    var description: String {
        switch self {
        case .exited(let code): return "exit status \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        case .notStarted(let error): return "could not start: \(String(cString: strerror(error)))"
        }
    }
}

/// Runs `path` with `arguments` (the first is argv[0]) and `environment`, standard input from
/// /dev/null, standard error inherited, and returns its standard output (up to 1 MiB).
func runCapturingOutput(_ path: String, _ arguments: [String], environment: [String: String]) -> (status: ChildStatus, output: [UInt8]) {
    var pipeEnds: [Int32] = [0, 0]
    guard pipe(&pipeEnds) == 0 else { return (.notStarted(errno), []) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
    posix_spawn_file_actions_addclose(&actions, pipeEnds[1])
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        argv.forEach { free($0) }
        envp.forEach { free($0) }
    }
    var child = pid_t()
    let spawned = posix_spawn(&child, path, &actions, nil, argv, envp)
    close(pipeEnds[1])
    defer { close(pipeEnds[0]) }
    guard spawned == 0 else { return (.notStarted(spawned), []) }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(pipeEnds[0], &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        if output.count < 1 << 20 { output += buffer[..<count] }
    }
    var status: Int32 = 0
    while waitpid(child, &status, 0) < 0 && errno == EINTR {}
    // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (they are macros).
    let signal = status & 0x7f
    return (signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal), output)
}
