// swift-tools-version:6.1
import PackageDescription

// Benchmarks for Lanyard. The main package exports only the `lanyard` executable, so this package
// compiles the libraries it measures straight from the main package's source folders.
let package = Package(
    name: "LanyardBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(name: "CLanyardCrypto", path: "../../Sources/CLanyardCrypto",
                linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "LanyardWireGuard", dependencies: [
            "CLanyardCrypto",
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "../../Sources/LanyardWireGuard"),
        .target(name: "LanyardCore", path: "../../Sources/LanyardCore"),
    ],
    swiftLanguageModes: [.v6]
)
