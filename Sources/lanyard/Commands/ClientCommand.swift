import ArgumentParser
import Foundation
import LanyardCore
import LanyardLinux
import LanyardNode

/// `lanyard client`: connects this host to a Lanyard VPN server.
struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Connect to a Lanyard VPN server: get an address and routes, optionally send all traffic through it.")

    @Option(help: "The server: HOST:PORT. Required.")
    var server: String?

    @Option(help: "The server's public key. Required.")
    var serverKey: String?

    @Option(help: "File with this client's private key, mode 600. Required.")
    var privateKey: String?

    @Option(help: "File with a preshared key (optional).")
    var presharedKey: String?

    @Option(help: "TUN interface name.")
    var interface: String = "lanyard%d"

    @Flag(help: "Send all traffic through the server (the route to the server itself stays on the old path).")
    var defaultRoute = false

    @Option(help: "Seconds to wait for the first connection before giving up.")
    var connectTimeout: Double = 2.5

    @Option(help: "Keepalive interval, seconds.")
    var keepalive: Double = 2

    @Option(help: "Seconds without an answer after which the server counts as gone.")
    var deadTimeout: Double = 6

    @Flag(help: "Exit when the server is gone instead of reconnecting.")
    var exitOnDisconnect = false

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        guard connectTimeout > 0, keepalive > 0, deadTimeout > keepalive else {
            throw ValidationError("timeouts must be positive and --dead-timeout larger than --keepalive")
        }
    }

    /// Checks keys and the server's address without starting anything (`lanyard check`).
    func check() throws -> String {
        let key = try KeyFiles.privateKey(at: try required(privateKey, "private-key"))
        _ = try KeyFiles.publicKey(try required(serverKey, "server-key"), option: "--server-key")
        _ = try presharedKey.map(KeyFiles.presharedKey(at:))
        let server = try required(server, "server")
        _ = try SocketAddress.resolve(server)
        return "client of server \(server), public key \(key.publicKey.base64)"
    }

    func run() throws {
        let logger = try daemon.makeLogger("lanyard.client")
        let key = try KeyFiles.privateKey(at: try required(privateKey, "private-key"))
        let peer = try KeyFiles.publicKey(try required(serverKey, "server-key"), option: "--server-key")
        let psk = try presharedKey.map(KeyFiles.presharedKey(at:))
        let server = try required(server, "server")
        try runDaemon {
            try requireNetworkAdmin("creating a TUN device")
            let endpoint = try SocketAddress.resolve(server)
            let signals = try SignalWatcher()
            let tun = try TunDevice(name: interface, mode: .tun)
            let network = NetworkChanges(logger: logger)
            defer { network.undoAll() }
            let socket = try UDPSocket(toReach: endpoint)
            let control = try ControlServer(path: daemon.controlPath(default: "client-\(tun.name)"))
            let web = try daemon.httpFrontend(logger: logger)
            defer { web?.stop() }
            let name = daemon.name ?? tun.name
            let now = monotonicNanoseconds()
            let hub = HubConnection(
                hubAddress: server, endpoint: endpoint, socket: socket,
                link: WireGuardLink(privateKey: key, peerKey: peer, presharedKey: psk),
                registration: Registration(keepaliveInterval: .seconds(keepalive), silenceTimeout: .seconds(deadTimeout),
                                           initialBackoff: .seconds(0.5), maximumBackoff: .seconds(8), now: now),
                helloBody: Array(name.utf8.prefix(64)), logger: logger)
            let node = ClientNode(settings: ClientSettings(name: name, defaultRoute: defaultRoute,
                                                           connectTimeout: .seconds(connectTimeout), exitOnDisconnect: exitOnDisconnect),
                                  tun: tun, hub: hub, network: network, logger: logger, now: now)
            let loop = EventLoop(
                sources: [.init(fileDescriptor: tun.fileDescriptor) { try node.tunReadable(now: $0) },
                          .init(fileDescriptor: socket.fileDescriptor) { try node.socketReadable(now: $0) }],
                signals: signals, control: control, logger: logger,
                tick: { try node.tick(now: $0) },
                reload: { reloadConfiguration(ClientCommand.self, logger: logger) },
                requests: web?.requests,
                metricsText: { loop in
                    let now = monotonicNanoseconds(), status = node.status(now: monotonicNanoseconds(), publicKey: key.publicKey.base64, peerPublicKey: peer.base64)
                    return { MetricsExposition.render(status, loop: loop, now: now) }
                },
                summary: { node.summary() },
                status: { _ in encodeStatus(node.status(now: monotonicNanoseconds(), publicKey: key.publicKey.base64, peerPublicKey: peer.base64)) })
            do { _ = try loop.run() } catch let stop as ClientStop {
                FileHandle.standardError.write(Data("lanyard: \(stop)\n".utf8))
                throw ExitCode.failure
            }
            node.sayGoodbye(now: monotonicNanoseconds())
        }
    }
}
