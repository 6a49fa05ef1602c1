// libFuzzer entry point: any input must give a term or a TermDecodingError. A term must survive
// encode → decode unchanged; anything else is a crash the fuzzer reports.
// Built with -parse-as-library and -sanitize=fuzzer (scripts/fuzz-decoder): libFuzzer provides main.

import ErlangTerm

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecode(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // A small depth limit keeps the fuzzer's time on the format, not on huge stacks.
    var options = TermDecoder.Options()
    options.maxDepth = 10_000
    options.maxUncompressedSize = 16 << 20
    let decoder = TermDecoder(options: options)
    let term: Term
    do {
        term = try decoder.decode(bytes)
    } catch {
        precondition(error.offset >= 0 && error.offset <= size, "error offset \(error.offset) outside the input")
        return 0
    }
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
