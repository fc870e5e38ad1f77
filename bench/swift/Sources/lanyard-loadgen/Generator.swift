import CLoadgenEpoll
import Glibc
import LanyardCore
import LanyardWireGuard

/// Drives all simulated ports from one thread with epoll(7): a wait costs what is ready, not the
/// number of ports (poll(2) over 10,000 sockets made the generator, not the switch, the limit).
final class Generator {
    let ports: [SimulatedPort]
    let buffers = Buffers()
    private let epoll: Int32
    private var events = [epoll_event](repeating: epoll_event(), count: 1024)
    private let hello = LanyardMessage.encode(.hello)

    // Phase 1 counters.
    private(set) var handshakesCompleted = 0
    private(set) var lastHandshakeAt = Timestamp(nanoseconds: 0)
    private(set) var registered = 0
    private(set) var lastRegistrationAt = Timestamp(nanoseconds: 0)
    private(set) var failed = 0
    private(set) var cookieReplies = 0
    private(set) var refused = 0
    // Phase 2 counters.
    private(set) var framesSent = 0
    private(set) var sendFailures = 0

    init(ports: [SimulatedPort]) {
        self.ports = ports
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed")
        for (i, port) in ports.enumerated() {
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.u64 = UInt64(i)
            precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, port.socket.fd, &event) == 0, "epoll_ctl failed")
        }
    }

    deinit { close(epoll) }

    /// Unicast frames delivered to their addressee, over all ports.
    var unicastReceived: Int { ports.reduce(0) { $0 + $1.unicastReceived } }
    /// Other frames delivered (floods), over all ports.
    var otherFramesReceived: Int { ports.reduce(0) { $0 + $1.otherFramesReceived } }

    // MARK: Phase 1

    /// Handshakes (`window` at most in flight) and hello/welcome for every port, until all are
    /// registered or failed, or `timeout` seconds pass. Returns the start time.
    func join(window: Int, timeout: Double) -> Timestamp {
        let start = Clock.now()
        let deadline = start.adding(.init(nanoseconds: UInt64(timeout * 1e9)))
        var next = 0
        var inFlight = 0
        var lastSweep = start
        while registered + failed < ports.count {
            var now = Clock.now()
            if now >= deadline { break }
            while inFlight < window && next < ports.count {
                begin(ports[next], now: now)
                next += 1
                inFlight += 1
            }
            let before = registered + failed
            pollOnce(timeoutMilliseconds: 5)
            inFlight -= (registered + failed) - before
            now = Clock.now()
            if now.since(lastSweep) >= .milliseconds(100) {
                lastSweep = now
                inFlight -= retryStalled(now: now)
            }
        }
        return start
    }

    /// Queues a hello (sent as the session's confirmation) and sends the initiation it triggers.
    private func begin(_ port: SimulatedPort, now: Timestamp) {
        port.state = .handshaking
        port.attempts = 1
        port.lastAttemptAt = now
        let result = hello.withUnsafeBytes { port.peer.encapsulate(plaintext: $0, into: buffers.output, now: now) }
        if case .writeToNetwork(let count) = result { send(port, count) }
    }

    /// Retries ports with no answer for a second; gives up after 5 attempts. Returns how many failed.
    private func retryStalled(now: Timestamp) -> Int {
        var newlyFailed = 0
        for port in ports where port.isJoining && now.since(port.lastAttemptAt) >= .seconds(1) {
            guard port.attempts < 5 else {
                port.state = .failed
                failed += 1
                newlyFailed += 1
                continue
            }
            port.attempts += 1
            port.lastAttemptAt = now
            if port.state == .handshaking {
                if case .writeToNetwork(let count) = port.peer.initiateHandshake(into: buffers.output, now: now) {
                    send(port, count)
                }
            } else {
                sendPlaintext(hello.count, from: port, now: now, copyingFrom: hello)
            }
        }
        return newlyFailed
    }

    // MARK: Phase 2

    /// Each registered port sends one frame so the switch learns its MAC: self-addressed (learned,
    /// then dropped, no flood) or broadcast. Then drains answers for `settle` seconds.
    func learnMACs(broadcast: Bool, frameBytes: Int, settle: Double) {
        for port in ports where port.state == .registered {
            let count = buffers.writeFrame(from: port.mac, to: broadcast ? .broadcast : port.mac, frameBytes: frameBytes)
            sendPlaintext(count, from: port, now: Clock.now())
        }
        drain(seconds: settle)
    }

    /// Port 2k and 2k+1 send frames to each other's MAC for `seconds`, keeping at most `window`
    /// frames sent but not yet received. Returns the unicast frames received in that time.
    func exchangeFrames(seconds: Double, frameBytes: Int, window: Int) -> Int {
        let senders = ports.indices.filter { i in
            ports[i].state == .registered && ports[i ^ 1].state == .registered
        }
        guard !senders.isEmpty else { return 0 }
        let baseline = unicastReceived
        var received = baseline
        var outstanding = 0
        var cursor = 0
        let end = Clock.now().adding(.init(nanoseconds: UInt64(seconds * 1e9)))
        while true {
            let now = Clock.now()
            if now >= end { break }
            var burst = min(32, window - outstanding)
            while burst > 0 {
                let port = ports[senders[cursor]]
                cursor = (cursor + 1) % senders.count
                let count = buffers.writeFrame(from: port.mac, to: ports[port.index ^ 1].mac, frameBytes: frameBytes)
                if sendPlaintext(count, from: port, now: now) { framesSent += 1; outstanding += 1 }
                burst -= 1
            }
            let ready = pollOnce(timeoutMilliseconds: outstanding >= window ? 2 : 0)
            let total = unicastReceived
            outstanding = max(0, outstanding - (total - received))
            received = total
            // Nothing came back for 2 ms with a full window: count the rest as lost, go on.
            if ready == 0 && outstanding >= window { outstanding = 0 }
        }
        return received - baseline
    }

    /// Handles arrivals until `seconds` pass.
    func drain(seconds: Double) {
        let end = Clock.now().adding(.init(nanoseconds: UInt64(seconds * 1e9)))
        while Clock.now() < end { pollOnce(timeoutMilliseconds: 10) }
    }

    // MARK: I/O

    /// One wait for readable sockets, handling whatever arrived. Returns how many were readable.
    @discardableResult
    private func pollOnce(timeoutMilliseconds: Int32) -> Int {
        let ready = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, Int32($0.count), timeoutMilliseconds) }
        guard ready > 0 else { return 0 }
        for k in 0..<Int(ready) { receiveAll(ports[Int(events[k].data.u64)]) }
        return Int(ready)
    }

    /// Reads and handles every datagram waiting on `port`'s socket.
    private func receiveAll(_ port: SimulatedPort) {
        while let n = port.socket.receive(into: buffers.receive) {
            let now = Clock.now()
            let datagram = UnsafeRawBufferPointer(rebasing: buffers.receive[0..<n])
            let isCookieReply = n == MessageLayout.cookieReplySize && datagram[0] == 3
            switch port.peer.decapsulate(datagram: datagram, into: buffers.output, now: now) {
            case .writeToNetwork(let count):
                // A response: the queued hello went out sealed as the confirmation.
                send(port, count)
                if port.state == .handshaking {
                    port.state = .awaitingWelcome
                    handshakesCompleted += 1
                    lastHandshakeAt = now
                }
                while port.peer.hasQueuedPackets,
                      case .writeToNetwork(let more) = port.peer.dequeue(into: buffers.output, now: now) {
                    send(port, more)
                }
            case .writeToTunnel(let count):
                handlePlaintext(UnsafeRawBufferPointer(rebasing: buffers.output[0..<count]), on: port, now: now)
            case .done:
                if isCookieReply && port.state == .handshaking {
                    // The switch is under load: resend the initiation, now with mac2.
                    cookieReplies += 1
                    if case .writeToNetwork(let count) = port.peer.initiateHandshake(into: buffers.output, now: now) {
                        send(port, count)
                    }
                }
            case .error:
                refused += 1
            }
        }
    }

    private func handlePlaintext(_ plaintext: UnsafeRawBufferPointer, on port: SimulatedPort, now: Timestamp) {
        guard let header = try? LanyardMessage.parse(plaintext) else { return }
        switch header.kind {
        case .welcome:
            if port.state == .awaitingWelcome || port.state == .handshaking {
                port.state = .registered
                registered += 1
                lastRegistrationAt = now
            }
        case .frame:
            let body = header.bodyRange
            guard body.count >= 14 else { return }
            let destination = MACAddress(bytes: plaintext, offset: body.lowerBound)
            if destination == port.mac { port.unicastReceived += 1 } else { port.otherFramesReceived += 1 }
        default:
            break
        }
    }

    /// Seals `buffers.plaintext[0..<count]` (or `copyingFrom`, if given) for `port` and sends it.
    @discardableResult
    private func sendPlaintext(_ count: Int, from port: SimulatedPort, now: Timestamp, copyingFrom bytes: [UInt8]? = nil) -> Bool {
        if let bytes { buffers.plaintext.copyBytes(from: bytes) }
        let plaintext = UnsafeRawBufferPointer(rebasing: buffers.plaintext[0..<count])
        guard case .writeToNetwork(let sealed) = port.peer.encapsulate(plaintext: plaintext, into: buffers.output, now: now) else {
            return false
        }
        return send(port, sealed)
    }

    @discardableResult
    private func send(_ port: SimulatedPort, _ count: Int) -> Bool {
        let ok = port.socket.send(UnsafeRawBufferPointer(rebasing: buffers.output[0..<count]))
        if !ok { sendFailures += 1 }
        return ok
    }
}
