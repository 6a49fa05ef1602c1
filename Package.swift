// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "beamsh",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "beamsh", targets: ["beamsh"]),
        .library(name: "ErlangTerm", targets: ["ErlangTerm"]),
        .library(name: "ErlangDistribution", targets: ["ErlangDistribution"]),
        .library(name: "RemoteShell", targets: ["RemoteShell"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/attaswift/BigInt.git", from: "6.0.1"),
    ],
    targets: [
        // System libraries: zlib for compressed terms, libedit for the prompt.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CEditLine", path: "Sources/CEditLine", providers: [.apt(["libedit-dev"])]),

        // Layer 1: the external term format. Pure: no I/O, no NIO.
        .target(
            name: "ErlangTerm",
            dependencies: [.product(name: "BigInt", package: "BigInt"), "CZlib"]
        ),
        // Layer 2: EPMD, handshake, connection, RPC.
        .target(
            name: "ErlangDistribution",
            dependencies: [
                "ErlangTerm",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Line editing over libedit.
        .target(name: "LineEditor", dependencies: ["CEditLine"]),
        // Reads lines with LineEditor and reports them: driven in a pseudo-terminal by LineEditorTests.
        .executableTarget(name: "line-editor-probe", dependencies: ["LineEditor"]),
        // Layer 3: evaluation, IO server, completion, cluster tools.
        .target(
            name: "RemoteShell",
            dependencies: ["ErlangDistribution", "LineEditor", .product(name: "Logging", package: "swift-log")]
        ),
        // The thin executable.
        .executableTarget(
            name: "beamsh",
            dependencies: [
                "RemoteShell",
                "ErlangTerm",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Real runtimes and nodes for integration tests (never a mocked BEAM).
        .target(name: "BeamTestSupport", path: "Tests/BeamTestSupport"),
        .testTarget(name: "ErlangTermTests", dependencies: ["ErlangTerm", "BeamTestSupport"], resources: [.copy("Golden")]),
        .testTarget(name: "ErlangDistributionTests", dependencies: ["ErlangDistribution", "BeamTestSupport"],
                    exclude: ["Vectors"]),  // read by path (#filePath), not bundled
        .testTarget(name: "LineEditorTests", dependencies: ["LineEditor", "BeamTestSupport"]),
        .testTarget(name: "RemoteShellTests", dependencies: ["RemoteShell", "BeamTestSupport"]),
        // The built binary, end to end, against real nodes.
        .testTarget(name: "BeamshTests", dependencies: ["beamsh", "BeamTestSupport"]),
    ]
)
