import ArgumentParser
import Foundation
import LanyardCore
import LanyardLinux
import LanyardNode


/// Options the server and `add-client` share.
struct ServerPoolOptions: ParsableArguments {
    @Option(help: "File listing the authorized clients ([Client] sections), mode 600. Required.")
    var clients: String?

    @Option(help: "IPv4 address pool, CIDR; the server takes the first host address.")
    var pool: String = "198.51.100.0/24"

    @Option(help: "IPv6 address pool, CIDR (optional).")
    var pool6: String?

    /// The pools, validated.
    func pools() throws -> [AddressPool] {
        try ([pool] + (pool6.map { [$0] } ?? [])).map { text in
            guard let prefix = IPPrefix(text), let pool = AddressPool(prefix) else {
                throw CommandFailure("pool '\(text)' must be a network like 198.51.100.0/24 (at most /30, or /126 for IPv6)")
            }
            return pool
        }
    }

    /// Reads the clients file and gives every client its addresses: fixed ones from its entry,
    /// the rest from the pools in file order (so a client keeps its address across restarts).
    func assign() throws -> (clients: [AuthorizedPeer], addresses: [[IPPrefix]], pools: [AddressPool]) {
        let clients = try required(clients, "clients")
        let text = KeyFiles.exists(clients) ? try KeyFiles.contents(clients, kind: .memberList) : ""
        let list: [AuthorizedPeer]
        do { list = try AuthorizedPeer.parse(text, kind: .client) } catch { throw CommandFailure("\(clients): \(error)") }
        var pools = try pools()
        var holder: [IPPrefix: String] = [:]
        for client in list {
            for a in client.addresses {
                let i = pools.firstIndex(where: { $0.prefix.isIPv6 == a.isIPv6 })
                switch i.map({ pools[$0].reserve(a) }) ?? .outsidePool {
                case nil: holder[a] = client.name
                case .outsidePool:
                    throw CommandFailure("\(clients): client \(client.name)'s Address \(a) is not inside a pool (\(pools.map(\.prefix.description).joined(separator: ", ")))")
                case .serverAddress:
                    throw CommandFailure("\(clients): client \(client.name)'s Address \(a) is the server's own address in the pool; pick another")
                case .alreadyTaken:
                    throw CommandFailure("\(clients): clients \(holder[a] ?? "?") and \(client.name) both have Address \(a); give each its own")
                }
            }
        }
        var addresses: [[IPPrefix]] = []
        for client in list {
            var mine = client.addresses
            for i in pools.indices where !mine.contains(where: { $0.isIPv6 == pools[i].prefix.isIPv6 }) {
                guard let a = pools[i].allocate() else { throw CommandFailure("pool \(pools[i].prefix) is exhausted") }
                mine.append(a)
            }
            addresses.append(mine)
        }
        return (list, addresses, pools)
    }
}

/// `lanyard server`: the routed (L3) VPN server.
struct ServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run a routed VPN server that hands out addresses, routes and NATs (or add or remove a client).",
        discussion: """
        The clients file lists who may connect, in [Client] sections (Name, PublicKey, optional PresharedKey and Address). `lanyard server add-client NAME` adds one and prints its wg-quick configuration; `remove-client` cuts one off. SIGHUP, `lanyard reload NAME` or `systemctl reload` re-read the configuration and the clients file without dropping anyone.
        """,
        subcommands: [ServerAddClientCommand.self, ServerRemoveClientCommand.self])

    @Option(help: "Where to listen: [ADDRESS:]PORT.")
    var listen: String = "51820"

    @Option(help: "File with the server's private key, mode 600. Required.")
    var privateKey: String?

    @OptionGroup var pool: ServerPoolOptions

    @Option(help: "TUN interface name.")
    var interface: String = "lanyard%d"

    @Option(help: "A subnet to offer clients (split tunnel), CIDR; repeatable. With --nat the default route is offered too.")
    var route: [String] = []

    @Flag(help: "Turn on forwarding and masquerade client traffic out of --nat-interface (nftables table of its own, removed on exit).")
    var nat = false

    @Option(help: "Interface for NAT (default: the one of the default route).")
    var natInterface: String?

    @Flag(help: "Let clients reach each other.")
    var clientToClient = false

    @Option(help: "Keepalive interval told to clients, seconds.")
    var keepalive: Int = 2

    @Option(help: "Seconds of silence after which a client is marked down.")
    var silenceTimeout: Int = 6

    @OptionGroup var crypto: CryptoThreadOptions

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        for r in route where IPPrefix(r) == nil { throw ValidationError("--route '\(r)' is not a CIDR prefix") }
        guard keepalive > 0, silenceTimeout > keepalive else { throw ValidationError("--silence-timeout must exceed --keepalive") }
    }

    /// Checks the key, the clients file and the pools without starting anything (`lanyard check`).
    func check() throws -> String {
        let key = try KeyFiles.privateKey(at: try required(privateKey, "private-key"))
        let (clients, _, pools, _) = try readClients()
        _ = try SocketAddress.resolve(listen, defaultHost: "::", passive: true)
        return "server with \(clients.count) clients, pools \(pools.map(\.prefix.description).joined(separator: ", ")), public key \(key.publicKey.base64)"
    }

    func run() throws {
        let logger = try daemon.makeLogger("lanyard.server")
        let key = try KeyFiles.privateKey(at: try required(privateKey, "private-key"))
        let (clients, addresses, pools, configs) = try readClients()
        if clients.isEmpty { logger.warning("\(pool.clients ?? "the clients file") lists no clients yet: add one with `lanyard server add-client NAME`") }
        try runDaemon {
            try requireNetworkAdmin("creating a TUN device")
            let socket = try UDPSocket(bindTo: try SocketAddress.resolve(listen, defaultHost: "::", passive: true))
            let signals = try SignalWatcher()
            let tun = try TunDevice(name: interface, mode: .tun)
            let network = NetworkChanges(logger: logger)
            defer { network.undoAll() }
            try network.configureInterface(tun.name, mtu: 1420, addresses: pools.map(\.serverAddress))
            if nat || clientToClient || !route.isEmpty { try network.enableForwarding() }
            if nat {
                guard let out = natInterface ?? NetworkChanges.defaultRouteInterface() else {
                    throw CommandFailure("--nat needs an interface to send client traffic out of, and this host has no default route: add --nat-interface IFACE (e.g. eth0), or leave out --nat")
                }
                let table = "lanyard_" + (daemon.name ?? tun.name).filter { $0.isLetter || $0.isNumber || $0 == "_" }
                try network.enableMasquerade(table: table, sources: pools.map(\.prefix.description), outInterface: out)
                logger.notice("NAT: client traffic leaves through \(out) (nftables table inet \(table))")
            }
            let control = try ControlServer(path: daemon.controlPath(default: "server-\(tun.name)"))
            let web = try daemon.httpFrontend(logger: logger)
            defer { web?.stop() }
            let hub = PeerHub(directory: WireGuardPeerDirectory(privateKey: key, peers: clients), socket: socket, logger: logger)
            let workers = crypto.makeWorkers()
            defer { workers.stop() }
            hub.useCryptoWorkers(workers)
            let node = ServerNode(settings: ServerSettings(name: daemon.name ?? tun.name, clientToClient: clientToClient,
                                                           keepaliveSeconds: keepalive, silenceSeconds: silenceTimeout),
                                  hub: hub, tun: tun, addresses: addresses, configs: configs, logger: logger)
            // `wg show <interface>` reads the server through WireGuard's userspace API (best effort:
            // that folder is shared by every network namespace, so the name may be taken).
            var apiSources: [EventLoop.Source] = []
            do {
                let api = try ControlServer(path: "\(WireGuardCommand.apiDirectory)/\(tun.name).sock",
                                            directory: WireGuardCommand.apiDirectory, directoryMode: 0o755)
                apiSources.append(.init(fileDescriptor: api.fileDescriptor) { now in
                    api.serveBlankLineTerminated { node.handleWireGuardAPI($0, privateKey: key, listenPort: socket.localAddress.port, now: now) }
                })
            } catch {
                logger.warning("`wg show \(tun.name)` will not work: \(error)")
            }
            let shown = socket.localAddress.description
            logger.notice("server \(tun.name) on UDP \(shown) for \(clients.count) clients; public key \(key.publicKey.base64); \(workers.threads) crypto thread(s)")
            let loop = EventLoop(
                sources: [.init(fileDescriptor: tun.fileDescriptor) { try node.tunReadable(now: $0) },
                          .init(fileDescriptor: socket.fileDescriptor) { try node.receiveAll(now: $0) }] + apiSources,
                signals: signals, control: control, logger: logger,
                tick: { node.housekeeping(now: $0) },
                reload: {
                    reloadConfiguration(ServerCommand.self, memberKey: "clients", logger: logger) { fresh in
                        // Pools, routes and NAT stay as they started (the interface and the NAT
                        // rule were made for them); only the clients file is taken from the new file.
                        var running = self
                        running.pool.clients = fresh.pool.clients
                        let (clients, addresses, _, configs) = try running.readClients()
                        return node.apply(clients: clients, addresses: addresses, configs: configs)
                    }
                },
                requests: web?.requests,
                metricsText: { loop in
                    let now = monotonicNanoseconds(), status = node.status(now: monotonicNanoseconds(), listen: shown, publicKey: key.publicKey.base64, scope: .ports)
                    return { MetricsExposition.render(status, loop: loop, now: now) }
                },
                summary: { node.summary() },
                status: { encodeStatus(node.status(now: monotonicNanoseconds(), listen: shown, publicKey: key.publicKey.base64, scope: StatusScope(request: $0))) })
            _ = try loop.run()
            node.sayGoodbye(now: monotonicNanoseconds())
        }
    }

    /// Reads the clients file: who may connect, their addresses, the pools, and each one's config.
    func readClients() throws -> ([AuthorizedPeer], [[IPPrefix]], [AddressPool], [ClientConfig]) {
        let (clients, addresses, pools) = try pool.assign()
        var offered = route.compactMap(IPPrefix.init) + pools.map(\.prefix)
        if nat { offered += pools.map { IPPrefix($0.prefix.isIPv6 ? "::/0" : "0.0.0.0/0")! } }
        let configs = addresses.map { list in
            ClientConfig(addresses: list.map { a in a.withLength(pools.first { $0.prefix.isIPv6 == a.isIPv6 }!.prefix.length) },
                         routes: offered, keepaliveSeconds: keepalive, silenceSeconds: silenceTimeout)
        }
        return (clients, addresses, pools, configs)
    }
}
