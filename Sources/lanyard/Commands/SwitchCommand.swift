import ArgumentParser
import Foundation
import LanyardCore
import LanyardLinux
import LanyardNode
import LanyardStore
import LanyardWireGuard

/// `lanyard switch`: the encrypted virtual Ethernet switch.
struct SwitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch",
        abstract: "Run a virtual Ethernet switch that authorized ports join over UDP.",
        discussion: """
        The ports file lists who may join, in [Port] sections:
          [Port]
          Name = laptop
          PublicKey = <output of lanyard pubkey>
          PresharedKey = <optional, from lanyard genpsk>
          MACAddress = 02:00:00:00:00:01   # optional, repeatable: MACs only this port may use

        Members live in a database by default (SQLite at /var/lib/lanyard/NAME.db, or PostgreSQL with --database postgres://...), managed with `lanyard member` (add, invite, remove ...) and the management API on /run/lanyard/NAME.api.sock; a ports file (--ports) still works instead, and `lanyard member import FILE` moves one into a database.

        Unicast between two ports goes end to end: direct when a path between them answers, otherwise sealed through this switch's relay, which cannot read it. SIGHUP (or `lanyard reload NAME`, or `systemctl reload`) re-reads the configuration and the ports file: new ports may join, removed ones are cut off, everyone else stays connected. `lanyard switch add-port` and `remove-port` change the ports file and a running switch in one step.
        """,
        subcommands: [SwitchAddPortCommand.self, SwitchRemovePortCommand.self])

    @Option(help: "Where to listen: [ADDRESS:]PORT. IPv6 as [ADDRESS]:PORT. Default: all addresses, IPv4 and IPv6.")
    var listen: String = "51820"

    @Option(help: "File with this switch's private key (from `lanyard genkey`), mode 600. Required.")
    var privateKey: String?

    @Option(help: "File listing the authorized ports, mode 600 (it may hold preshared keys), instead of a member database.")
    var ports: String?

    @Option(help: "The member database: an SQLite file, or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (shared by switches). Default: /var/lib/lanyard/NAME.db, unless --ports is given.")
    var database: String?

    @Option(help: "This switch's public address, HOST:PORT, as members reach it; written into join tokens. Repeatable.")
    var endpoint: [String] = []

    @Option(help: "Serve the network together with the other switches listed in the same PostgreSQL database: this switch's switch-to-switch address, HOST:PORT, as the other switches reach it (written into the database at start).")
    var meshEndpoint: String?

    @Option(help: "Where the switch-to-switch socket listens: [ADDRESS:]PORT (default: all addresses, the port of --mesh-endpoint).")
    var meshListen: String?

    @Option(help: "Also serve the management API on TCP at ADDRESS:PORT (each request needs an operator's bearer token: `lanyard member operator add`). It is always on /run/lanyard/NAME.api.sock, for root.")
    var apiListen: String?

    @Option(help: "The API's TLS certificate (PEM, the chain) for --api-listen; without it the API on TCP is plain HTTP (keep it on a trusted network or behind a proxy).")
    var apiCertificate: String?

    @Option(help: "The private key (PEM, mode 600) of --api-certificate.")
    var apiKey: String?

    @Option(help: "Seconds before an idle MAC address is forgotten.")
    var macAging: Double = 300

    @Option(help: "Most MAC addresses one port may hold.")
    var maxMacsPerPort: Int = 64

    @Option(help: "Most MAC addresses in the table (default: 4 per listed port, at least 8192).")
    var maxMacs: Int?

    @Option(help: "Seconds a MAC must be idle on its port before another port may take it.")
    var macMoveHold: Double = 10

    @Option(help: "Keepalive interval asked of ports, in seconds.")
    var keepalive: Int = 5

    @Option(help: "Seconds of silence after which a port is dropped.")
    var silenceTimeout: Int = 15

    @Flag(help: ArgumentHelp("Carry every frame through the switch (no end-to-end sessions between ports).",
                             discussion: "For operators who must see or filter all traffic at one place; costs the switch a decryption and an encryption per frame and halves throughput."))
    var relayAll = false

    @OptionGroup var crypto: CryptoThreadOptions

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        if ports != nil, database != nil {
            throw ValidationError("give --ports or --database, not both (`lanyard member import FILE` moves a ports file into a database)")
        }
        if (apiCertificate == nil) != (apiKey == nil) { throw ValidationError("--api-certificate and --api-key go together") }
        if apiCertificate != nil, apiListen == nil { throw ValidationError("--api-certificate is for the API on TCP: add --api-listen ADDRESS:PORT") }
        if meshEndpoint != nil, ports != nil {
            throw ValidationError("--mesh-endpoint needs the switches to share a member database (--database postgres://...), not a ports file")
        }
        if meshListen != nil, meshEndpoint == nil { throw ValidationError("--mesh-listen goes with --mesh-endpoint") }
        if meshEndpoint != nil, daemon.name == nil {
            throw ValidationError("--mesh-endpoint needs --name: each switch of a network is listed under a name of its own")
        }
        if let meshEndpoint, (try? SocketAddress.resolve(meshEndpoint)) == nil {
            throw ValidationError("--mesh-endpoint '\(meshEndpoint)' is not HOST:PORT that resolves here")
        }
        if apiListen != nil, ports != nil {
            throw ValidationError("--api-listen serves a member database's API: it does not go with --ports")
        }
        for e in endpoint where (try? SocketAddress.resolve(e)) == nil && !e.contains(":") {
            throw ValidationError("--endpoint '\(e)' is not HOST:PORT")
        }
        guard macAging > 0, maxMacsPerPort > 0, (maxMacs ?? 1) > 0, macMoveHold >= 0 else {
            throw ValidationError("--mac-aging, --max-macs-per-port and --max-macs must be positive")
        }
        guard keepalive > 0, silenceTimeout > keepalive, silenceTimeout < 65536 else {
            throw ValidationError("--silence-timeout must be larger than --keepalive (seconds)")
        }
    }

    /// Checks the key and the ports file without starting anything (`lanyard check`).
    func check() throws -> String {
        let key = try KeyFiles.privateKey(at: try required(privateKey, "private-key"))
        _ = try SocketAddress.resolve(listen, defaultHost: "::", passive: true)
        guard ports != nil else { return "switch with members in \(MemberStores.shown(storeLocation)), public key \(key.publicKey.base64)" }
        let list = try readPorts()
        return "switch with \(list.count) ports, public key \(key.publicKey.base64)"
    }

    func run() throws {
        let logger = try daemon.makeLogger("lanyard.switch")
        let key = try KeyFiles.privateKey(at: try required(privateKey, "private-key"))
        // Signals are blocked (and read from a signalfd) before any thread starts: PostgresNIO's
        // threads, started when the store opens, would otherwise take SIGTERM and end the process
        // at once, leaving its sockets behind.
        let signals: SignalWatcher
        do { signals = try SignalWatcher() } catch { throw CommandFailure("\(error)") }
        let store: (any MemberStore)? = ports == nil ? try MemberStores.open(storeLocation, logger: logger) : nil
        if let store, let meshEndpoint {
            let record = SwitchRecord(name: daemon.name ?? "switch", publicKey: key.publicKey, meshEndpoint: meshEndpoint, endpoints: endpoint)
            do { try store.registerSwitch(record, now: UnixTime.now) } catch {
                throw CommandFailure("cannot list this switch in \(store.location): \(error)")
            }
        }
        let first: MemberList? = try store.map { s in
            do { return try s.current() } catch { throw CommandFailure("cannot read the members from \(s.location): \(error)") }
        }
        let list = try first.map { $0.active.map(AuthorizedPeer.init(member:)) } ?? readPorts()
        try runDaemon {
            let address = try SocketAddress.resolve(listen, defaultHost: "::", passive: true)
            let socket = try UDPSocket(bindTo: address)
            let control = try ControlServer(path: daemon.controlPath(default: "switch"))
            let settings = SwitchSettings(
                name: daemon.name ?? "switch",
                table: .init(agingTime: .seconds(macAging), maxMACsPerPort: maxMacsPerPort,
                             maxEntries: maxMacs ?? max(8192, 4 * list.count), moveHoldTime: .seconds(macMoveHold)),
                keepaliveInterval: .seconds(Double(keepalive)), silenceTimeout: .seconds(Double(silenceTimeout)),
                directPaths: !relayAll)
            let directory = WireGuardPeerDirectory(privateKey: key, peers: list)
            let pins = list.enumerated().flatMap { i, port in port.macs.map { ($0, PortID(i)) } }
            let hub = PeerHub(directory: directory, socket: socket, logger: logger)
            let workers = crypto.makeWorkers()
            defer { workers.stop() }
            hub.useCryptoWorkers(workers)
            let node = SwitchNode(settings: settings, hub: hub, pins: pins, logger: logger)
            let shown = socket.localAddress.description
            var sources: [EventLoop.Source] = [.init(fileDescriptor: socket.fileDescriptor) { try node.receiveAll(now: $0) }]
            if let meshEndpoint, let first {
                let port = try SocketAddress.resolve(meshEndpoint).port
                let meshAddress = try SocketAddress.resolve(meshListen ?? "\(port)", defaultHost: "::", passive: true)
                let mesh = SwitchMesh(privateKey: key, socket: try UDPSocket(bindTo: meshAddress), logger: logger)
                node.useMesh(mesh)
                node.applySwitches(first.switches.map(MeshSwitch.init(record:)), now: monotonicNanoseconds())
                sources.append(.init(fileDescriptor: mesh.fileDescriptor) { try node.meshReadable(now: $0) })
                logger.notice("switch-to-switch socket on \(mesh.localAddress); \(first.switches.count) switch(es) listed")
            }
            var running: RunningStore?
            if let store, let first {
                let r = try RunningStore(store: store, first: first, node: node, io: hub.io, key: key, endpoints: endpoint, logger: logger)
                sources.append(r.source)
                running = r
            }
            defer { running?.stop() }
            let api = running.map {
                (ManagementAPI.Parts(worker: $0.worker, network: settings.name, switchKey: key.publicKey, endpoints: endpoint),
                 unixSocket: "\(ControlServer.directory)/\(settings.name).api.sock", tcp: apiListen)
            }
            let tls = try apiCertificate.map { try HTTPFrontend.tls(certificate: $0, key: try required(apiKey, "api-key")) }
            let web = try daemon.httpFrontend(api: api, tls: tls, logger: logger)
            defer { web?.stop() }
            if list.isEmpty, let ports {
                logger.notice("\(ports) lists no ports yet: add them while the switch runs with `lanyard switch add-port NAME PUBLIC-KEY`")
            } else if list.isEmpty {
                logger.notice("\(store?.location ?? storeLocation) holds no members yet: `lanyard member invite NAME` makes a join token, `lanyard member add NAME KEY` adds one")
            }
            logger.notice("switch \(settings.name) listening on \(shown) for \(list.count) ports; public key \(key.publicKey.base64); \(workers.threads) crypto thread(s)")
            let loop = EventLoop(
                sources: sources,
                signals: signals, control: control, logger: logger,
                tick: { node.housekeeping(now: $0) },
                reload: {
                    if let running { return running.reload() }
                    return reloadConfiguration(SwitchCommand.self, memberKey: "ports", logger: logger) { fresh in
                        node.apply(try fresh.readPorts(), now: monotonicNanoseconds())
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

    /// Where the members live: --database, or the default SQLite file for this instance.
    var storeLocation: String { database ?? MemberStores.defaultDatabase(instance: daemon.name ?? "switch") }

    /// Reads and checks the ports file. An empty one (or only comments) is a network with no
    /// members yet: start the switch first, then add ports live with `lanyard switch add-port`.
    func readPorts() throws -> [AuthorizedPeer] {
        let ports = try required(ports, "ports")
        let list: [AuthorizedPeer]
        do { list = try AuthorizedPeer.parse(try KeyFiles.contents(ports, kind: .memberList)) } catch let error as INIFile.ParseError {
            throw CommandFailure("\(ports): \(error)")
        }
        return list
    }
}
