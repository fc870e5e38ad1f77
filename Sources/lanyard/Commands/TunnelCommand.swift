import ArgumentParser
import Foundation
import LanyardCore
import LanyardLinux
import LanyardNode
import LanyardWireGuard

/// `lanyard tunnel`: a point-to-point or site-to-site tunnel to one peer (Lanyard or stock WireGuard).
struct TunnelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel",
        abstract: "Run a tunnel to one peer over a TUN (IP) or TAP (Ethernet) device.",
        discussion: """
        In TUN mode the peer may be any WireGuard implementation (wg, wireguard-go, the apps). Either side may leave out --endpoint and learn it from the first authenticated packet.
        """)

    @Option(help: "File with this side's private key, mode 600.")
    var privateKey: String

    @Option(help: "The peer's public key.")
    var peerKey: String

    @Option(help: "The peer's HOST:PORT (optional: without it, wait for the peer).")
    var endpoint: String?

    @Option(help: "Local UDP port to listen on ([ADDRESS:]PORT); default: any free port.")
    var listen: String?

    @Option(help: "File with a preshared key (optional).")
    var presharedKey: String?

    @Option(help: "tun (IP packets, WireGuard-compatible) or tap (Ethernet frames, Lanyard on both ends).")
    var mode: String = "tun"

    @Option(help: "Interface name (%d picks a free number).")
    var interface: String = "lanyard%d"

    @Option(help: "Address for the interface, CIDR; repeatable.")
    var address: [String] = []

    @Option(help: "Subnet behind the peer to route into the tunnel, CIDR; repeatable.")
    var route: [String] = []

    @Option(help: "Inner source addresses accepted from the peer, CIDR; repeatable. Routes and the subnets of --address are always included.")
    var allowedIp: [String] = []

    @Option(help: "Send a keepalive every N seconds (to hold NAT mappings open); 0 for none.")
    var persistentKeepalive: Int = 0

    @Option(help: "Interface MTU (default 1420 for tun, \(defaultTapMTU) for tap).")
    var mtu: Int?

    @Flag(help: "Turn on IP forwarding while running (site-to-site gateways); restored on exit.")
    var forwarding = false

    @OptionGroup var crypto: CryptoThreadOptions

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        guard mode == "tun" || mode == "tap" else { throw ValidationError("--mode must be tun or tap") }
        for cidr in address + route + allowedIp where IPPrefix(cidr) == nil {
            throw ValidationError("'\(cidr)' is not an address/prefix like 198.51.100.1/24 or 2001:db8::1/64")
        }
        guard (0...65535).contains(persistentKeepalive) else { throw ValidationError("--persistent-keepalive must be 0...65535") }
        if let mtu, !(576...9000).contains(mtu) { throw ValidationError("--mtu must be between 576 and 9000") }
    }

    func run() throws {
        let logger = try daemon.makeLogger("lanyard.tunnel")
        let key = try KeyFiles.privateKey(at: privateKey)
        let peer = try KeyFiles.publicKey(peerKey, option: "--peer-key")
        let psk = try presharedKey.map(KeyFiles.presharedKey(at:))
        guard peer != key.publicKey else {
            throw ValidationError("--peer-key is this side's own public key: give the other side's (lanyard pubkey < its key file)")
        }
        let allowed = (allowedIp + route + address).compactMap(IPPrefix.init)
        try runDaemon {
            try requireNetworkAdmin("creating a \(mode.uppercased()) device")
            let remote = try endpoint.map { try SocketAddress.resolve($0) }
            let socket: UDPSocket
            if let listen {
                socket = try UDPSocket(bindTo: try SocketAddress.resolve(listen, defaultHost: "::", passive: true))
            } else if let remote {
                socket = try UDPSocket(toReach: remote)
            } else {
                throw SystemError.badAddress("(none)", reason: "give --endpoint, --listen, or both")
            }
            let signals = try SignalWatcher()
            let device = try TunDevice(name: interface, mode: mode == "tap" ? .tap : .tun)
            let network = NetworkChanges(logger: logger)
            defer { network.undoAll() }
            try network.configureInterface(device.name, mtu: mtu ?? (mode == "tap" ? defaultTapMTU : 1420), addresses: address)
            for r in route { try network.apply(["ip", "route", "add", r, "dev", device.name], undo: nil) }
            if forwarding { try network.enableForwarding() }
            let control = try ControlServer(path: daemon.controlPath(default: "tunnel-\(device.name)"))
            let web = try daemon.httpFrontend(logger: logger)
            defer { web?.stop() }
            let workers = crypto.makeWorkers()
            defer { workers.stop() }
            let name = daemon.name ?? device.name
            // The tunnel is the drop-in's data path with one peer, configured as `wg set` would.
            let node = WireGuardDevice(name: name, tun: device, socket: socket, role: .tunnel, workers: workers, logger: logger)
            var request = UAPI.SetRequest()
            request.privateKey = .some(key)
            var change = UAPI.PeerChange(publicKey: peer)
            change.presharedKey = psk.map { .some($0) }
            change.endpoint = remote?.description
            change.persistentKeepalive = UInt16(persistentKeepalive)
            change.allowedIPs = allowed
            request.peers = [change]
            try node.apply(request, now: monotonicNanoseconds(), resolved: remote.map { [peer: $0] } ?? [:])
            logger.notice("tunnel \(device.name) (\(mode)) on UDP \(socket.localAddress); public key \(key.publicKey.base64); \(workers.threads) crypto thread(s)")
            if remote == nil { logger.info("no endpoint given: waiting for the peer to connect") }
            node.connect(now: monotonicNanoseconds())
            let loop = EventLoop(
                sources: [.init(fileDescriptor: device.fileDescriptor) { try node.tunReadable(now: $0) },
                          .init(fileDescriptor: socket.fileDescriptor) { try node.socketReadable(now: $0) }],
                signals: signals, control: control, logger: logger,
                tick: { node.tick(now: $0) },
                requests: web?.requests,
                metricsText: { loop in
                    let now = monotonicNanoseconds(), status = node.status(now: monotonicNanoseconds())
                    return { MetricsExposition.render(status, loop: loop, now: now) }
                },
                status: { _ in encodeStatus(node.status(now: monotonicNanoseconds())) })
            _ = try loop.run()
        }
    }
}
