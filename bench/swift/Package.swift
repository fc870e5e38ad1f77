// swift-tools-version:6.1
import PackageDescription

// Benchmarks for Lanyard. The main package exports only the `lanyard` executable, so this package
// compiles copies of the libraries it measures, made by gen-sources.sh in .gen/
// (SwiftPM refuses target paths outside the package root).
/// Same as the main package: release builds skip dynamic exclusivity checks in the libraries,
/// so the numbers match the shipped binary.
let fast: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "LanyardBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    ],
    targets: [
        .target(name: "CLanyardCrypto", path: ".gen/CLanyardCrypto",
                linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "LanyardWireGuard", dependencies: [
            "CLanyardCrypto", "LanyardCore",
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: ".gen/LanyardWireGuard", swiftSettings: fast),
        .target(name: "LanyardCore", dependencies: [.product(name: "HeapModule", package: "swift-collections")],
                path: ".gen/LanyardCore", swiftSettings: fast),
        // What the microbenchmarks and the instruction-count benchmark share (two peers with a session).
        .target(name: "BenchSupport", dependencies: ["LanyardCore", "LanyardWireGuard"], swiftSettings: fast),
        // Microbenchmarks (ordo-one/benchmark): `swift package benchmark`.
        .executableTarget(
            name: "LanyardBenchmarks",
            dependencies: [
                "LanyardCore", "LanyardWireGuard", "BenchSupport",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LanyardBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        // A fixed number of packets through the send and receive paths in one process, for
        // `valgrind --tool=callgrind` (bench/instructions.sh): instructions per packet, by function.
        .executableTarget(name: "lanyard-datapath", dependencies: ["LanyardCore", "LanyardWireGuard", "BenchSupport"],
                          path: "Sources/lanyard-datapath", swiftSettings: fast),
        // Load generator: N simulated ports against a real `lanyard switch`, in the network
        // namespace bench/loadgen.sh makes (documentation addresses, one /64 per port).
        .target(name: "CLanyardLinux", path: ".gen/CLanyardLinux"),
        .target(name: "CLoadgenEpoll", path: "Sources/CLoadgenEpoll"),
        .executableTarget(name: "lanyard-loadgen",
                          dependencies: ["LanyardCore", "LanyardWireGuard", "CLanyardLinux", "CLoadgenEpoll"],
                          path: "Sources/lanyard-loadgen"),
    ],
    swiftLanguageModes: [.v6]
)
