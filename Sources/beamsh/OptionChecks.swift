// Range checks for numeric options and environment values: a number that cannot be a port or a
// duration is a usage error with a message, never a trap when it is converted.

import ArgumentParser
import ErlangDistribution

/// The longest duration a seconds option takes: a year. Longer waits mean nothing here, and the
/// conversion to nanoseconds stays far from overflowing.
let maxSeconds = 31_536_000.0

/// Throws a usage error unless `value` is a number of seconds beamsh can wait: finite, at least
/// a millisecond (or 0 itself with `allowZero`), at most ``maxSeconds``.
func checkSeconds(_ value: Double, _ option: String, allowZero: Bool = false) throws {
    guard value.isFinite, allowZero ? value >= 0 : value >= 0.001, value <= maxSeconds else {
        throw ValidationError("\(option) must be a number of seconds from \(allowZero ? "0" : "0.001") to \(Int(maxSeconds))")
    }
}

/// Throws a usage error unless `value` is a TCP port.
func checkPort(_ value: Int, _ option: String) throws {
    guard (1...65535).contains(value) else { throw ValidationError("\(option) must be 1 to 65535") }
}

/// `--address HOST[:PORT]`: a host, and a port when one is given.
func checkAddress(_ address: String) throws {
    let host = AddressResolver.splitHostPort(address).host
    guard !host.isEmpty, host != "[]" else { throw ValidationError("--address HOST[:PORT]: no host in '\(address)'") }
    // A URL or a host with blanks is a mistake to say as such, not a DNS failure.
    guard !address.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 <= 0x20 }) else {
        throw ValidationError("--address takes HOST[:PORT] (a host name or an IP address), not '\(address)'")
    }
    var rest: Substring?
    if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
        let after = address[address.index(after: close)...]
        if !after.isEmpty {
            guard after.first == ":" else { throw ValidationError("--address: expected [IPV6]:PORT, got '\(address)'") }
            rest = after.dropFirst()
        }
    } else if address.filter({ $0 == ":" }).count == 1, let colon = address.firstIndex(of: ":") {
        rest = address[address.index(after: colon)...]
    }
    if let rest {
        guard let port = Int(rest), (1...65535).contains(port) else {
            throw ValidationError("--address HOST[:PORT]: the port must be 1 to 65535, not '\(rest)'")
        }
    }
}

/// Seconds as a Duration; call after ``checkSeconds(_:_:allowZero:)``.
func duration(_ seconds: Double) -> Duration { .nanoseconds(Int64(seconds * 1e9)) }

/// EPMD's port from `--epmd-port` or `ERL_EPMD_PORT` (4369 by default); a value that is not a
/// port exits with a message naming where it came from.
func resolvedEPMDPort(_ option: Int?, ignoringABadEnvironment: Bool = false) -> Int {
    if let option { return option }
    guard let text = ProcessEnvironment.current["ERL_EPMD_PORT"], !text.isEmpty else { return 4369 }
    guard let port = Int(text), (1...65535).contains(port) else {
        if ignoringABadEnvironment { return 4369 }
        printError("ERL_EPMD_PORT must be a port number (1 to 65535), not '\(text)'")
        exitNow(.usage)
    }
    return port
}
