// libFuzzer entry point: any input must give a term or a TermDecodingError. A term must survive
// encode → decode unchanged; anything else is a crash the fuzzer reports.
// Built with -sanitize=fuzzer,address (scripts/fuzz-decoder). SwiftPM gives an executable its own
// entry point, so instead of libFuzzer's main this top-level code starts libFuzzer's driver.

import ErlangTerm

#if canImport(Glibc)
import Glibc
#endif

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzDecode))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecode(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // A small depth limit keeps the fuzzer's time on the format, not on huge stacks.
    var options = TermDecoder.Options()
    options.maxDepth = 10_000
    options.maxUncompressedSize = 16 << 20
    let decoder = TermDecoder(options: options)
    // The memory limit's refusals, wherever in a term they fall: a limit from the input's last
    // byte (0 to 16 KiB). Refused or not, nothing may break, and a term must be the same term.
    var tight = options
    tight.maxTermMemory = Int(bytes.last ?? 0) * 64
    let limited = try? TermDecoder(options: tight).decode(bytes)
    let term: Term
    do {
        term = try decoder.decode(bytes)
    } catch {
        precondition(error.offset >= 0 && error.offset <= size, "error offset \(error.offset) outside the input")
        precondition(limited == nil, "decoded under a lower memory limit only")
        return 0
    }
    if let limited { precondition(limited == term, "the memory limit changed the term") }
    let encoded: [UInt8]
    do {
        encoded = try TermEncoder().encode(term)
    } catch {
        preconditionFailure("a decoded term failed to encode: \(error)")
    }
    let again: Term
    do {
        again = try decoder.decode(encoded)
    } catch {
        preconditionFailure("our own encoding failed to decode: \(error)")
    }
    precondition(again == term, "decode(encode(term)) != term")
    // Canonical bytes are a fixed point.
    precondition((try? TermEncoder().encode(again)) == encoded, "encode is not stable")
    return 0
}
