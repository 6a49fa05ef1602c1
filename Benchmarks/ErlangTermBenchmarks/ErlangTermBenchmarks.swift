// package-benchmark suite: decode and encode the five payloads.
//   cd Benchmarks && swift package benchmark
// scripts/bench-codec compares the same payloads with the BEAM's own binary_to_term/term_to_binary.

import Benchmark
import BenchPayloads
import ErlangTerm

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 20
    )
    for payload in Payload.allCases {
        let bytes = payload.bytes
        Benchmark("decode \(payload.rawValue) (\(bytes.count) bytes)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try TermDecoder().decode(bytes))
            }
        }
        let term = try! TermDecoder().decode(bytes)
        Benchmark("encode \(payload.rawValue)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try TermEncoder().encode(term))
            }
        }
    }
}
