// beamsh-codec-bench FILE... [--runs N]
// Times TermDecoder.decode and TermEncoder.encode on each file (a term_to_binary output), with a
// monotonic clock, and prints one line per file: name, bytes, median decode µs, median encode µs.
// Freeing the decoded term is not timed (binary_to_term's timing leaves garbage collection out too).
// The encoding must equal the file's bytes (a check, not timed), or the line says so.

import ErlangTerm
import Foundation

var runs = 7
var files: [String] = []
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    if arg == "--runs", let n = args.popFirst().flatMap(Int.init) { runs = n } else { files.append(arg) }
}
guard !files.isEmpty else {
    FileHandle.standardError.write(Data("usage: beamsh-codec-bench FILE... [--runs N]\n".utf8))
    exit(2)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

let clock = ContinuousClock()
func micros(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
}

for file in files {
    guard let data = FileManager.default.contents(atPath: file) else {
        print("\(file)\terror: cannot read")
        continue
    }
    let bytes = [UInt8](data)
    var decodeTimes: [Double] = []
    var encodeTimes: [Double] = []
    var sameBytes = true
    // Warm-up, not timed: the CPU of a small VM runs a short job that comes after an idle moment
    // at a lower speed (a 150 µs decode measured 120 or 200 µs by what ran before it), while the
    // BEAM side has just built and encoded the same payload. A tenth of a second of the same work
    // first, as for the BEAM.
    let warmUpUntil = clock.now + .milliseconds(100)
    while clock.now < warmUpUntil {
        if let term = try? TermDecoder().decode(bytes) { _ = try? TermEncoder().encode(term) }
    }
    for _ in 0..<runs {
        var term: Term? = nil
        let start = clock.now
        term = try? TermDecoder().decode(bytes)
        let decoded = clock.now
        guard let term else { print("\(file)\terror: does not decode"); exit(1) }
        decodeTimes.append(micros(decoded - start))
        let encodeStart = clock.now
        let encoded = try! TermEncoder().encode(term)
        let encodedAt = clock.now
        encodeTimes.append(micros(encodedAt - encodeStart))
        sameBytes = sameBytes && encoded == bytes
        withExtendedLifetime(term) {}
    }
    let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
    print("\(name)\t\(bytes.count)\t\(String(format: "%.0f", median(decodeTimes)))\t\(String(format: "%.0f", median(encodeTimes)))\t\(sameBytes ? "same-bytes" : "DIFFERENT-BYTES")")
}
