// Facts about this machine that node names depend on.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum Host {
    /// The host name as `gethostname` gave it when first asked (a cluster check names itself
    /// once per node it connects to).
    public static let fullName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// The host name up to the first dot: what `-sname` nodes use.
    public static let shortName: String = {
        let full = fullName
        return String(full.split(separator: ".", maxSplits: 1).first ?? Substring(full))
    }()

    public static let processID: Int32 = getpid()
}
