// Reading a whole file or standard input with POSIX calls: the executable stays off
// Foundation, which costs start-up time (see the design note's performance budget).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an input could not be read.
struct InputFileError: Error, CustomStringConvertible {
    let description: String
}

enum InputFile {
    /// All bytes of `path`, or of standard input when `path` is `-`.
    static func readAll(_ path: String) throws(InputFileError) -> [UInt8] {
        let descriptor: Int32
        if path == "-" {
            descriptor = STDIN_FILENO
        } else {
            descriptor = open(path, O_RDONLY)
            guard descriptor >= 0 else { throw InputFileError(description: "cannot open \(path): \(lastError())") }
        }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw InputFileError(description: "cannot read \(path == "-" ? "standard input" : path): \(lastError())")
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
