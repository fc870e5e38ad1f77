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

/// The virtual switch: one UDP socket, one thread, an event loop over batches of datagrams.
///
/// Every datagram is a WireGuard message. Handshakes are screened (unknown keys get no answer),
/// data is decrypted on its port's session, Lanyard messages inside are dispatched, frames go
/// through the `SwitchFabric`, and each copy out is encrypted on the destination port's session.
public final class SwitchNode {
    struct Port {
        let link: SecureLink
        var endpoint: SocketAddress?
        var registered = false
        var connectedAt: Nanoseconds = 0
        var lastHeard: Nanoseconds = 0
        var traffic = TrafficCounters()
    }

    let settings: SwitchSettings
    let security: SwitchSecurity
    let socket: UDPSocket
    let logger: Logger
    var fabric: SwitchFabric
    var ports: [Port]
    var drops = ReasonCounters<DatagramDropReason>()
    let inbound = DatagramBatch(capacity: 64)
    let outbound = DatagramBatch(capacity: 128, bufferSize: 10_240)
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 64)
    private var nextHousekeeping: Nanoseconds = 0
    /// Initiations seen since the last housekeeping pass (4 per second).
    private var recentInitiations = 0
    private var underLoad = false
    /// Above this many initiations per housekeeping pass the switch demands cookies (mac2).
    static let loadThreshold = 64

    public init(settings: SwitchSettings, security: SwitchSecurity, socket: UDPSocket, logger: Logger) {
        self.settings = settings
        self.security = security
        self.socket = socket
        self.logger = logger
        fabric = SwitchFabric(table: MACTable(configuration: settings.table))
        ports = (0..<security.portCount).map { Port(link: security.link(for: PortID($0))) }
        for id in 0..<security.portCount {
            for mac in security.pinnedMACs(of: PortID(id)) { fabric.pin(mac, to: PortID(id)) }
        }
    }

    deinit { scratch.deallocate() }

    /// Handles everything readable on the socket now, then sends what it produced.
    public func receiveAll(now: Nanoseconds) throws(SystemError) {
        for _ in 0..<16 {
            let n = try socket.receive(into: inbound)
            if n == 0 { break }
            for i in 0..<n { handle(datagram: i, now: now) }
            flush()
            if n < inbound.capacity { break }
        }
    }

    /// Timers: keepalives, retries, silence, MAC aging. Call often (every few hundred ms).
    public func housekeeping(now: Nanoseconds) {
        guard now >= nextHousekeeping else { return }
        nextHousekeeping = now + .seconds(0.25)
        let loaded = recentInitiations > Self.loadThreshold
        if loaded != underLoad {
            underLoad = loaded
            security.setUnderLoad(loaded)
            logger.notice(loaded ? "handshake flood: demanding cookies" : "handshake load normal again")
        }
        recentInitiations = 0
        for id in ports.indices where ports[id].endpoint != nil {
            if ports[id].registered && now &- ports[id].lastHeard > settings.silenceTimeout {
                logger.notice("port \(security.identity(of: PortID(id)).name) silent for \(seconds(now &- ports[id].lastHeard)) s: dropped")
                disconnect(PortID(id))
                continue
            }
            drain(PortID(id), now: now)
        }
        fabric.expire(now: now)
        flush()
    }

    private func disconnect(_ id: PortID) {
        ports[Int(id)].registered = false
        fabric.removePort(id)
    }

    // MARK: Receive path

    private func handle(datagram i: Int, now: Nanoseconds) {
        if inbound.isTruncated(i) { drops.record(.oversized); return }
        let bytes = inbound.received(i)
        let type: UInt8
        switch WireMessage.classify(bytes) {
        case .success(let t): type = t
        case .failure(let box): drops.record(box.reason); return
        }
        let port: PortID
        if type == WireMessage.initiation {
            recentInitiations += 1
            let sender = inbound.address(i)
            switch security.screenInitiation(bytes, sender: sender.identityBytes, into: scratch, now: now) {
            case .port(let p): port = p
            case .reply(let n): enqueue(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), to: sender); return
            case .drop(let reason): drops.record(reason); return
            }
        } else {
            guard let p = security.port(owningIndex: WireMessage.receiverIndex(bytes)) else {
                drops.record(.unknownReceiverIndex); return
            }
            port = p
        }
        let link = ports[Int(port)].link
        switch link.open(bytes, into: scratch, now: now) {
        case .none: break
        case .drop(let reason): drops.record(reason); return
        case .send(let n):
            authenticated(port, from: inbound.address(i), bytes: bytes.count, now: now)
            enqueue(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), to: ports[Int(port)].endpoint!)
        case .deliver(let n):
            authenticated(port, from: inbound.address(i), bytes: bytes.count, now: now)
            if n > 0 { deliver(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), from: port, now: now) }
        }
        drain(port, now: now)
    }

    /// An authenticated message arrived: the port's endpoint follows it (roaming, NAT rebinding).
    private func authenticated(_ id: PortID, from address: SocketAddress, bytes: Int, now: Nanoseconds) {
        let index = Int(id)
        if ports[index].endpoint != address {
            if ports[index].endpoint != nil {
                logger.info("port \(security.identity(of: id).name) moved from \(ports[index].endpoint!) to \(address)")
            }
            ports[index].endpoint = address
        }
        ports[index].lastHeard = now
        ports[index].traffic.received(bytes)
    }

    private func deliver(_ plaintext: UnsafeRawBufferPointer, from id: PortID, now: Nanoseconds) {
        let header: LanyardMessage.Header
        do { header = try LanyardMessage.parse(plaintext) } catch { drops.record(.lanyardMalformed); return }
        switch header.kind {
        case .frame:
            guard ports[Int(id)].registered else { drops.record(.portNotRegistered); return }
            let frame = UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])
            // Re-encrypt the Lanyard message as it came, trimmed of padding: no copy of the frame.
            let message = UnsafeRawBufferPointer(rebasing: plaintext[0..<header.bodyRange.upperBound])
            switch fabric.decide(frame: frame, ingress: id, now: now) {
            case .drop: return
            case .unicast(let out):
                if ports[Int(out)].registered { send(message, to: out, now: now) }
            case .flood:
                for out in ports.indices where out != Int(id) && ports[out].registered {
                    send(message, to: PortID(out), now: now)
                }
            }
        case .hello:
            register(id, now: now)
        case .ping:
            if !ports[Int(id)].registered { register(id, now: now) }
            LanyardMessage.encode(.pong, body: Array(plaintext[header.bodyRange])).withUnsafeBytes { send($0, to: id, now: now) }
        case .bye:
            logger.info("port \(security.identity(of: id).name) left")
            disconnect(id)
        case .welcome, .pong:
            drops.record(.notAFrame)
        }
    }

    private func register(_ id: PortID, now: Nanoseconds) {
        let index = Int(id)
        if !ports[index].registered {
            ports[index].registered = true
            ports[index].connectedAt = now
            let who = security.identity(of: id).name
            logger.info("port \(who) registered from \(ports[index].endpoint.map(String.init(describing:)) ?? "?")")
        }
        let welcome = LanyardMessage.Welcome(
            keepaliveSeconds: UInt16(clamping: settings.keepaliveInterval / 1_000_000_000),
            silenceTimeoutSeconds: UInt16(clamping: settings.silenceTimeout / 1_000_000_000))
        LanyardMessage.encode(.welcome, body: welcome.bytes).withUnsafeBytes { send($0, to: id, now: now) }
    }

    // MARK: Send path

    private func send(_ plaintext: UnsafeRawBufferPointer, to id: PortID, now: Nanoseconds) {
        guard let endpoint = ports[Int(id)].endpoint else { return }
        if outbound.isFull { flush() }
        let slot = outbound.count
        switch ports[Int(id)].link.seal(plaintext, into: outbound.buffer(slot), now: now) {
        case .send(let n):
            outbound.prepare(slot, length: n, to: socket.adapt(endpoint))
            outbound.count += 1
            ports[Int(id)].traffic.sent(n)
        case .none, .deliver, .drop: break
        }
    }

    /// Sends whatever the port's link has queued (data held during a handshake, timer messages).
    private func drain(_ id: PortID, now: Nanoseconds) {
        guard let endpoint = ports[Int(id)].endpoint else { return }
        for _ in 0..<64 {
            if outbound.isFull { flush() }
            let slot = outbound.count
            guard case .send(let n) = ports[Int(id)].link.poll(into: outbound.buffer(slot), now: now) else { return }
            outbound.prepare(slot, length: n, to: socket.adapt(endpoint))
            outbound.count += 1
        }
    }

    private func enqueue(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress) {
        if outbound.isFull { flush() }
        let slot = outbound.count
        outbound.buffer(slot).copyMemory(from: bytes)
        outbound.prepare(slot, length: bytes.count, to: socket.adapt(destination))
        outbound.count += 1
    }

    func sendControl(_ plaintext: UnsafeRawBufferPointer, to id: PortID, now: Nanoseconds) { send(plaintext, to: id, now: now) }
    func flushOutbound() { flush() }

    private func flush() {
        guard outbound.count > 0 else { return }
        socket.send(outbound)
        outbound.count = 0
    }
}

extension SwitchNode {
    /// Tells every registered port that the switch is going away, so they start re-registering at once.
    public func sayGoodbye(now: Nanoseconds) {
        let bye = LanyardMessage.encode(.bye)
        bye.withUnsafeBytes { message in
            for id in ports.indices where ports[id].registered { sendControl(message, to: PortID(id), now: now) }
        }
        flushOutbound()
    }
}
