import LanyardCore
import LanyardLinux
import Logging

/// The default TAP MTU. A full frame must cross a 1500-byte underlay unfragmented, even over IPv6:
/// 1500 − 40 (IPv6) − 8 (UDP) − 32 (WireGuard header 16 + tag 16) = 1420 bytes of plaintext,
/// which WireGuard pads to a multiple of 16, so at most 1408. The plaintext is Lanyard's 4-byte
/// header + the 14-byte Ethernet header + a 4-byte 802.1Q tag that a VLAN on the TAP may add +
/// the payload: 1408 − 22 = 1386.
public let defaultTapMTU = 1386

/// Settings of a port.
public struct PortSettings: Sendable {
    public var name: String
    public var switchAddress: String
    /// First re-registration delay; doubles up to `maximumBackoff`.
    public var initialBackoff: Nanoseconds = .seconds(1)
    public var maximumBackoff: Nanoseconds = .seconds(16)

    public init(name: String, switchAddress: String) {
        self.name = name
        self.switchAddress = switchAddress
    }
}

/// A port: frames from a TAP device go to the switch over one WireGuard session, and back.
public final class PortNode {
    enum State: Equatable {
        /// Handshaking / waiting for `welcome`; `attempt` counts tries since the last success.
        case connecting(attempt: Int, nextTry: Nanoseconds)
        case registered
    }

    let settings: PortSettings
    let tap: TunDevice
    let socket: UDPSocket
    let link: SecureLink
    let logger: Logger
    var switchEndpoint: SocketAddress
    var state: State = .connecting(attempt: 0, nextTry: 0)
    var keepaliveInterval: Nanoseconds = .seconds(5)
    var silenceTimeout: Nanoseconds = .seconds(15)
    var lastHeard: Nanoseconds = 0
    var lastPing: Nanoseconds = 0
    var pingSequence: UInt64 = 0
    var helloSentForHandshake: Nanoseconds?
    var traffic = TrafficCounters()
    var drops = ReasonCounters<DatagramDropReason>()
    let inbound = DatagramBatch(capacity: 64)
    let outbound = DatagramBatch(capacity: 64, bufferSize: 10_240)
    let frameBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 64)
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 64)

    public init(settings: PortSettings, tap: TunDevice, socket: UDPSocket, switchEndpoint: SocketAddress,
                link: SecureLink, logger: Logger) {
        self.settings = settings
        self.tap = tap
        self.socket = socket
        self.switchEndpoint = socket.adapt(switchEndpoint)
        self.link = link
        self.logger = logger
    }

    deinit {
        frameBuffer.deallocate()
        scratch.deallocate()
    }

    public var isRegistered: Bool { state == .registered }

    // MARK: TAP → switch

    /// Reads every frame the TAP has ready (up to a batch) and sends them encrypted.
    public func tapReadable(now: Nanoseconds) throws(SystemError) {
        let room = UnsafeMutableRawBufferPointer(rebasing: frameBuffer[LanyardMessage.headerLength...])
        for _ in 0..<outbound.capacity {
            guard let n = try tap.read(into: room) else { break }
            guard state == .registered else { continue }
            LanyardMessage.writeHeader(.frame, bodyLength: n, into: frameBuffer)
            seal(UnsafeRawBufferPointer(rebasing: frameBuffer[0..<(LanyardMessage.headerLength + n)]), now: now)
        }
        flush()
    }

    // MARK: switch → TAP

    /// Handles every datagram waiting on the socket.
    public func socketReadable(now: Nanoseconds) throws(SystemError) {
        for _ in 0..<16 {
            let n = try socket.receive(into: inbound)
            if n == 0 { break }
            for i in 0..<n { handle(datagram: i, now: now) }
            flush()
            if n < inbound.capacity { break }
        }
    }

    private func handle(datagram i: Int, now: Nanoseconds) {
        if inbound.isTruncated(i) { drops.record(.oversized); return }
        guard inbound.address(i) == switchEndpoint else { drops.record(.unexpectedSender); return }
        let bytes = inbound.received(i)
        if case .failure(let box) = WireMessage.classify(bytes) { drops.record(box.reason); return }
        switch link.open(bytes, into: scratch, now: now) {
        case .none: lastHeard = now
        case .drop(let reason): drops.record(reason)
        case .send(let n):
            lastHeard = now
            enqueue(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
        case .deliver(let n):
            lastHeard = now
            traffic.received(bytes.count)
            if n > 0 { deliver(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), now: now) }
        }
        sendHelloIfNeeded(now: now)
        drain(now: now)
    }

    private func deliver(_ plaintext: UnsafeRawBufferPointer, now: Nanoseconds) {
        let header: LanyardMessage.Header
        do { header = try LanyardMessage.parse(plaintext) } catch { drops.record(.lanyardMalformed); return }
        let body = UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])
        switch header.kind {
        case .frame:
            _ = try? tap.write(body)
        case .welcome:
            guard let welcome = try? LanyardMessage.Welcome(parsing: body) else { drops.record(.lanyardMalformed); return }
            keepaliveInterval = .seconds(Double(welcome.keepaliveSeconds))
            silenceTimeout = .seconds(Double(welcome.silenceTimeoutSeconds))
            if state != .registered {
                logger.notice("registered with switch \(settings.switchAddress) (\(switchEndpoint))")
                state = .registered
            }
        case .pong:
            break
        case .bye:
            logger.notice("the switch is shutting down; will register again when it is back")
            state = .connecting(attempt: 0, nextTry: now + settings.initialBackoff)
        case .hello, .ping:
            drops.record(.notAFrame)
        }
    }

    // MARK: Timers

    /// Keepalives, silence detection and re-registration with backoff.
    public func tick(now: Nanoseconds) {
        switch state {
        case .registered:
            if now &- lastHeard > silenceTimeout {
                logger.warning("no answer from switch \(settings.switchAddress) for \(seconds(now &- lastHeard)) s: registering again")
                state = .connecting(attempt: 0, nextTry: now)
            } else if now &- lastPing >= keepaliveInterval {
                lastPing = now
                pingSequence &+= 1
                LanyardMessage.encode(.ping, body: LanyardMessage.encodeUInt64(pingSequence)).withUnsafeBytes { seal($0, now: now) }
            }
        case .connecting(let attempt, let nextTry):
            if now >= nextTry { startHandshake(attempt: attempt, now: now) }
        }
        sendHelloIfNeeded(now: now)
        drain(now: now)
        flush()
    }

    private func startHandshake(attempt: Int, now: Nanoseconds) {
        let delay = min(settings.initialBackoff << UInt64(min(attempt, 16)), settings.maximumBackoff)
        if attempt > 0 {
            logger.warning("switch \(settings.switchAddress) not answering (attempt \(attempt)); next try in \(seconds(delay)) s")
            if let fresh = try? SocketAddress.resolve(settings.switchAddress), socket.adapt(fresh) != switchEndpoint {
                logger.notice("switch \(settings.switchAddress) now resolves to \(fresh)")
                switchEndpoint = socket.adapt(fresh)
            }
        } else {
            logger.info("registering with switch \(settings.switchAddress) (\(switchEndpoint))")
        }
        state = .connecting(attempt: attempt + 1, nextTry: now + delay)
        helloSentForHandshake = nil
        if case .send(let n) = link.initiateHandshake(into: scratch, now: now) {
            enqueue(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
        }
    }

    /// After each new session, announce this port with `hello` (and again while not yet welcomed).
    private func sendHelloIfNeeded(now: Nanoseconds) {
        guard state != .registered, link.isEstablished(now: now), let handshake = link.lastHandshake,
              helloSentForHandshake != handshake else { return }
        helloSentForHandshake = handshake
        LanyardMessage.encode(.hello, body: Array(settings.name.utf8.prefix(64))).withUnsafeBytes { seal($0, now: now) }
    }

    /// Tells the switch this port is leaving (best effort) and sends it now.
    public func sayGoodbye(now: Nanoseconds) {
        guard link.isEstablished(now: now) else { return }
        LanyardMessage.encode(.bye).withUnsafeBytes { seal($0, now: now) }
        flush()
    }

    // MARK: Sending

    private func seal(_ plaintext: UnsafeRawBufferPointer, now: Nanoseconds) {
        if outbound.isFull { flush() }
        let slot = outbound.count
        switch link.seal(plaintext, into: outbound.buffer(slot), now: now) {
        case .send(let n):
            outbound.prepare(slot, length: n, to: switchEndpoint)
            outbound.count += 1
            traffic.sent(n)
        case .drop(let reason): drops.record(reason)
        case .none, .deliver: break
        }
    }

    private func drain(now: Nanoseconds) {
        for _ in 0..<64 {
            if outbound.isFull { flush() }
            let slot = outbound.count
            guard case .send(let n) = link.poll(into: outbound.buffer(slot), now: now) else { return }
            outbound.prepare(slot, length: n, to: switchEndpoint)
            outbound.count += 1
        }
    }

    private func enqueue(_ bytes: UnsafeRawBufferPointer) {
        if outbound.isFull { flush() }
        let slot = outbound.count
        outbound.buffer(slot).copyMemory(from: bytes)
        outbound.prepare(slot, length: bytes.count, to: switchEndpoint)
        outbound.count += 1
    }

    private func flush() {
        guard outbound.count > 0 else { return }
        socket.send(outbound)
        outbound.count = 0
    }

    /// A snapshot for `lanyard status`.
    public func status(now: Nanoseconds, publicKey: String, peerPublicKey: String) -> LinkStatus {
        LinkStatus(kind: "port", name: settings.name, interface: tap.name, publicKey: publicKey,
                   peerPublicKey: peerPublicKey, endpoint: switchEndpoint.description,
                   state: state == .registered ? "registered" : "connecting",
                   lastHandshakeSeconds: link.lastHandshake.map { seconds(now &- $0) },
                   lastHeardSeconds: lastHeard == 0 ? nil : seconds(now &- lastHeard),
                   traffic: traffic, drops: ReasonCountersExport.dictionary(drops.nonZero))
    }
}
