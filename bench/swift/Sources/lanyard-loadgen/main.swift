import Foundation
import Glibc
import LanyardWireGuard

// lanyard-loadgen: N simulated ports against a real `lanyard switch` on loopback.
// Phase 1: handshakes and hello/welcome; phase 2: frames between pairs of ports.

guard let options = Options.parse(Array(CommandLine.arguments.dropFirst())) else { exit(2) }

/// CPU seconds (user + system) a process has used so far, from /proc/PID/stat.
func cpuSeconds(pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    // Fields after the command name start at field 3; utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// A free UDP port on 127.0.0.1 (bound and released at once).
func freePort() throws -> UInt16 {
    let probe = try UDPEndpoint(remotePort: 0)
    return probe.localPort
}

func megabytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

func run() throws -> [(String, String)] {
    var rows: [(String, String)] = []
    let n = options.ports
    let switchKey = PrivateKey()
    let keys = (0..<n).map { _ in PrivateKey() }
    let port = try freePort()
    let child = try SwitchProcess(binary: options.lanyard, key: switchKey, ports: keys.map(\.publicKey), port: port)
    defer { child.stop() }
    guard child.waitUntilListening(timeout: 15) else {
        throw LoadError("the switch did not start listening on 127.0.0.1:\(port) within 15 s (see its log above)")
    }
    let rssBefore = child.residentBytes()

    let allocator = IndexAllocator()
    let ports = try keys.enumerated().map { i, key in
        try SimulatedPort(index: i, key: key, switchKey: switchKey.publicKey, allocator: allocator, switchPort: port)
    }
    let generator = Generator(ports: ports)

    print("phase 1: \(n) handshakes + hello/welcome against switch pid \(child.pid) on 127.0.0.1:\(port)")
    let joinSwitchCPUBefore = cpuSeconds(pid: child.pid)
    let joinOwnCPUBefore = cpuSeconds(pid: getpid())
    let start = generator.join(window: options.handshakeWindow, timeout: 45)
    let joinSwitchCPU = zip(joinSwitchCPUBefore, cpuSeconds(pid: child.pid)).map { $1 - $0 }
    let joinOwnCPU = zip(joinOwnCPUBefore, cpuSeconds(pid: getpid())).map { $1 - $0 }
    let handshakeSeconds = Clock.seconds(from: start, to: generator.lastHandshakeAt)
    let joinSeconds = Clock.seconds(from: start, to: generator.lastRegistrationAt)
    // Let the switch finish what it was doing before reading its memory.
    generator.drain(seconds: 0.3)
    let rssAfter = child.residentBytes()
    rows.append(("ports simulated", "\(n)"))
    rows.append(("handshakes completed", "\(generator.handshakesCompleted) / \(n)"))
    rows.append(("handshakes/s", handshakeSeconds > 0 ? String(format: "%.0f", Double(generator.handshakesCompleted) / handshakeSeconds) : "n/a"))
    rows.append(("registered (welcome received)", "\(generator.registered) / \(n) in \(String(format: "%.2f", joinSeconds)) s"))
    rows.append(("registrations/s", joinSeconds > 0 ? String(format: "%.0f", Double(generator.registered) / joinSeconds) : "n/a"))
    rows.append(("cookie replies / failed ports", "\(generator.cookieReplies) / \(generator.failed)"))
    if let joinSwitchCPU, let joinOwnCPU, joinSeconds > 0 {
        rows.append(("CPU in phase 1: switch / generator", bottleneck(switchCPU: joinSwitchCPU, generatorCPU: joinOwnCPU, seconds: joinSeconds)))
    }
    if let before = rssBefore, let after = rssAfter {
        rows.append(("switch VmRSS before → after", "\(megabytes(before)) → \(megabytes(after))"))
        let perPort = generator.registered > 0 ? (after - before) / generator.registered : 0
        rows.append(("switch memory per registered port", "\(perPort) B (total \(megabytes(after - before)))"))
    } else {
        rows.append(("switch VmRSS", "unreadable"))
    }

    print("phase 2: frames of \(options.frameBytes) B between port pairs for \(options.seconds) s")
    generator.learnMACs(broadcast: options.broadcastLearning, frameBytes: options.frameBytes,
                        settle: options.broadcastLearning ? 2 : 0.3)
    let flooded = generator.otherFramesReceived
    let sentBefore = generator.framesSent
    let switchCPUBefore = cpuSeconds(pid: child.pid)
    let ownCPUBefore = cpuSeconds(pid: getpid())
    let phaseStart = Clock.now()
    let relayed = generator.exchangeFrames(seconds: options.seconds, frameBytes: options.frameBytes,
                                           window: options.frameWindow)
    let elapsed = Clock.seconds(from: phaseStart, to: Clock.now())
    let switchCPU = zip(switchCPUBefore, cpuSeconds(pid: child.pid)).map { $1 - $0 }
    let ownCPU = zip(ownCPUBefore, cpuSeconds(pid: getpid())).map { $1 - $0 }
    let sent = generator.framesSent - sentBefore
    generator.drain(seconds: 0.3)
    rows.append(("learning frames flooded to ports", "\(flooded) (\(options.broadcastLearning ? "broadcast" : "self-addressed") learning)"))
    rows.append(("frames sent / relayed", "\(sent) / \(relayed) (\(String(format: "%.1f", sent > 0 ? 100 * Double(sent - relayed) / Double(sent) : 0)) % lost)"))
    rows.append(("frames/s relayed by the switch", String(format: "%.0f", Double(relayed) / elapsed)))
    rows.append(("relayed frame payload", String(format: "%.0f Mbit/s", Double(relayed * options.frameBytes * 8) / elapsed / 1e6)))
    if let switchCPU, let ownCPU {
        rows.append(("CPU in phase 2: switch / generator", bottleneck(switchCPU: switchCPU, generatorCPU: ownCPU, seconds: elapsed)))
    }
    rows.append(("send failures / refused datagrams", "\(generator.sendFailures) / \(generator.refused)"))
    return rows
}

/// Each side's CPU as a share of one core, and which one limited the phase: a side above 90% of
/// its core was saturated (both single-threaded); below that, neither was.
func bottleneck(switchCPU: Double, generatorCPU: Double, seconds: Double) -> String {
    let s = 100 * switchCPU / seconds, g = 100 * generatorCPU / seconds
    let limit = s >= 90 && s >= g ? "the switch is the limit" : g >= 90 ? "the generator is the limit" : "neither side saturated"
    return String(format: "%.0f %% / %.0f %% of one core (%@)", s, g, limit)
}

/// `Optional` pair helper: both values or nil.
func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}

do {
    let rows = try run()
    print("\n| metric | value |\n| --- | --- |")
    for (name, value) in rows { print("| \(name) | \(value) |") }
} catch {
    print("lanyard-loadgen: \(error)")
    exit(1)
}
