import LanyardCore
import LanyardLinux
import Logging

/// Settings of a running switch.
public struct SwitchSettings: Sendable {
    public var name: String
    public var table: MACTable.Configuration
    /// How often ports should send a keepalive (told to them in `welcome`).
    public var keepaliveInterval: Nanoseconds
    /// A port silent this long is dropped.
    public var silenceTimeout: Nanoseconds

    public init(name: String, table: MACTable.Configuration = .init(),
                keepaliveInterval: Nanoseconds = .seconds(5), silenceTimeout: Nanoseconds = .seconds(15)) {
        self.name = name
        self.table = table
        self.keepaliveInterval = keepaliveInterval
        self.silenceTimeout = silenceTimeout
    }
}

/// The virtual switch: Lanyard messages from ports (on a `PeerHub`) go through the `SwitchFabric`,
/// and each copy out is encrypted on the destination port's session. One thread, one socket.
public final class SwitchNode {
    let settings: SwitchSettings
    let hub: PeerHub
    let logger: Logger
    var fabric: SwitchFabric
    let welcome: [UInt8]

    public init(settings: SwitchSettings, hub: PeerHub, pins: [(MACAddress, PortID)], logger: Logger) {
        self.settings = settings
        self.hub = hub
        self.logger = logger
        fabric = SwitchFabric(table: MACTable(configuration: settings.table))
        for (mac, port) in pins { fabric.pin(mac, to: port) }
        welcome = LanyardMessage.encode(.welcome, body: LanyardMessage.Welcome(
            keepaliveSeconds: UInt16(clamping: settings.keepaliveInterval / 1_000_000_000),
            silenceTimeoutSeconds: UInt16(clamping: settings.silenceTimeout / 1_000_000_000)).bytes)
    }

    /// Handles everything readable on the socket now, then sends what it produced.
    public func receiveAll(now: Nanoseconds) throws(SystemError) {
        try hub.receiveAll(now: now) { deliver($0, from: $1, now: now) }
    }

    /// Timers: keepalives, retries, silence, MAC aging. Call often (every few hundred ms).
    public func housekeeping(now: Nanoseconds) {
        hub.housekeeping(now: now, silenceTimeout: settings.silenceTimeout) { fabric.removePort($0) }
        fabric.expire(now: now)
    }

    private func deliver(_ plaintext: UnsafeRawBufferPointer, from id: PortID, now: Nanoseconds) {
        let header: LanyardMessage.Header
        do { header = try LanyardMessage.parse(plaintext) } catch { hub.drops.record(.lanyardMalformed); return }
        switch header.kind {
        case .frame:
            guard hub.peers[Int(id)].isUp else { hub.drops.record(.portNotRegistered); return }
            let frame = UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])
            // Re-encrypt the Lanyard message as it came, trimmed of padding: no copy of the frame.
            let message = UnsafeRawBufferPointer(rebasing: plaintext[0..<header.bodyRange.upperBound])
            switch fabric.decide(frame: frame, ingress: id, now: now) {
            case .drop: return
            case .unicast(let out):
                if hub.peers[Int(out)].isUp { hub.send(message, to: out, now: now) }
            case .flood:
                for out in hub.peers.indices where out != Int(id) && hub.peers[out].isUp {
                    hub.send(message, to: PortID(out), now: now)
                }
            }
        case .hello:
            hub.markUp(id, now: now)
            welcome.withUnsafeBytes { hub.send($0, to: id, now: now) }
        case .ping:
            hub.markUp(id, now: now)
            LanyardMessage.encode(.pong, body: Array(plaintext[header.bodyRange])).withUnsafeBytes { hub.send($0, to: id, now: now) }
        case .bye:
            logger.info("port \(hub.name(of: id)) left")
            hub.markDown(id)
            fabric.removePort(id)
        case .welcome, .pong, .config:
            hub.drops.record(.notAFrame)
        }
    }

    /// Tells every registered port that the switch is going away, so they re-register at once.
    public func sayGoodbye(now: Nanoseconds) { hub.sayGoodbye(now: now) }

    /// A snapshot of ports, MAC table and drop counters.
    public func status(now: Nanoseconds, listen: String, publicKey: String) -> SwitchStatus {
        var macsByPort: [PortID: Int] = [:]
        let table = fabric.table.snapshot()
        for (_, entry) in table { macsByPort[entry.port, default: 0] += 1 }
        let macs = table.map { mac, entry in
            SwitchStatus.MACEntry(mac: mac.description, port: hub.name(of: entry.port), ageSeconds: seconds(now &- entry.lastSeen))
        }
        return SwitchStatus(name: settings.name, listen: listen, publicKey: publicKey,
                            ports: hub.statusRows(now: now) { macsByPort[$0, default: 0] }, macTable: macs,
                            datagramDrops: countsByName(hub.drops.nonZero),
                            frameDrops: countsByName(fabric.drops.nonZero))
    }
}
