/// Which members are registered at which other switch of the network, and how each switch
/// numbers them: the soft state switches tell each other in `roster` messages. Pure: no I/O, no
/// clock of its own, tested in memory.
///
/// Every switch numbers members by its own slots (a member's id at one switch means nothing at
/// another), so an entry keeps both: the other switch's id for the member (what relayed
/// datagrams and introductions sent there name) and ours (what our ports use). When two switches
/// both claim a member (it moved, and the old switch has not yet noticed), the later registration
/// wins (an equal one keeps the entry in place). Entries live `lifetime` after their last
/// announcement, and all of a switch's go when it falls silent or restarts. Times are the
/// caller's monotonic seconds: another switch's "registered n seconds ago" is converted on
/// arrival, so no two clocks are compared.
public struct MeshRoster {
    /// Where a member of ours (by our slot) is registered: at switch `peer`, as its `theirID`.
    public struct Location: Equatable, Sendable {
        public var peer: UInt32
        public var theirID: UInt32
        public var registeredAt: Int64
        public var expires: Int64
    }

    /// By our slot: where that member is registered elsewhere (nil: not at another switch).
    public private(set) var located: [Location?] = []
    /// (other switch << 32 | its id of a member) → our slot: one hash of a UInt64 per lookup.
    private var ours: [UInt64: UInt32] = [:]
    /// How long an announcement holds (three full refreshes).
    public let lifetime: Int64

    public init(lifetime: Int64) { self.lifetime = lifetime }

    /// Where member `slot` of ours is registered, if at another switch (the data path: an array read).
    @inline(__always)
    public func location(of slot: UInt32) -> Location? {
        Int(slot) < located.count ? located[Int(slot)] : nil
    }

    /// Our slot for the member switch `peer` numbers `theirID`, if it announced one.
    @inline(__always)
    public func ourSlot(peer: UInt32, theirID: UInt32) -> UInt32? { ours[Self.key(peer, theirID)] }

    @inline(__always)
    static func key(_ peer: UInt32, _ theirID: UInt32) -> UInt64 { UInt64(peer) << 32 | UInt64(theirID) }

    /// Switch `peer` says member `slot` of ours is registered there as `theirID` since
    /// `registeredAt` (or, `registered` false, is no longer). Returns whether where the member
    /// is changed.
    @discardableResult
    public mutating func announce(peer: UInt32, theirID: UInt32, slot: UInt32, registered: Bool,
                                  registeredAt: Int64, now: Int64) -> Bool {
        while located.count <= Int(slot) { located.append(nil) }
        let current = located[Int(slot)]
        guard registered else {
            // Only the switch that holds the entry can withdraw it.
            guard let current, current.peer == peer else { return false }
            drop(slot: slot, at: current)
            return true
        }
        if let current, current.peer != peer, current.registeredAt >= registeredAt, current.expires > now {
            return false   // a later (or as late) registration elsewhere stands
        }
        if let current, current.peer != peer || current.theirID != theirID { drop(slot: slot, at: current) }
        // The other switch's id may have named another of our members before (its slot reused).
        unknown(peer: peer, theirID: theirID)
        located[Int(slot)] = Location(peer: peer, theirID: theirID, registeredAt: registeredAt, expires: now + lifetime)
        ours[Self.key(peer, theirID)] = slot
        return current?.peer != peer
    }

    /// Switch `peer`'s id `theirID` names a member we do not know (not, or not yet, in our
    /// list): whatever it named before is forgotten, so nothing of the new one is taken for it.
    public mutating func unknown(peer: UInt32, theirID: UInt32) {
        guard let previous = ours.removeValue(forKey: Self.key(peer, theirID)) else { return }
        if let l = location(of: previous), l.peer == peer, l.theirID == theirID { located[Int(previous)] = nil }
    }

    /// A member registered here now: no other switch's entry for it stands.
    public mutating func registeredLocally(_ slot: UInt32) {
        if let current = location(of: slot) { drop(slot: slot, at: current) }
    }

    /// Our member `slot` was removed from the network (or its slot is reused).
    public mutating func forget(_ slot: UInt32) {
        if let current = location(of: slot) { drop(slot: slot, at: current) }
    }

    /// Switch `peer` fell silent or left: every member it announced is nowhere until told again.
    public mutating func dropPeer(_ peer: UInt32) {
        for slot in located.indices where located[slot]?.peer == peer { located[slot] = nil }
        ours = ours.filter { $0.key >> 32 != UInt64(peer) }
    }

    /// Drops entries not refreshed within their lifetime.
    public mutating func expire(now: Int64) {
        for slot in located.indices {
            if let l = located[slot], l.expires <= now { drop(slot: UInt32(slot), at: l) }
        }
    }

    /// How many of our members switch `peer` holds.
    public func count(at peer: UInt32) -> Int { located.reduce(0) { $0 + ($1?.peer == peer ? 1 : 0) } }

    private mutating func drop(slot: UInt32, at l: Location) {
        located[Int(slot)] = nil
        if ours[Self.key(l.peer, l.theirID)] == slot { ours[Self.key(l.peer, l.theirID)] = nil }
    }
}

/// What a `meshIntroduce` asks of the switch it goes to.
public enum MeshIntroduction: UInt8, Sendable {
    /// An answer: the member described is the one asked about (give it to the asking member).
    case answer = 0
    /// A member wants a path to yours: tell yours about it (the rendezvous), and answer.
    case rendezvous = 1
    /// A member asks about yours (a vouch): answer only.
    case question = 2
}

/// The body of `roster`: up to `maximum` entries, each a member registered at the sender (or no
/// longer): its id there (4), whether registered (1), seconds since it registered (4), public key (32).
public struct RosterUpdate: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var id: UInt32
        public var registered: Bool
        public var ageSeconds: UInt32
        public var publicKey: [UInt8]
        public init(id: UInt32, registered: Bool, ageSeconds: UInt32, publicKey: [UInt8]) {
            self.id = id
            self.registered = registered
            self.ageSeconds = ageSeconds
            self.publicKey = publicKey
        }
    }

    /// Entries per message: 2 + 30 × 41 = 1,232 bytes, inside one datagram on any path.
    public static let maximum = 30
    static let entryLength = 41
    public var entries: [Entry]

    public init(_ entries: [Entry]) { self.entries = Array(entries.prefix(Self.maximum)) }

    public var bytes: [UInt8] {
        var out: [UInt8] = [0, UInt8(entries.count)]
        for e in entries {
            out += bigEndianBytes(e.id)
            out.append(e.registered ? 1 : 0)
            out += bigEndianBytes(e.ageSeconds)
            out += e.publicKey
        }
        return out
    }

    public init(parsing body: UnsafeRawBufferPointer) throws(LanyardMessage.ParseError) {
        guard body.count >= 2, body[0] == 0 else { throw .badBody }
        let n = Int(body[1])
        guard n <= Self.maximum, body.count == 2 + n * Self.entryLength else { throw .badBody }
        var list: [Entry] = []
        list.reserveCapacity(n)
        for i in 0..<n {
            let at = 2 + i * Self.entryLength
            guard body[at + 4] <= 1 else { throw .badBody }
            list.append(Entry(id: readBigEndianUInt32(body, at: at), registered: body[at + 4] == 1,
                              ageSeconds: readBigEndianUInt32(body, at: at + 5),
                              publicKey: Array(body[(at + 9)..<(at + 41)])))
        }
        entries = list
    }
}
