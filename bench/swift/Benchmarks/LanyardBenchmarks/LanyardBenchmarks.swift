import BenchSupport
import Benchmark
import LanyardCore
import LanyardWireGuard

/// Microbenchmarks of Lanyard's hot paths: transport seal/open, the switch's forwarding decision,
/// the replay window and a full handshake. Run with
/// `swift package --allow-writing-to-package-directory benchmark` in bench/swift.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000)

    // Cryptokey routing: 500 peers with 10 IPv4 prefixes each (5,000 prefixes of /16 to /32),
    // looked up for random destinations, as `lanyard wireguard` does for every packet.
    Benchmark("AllowedIPs lookup, 500 peers x 10 prefixes") { benchmark in
        var rng = SystemRandomNumberGenerator()
        var table = AllowedIPs()
        var inserted: [UInt32] = []
        for peer in 0..<500 as Range<UInt32> {
            for _ in 0..<10 {
                let a = UInt32.random(in: 0...UInt32.max, using: &rng)
                inserted.append(a)
                let len = Int.random(in: 16...32, using: &rng)
                table.insert(IPPrefix("\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255)/\(len)")!, for: peer)
            }
        }
        // Half of the destinations inside a prefix (found at depth 16-32), half anywhere.
        let destinations = (0..<4096).map { i in i % 2 == 0 ? inserted[i % inserted.count] : UInt32.random(in: 0...UInt32.max, using: &rng) }
        benchmark.startMeasurement()
        var hits = 0
        for i in benchmark.scaledIterations {
            if table.lookup(ipv4: destinations[i & 4095]) != nil { hits &+= 1 }
        }
        blackHole(hits)
    }

    Benchmark("WireGuard seal 1400 B") { benchmark in
        do {
            let pair = try PeerPair()
            let packet = makePacket()
            benchmark.startMeasurement()
            packet.withUnsafeBytes { plaintext in
                for _ in benchmark.scaledIterations {
                    blackHole(pair.initiator.encapsulate(plaintext: plaintext, into: pair.wire, now: pair.now))
                }
            }
        } catch {
            benchmark.error("setup failed: \(error)")
        }
    }

    Benchmark("WireGuard open 1400 B") { benchmark in
        do {
            let pair = try PeerPair()
            let packet = makePacket()
            // Seal one batch (new counters each) before measuring; opening is what is timed.
            let count = benchmark.scaledIterations.count
            let sealedSize = MessageLayout.transportHeaderSize + MessageLayout.paddedCount(packet.count) + MessageLayout.tagSize
            var sealed = [UInt8](repeating: 0, count: sealedSize * count)
            try packet.withUnsafeBytes { plaintext in
                try sealed.withUnsafeMutableBytes { all in
                    for i in 0..<count {
                        let slot = UnsafeMutableRawBufferPointer(rebasing: all[(i * sealedSize)..<((i + 1) * sealedSize)])
                        guard pair.initiator.encapsulate(plaintext: plaintext, into: slot, now: pair.now) == .writeToNetwork(sealedSize) else {
                            throw FixtureError(description: "seal failed")
                        }
                    }
                }
            }
            var opened = 0
            benchmark.startMeasurement()
            sealed.withUnsafeBytes { all in
                for i in 0..<count {
                    let datagram = UnsafeRawBufferPointer(rebasing: all[(i * sealedSize)..<((i + 1) * sealedSize)])
                    if case .writeToTunnel = pair.responder.decapsulate(datagram: datagram, into: pair.scratch, now: pair.now) {
                        opened += 1
                    }
                }
            }
            benchmark.stopMeasurement()
            if opened != count { benchmark.error("only \(opened) of \(count) packets opened") }
        } catch {
            benchmark.error("setup failed: \(error)")
        }
    }

    Benchmark("SwitchFabric.decide learned unicast") { benchmark in
        var fabric = SwitchFabric()
        let a = MACAddress(rawValue: 0x0200_0000_0001)
        let b = MACAddress(rawValue: 0x0200_0000_0002)
        let toB = makeFrame(from: a, to: b)
        let toA = makeFrame(from: b, to: a)
        var now: Nanoseconds = 1_000_000_000
        // Learn both MACs: a on port 0, b on port 1.
        toB.withUnsafeBytes { _ = fabric.decide(frame: $0, ingress: 0, now: now) }
        toA.withUnsafeBytes { _ = fabric.decide(frame: $0, ingress: 1, now: now) }
        var unicast = 0
        benchmark.startMeasurement()
        toB.withUnsafeBytes { frame in
            for _ in benchmark.scaledIterations {
                now &+= 1_000
                if fabric.decide(frame: frame, ingress: 0, now: now) == .unicast(1) { unicast += 1 }
            }
        }
        benchmark.stopMeasurement()
        if unicast != benchmark.scaledIterations.count { benchmark.error("decide did not return unicast(1)") }
    }

    Benchmark("ReplayWindow accept increasing") { benchmark in
        var window = ReplayWindow()
        var counter: UInt64 = 0
        for _ in benchmark.scaledIterations {
            blackHole(window.accept(counter))
            counter &+= 1
        }
    }

    Benchmark("WireGuard full handshake", configuration: .init(scalingFactor: .one, maxIterations: 2_000)) { benchmark in
        do {
            let pair = try PeerPair()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { try pair.handshake() }
        } catch {
            benchmark.error("handshake failed: \(error)")
        }
    }
}
