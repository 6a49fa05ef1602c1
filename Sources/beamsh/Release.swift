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
    /// What the release's env.sh set or changed, among the variables beamsh reads, plus
    /// bin/app's defaults for `RELEASE_NODE` (the release's name) and `RELEASE_DISTRIBUTION` (sname).
    let environment: [String: String]
    /// The cookie bin/app would use when beamsh's own environment has no `RELEASE_COOKIE`:
    /// env.sh's `RELEASE_COOKIE`, else `releases/COOKIE`. nil when neither is there.
    let cookie: (value: String, origin: String)?

    /// The variables taken over from env.sh: those beamsh reads (the cookie is kept apart, see `cookie`).
    static let variables = ["RELEASE_NODE", "RELEASE_DISTRIBUTION", "RELEASE_COOKIE", "ERL_EPMD_PORT",
                            "DNS_CLUSTER_QUERY", "ERL_AFLAGS", "ERL_ZFLAGS", "ELIXIR_ERL_OPTIONS"]

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
            throw ReleaseError("\(given) is not a Mix release: it has no releases/start_erl.data (give the folder that holds bin/ and releases/)")
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
        if access(envScript, F_OK) == 0 {
            var scriptEnvironment = environment
            scriptEnvironment["RELEASE_ROOT"] = root
            scriptEnvironment["RELEASE_NAME"] = name
            scriptEnvironment["RELEASE_VSN"] = version
            scriptEnvironment["RELEASE_COMMAND"] = "remote"
            scriptEnvironment["RELEASE_PROG"] = environment["RELEASE_PROG"] ?? name
            sourced = try source(envScript, variables: variables, environment: scriptEnvironment)
        }
        var settings: [String: String] = [:]
        for variable in variables where variable != "RELEASE_COOKIE" {
            if let value = sourced[variable], value != environment[variable] { settings[variable] = value }
        }
        // bin/app's defaults, after env.sh.
        if (sourced["RELEASE_NODE"] ?? environment["RELEASE_NODE"] ?? "").isEmpty { settings["RELEASE_NODE"] = name }
        if (sourced["RELEASE_DISTRIBUTION"] ?? environment["RELEASE_DISTRIBUTION"] ?? "").isEmpty { settings["RELEASE_DISTRIBUTION"] = "sname" }
        var cookie: (String, String)?
        if let value = sourced["RELEASE_COOKIE"], !value.isEmpty, value != environment["RELEASE_COOKIE"] {
            cookie = (value, "RELEASE_COOKIE from \(envScript)")
        } else if let text = readSmallFile(root + "/releases/COOKIE") {
            // bin/app reads it with `$(cat ...)`: the trailing newlines go.
            var value = Substring(text)
            while let last = value.last, last.isNewline { value = value.dropLast() }
            if !value.isEmpty { cookie = (String(value), root + "/releases/COOKIE") }
        }
        return Release(root: root, name: name, version: version, environment: settings, cookie: cookie)
    }

    /// Sources `script` in `/bin/sh` (with `set -e`, as bin/app runs it) and returns the
    /// `variables` that are set afterwards. The script's own output goes to standard error.
    private static func source(_ script: String, variables: [String], environment: [String: String]) throws(ReleaseError) -> [String: String] {
        // Each set variable is printed as NAME=VALUE and a NUL: values may hold anything but NUL.
        let program = """
            set -e
            . "$0" >&2
            for name in "$@"; do
              eval "isset=\\${$name+x} value=\\${$name-}"
              if [ -n "$isset" ]; then printf '%s=%s\\000' "$name" "$value"; fi
            done
            """
        let result = runCapturingOutput("/bin/sh", ["sh", "-c", program, script] + variables, environment: environment)
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
    init(_ description: String) { self.description = description }
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
