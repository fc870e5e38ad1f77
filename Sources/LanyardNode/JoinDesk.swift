import LanyardCore
import LanyardLinux
import LanyardWireGuard

/// The switch's side of joining with a token, on the event loop: a join request is opened
/// (which proves the joiner holds its key), within a budget for all strangers together, and
/// handed to `redeem`, which runs on the member store's thread and answers through `finish`.
/// The loop never waits for the store.
public final class JoinDesk {
    private let privateKey: PrivateKey
    private let io: BatchedSocket
    /// Given the opened request and where it came from; must end in `finish` (on the loop).
    private let redeem: (JoinRequest, SocketAddress) -> Void
    /// Join requests from anyone: each costs a Curve25519 agreement, so few per second.
    private var budget = TokenBucket(rate: 20, burst: 40)
    /// Joiners whose request the store is working on (a retry meanwhile is not queued again).
    private var inFlight: Set<PublicKey> = []
    public private(set) var counters = JoinCounters()

    public init(privateKey: PrivateKey, io: BatchedSocket, redeem: @escaping (JoinRequest, SocketAddress) -> Void) {
        self.privateKey = privateKey
        self.io = io
        self.redeem = redeem
    }

    /// A datagram that starts like a join request.
    /// `unixNow` is the wall clock (the request's timestamp must be within 10 minutes of it).
    public func receive(_ bytes: UnsafeRawBufferPointer, from sender: SocketAddress, now: Nanoseconds, unixNow: UInt64) {
        // The wrong length costs nothing, not even the budget (junk must not crowd out joiners).
        guard (JoinExchange.minRequestSize...JoinExchange.maxRequestSize).contains(bytes.count) else {
            counters.unreadable &+= 1
            return
        }
        guard budget.take(now: now) else { counters.rateLimited &+= 1; return }
        let request: JoinRequest
        do { request = try JoinExchange.openRequest(Array(bytes), switchKey: privateKey) } catch {
            // Not for this switch, or forged: no answer, so a stranger learns nothing.
            counters.unreadable &+= 1
            return
        }
        // A request from another time (a replay, or a clock far off) is refused before the store.
        let skew = request.timestamp > unixNow ? request.timestamp - unixNow : unixNow - request.timestamp
        guard skew <= 600 else {
            inFlight.insert(request.joinerKey)
            finish(request.joinerKey, outcome: .refused(.tryLater), to: sender)
            return
        }
        guard inFlight.count < 64, inFlight.insert(request.joinerKey).inserted else { counters.rateLimited &+= 1; return }
        redeem(request, sender)
    }

    /// Sends the store's answer to `joiner` (the loop's thread).
    public func finish(_ joiner: PublicKey, outcome: JoinOutcome, to address: SocketAddress) {
        inFlight.remove(joiner)
        switch outcome {
        case .accepted: counters.accepted &+= 1
        case .pending: counters.pending &+= 1
        case .refused: counters.refused &+= 1
        }
        // Sealing refuses only what the store could not have made (an over-long name): the joiner
        // then hears "try later" rather than nothing.
        let reply = (try? JoinExchange.sealReply(outcome, to: joiner, switchKey: privateKey))
            ?? (try? JoinExchange.sealReply(.refused(.tryLater), to: joiner, switchKey: privateKey)) ?? []
        reply.withUnsafeBytes { io.enqueue($0, to: address) }
        io.flush()
    }
}

/// What became of join requests.
public struct JoinCounters: Sendable, Codable, Equatable {
    public var accepted: UInt64 = 0
    public var pending: UInt64 = 0
    public var refused: UInt64 = 0
    /// Not opened: sealed for another key, forged, truncated.
    public var unreadable: UInt64 = 0
    /// Over the budget for join requests.
    public var rateLimited: UInt64 = 0
    public init() {}
}
