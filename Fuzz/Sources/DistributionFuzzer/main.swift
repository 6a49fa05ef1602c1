// libFuzzer entry for the distribution layer's parsers of peer bytes: the handshake state
// machine (fed frames cut from the input as a peer would send them) and the decoder of
// connected-phase messages. Any input must give an action or a typed error, never a trap.

import ErlangDistribution
import ErlangTerm

#if canImport(Glibc)
import Glibc
#endif

// SwiftPM gives an executable its own entry point, so this top-level code starts libFuzzer's
// driver (as DecodeFuzzer does).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzz))

nonisolated(unsafe) var reportedCompletion = false

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let selector = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    if selector & 1 == 0 {
        // The handshake: our challenge (4 bytes) and the cookie (a length byte, then its
        // bytes) come first, so a seed recorded from a real node replays to the end, the
        // node's digest of our challenge included; then 2-byte length frames, as the peer sends them.
        guard rest.count >= 5, rest.count >= 5 + Int(rest[4]) else { return 0 }
        let challenge = UInt32(rest[0]) << 24 | UInt32(rest[1]) << 16 | UInt32(rest[2]) << 8 | UInt32(rest[3])
        let cookie = String(decoding: rest[5..<(5 + Int(rest[4]))], as: UTF8.self)
        var machine = Handshake(localName: "fuzz@host", expectedPeer: selector & 2 == 0 ? nil : "peer@host",
                                cookie: Cookie(cookie), creation: 1, challenge: challenge)
        _ = machine.start()
        var offset = 5 + Int(rest[4])
        while offset + 2 <= rest.count {
            let length = Int(rest[offset]) << 8 | Int(rest[offset + 1])
            offset += 2
            let end = min(rest.count, offset + length)
            do {
                let actions = try machine.receive(Array(rest[offset..<end]))
                if !reportedCompletion, actions.contains(where: { if case .completed = $0 { true } else { false } }) {
                    // Said once per run: the seeds' handshakes complete, so the fuzzing reaches
                    // what follows the node's digest too.
                    reportedCompletion = true
                    print("DistributionFuzzer: a handshake completed")
                }
            } catch {
                _ = machine.closedError()
                return 0
            }
            offset = end
        }
        _ = machine.closedError()
    } else {
        // A connected-phase message (the 4-byte length already stripped).
        if let decoded = try? DistributionMessageCodec.decode(rest[...]), let message = decoded.message {
            // What decodes must encode again.
            _ = try? DistributionMessageCodec.encode(message)
        }
    }
    return 0
}
