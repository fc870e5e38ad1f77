// swift-tools-version:6.1
import PackageDescription

// Coverage-guided fuzzing of Lanyard's parsers and protocol state machines with libFuzzer.
// Like bench/swift, it compiles copies of the main package's libraries (fuzz/run.sh makes them
// with bench/swift/gen-sources.sh into fuzz/.gen, git-ignored) and is built by fuzz/run.sh with
// `-sanitize=fuzzer,address`.
let package = Package(
    name: "LanyardFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    ],
    targets: [
        .target(name: "CLanyardCrypto", path: ".gen/CLanyardCrypto", linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "LanyardCore", dependencies: [.product(name: "HeapModule", package: "swift-collections")],
                path: ".gen/LanyardCore"),
        .target(name: "LanyardWireGuard", dependencies: [
            "CLanyardCrypto", "LanyardCore", .product(name: "Crypto", package: "swift-crypto"),
        ], path: ".gen/LanyardWireGuard"),
        // libFuzzer supplies main(); this file only defines LLVMFuzzerTestOneInput.
        .executableTarget(name: "lanyard-fuzz", dependencies: ["LanyardCore", "LanyardWireGuard"],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ],
    swiftLanguageModes: [.v6]
)
