// swift-tools-version: 6.1
// Benchmarks for beamsh, a separate package so the main build never needs package-benchmark.
//   cd Benchmarks && swift package benchmark          # the package-benchmark suites
//   scripts/bench-codec                               # ours vs the BEAM on the same bytes
import PackageDescription

let package = Package(
    name: "beamsh-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "beamsh", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The payloads of the performance section, built in Swift.
        .target(
            name: "BenchPayloads",
            dependencies: [.product(name: "ErlangTerm", package: "beamsh")],
            path: "Tools/BenchPayloads"
        ),
        // package-benchmark suite. The plugin runs every executable whose folder sits directly in
        // Benchmarks/, so the other tools live in Tools/.
        .executableTarget(
            name: "ErlangTermBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ErlangTerm", package: "beamsh"),
                "BenchPayloads",
            ],
            path: "ErlangTermBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Times our decoder and encoder on files written by the BEAM (scripts/bench-codec).
        .executableTarget(
            name: "beamsh-codec-bench",
            dependencies: [.product(name: "ErlangTerm", package: "beamsh")],
            path: "Tools/CodecBench"
        ),
        // RPC round trips and large replies over one connection (scripts/bench-distribution).
        .executableTarget(
            name: "rpc-bench",
            dependencies: [
                .product(name: "ErlangDistribution", package: "beamsh"),
                .product(name: "ErlangTerm", package: "beamsh"),
            ],
            path: "Tools/RPCBench"
        ),
    ]
)
