/// One direction pair of transport keys from a completed handshake, with the send counter and
/// the receive replay window. Keys are zeroed, and the C contexts freed, in deinit.
final class Keypair {
    let localIndex: UInt32
    let remoteIndex: UInt32
    let createdAt: Timestamp
    /// Whether we were the initiator of the handshake that made it (only initiators rekey on age).
    let isInitiator: Bool
    let sender: TransportCipher
    let receiver: TransportCipher
    var sendCounter: UInt64 = 0
    var replay = ReplayWindow()
    private var sendingKey: [UInt8]
    private var receivingKey: [UInt8]

    init?(keys: SessionKeys, localIndex: UInt32, remoteIndex: UInt32, isInitiator: Bool, now: Timestamp) {
        guard let s = TransportCipher(key: keys.sending), let r = TransportCipher(key: keys.receiving) else { return nil }
        sender = s
        receiver = r
        sendingKey = keys.sending
        receivingKey = keys.receiving
        self.localIndex = localIndex
        self.remoteIndex = remoteIndex
        self.isInitiator = isInitiator
        createdAt = now
    }

    deinit {
        for i in sendingKey.indices { sendingKey[i] = 0 }
        for i in receivingKey.indices { receivingKey[i] = 0 }
    }

    /// Whether the keypair is past REJECT_AFTER_TIME.
    func isExpired(now: Timestamp) -> Bool { now.since(createdAt) >= WireGuardTimers.rejectAfterTime }
}

/// Hands out random, unique 32-bit local indices and remembers which peer owns each, so that
/// type-2/3/4 messages can be routed by their receiver index. Share one allocator between all
/// peers of an interface. Not thread-safe.
public final class IndexAllocator {
    private struct Entry { weak var peer: WireGuardPeer? }
    private var entries: [UInt32: Entry] = [:]
    private let random: RandomSource

    /// An allocator drawing indices from `random`.
    public init(random: RandomSource = SystemRandomSource()) { self.random = random }

    /// A fresh index owned by `peer`.
    func allocate(for peer: WireGuardPeer) -> UInt32 {
        while true {
            let index = random.uint32()
            if entries[index]?.peer == nil {
                entries[index] = Entry(peer: peer)
                return index
            }
        }
    }

    /// Forgets `index`.
    func release(_ index: UInt32) { entries[index] = nil }

    /// The peer that owns `index`, if any.
    public func peer(forIndex index: UInt32) -> WireGuardPeer? { entries[index]?.peer }

    /// How many indices are in use (for tests and status).
    public var count: Int { entries.count }
}

/// A per-source token bucket for handshake messages (wireguard-go's figures: 20 per second,
/// bursts of 5). Used under load after mac2 checks out. Not thread-safe.
public final class HandshakeRateLimiter {
    private struct Bucket { var tokens: UInt64; var last: Timestamp }
    private var buckets: [[UInt8]: Bucket] = [:]
    private let perSecond: UInt64
    private let burst: UInt64
    private var lastCollection = Timestamp(nanoseconds: 0)
    private static let costPerPacket: UInt64 = 1_000_000_000

    /// A limiter allowing `perSecond` messages per source with bursts of `burst`.
    public init(perSecond: UInt64 = 20, burst: UInt64 = 5) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// Whether a message from `source` may be processed now (and takes a token if so).
    public func allow(source: [UInt8], now: Timestamp) -> Bool {
        if now.since(lastCollection) >= .seconds(1) { collect(now: now) }
        let capacity = burst * Self.costPerPacket
        var bucket = buckets[source] ?? Bucket(tokens: capacity, last: now)
        let refill = min(now.since(bucket.last).nanoseconds, capacity) * perSecond
        bucket.tokens = min(bucket.tokens + refill, capacity)
        bucket.last = now
        let allowed = bucket.tokens >= Self.costPerPacket
        if allowed { bucket.tokens -= Self.costPerPacket }
        buckets[source] = bucket
        return allowed
    }

    private func collect(now: Timestamp) {
        lastCollection = now
        buckets = buckets.filter { now.since($0.value.last) < .seconds(1) }
    }
}
