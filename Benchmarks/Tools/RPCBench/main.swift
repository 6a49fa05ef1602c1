// Times RPC round trips and large replies over one hidden connection, for
// scripts/bench-distribution, which runs the same work from a BEAM node in the same run.
//
//   rpc-bench NODE loop N        N sequential erlang:node() calls (async/await, as the console)
//   rpc-bench NODE loop-futures N  the same, chained as futures on the event loop
//   rpc-bench NODE binary BYTES  one call returning a binary of BYTES bytes
//   rpc-bench NODE list N        one call returning lists:seq(1, N)
// The cookie comes from RELEASE_COOKIE. Prints `elapsed_ms=<ms> maxrss_kb=<kb>`.

import ErlangDistribution
import ErlangTerm
import Foundation
import NIOCore
import NIOPosix

let arguments = CommandLine.arguments
guard arguments.count == 4, let count = Int(arguments[3]),
    let cookie = ProcessInfo.processInfo.environment["RELEASE_COOKIE"]
else {
    FileHandle.standardError.write(Data("usage: RELEASE_COOKIE=... rpc-bench NODE loop|binary|list N\n".utf8))
    exit(64)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let connection = try await NodeConnection.connect(
    to: try NodeName(parsing: arguments[1]), options: ConnectOptions(cookie: Cookie(cookie)), group: group)
_ = try await connection.rpc("erlang", "node", [])  // warm up: first call pays for rex's worker spawn path

let clock = ContinuousClock()
let start = clock.now
switch arguments[2] {
case "loop":
    for _ in 0..<count { _ = try await connection.rpc("erlang", "node", []) }
case "loop-futures":
    // The same calls chained on the connection's event loop: no hop to a Swift concurrency
    // thread and back per call (what `rpc` costs above).
    @Sendable func step(_ done: Int) -> EventLoopFuture<Void> {
        if done == count { return group.next().makeSucceededVoidFuture() }
        return connection.submitCall("erlang", "node", []).flatMap { _ in step(done + 1) }
    }
    try await step(0).get()
case "binary":
    let reply = try await connection.rpc("binary", "copy", [.binary(Binary([0])), .integer(count)])
    guard case .binary(let b) = reply, b.count == count else { fatalError("short reply") }
case "list":
    let reply = try await connection.rpc("lists", "seq", [1, .integer(count)])
    // Counted in place: copying the elements out would time (and hold) work the BEAM side skips.
    guard case .list(let list) = reply, list.isProper, list.count == count else { fatalError("short reply") }
default:
    fatalError("unknown mode \(arguments[2])")
}
let elapsed = clock.now - start
var usage = rusage()
getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
print(String(format: "elapsed_ms=%.3f maxrss_kb=%d", ms, usage.ru_maxrss))
await connection.close()
