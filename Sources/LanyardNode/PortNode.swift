import LanyardCore
import LanyardLinux
import Logging

/// The default TAP MTU. A full frame must cross a 1500-byte underlay unfragmented, even over IPv6:
/// 1500 − 40 (IPv6) − 8 (UDP) − 32 (WireGuard header 16 + tag 16) = 1420 bytes of plaintext,
/// which WireGuard pads to a multiple of 16, so at most 1408. The plaintext is Lanyard's 4-byte
/// header + the 14-byte Ethernet header + a 4-byte 802.1Q tag that a VLAN on the TAP may add +
/// the payload: 1408 − 22 = 1386.
public let defaultTapMTU = 1386

/// A port: frames from a TAP device go to the switch over one WireGuard session, and back.
public final class PortNode {
    let name: String
    let tap: TunDevice
    let hub: HubConnection
    let logger: Logger

    public init(name: String, tap: TunDevice, hub: HubConnection, logger: Logger) {
        self.name = name
        self.tap = tap
        self.hub = hub
        self.logger = logger
    }

    public var isRegistered: Bool { hub.registration.isRegistered }

    /// TAP → switch: reads every frame ready (up to a batch) and sends them encrypted.
    public func tapReadable(now: Nanoseconds) throws(SystemError) {
        let registered = isRegistered
        try tap.readPackets(limit: 64, headroom: LanyardMessage.headerLength) { region in
            guard registered else { return }
            LanyardMessage.writeHeader(.frame, bodyLength: region.count - LanyardMessage.headerLength, into: region)
            hub.seal(UnsafeRawBufferPointer(region), now: now)
        }
        hub.flush()
    }

    /// Switch → TAP.
    public func socketReadable(now: Nanoseconds) throws(SystemError) {
        try hub.receive(now: now) { deliver($0, now: now) }
        try tap.flushWrites()
    }

    private func deliver(_ plaintext: UnsafeRawBufferPointer, now: Nanoseconds) {
        let header: LanyardMessage.Header
        do { header = try LanyardMessage.parse(plaintext) } catch { hub.drops.record(.lanyardMalformed); return }
        let body = UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])
        switch header.kind {
        case .frame:
            try? tap.writeCoalescing(body)
        case .welcome:
            guard let welcome = try? LanyardMessage.Welcome(parsing: body) else { hub.drops.record(.lanyardMalformed); return }
            hub.registration.keepaliveInterval = .seconds(Double(welcome.keepaliveSeconds))
            hub.registration.silenceTimeout = .seconds(Double(welcome.silenceTimeoutSeconds))
            if !isRegistered { logger.notice("registered with switch \(hub.hubAddress) (\(hub.endpoint))") }
            hub.registration.welcomed(now: now)
        case .pong:
            break
        case .bye:
            logger.notice("the switch is shutting down; will register again when it is back")
            hub.registration.hubLeft(now: now)
        case .hello, .ping, .config:
            hub.drops.record(.notAFrame)
        }
    }

    /// Keepalives, silence detection, re-registration.
    public func tick(now: Nanoseconds) { hub.tick(now: now) }

    /// Tells the switch this port is leaving.
    public func sayGoodbye(now: Nanoseconds) { hub.sayGoodbye(now: now) }

    /// A snapshot for `lanyard status`.
    public func status(now: Nanoseconds, publicKey: String, peerPublicKey: String) -> LinkStatus {
        var s = hub.status(kind: "port", name: name, interface: tap.name, now: now, publicKey: publicKey, peerPublicKey: peerPublicKey)
        tap.addDrops(to: &s.drops)
        return s
    }
}
