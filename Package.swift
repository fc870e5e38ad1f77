// swift-tools-version:6.1
import PackageDescription

/// Release builds skip Swift's dynamic exclusivity checks on the per-packet path (they showed up
/// in profiles); debug builds, and so the tests, keep them.
let fast: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Lanyard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lanyard", targets: ["lanyard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The member store: GRDB for SQLite (embedded default), PostgresNIO for PostgreSQL (shared by switches).
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // The management API (and /metrics): an HTTP server on threads of its own.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // TLS for the API on TCP (already built for PostgresNIO's TLS).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // Linux system calls Swift cannot reach directly (ioctl request macros, mmsghdr, signalfd).
        .target(name: "CLanyardLinux"),
        // In-place ChaCha20-Poly1305 on the system libcrypto for the data path (no allocation per packet).
        .target(name: "CLanyardCrypto", linkerSettings: [.linkedLibrary("crypto")]),
        // WireGuard's protocol as a pure state machine: no I/O, time injected.
        .target(name: "LanyardWireGuard", dependencies: [
            "CLanyardCrypto", "LanyardCore",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: fast),
        // Frames, MAC table, forwarding decisions, Lanyard's inner messages, configuration: no I/O.
        .target(name: "LanyardCore", dependencies: [
            .product(name: "HeapModule", package: "swift-collections"),
        ], swiftSettings: fast),
        // Linux I/O: TAP/TUN, UDP sockets with batched calls, interface setup, control socket.
        .target(name: "LanyardLinux", dependencies: [
            "CLanyardLinux", "LanyardCore",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: fast),
        // The event loops that join core, protocol and I/O: switch, port, tunnel.
        .target(name: "LanyardNode", dependencies: [
            "LanyardCore", "LanyardWireGuard", "LanyardLinux",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: fast),
        // Members, invites and operators in a database (SQLite or PostgreSQL) behind one protocol.
        .target(name: "LanyardStore", dependencies: [
            "LanyardCore", "LanyardWireGuard",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "lanyard", dependencies: [
            "LanyardNode", "LanyardCore", "LanyardWireGuard", "LanyardLinux", "LanyardStore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "TOMLKit", package: "TOMLKit"),
        ], linkerSettings: [
            // lld (in every Swift toolchain) for release links: with --static-swift-stdlib, GNU
            // gold prints glibc's link-time warning about mktemp, which the static Foundation
            // references (temporary files for atomic writes); lld prints no such warnings.
            .unsafeFlags(["-use-ld=lld"], .when(configuration: .release)),
        ]),
        .testTarget(name: "LanyardCoreTests", dependencies: ["LanyardCore"], path: "tests/unit/LanyardCoreTests"),
        .testTarget(name: "LanyardWireGuardTests", dependencies: ["LanyardWireGuard"], path: "tests/unit/LanyardWireGuardTests"),
        .testTarget(name: "LanyardLinuxTests", dependencies: ["LanyardLinux", .product(name: "Logging", package: "swift-log")], path: "tests/unit/LanyardLinuxTests"),
        .testTarget(name: "LanyardStoreTests", dependencies: ["LanyardStore", "LanyardWireGuard", "LanyardCore"], path: "tests/unit/LanyardStoreTests"),
        .testTarget(name: "LanyardNodeTests", dependencies: ["LanyardNode", "LanyardCore", "LanyardWireGuard"], path: "tests/unit/LanyardNodeTests"),
    ],
    swiftLanguageModes: [.v6]
)
