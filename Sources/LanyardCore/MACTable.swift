import HeapModule

/// Identifies a switch port (one authenticated session's owner) inside the core.
public typealias PortID = UInt32

/// Time in nanoseconds on a monotonic clock that the caller owns (tests pass any value).
public typealias Nanoseconds = UInt64

extension Nanoseconds {
    /// Seconds as nanoseconds.
    @inlinable public static func seconds(_ s: Double) -> Nanoseconds { Nanoseconds(s * 1_000_000_000) }
}

/// The switch's MAC address table: which port each source MAC was last seen behind.
///
/// Learning is bounded (per port and in total), entries age out after `agingTime`, and a MAC held
/// by a live port cannot be taken by another port until its owner has been silent for
/// `moveHoldTime` (or ever, if the MAC is pinned to a port by configuration).
public struct MACTable: Sendable {
    /// Limits and timers of the table.
    public struct Configuration: Sendable, Equatable {
        public var agingTime: Nanoseconds
        public var maxMACsPerPort: Int
        public var maxEntries: Int
        public var moveHoldTime: Nanoseconds

        public init(agingTime: Nanoseconds = .seconds(300), maxMACsPerPort: Int = 64,
                    maxEntries: Int = 8192, moveHoldTime: Nanoseconds = .seconds(10)) {
            self.agingTime = agingTime
            self.maxMACsPerPort = maxMACsPerPort
            self.maxEntries = maxEntries
            self.moveHoldTime = moveHoldTime
        }
    }

    /// One learned address.
    public struct Entry: Sendable, Equatable {
        public var port: PortID
        public var lastSeen: Nanoseconds
    }

    /// Why the table refused to learn a source address.
    public enum Refusal: Int, Sendable, CaseIterable {
        case portCapReached
        case tableFull
        case heldByLivePort
        case pinnedToOtherPort
    }

    /// What learning a source address did.
    public enum LearnOutcome: Equatable, Sendable {
        case learned
        case refreshed
        case moved(from: PortID)
        case refused(Refusal)
    }

    public let configuration: Configuration
    private var entries: [MACAddress: Entry] = [:]
    /// When each entry may have aged out, soonest first: `expire` looks only at what is due, so
    /// its cost follows the number of entries aging out, not the size of the table. Refreshes do
    /// not touch it; an entry found still alive when its deadline comes is pushed back.
    private var deadlines = Heap<Deadline>()
    /// MACs with a deadline in the heap: at most one each, however often they are re-learned.
    /// A removed port's MACs keep theirs until due; when such stale deadlines would outnumber
    /// `maxEntries` the heap is rebuilt from the table, so it never holds more than twice the cap
    /// however often ports come and go.
    private var scheduled: Set<MACAddress> = []
    /// Entries `expire` examined on its last call (for tests and status).
    public private(set) var examinedByLastExpire = 0

    struct Deadline: Comparable, Sendable {
        let at: Nanoseconds
        let mac: MACAddress
        static func < (a: Deadline, b: Deadline) -> Bool { a.at < b.at }
    }
    /// The MACs each port holds: removing a port costs its own entries, not a pass over the table.
    private var byPort: [PortID: Set<MACAddress>] = [:]
    private var pins: [MACAddress: PortID] = [:]

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        entries.reserveCapacity(min(configuration.maxEntries, 4096))
    }

    /// Number of learned entries (expired ones are counted until `expire(now:)` removes them).
    public var count: Int { entries.count }

    /// Number of entries held by `port`.
    public func count(of port: PortID) -> Int { byPort[port]?.count ?? 0 }

    /// Aging deadlines queued (live entries plus removed ones not yet due; at most 2 × `maxEntries`).
    public var pendingDeadlines: Int { deadlines.count }

    /// Reserves `mac` for `port` only: no other port may ever learn it.
    public mutating func pin(_ mac: MACAddress, to port: PortID) { pins[mac] = port }

    /// Releases every MAC pinned to `port` (it was removed from the network).
    public mutating func unpinAll(of port: PortID) { pins = pins.filter { $0.value != port } }
    /// Drops what was learned of `mac` (its pin, if any, stays).
    public mutating func forget(_ mac: MACAddress) {
        guard let entry = entries.removeValue(forKey: mac) else { return }
        release(mac, from: entry.port)
    }

    /// Records that `mac` was seen as a source on `port` at `now`.
    public mutating func learn(_ mac: MACAddress, on port: PortID, now: Nanoseconds) -> LearnOutcome {
        if let owner = pins[mac], owner != port { return .refused(.pinnedToOtherPort) }
        if var entry = entries[mac] {
            if entry.port == port {
                // Refresh at most every 100 ms: a table write per frame costs more than it tells.
                if now &- entry.lastSeen >= 100_000_000 {
                    entry.lastSeen = now
                    entries[mac] = entry
                }
                return .refreshed
            }
            let idle = now &- entry.lastSeen
            let expired = idle >= configuration.agingTime
            guard expired || idle >= configuration.moveHoldTime || pins[mac] == port else {
                return .refused(.heldByLivePort)
            }
            guard count(of: port) < configuration.maxMACsPerPort else { return .refused(.portCapReached) }
            let previous = entry.port
            release(mac, from: previous)
            byPort[port, default: []].insert(mac)
            entries[mac] = Entry(port: port, lastSeen: now)
            schedule(mac, at: now &+ configuration.agingTime)
            return .moved(from: previous)
        }
        guard count(of: port) < configuration.maxMACsPerPort else { return .refused(.portCapReached) }
        guard entries.count < configuration.maxEntries else { return .refused(.tableFull) }
        byPort[port, default: []].insert(mac)
        entries[mac] = Entry(port: port, lastSeen: now)
        schedule(mac, at: now &+ configuration.agingTime)
        return .learned
    }

    /// The port `mac` sits behind, or nil when unknown or aged out.
    @inlinable
    public func port(of mac: MACAddress, now: Nanoseconds) -> PortID? {
        guard let entry = entry(for: mac), now &- entry.lastSeen < configuration.agingTime else { return nil }
        return entry.port
    }

    /// The addresses `port` holds now (a scan of the table: for lookups, not for the data path).
    public func macs(of port: PortID, now: Nanoseconds) -> [MACAddress] {
        guard let held = byPort[port] else { return [] }
        return Array(held.filter { mac in entries[mac].map { now &- $0.lastSeen < configuration.agingTime } ?? false })
    }

    /// The raw entry for `mac`, aged or not.
    public func entry(for mac: MACAddress) -> Entry? { entries[mac] }

    /// Forgets every address learned on `port` (its session ended). Pins stay. Costs the port's
    /// own entries, whatever the size of the table.
    public mutating func removePort(_ port: PortID) {
        guard let held = byPort.removeValue(forKey: port) else { return }
        for mac in held { entries[mac] = nil }
        if deadlines.count > 2 * max(configuration.maxEntries, 1) { rebuildDeadlines() }
    }

    /// One deadline per live entry, none for removed ones (amortized: runs after at least
    /// `maxEntries` removals).
    private mutating func rebuildDeadlines() {
        let aging = configuration.agingTime
        deadlines = Heap(entries.map { Deadline(at: $0.value.lastSeen &+ aging, mac: $0.key) })
        scheduled = Set(entries.keys)
    }

    /// Removes entries idle for `agingTime` or longer; returns how many went. Work is
    /// proportional to the deadlines that are due, whatever the size of the table.
    @discardableResult
    public mutating func expire(now: Nanoseconds) -> Int {
        var removed = 0
        examinedByLastExpire = 0
        while let first = deadlines.min, first.at <= now {
            _ = deadlines.popMin()
            scheduled.remove(first.mac)
            examinedByLastExpire += 1
            guard let entry = entries[first.mac] else { continue }   // already removed
            let due = entry.lastSeen &+ configuration.agingTime
            if due <= now {
                entries[first.mac] = nil
                release(first.mac, from: entry.port)
                removed += 1
            } else {
                schedule(first.mac, at: due)  // refreshed since: check again then
            }
        }
        return removed
    }

    private mutating func schedule(_ mac: MACAddress, at time: Nanoseconds) {
        guard scheduled.insert(mac).inserted else { return } // its pending deadline will find it
        deadlines.insert(Deadline(at: time, mac: mac))
    }

    /// All entries, sorted by port then MAC, for status output.
    /// Calls `body` with every entry, in no particular order and without copying the table.
    public func forEachEntry(_ body: (MACAddress, Entry) -> Void) {
        for (mac, entry) in entries { body(mac, entry) }
    }

    public func snapshot() -> [(mac: MACAddress, entry: Entry)] {
        entries.map { ($0.key, $0.value) }.sorted { ($0.entry.port, $0.mac) < ($1.entry.port, $1.mac) }
    }

    private mutating func release(_ mac: MACAddress, from port: PortID) {
        byPort[port]?.remove(mac)
        if byPort[port]?.isEmpty == true { byPort[port] = nil }
    }
}
