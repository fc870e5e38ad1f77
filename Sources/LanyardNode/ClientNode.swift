import LanyardCore
import LanyardLinux
import Logging

/// Settings of a VPN client.
public struct ClientSettings: Sendable {
    public var name: String
    /// Send all traffic through the tunnel (if the server offers the default route).
    public var defaultRoute: Bool
    /// Give up if the first connection is not up within this time.
    public var connectTimeout: Nanoseconds
    /// Exit instead of reconnecting when the server falls silent.
    public var exitOnDisconnect: Bool

    public init(name: String, defaultRoute: Bool, connectTimeout: Nanoseconds, exitOnDisconnect: Bool) {
        self.name = name
        self.defaultRoute = defaultRoute
        self.connectTimeout = connectTimeout
        self.exitOnDisconnect = exitOnDisconnect
    }
}

/// Why a client stops on its own.
public enum ClientStop: Error, CustomStringConvertible, Sendable {
    case connectTimeout(server: String, seconds: Double)
    case disconnected(server: String)
    case badConfig(String)

    public var description: String {
        switch self {
        case .connectTimeout(let s, let t):
            "could not connect to \(s) within \(t) s: is the server running, is its UDP port open, and is --server-key its public key (and is this client in its clients file)?"
        case .disconnected(let s): "lost the connection to \(s) (--exit-on-disconnect)"
        case .badConfig(let why): "the server sent an unusable configuration: \(why)"
        }
    }
}

/// The routed VPN client: a TUN device whose packets go to the server over one session. Its
/// addresses and routes come from the server's `config`; `NetworkChanges` undoes every change.
public final class ClientNode {
    let settings: ClientSettings
    let tun: TunDevice
    let hub: HubConnection
    let network: NetworkChanges
    let logger: Logger
    let startedAt: Nanoseconds
    private(set) var config: ClientConfig?
    /// Inner sources the server may send from (its routes); empty until its config arrives.
    private var allowedSources = AllowedIPs()

    public init(settings: ClientSettings, tun: TunDevice, hub: HubConnection, network: NetworkChanges, logger: Logger, now: Nanoseconds) {
        self.settings = settings
        self.tun = tun
        self.hub = hub
        self.network = network
        self.logger = logger
        startedAt = now
    }

    /// TUN → server.
    public func tunReadable(now: Nanoseconds) throws(SystemError) {
        let registered = hub.registration.isRegistered
        try tun.readPackets(limit: 64, headroom: 0) { packet in
            if registered { hub.seal(UnsafeRawBufferPointer(packet), now: now) }
        }
        hub.flush()
    }

    /// Server → TUN.
    public func socketReadable(now: Nanoseconds) throws {
        var failure: Error?
        try hub.receive(now: now) { plaintext in
            do { try deliver(plaintext, now: now) } catch { failure = error }
        }
        try tun.flushWrites()
        if let failure { throw failure }
    }

    private func deliver(_ plaintext: UnsafeRawBufferPointer, now: Nanoseconds) throws {
        if IPPacket.version(plaintext) != nil {
            guard let length = IPPacket.length(plaintext) else { hub.drops.record(.notAnIPPacket); return }
            let packet = UnsafeRawBufferPointer(rebasing: plaintext[0..<length])
            // Only from what the server routes for us (nothing before its config arrived).
            guard allowedSources.lookup(sourceOf: packet) != nil else { hub.drops.record(.sourceNotAllowed); return }
            try? tun.writeCoalescing(packet)
            return
        }
        guard let header = try? LanyardMessage.parse(plaintext) else { hub.drops.record(.lanyardMalformed); return }
        let body = UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])
        switch header.kind {
        case .config:
            let received: ClientConfig
            do { received = try ClientConfig(parsing: body) } catch { throw ClientStop.badConfig(error.description) }
            if config == nil {
                try apply(received)
                config = received
                allowedSources = received.allowedSources
            } else if received != config {
                logger.warning("the server now sends a different configuration; keeping the one in place (restart the client to take it)")
            }
            if !hub.registration.isRegistered { logger.notice("connected to \(hub.hubAddress)") }
            hub.registration.welcomed(now: now)
        case .pong: break
        case .bye:
            logger.notice("the server is shutting down; reconnecting when it is back")
            hub.registration.hubLeft(now: now)
        case .frame, .hello, .welcome, .ping, .switchedFrame, .lookup, .member, .memberGone, .endpoints, .vouch, .roster, .meshIntroduce, .meshFrame, .meshHello:
            hub.drops.record(.notAFrame)
        }
    }

    /// Puts the server's addresses and routes in place.
    private func apply(_ config: ClientConfig) throws {
        try network.configureInterface(tun.name, mtu: 1420, addresses: config.addresses)
        let offersDefault = config.routes.contains { $0.length == 0 }
        for route in config.routes where route.length > 0 {
            try network.apply(["ip", "route", "replace", route.description, "dev", tun.name], undo: nil)
        }
        if settings.defaultRoute {
            guard offersDefault else {
                logger.warning("--default-route given, but the server does not offer to carry all traffic; only its routes are used")
                return
            }
            // Keep the server itself on the old path, then cover everything with two halves so the
            // original default route is never touched (nothing to restore if we die).
            try network.pinHostRoute(to: hub.endpoint)
            for route in config.routes where route.length == 0 {
                let halves = route.isIPv6 ? ["::/1", "8000::/1"] : ["0.0.0.0/1", "128.0.0.0/1"]
                for half in halves { try network.apply(["ip", "route", "replace", half, "dev", tun.name], undo: nil) }
            }
            logger.notice("all traffic now goes through \(tun.name)")
        }
        logger.notice("\(tun.name): \(config.addresses.joined(separator: ", ")); routes \(config.routes.map(\.description).joined(separator: ", "))")
    }

    /// Timers; throws `ClientStop` when the client must stop.
    public func tick(now: Nanoseconds) throws {
        if config == nil && now &- startedAt > settings.connectTimeout {
            throw ClientStop.connectTimeout(server: hub.hubAddress, seconds: Double(settings.connectTimeout) / 1e9)
        }
        if case .lostHub = hub.tick(now: now), settings.exitOnDisconnect {
            throw ClientStop.disconnected(server: hub.hubAddress)
        }
    }

    public func sayGoodbye(now: Nanoseconds) { hub.sayGoodbye(now: now) }

    /// One line for systemd's status.
    public func summary() -> String { hub.registration.isRegistered ? "connected to the server" : "connecting to the server" }

    public func status(now: Nanoseconds, publicKey: String, peerPublicKey: String) -> LinkStatus {
        var s = hub.status(kind: "client", name: settings.name, interface: tun.name, now: now, publicKey: publicKey, peerPublicKey: peerPublicKey)
        tun.addDrops(to: &s.drops)
        return s
    }
}
