// The process environment without Foundation: the binary stays small and starts fast.

import ErlangDistribution

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum ProcessEnvironment {
    /// The environment beamsh goes by: its own, with a release's settings over it when beamsh
    /// reads a release (see `useRelease(arguments:)`, called first thing).
    nonisolated(unsafe) private(set) static var current: [String: String] = own

    /// The release in use, if any.
    nonisolated(unsafe) private(set) static var release: Release?

    /// Every `NAME=value` pair of the process's environment, read once: beamsh never changes its own.
    static let own: [String: String] = {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            // Searched as bytes: `firstIndex(of: Character)` walks grapheme clusters, about 5,000
            // instructions per variable.
            if let equals = text.utf8.firstIndex(of: UInt8(ascii: "=")) {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }()

    /// Why the release that was pointed at or found could not be read, for `doctor` to report
    /// as a step (other commands have said it already). `pointedAt`: named by `--release` or
    /// `RELEASE_ROOT` (beamsh stopped), not found by looking (beamsh went on without it).
    nonisolated(unsafe) private(set) static var releaseProblem: (error: ReleaseError, pointedAt: Bool)?

    /// Reads the release the command line or the environment points at, as `bin/app remote` would:
    /// `--release DIR`; else `$RELEASE_ROOT`; else the release beamsh's own binary sits in
    /// (`RELEASE_ROOT/bin/beamsh`) or the current folder, if either is one. A release pointed at
    /// that cannot be read stops beamsh (64 when it is no release, 2 when its env.sh fails); one
    /// found by looking is passed over with a warning. Help, `--version` and `decode` read none.
    static func useRelease(arguments: [String]) {
        if let first = arguments.first, ["decode", "help", "--version"].contains(first) { return }
        var given: String?
        var json = false
        var index = arguments.startIndex
        while index < arguments.endIndex, arguments[index] != "--" {
            let argument = arguments[index]
            let next = index + 1 < arguments.endIndex ? arguments[index + 1] : nil
            switch argument {
            case "--help", "-h": return
            case "--release":
                guard let next else { return }  // the parser says what is missing
                given = next
                index += 1
            case "--format" where next == "json", "--format=json": json = true
            default:
                if argument.hasPrefix("--release=") { given = String(argument.dropFirst("--release=".count)) }
            }
            index += 1
        }
        let root: String
        let pointedAt: Bool
        if let given {
            guard !given.isEmpty else {
                printError("--release needs the release's folder (the one that holds bin/ and releases/)")
                exitNow(.usage)
            }
            (root, pointedAt) = (given, true)
        } else if let set = own["RELEASE_ROOT"], !set.isEmpty {
            (root, pointedAt) = (set, true)
        } else if let found = [executableReleaseRoot(), "."].compactMap({ $0 }).first(where: Release.isRelease) {
            (root, pointedAt) = (found, false)
        } else {
            return
        }
        do {
            let loaded = try Release.load(root: root, environment: own)
            release = loaded
            current.merge(loaded.environment) { $1 }
            loaded.warnings.forEach(printWarning)
        } catch {
            let named = given == nil && pointedAt ? "RELEASE_ROOT: " : ""
            releaseProblem = (ReleaseError(named + error.description, isRelease: error.isRelease), pointedAt)
            if arguments.first == "doctor" { return }  // reported as its first step
            if pointedAt {
                if json { FailureDocument.enable() }
                printError(named + error.description)
                exitNow(error.isRelease ? .connectFailure : .usage)
            }
            printWarning("the release in \(root) is not used: \(error.description)")
        }
    }

    /// The folder above the one beamsh's binary is in (a release's root when beamsh was copied
    /// into its `bin/`), or nil.
    private static func executableReleaseRoot() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        parts.removeLast(2)
        return parts.count == 1 ? "/" : parts.joined(separator: "/")
    }
}

/// `node`, or else `RELEASE_NODE` completed the way `bin/app remote` does
/// (`RELEASE_DISTRIBUTION=name` means a long name, this host's full name; else a short one).
/// Exits when neither is there.
func nodeOrReleaseNode(_ node: String?) -> String {
    if let node { return node }
    let environment = ProcessEnvironment.current
    guard let name = environment["RELEASE_NODE"], !name.isEmpty else {
        printError("no NODE given and RELEASE_NODE is not set: give a node name (name@host), or a release's folder with --release DIR")
        exitNow(.usage)
    }
    let distribution = environment["RELEASE_DISTRIBUTION"] ?? ""
    switch distribution {
    case "none":
        printError("RELEASE_DISTRIBUTION is none: the release's node runs without distribution, so no console can reach it")
        exitNow(.usage)
    case "", "sname", "name":
        break
    default:
        printError("RELEASE_DISTRIBUTION is '\(distribution)'; bin/app expects sname, name or none")
        exitNow(.usage)
    }
    if name.utf8.contains(UInt8(ascii: "@")) { return name }
    return name + "@" + (distribution == "name" ? Host.fullName : Host.shortName)
}
