// The process environment without Foundation: the binary stays small and starts fast.

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
