import ArgumentParser
import Foundation
import LanyardCore
import LanyardLinux
import LanyardNode
import LanyardWireGuard

/// `lanyard port`: joins this host to a switch through a TAP device.
struct PortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "port",
        abstract: "Connect a TAP interface on this host to a Lanyard switch.")

    @Option(help: "A join token from `lanyard member invite`: the port makes its own key, joins, and keeps both in --state-directory (a restart does not join again). Replaces --switch, --switch-key and --private-key.")
    var join: String?

    @Option(help: "Where a port that joined with a token keeps its key and membership (default: /var/lib/lanyard/port-NAME, NAME its --name or 'port').")
    var stateDirectory: String?

    @Option(help: "Seconds --join waits for an answer, and for an operator's approval when the invite needs one.")
    var joinWait: Double = 60

    @Option(help: "The switch: HOST:PORT (a name, an IPv4 address, or [IPv6]:PORT). Required without --join. Repeat it (with --switch-key, in the same order) for several switches of one network: the port registers with the first that answers and moves to the next when its switch falls silent.")
    var `switch`: [String] = []

    @Option(help: "The switch's public key; one per --switch, in the same order. Required without --join.")
    var switchKey: [String] = []

    @Option(help: "File with this port's private key, mode 600. Required.")
    var privateKey: String?

    @Option(help: "File with a preshared key shared with the switch (optional).")
    var presharedKey: String?

    @Option(help: "TAP interface name (%d picks a free number).")
    var tap: String = "lanyard%d"

    @Option(help: "Address to put on the interface, CIDR; repeat for more (IPv4 or IPv6).")
    var address: [String] = []

    @Option(help: "Interface MTU (default \(defaultTapMTU): a full frame crosses a 1500-byte path unfragmented).")
    var mtu: Int = defaultTapMTU

    @Option(help: "The TAP's MAC address: 'stable' (default: derived from the port's public key, so it survives restarts and the other members' ARP caches stay right), 'random' (the kernel's choice), or an address such as 02:00:5e:00:53:01.")
    var mac: String = "stable"

    @Flag(help: "Leave the interface down and unconfigured (configure it yourself).")
    var noConfigure = false

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        if join != nil, !self.switch.isEmpty || !switchKey.isEmpty || privateKey != nil {
            throw ValidationError("--join brings the switch's address and key, and makes this port's key: leave out --switch, --switch-key and --private-key")
        }
        if join == nil, self.switch.count != switchKey.count {
            throw ValidationError("give one --switch-key per --switch, in the same order (\(self.switch.count) switches, \(switchKey.count) keys)")
        }
        guard joinWait > 0, joinWait <= 86400 else { throw ValidationError("--join-wait must be between 1 and 86400 seconds") }
        guard (576...9000).contains(mtu) else { throw ValidationError("--mtu must be between 576 and 9000") }
        if mac != "stable", mac != "random" {
            guard let m = MACAddress(mac), !m.isMulticast, !m.isZero else {
                throw ValidationError("--mac '\(mac)' must be 'stable', 'random' or a unicast address such as 02:00:5e:00:53:01")
            }
        }
        for a in address where !a.contains("/") {
            throw ValidationError("--address '\(a)' needs a prefix length, e.g. 198.51.100.10/24")
        }
    }

    /// Checks keys and the switch's address without starting anything (`lanyard check`).
    func check() throws -> String {
        if let join {
            do { _ = try JoinToken(parsing: join) } catch { throw CommandFailure("--join: \(error)") }
            return "port joining with a token; state in \(joinFolder)"
        }
        let key = try KeyFiles.privateKey(at: try required(privateKey, "private-key"))
        for k in switchKey { _ = try KeyFiles.publicKey(k, option: "--switch-key") }
        _ = try presharedKey.map(KeyFiles.presharedKey(at:))
        _ = try required(self.switch.first, "switch")
        for s in self.switch { _ = try SocketAddress.resolve(s) }
        return "port of switch \(self.switch.joined(separator: ", ")), public key \(key.publicKey.base64)"
    }

    /// Where a port that joins with a token keeps its key and membership.
    var joinFolder: String { stateDirectory ?? "/var/lib/lanyard/port-\(daemon.name ?? "port")" }

    static func hostname() -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let name = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        return name.split(separator: ".").first.map { String($0.prefix(63)) } ?? ""
    }

    func run() throws {
        let logger = try daemon.makeLogger("lanyard.port")
        let key: PrivateKey, peer: PublicKey, hubAddress: String
        var otherSwitches: [(address: String, key: PublicKey)] = []
        if let join {
            let joined = try Joiner(folder: joinFolder, logger: logger).join(join, hostname: daemon.name ?? Self.hostname(), maxWait: joinWait)
            (key, peer, hubAddress) = (joined.key, joined.switchKey, joined.endpoints[0])
            // The switch's other addresses (from the token or its answer): tried in turn when one is silent.
            otherSwitches = joined.endpoints.dropFirst().map { (address: $0, key: joined.switchKey) }
        } else {
            key = try KeyFiles.privateKey(at: try required(privateKey, "private-key"))
            let keys = try switchKey.map { try KeyFiles.publicKey($0, option: "--switch-key") }
            peer = try required(keys.first, "switch-key")
            hubAddress = try required(self.switch.first, "switch")
            otherSwitches = Array(zip(self.switch, keys).dropFirst()).map { (address: $0.0, key: $0.1) }
        }
        let psk = try presharedKey.map(KeyFiles.presharedKey(at:))
        try runDaemon {
            try requireNetworkAdmin("creating a TAP device")
            let endpoint = try SocketAddress.resolve(hubAddress)
            let signals = try SignalWatcher()
            let device = try TunDevice(name: tap, mode: .tap)
            let network = NetworkChanges(logger: logger)
            defer { network.undoAll() }
            if !noConfigure {
                let hardware = mac == "random" ? nil : (mac == "stable" ? MACAddress.stable(forPublicKey: key.publicKey.rawValue).description : mac)
                try network.configureInterface(device.name, mtu: mtu, hardwareAddress: hardware, addresses: address)
            }
            let socket = try UDPSocket(toReach: endpoint)
            let control = try ControlServer(path: daemon.controlPath(default: "port-\(device.name)"))
            let web = try daemon.httpFrontend(logger: logger)
            defer { web?.stop() }
            let link = WireGuardLink(privateKey: key, peerKey: peer, presharedKey: psk)
            let name = daemon.name ?? device.name
            let io = BatchedSocket(socket)
            let hub = HubConnection(hubAddress: hubAddress, endpoint: endpoint, io: io, link: link,
                                    registration: Registration(now: monotonicNanoseconds()),
                                    helloBody: Array(name.utf8.prefix(64)), logger: logger, publicKey: peer.base64,
                                    others: otherSwitches.map {
                                        .init(address: $0.address, link: WireGuardLink(privateKey: key, peerKey: $0.key, presharedKey: psk),
                                              publicKey: $0.key.base64)
                                    })
            // End-to-end sessions with other members: only those the switch introduces get in.
            let members = PeerHub(directory: WireGuardPeerDirectory(privateKey: key, peers: []), io: io,
                                  followsRoaming: false, logger: logger)
            let node = PortNode(name: name, tap: device, hub: hub, members: members, publicKey: key.publicKey, logger: logger)
            // The socket's port is ephemeral: it may move when nothing at all answers any more.
            hub.mayRebind = { [unowned node] in node.hearsNothingDirect(now: monotonicNanoseconds()) }
            logger.notice("port \(device.name) up; switch \(hubAddress); public key \(key.publicKey.base64)")
            let loop = EventLoop(
                sources: [.init(fileDescriptor: device.fileDescriptor) { try node.tapReadable(now: $0) },
                          .init(fileDescriptor: socket.fileDescriptor) { try node.socketReadable(now: $0) }],
                signals: signals, control: control, logger: logger,
                tick: { node.tick(now: $0) },
                reload: { reloadConfiguration(PortCommand.self, logger: logger) },
                requests: web?.requests,
                metricsText: { loop in
                    let now = monotonicNanoseconds(), status = node.status(now: monotonicNanoseconds(), publicKey: key.publicKey.base64, peerPublicKey: hub.currentHubKey)
                    return { MetricsExposition.render(status, loop: loop, now: now) }
                },
                summary: { node.summary() },
                status: { encodeStatus(node.status(now: monotonicNanoseconds(), publicKey: key.publicKey.base64, peerPublicKey: hub.currentHubKey, scope: StatusScope(request: $0))) })
            _ = try loop.run()
            node.sayGoodbye(now: monotonicNanoseconds())
            logger.notice("port \(device.name) stopped; interface removed")
        }
    }
}
