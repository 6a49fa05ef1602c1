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
    /// Every `NAME=value` pair of the environment, read once: beamsh never changes its own.
    static let current: [String: String] = {
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
}

/// `node`, or else `RELEASE_NODE` completed the way `bin/app remote` does
/// (`RELEASE_DISTRIBUTION=name` means a long name, this host's full name; else a short one).
/// Exits when neither is there.
func nodeOrReleaseNode(_ node: String?) -> String {
    if let node { return node }
    let environment = ProcessEnvironment.current
    guard let name = environment["RELEASE_NODE"], !name.isEmpty else {
        printError("no NODE given and RELEASE_NODE is not set: give a node name (name@host)")
        exitNow(.usage)
    }
    if name.utf8.contains(UInt8(ascii: "@")) { return name }
    return name + "@" + (environment["RELEASE_DISTRIBUTION"] == "name" ? Host.fullName : Host.shortName)
}
