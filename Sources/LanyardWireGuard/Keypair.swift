import LanyardCore
/// One direction pair of transport keys from a completed handshake, with the send counter and
/// the receive replay window. The keys live only in the two ciphers, which wipe them in deinit.
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

    init?(keys: SessionKeys, localIndex: UInt32, remoteIndex: UInt32, isInitiator: Bool, now: Timestamp) {
        guard let s = TransportCipher(key: keys.sending), let r = TransportCipher(key: keys.receiving) else { return nil }
        sender = s
        receiver = r
        self.localIndex = localIndex
        self.remoteIndex = remoteIndex
        self.isInitiator = isInitiator
        createdAt = now
    }

    /// Whether the keypair is past REJECT_AFTER_TIME.
    func isExpired(now: Timestamp) -> Bool { now.since(createdAt) >= WireGuardTimers.rejectAfterTime }
}

/// Hands out random, unique 32-bit local indices and remembers which peer owns each, so that
/// type-2/3/4 messages can be routed by their receiver index. Share one allocator between all
/// peers of an interface. Not thread-safe.
///
/// The table holds its peers unowned, not weak: a weak reference gives the peer a side table,
/// which sends every retain and release of it (several per packet) down the runtime's slow path.
/// It stays sound because an entry never outlives its peer: each peer keeps the list of the
/// indices it was given (`ownedIndices`) and releases all of them in its deinit, whatever
/// happened to the keypairs that used them.
public final class IndexAllocator {
    private struct Entry { unowned(unsafe) let peer: WireGuardPeer }
    private var entries: [UInt32: Entry] = [:]
    private let random: RandomSource

    /// An allocator drawing indices from `random`.
    public init(random: RandomSource = SystemRandomSource()) { self.random = random }

    /// A fresh index owned by `peer`.
    func allocate(for peer: WireGuardPeer) -> UInt32 {
        while true {
            let index = random.uint32()
            if entries[index] == nil {
                entries[index] = Entry(peer: peer)
                peer.ownedIndices.append(index)
                return index
            }
        }
    }

    /// Forgets `index`.
    func release(_ index: UInt32) {
        guard let entry = entries.removeValue(forKey: index) else { return }
        if let i = entry.peer.ownedIndices.firstIndex(of: index) { entry.peer.ownedIndices.remove(at: i) }
    }

    /// Forgets every index of `peer` (from its deinit: nothing may point at it afterwards).
    func releaseAll(of peer: WireGuardPeer) {
        for index in peer.ownedIndices { entries[index] = nil }
        peer.ownedIndices.removeAll()
    }

    /// The peer that owns `index`, if any.
    public func peer(forIndex index: UInt32) -> WireGuardPeer? { entries[index]?.peer }

    /// How many indices are in use (for tests and status).
    public var count: Int { entries.count }
}

/// A per-source token bucket for handshake messages (wireguard-go's figures: 20 per second,
/// bursts of 5). Used under load after mac2 checks out. Not thread-safe.
public final class HandshakeRateLimiter {
    private var buckets: [[UInt8]: TokenBucket] = [:]
    private var global: TokenBucket
    private let perSecond: UInt64
    private let burst: UInt64
    private var lastCollection = Timestamp(nanoseconds: 0)

    /// A limiter allowing `perSecond` messages per source address with bursts of `burst`, and
    /// `globalPerSecond` from all sources together (bursts of one second's worth).
    public init(perSecond: UInt64 = 20, burst: UInt64 = 5, globalPerSecond: UInt64 = 2_000) {
        self.perSecond = perSecond
        self.burst = burst
        global = TokenBucket(rate: Double(globalPerSecond), burst: Double(globalPerSecond))
    }

    /// The key a source is limited by: its IPv4 address, or its IPv6 /64 (as WireGuard does), so
    /// that changing the source port does not escape the limit. `source` is the address identity
    /// (port, then 4 or 16 address bytes).
    static func key(_ source: [UInt8]) -> [UInt8] {
        switch source.count {
        case 6: Array(source[2..<6])
        case 18: Array(source[2..<10])
        default: source
        }
    }

    /// Whether a message from `source` may be processed now (and takes a token if so).
    public func allow(source: [UInt8], now: Timestamp) -> Bool {
        if now.since(lastCollection) >= .seconds(1) { collect(now: now) }
        let key = Self.key(source)
        var bucket = buckets[key] ?? TokenBucket(rate: Double(perSecond), burst: Double(burst))
        let allowed = bucket.take(now: now.nanoseconds) && global.take(now: now.nanoseconds)
        buckets[key] = bucket
        return allowed
    }

    private func collect(now: Timestamp) {
        lastCollection = now
        buckets = buckets.filter { !$0.value.isFull(now: now.nanoseconds) }
    }
}
