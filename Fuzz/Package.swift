// swift-tools-version: 6.1
// libFuzzer target for the term decoder. Separate from the root package so a plain
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
    ]
)
