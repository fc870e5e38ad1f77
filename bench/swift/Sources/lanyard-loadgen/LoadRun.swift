import Foundation
import Glibc
import LanyardCore
import LanyardWireGuard

/// One run: starts the switch, simulates the ports through the join and the frame phase, and
/// collects the report's rows (metric, value).
struct LoadRun {
    let options: Options
    let poller: Poller
    private(set) var rows: [(String, String)] = []

    init(options: Options, poller: Poller) {
        self.options = options
        self.poller = poller
    }

    /// `lanyard switch` options a run of `ports` ports needs beyond the defaults. None so far:
    /// the MAC table's default cap follows the ports file (4 per port), and the simulated ports
    /// send keepalives at the interval the welcome asks, so the silence timeout never drops one.
    static func switchSettings(ports: Int) -> [String] { [] }

    mutating func run() throws -> [(String, String)] {
        try LoadError.checkNamespace()
        let n = options.ports
        let switchKey = PrivateKey()
        let keys = (0..<n).map { _ in PrivateKey() }
        // The real port is the last member of the ports file.
        let realPortKey = options.realPort ? PrivateKey() : nil
        let port = try PortSockets.freeSwitchPort()
        let settings = Self.switchSettings(ports: n) + (options.switchThreads.map { ["--threads", String($0)] } ?? [])
        let child = try SwitchProcess(binary: options.lanyard, key: switchKey, ports: (keys + [realPortKey].compactMap { $0 }).map(\.publicKey),
                                      port: port, settings: settings)
        defer { child.stop() }
        guard child.waitUntilListening(timeout: 15) else {
            throw LoadError("the switch did not start listening on [\(AddressPlan.switchAddress)]:\(port) within 15 s (see its log above)")
        }
        let rssBefore = child.residentBytes()
        let realPort = try realPortKey.map {
            try RealPort(binary: options.lanyard, key: $0, folder: child.directory, switchKey: switchKey.publicKey, switchPort: port)
        }
        // Runs before the switch stops (defers run in reverse); also on errors and signals.
        defer { for item in realPort?.stop() ?? [] { print("lanyard-loadgen: left behind by the real port: \(item) (removed)") } }
        let sockets = try PortSockets(ports: n)
        let allocator = IndexAllocator()
        let ports = keys.enumerated().map { i, key in
            SimulatedPort(index: i, key: key, switchKey: switchKey.publicKey, allocator: allocator, socket: sockets.descriptor(forPort: i))
        }
        let generator = Generator(ports: ports, switchKey: switchKey.publicKey, allocator: allocator, sockets: sockets,
                                  poller: poller, switchPort: port)
        generator.frameBytes = options.frameBytes
        rows.append(("ports simulated", "\(n)"))
        rows.append(("port addresses / sockets", "\(AddressPlan.text(of: 0)) … \(AddressPlan.text(of: n - 1)), a /64 each; "
                     + "\(sockets.descriptors.count) shared sockets (\(PortSockets.portsPerSocket) ports each)"))
        rows.append(("switch settings", settings.isEmpty ? "defaults" : settings.joined(separator: " ")))
        if let realPort { try awaitRegistration(of: realPort, generator) }

        print("phase 1: \(n) handshakes + hello/welcome against switch pid \(child.pid) on [\(AddressPlan.switchAddress)]:\(port)")
        join(generator, child: child, rssBefore: rssBefore)
        guard !generator.interrupted else { throw LoadError.interrupted }

        generator.learnMACs(broadcast: options.broadcastLearning, settle: options.broadcastLearning ? 2 : 0.3)
        if let realPort {
            try meetRealPort(realPort, generator, child: child)
            return rows
        }
        if options.scenario == .directory {
            print("directory: each pair looks the other up, handshakes through the relay, probes for a direct path")
            meetPartners(generator, child: child)
            guard !generator.interrupted else { throw LoadError.interrupted }
        }
        print("phase 2: frames of \(options.frameBytes) B between port pairs for \(options.seconds) s"
              + (options.scenario == .directory ? " on their direct paths" : "")
              + (options.churn > 0 ? ", \(options.churn) % of the ports leaving and rejoining per second" : ""))
        exchangeFrames(generator, child: child)
        guard !generator.interrupted else { throw LoadError.interrupted }
        return rows
    }

    private mutating func join(_ generator: Generator, child: SwitchProcess, rssBefore: Int?) {
        let n = options.ports
        let timeout = 45 + Double(n) / 1000
        let (start, switchCPU, ownCPU) = Measurements.cpu(switch: child.pid) {
            generator.joinAll(window: options.handshakeWindow, timeout: timeout)
        }
        let counts = generator.join
        let handshakeSeconds = Clock.seconds(from: start, to: counts.lastHandshakeAt)
        let joinSeconds = Clock.seconds(from: start, to: counts.lastRegistrationAt)
        // Let the switch finish what it was doing before reading its memory.
        generator.drain(seconds: 0.3)
        let rssAfter = child.residentBytes()
        rows.append(("handshakes completed", "\(counts.handshakesCompleted) / \(n)"))
        rows.append(("handshakes/s", handshakeSeconds > 0 ? String(format: "%.0f", Double(counts.handshakesCompleted) / handshakeSeconds) : "n/a"))
        rows.append(("registered (welcome received)", "\(counts.registered) / \(n) in \(String(format: "%.2f", joinSeconds)) s"))
        rows.append(("registrations/s", joinSeconds > 0 ? String(format: "%.0f", Double(counts.registered) / joinSeconds) : "n/a"))
        rows.append(("cookie replies / failed ports", "\(counts.cookieReplies) / \(counts.failed)"))
        if let switchCPU, let ownCPU, joinSeconds > 0 {
            rows.append(("CPU in phase 1: switch / generator", Measurements.bottleneck(switchCPU: switchCPU, generatorCPU: ownCPU, seconds: joinSeconds)))
        }
        if let before = rssBefore, let after = rssAfter {
            rows.append(("switch VmRSS before → after", "\(Measurements.megabytes(before)) → \(Measurements.megabytes(after))"))
            let perPort = counts.registered > 0 ? (after - before) / counts.registered : 0
            rows.append(("switch memory per registered port", "\(perPort) B (total \(Measurements.megabytes(after - before)))"))
        } else {
            rows.append(("switch VmRSS", "unreadable"))
        }
    }

    /// The directory scenario's set-up: lookups, rendezvous, handshakes through the relay, probes,
    /// between pairs or (`count` ports) with the real port.
    private mutating func meetPartners(_ generator: Generator, child: SwitchProcess, count: Int? = nil) {
        let relayedBefore = generator.directory.relayedDatagrams
        let askers = generator.askers(count: count ?? options.ports)
        let (start, switchCPU, ownCPU) = Measurements.cpu(switch: child.pid) {
            generator.meet(askers, window: options.handshakeWindow, timeout: 30 + Double(options.ports) / 1000)
        }
        let d = generator.directory
        let answerSeconds = Clock.seconds(from: start, to: d.lastAnswerAt)
        let directSeconds = Clock.seconds(from: start, to: d.lastDirectAt)
        let meetings = count == nil ? "pairs that reached each other directly" : "ports and the real port direct both ways (generator's view)"
        rows.append(("lookups sent / answered (member) / rendezvous received", "\(d.lookupsSent) / \(d.answers) / \(d.rendezvous)"))
        rows.append(("lookups answered/s", answerSeconds > 0 ? String(format: "%.0f", Double(d.answers) / answerSeconds) : "n/a"))
        rows.append(("end-to-end handshakes through the relay / datagrams relayed", "\(d.handshakes) / \(d.relayedDatagrams - relayedBefore)"))
        rows.append((meetings, "\(d.met) / \(askers.count) in \(String(format: "%.2f", directSeconds)) s (\(d.gaveUp) gave up)"))
        if let switchCPU, let ownCPU, directSeconds > 0 {
            rows.append(("CPU while they meet: switch / generator", Measurements.bottleneck(switchCPU: switchCPU, generatorCPU: ownCPU, seconds: directSeconds)))
        }
    }

    /// Waits (at most 15 s, handling signals) until the real port's status says it registered.
    private func awaitRegistration(of realPort: RealPort, _ generator: Generator) throws {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline && realPort.isRunning && !generator.interrupted {
            if realPort.status()?.state == "registered" { return }
            generator.drain(seconds: 0.1)
        }
        if generator.interrupted { throw LoadError.interrupted }
        throw LoadError("the real port (pid \(realPort.pid)) did not register with the switch within 15 s (see its log above)")
    }

    /// `--real-port`: K simulated ports meet the real port; its memory before, and once its status
    /// shows them (read before that status query: answering it costs memory too), per member.
    private mutating func meetRealPort(_ realPort: RealPort, _ generator: Generator, child: SwitchProcess) throws {
        guard let mac = realPort.tapMAC() else { throw LoadError("cannot read the MAC of the real port's TAP device \(realPort.tap)") }
        generator.realPort = (realPort.key.publicKey, MACAddress(rawValue: mac))
        let k = min(options.realPortMembers ?? options.ports, generator.join.registered)
        generator.drain(seconds: 0.5)
        let before = realPort.residentBytes(), tapBefore = realPort.framesToTAP()
        print("real port (pid \(realPort.pid), TAP \(realPort.tap)): \(k) simulated ports look it up, handshake through the relay, probe for a direct path")
        let (cpuBefore, meetStart) = (Measurements.cpuSeconds(pid: realPort.pid), Clock.now())
        meetPartners(generator, child: child, count: k)
        guard !generator.interrupted else { throw LoadError.interrupted }
        if let cpuBefore, let cpuAfter = Measurements.cpuSeconds(pid: realPort.pid) {
            let share = 100 * (cpuAfter - cpuBefore) / Clock.seconds(from: meetStart, to: Clock.now())
            rows.append(("real port's CPU while they meet", String(format: "%.0f %% of one core", share) + (share >= 90 ? " (the limit)" : "")))
        }
        // Until its status shows the K members and every path the generator saw direct (bounded),
        // a second apart, the ports' probes going on.
        var after: Int?, status: RealPort.Status?
        let deadline = Date().addingTimeInterval(10 + Double(k) / 1000)
        repeat {
            generator.drain(seconds: 1)
            after = realPort.residentBytes()
            status = realPort.status()
        } while !generator.interrupted && Date() < deadline
            && (status.map { $0.known < k || $0.direct < generator.directory.met } ?? true)
        guard !generator.interrupted else { throw LoadError.interrupted }
        let afterStatus = realPort.residentBytes()
        let tapAfter = realPort.framesToTAP()
        rows.append(("real port", "`lanyard port` pid \(realPort.pid), TAP \(realPort.tap) \(RealPort.tapAddress), member p\(options.ports) of the switch"))
        guard let status else {
            rows.append(("real port status", "no answer from `lanyard status \(realPort.name) --json`"))
            return
        }
        rows.append(("real port: members known / on a direct path (its status)", "\(status.known) / \(status.direct) (of \(k) ports meeting it)"))
        if let before, let after, let afterStatus {
            rows.append(("real port VmRSS before → after", "\(Measurements.megabytes(before)) → \(Measurements.megabytes(after)) "
                         + "(\(Measurements.megabytes(afterStatus)) after answering the status query)"))
            let perMember = status.known > 0 ? (after - before) / status.known : 0
            rows.append(("real port memory per known member", "\(perMember) B (total \(Measurements.megabytes(after - before)))"))
        } else {
            rows.append(("real port VmRSS", "unreadable"))
        }
        let drops = status.drops.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        rows.append(("real port drops (its status)", drops.isEmpty ? "none" : drops.joined(separator: ", ")))
        let delivered = tapBefore.flatMap { b in tapAfter.map { "\($0 - b)" } } ?? "unreadable"
        rows.append(("frames to the real port on direct paths / written to its TAP", "\(generator.directory.framesToRealPort) / \(delivered)"))
        rows.append(("datagrams the simulated ports refused", "\(generator.traffic.refused)"))
        let leftOver = realPort.stop()
        let exit = realPort.process.terminationStatus
        rows.append(("real port stopped (SIGTERM)", (realPort.process.terminationReason == .exit ? "exit status \(exit)" : "killed by signal \(exit)")
                     + (leftOver.isEmpty ? "; TAP device and files gone" : "; left behind (removed): " + leftOver.joined(separator: ", "))))
    }

    private mutating func exchangeFrames(_ generator: Generator, child: SwitchProcess) {
        let flooded = generator.traffic.otherFramesReceived
        let schedule = options.churn > 0
            ? ChurnSchedule(percent: options.churn, of: generator.pairedPorts.map(\.index), total: options.ports, seconds: options.seconds)
            : .none
        let sentBefore = generator.traffic.framesSent, receivedBefore = generator.traffic.unicastReceived
        let phaseStart = Clock.now()
        let (relayed, switchCPU, ownCPU) = Measurements.cpu(switch: child.pid) {
            generator.exchangeFrames(seconds: options.seconds, window: options.frameWindow, churn: schedule)
        }
        let elapsed = Clock.seconds(from: phaseStart, to: Clock.now())
        // Frames still in flight arrive; rejoins under way finish (bounded).
        generator.drain(seconds: 0.3)
        if options.churn > 0 { generator.awaitRejoins(timeout: 5) }
        let traffic = generator.traffic
        let sent = traffic.framesSent - sentBefore
        let arrived = traffic.unicastReceived - receivedBefore
        let lostPercent = sent > 0 ? 100 * Double(sent - arrived) / Double(sent) : 0
        rows.append(("learning frames flooded to ports", "\(flooded) (\(options.broadcastLearning ? "broadcast" : "self-addressed") learning)"))
        let direct = options.scenario == .directory
        rows.append((direct ? "frames sent / delivered" : "frames sent / relayed", "\(sent) / \(arrived) (\(String(format: "%.1f", lostPercent)) % lost)"))
        if direct { rows.append(("frames on direct paths / through the switch", "\(generator.traffic.framesSentDirect) / \(sent - generator.traffic.framesSentDirect)")) }
        rows.append((direct ? "frames/s delivered port to port" : "frames/s relayed by the switch", String(format: "%.0f", Double(relayed) / elapsed)))
        rows.append((direct ? "frame payload" : "relayed frame payload", String(format: "%.0f Mbit/s", Double(relayed * options.frameBytes * 8) / elapsed / 1e6)))
        if let switchCPU, let ownCPU {
            rows.append(("CPU in phase 2: switch / generator", Measurements.bottleneck(switchCPU: switchCPU, generatorCPU: ownCPU, seconds: elapsed)))
        }
        rows.append(("send failures / refused datagrams", "\(generator.outbox.failures) / \(traffic.refused)"))
        rows.append(("keepalives sent / stray datagrams", "\(traffic.keepalivesSent) / \(traffic.strays)"))
        rows.append(("frames flooded in phase 2 / window stalls", "\(traffic.otherFramesReceived - flooded) / \(traffic.windowStalls)"))
        let lost = generator.framesLost()
        rows.append(("frames lost to ports that never left", "\(lost.stable) (\(lost.stable == 0 ? "pass" : "FAIL"))"))
        if options.churn > 0 { churnRows(generator, lostAfterRejoin: lost.rejoined) }
    }

    private mutating func churnRows(_ generator: Generator, lostAfterRejoin: Int) {
        let churn = generator.churn
        let latencies = churn.rejoinLatencies
        rows.append(("ports churned (bye, then a fresh session)", "\(churn.churned) (\(options.churn) % of \(options.ports) per second for \(options.seconds) s)"))
        rows.append(("rejoined / failed / still joining", "\(latencies.count) / \(churn.rejoinFailed) / \(churn.churned - latencies.count - churn.rejoinFailed)"))
        let median = Measurements.median(latencies).map(Measurements.milliseconds) ?? "n/a"
        let max = latencies.max().map(Measurements.milliseconds) ?? "n/a"
        rows.append(("rejoin latency (initiation sent → welcome): median / max", "\(median) / \(max)"))
        rows.append(("frames lost that were addressed to ports as they left", "\(churn.lostAsLeft)"))
        rows.append(("frames lost to rejoined ports after their rejoin", "\(lostAfterRejoin)"))
        rows.append(("datagrams for sessions already left (refused)", "\(generator.traffic.stale)"))
    }
}
