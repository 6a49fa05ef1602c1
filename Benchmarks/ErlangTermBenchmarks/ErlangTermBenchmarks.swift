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
        // Decoding alone, as `binary_to_term/1` is timed (its garbage is collected later, and a
        // copying collector never touches dead terms): the terms are freed after the measurement.
        Benchmark("decode \(payload.rawValue) (\(bytes.count) bytes)") { benchmark in
            var decoded: [Term] = []
            decoded.reserveCapacity(benchmark.scaledIterations.count)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                decoded.append(try TermDecoder().decode(bytes))
            }
            benchmark.stopMeasurement()
            blackHole(decoded)
        }
        // Decoding and freeing, which is what a reply costs beamsh in all.
        Benchmark("decode and free \(payload.rawValue)") { benchmark in
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
