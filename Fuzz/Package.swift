// swift-tools-version: 6.1
// libFuzzer targets for the term decoder and the distribution layer's parsers of peer bytes. Separate from the root package so a plain
// `swift build` never needs the fuzzer runtime. Build and run with scripts/fuzz-decoder.
import PackageDescription

let package = Package(
    name: "beamsh-fuzz",
    dependencies: [.package(name: "beamsh", path: "..")],
    targets: [
        .executableTarget(
            name: "DecodeFuzzer",
            dependencies: [.product(name: "ErlangTerm", package: "beamsh")]
        ),
        .executableTarget(
            name: "DistributionFuzzer",
            dependencies: [
                .product(name: "ErlangDistribution", package: "beamsh"),
                .product(name: "ErlangTerm", package: "beamsh"),
            ]
        ),
    ]
)
