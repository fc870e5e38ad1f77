import CLanyardLinux

/// A fixed set of datagram slots with their buffers, allocated once and reused for every batch.
///
/// Receiving: a slot may hold several datagrams coalesced by UDP GRO; `forEachDatagram` splits
/// them. Sending: `reserve`/`commit` append equal-size datagrams for the same destination to one
/// slot, which the kernel splits again (UDP GSO): one system call and one trip down the stack
/// for up to 64 datagrams.
public final class DatagramBatch {
    public let capacity: Int
    public let bufferSize: Int
    /// Slots handed to recvmmsg/sendmmsg.
    public let slots: UnsafeMutablePointer<clanyard_datagram>
    private let memory: UnsafeMutableRawPointer
    /// Slots currently held (received, or queued to send).
    public var count = 0
    /// Whether sending may coalesce datagrams (cleared if the kernel refuses UDP GSO).
    public var coalescing = true
    /// The largest datagram that may lead a coalesced run. The kernel refuses a GSO send whose
    /// segments exceed the path MTU (EMSGSIZE) rather than fragment them, so a datagram of a
    /// jumbo tunnel MTU (34 KB on a 1,500-byte underlay) is sent on its own, to be fragmented.
    public private(set) var largestSegment = 65_535
    /// Below this (IPv6's minimum MTU less its headers) a refused segment means GSO is unusable.
    static let smallestPathSegment = 1_232
    /// Datagrams lost because the batch was full when committed (never expected: see `commit`).
    public private(set) var dropped: UInt64 = 0
    private var destinations: [SocketAddress?]
    /// The last slot still accepts datagrams of its segment size.
    private var lastSlotOpen = false
    /// Most datagrams the kernel accepts in one UDP GSO send.
    static let maximumSegments = 64
    /// Largest total of one coalesced send (an IPv4 UDP payload is at most 65,507 bytes).
    static let maximumCoalesced = 65_000

    public init(capacity: Int = 64, bufferSize: Int = 65_536) {
        self.capacity = capacity
        self.bufferSize = bufferSize
        memory = .allocate(byteCount: capacity * bufferSize, alignment: 64)
        slots = .allocate(capacity: capacity)
        destinations = Array(repeating: nil, count: capacity)
        for i in 0..<capacity {
            slots[i] = clanyard_datagram()
            slots[i].buffer = memory + i * bufferSize
            slots[i].capacity = bufferSize
        }
    }

    deinit {
        memory.deallocate()
        slots.deallocate()
    }

    // MARK: Receiving

    /// Calls `body` with each received datagram (GRO-coalesced slots split) and its sender.
    /// Slots that did not fit their buffer are reported through `oversized`.
    @inline(__always)
    public func forEachDatagram(oversized: () -> Void, _ body: (UnsafeRawBufferPointer, Int) -> Void) {
        for i in 0..<count {
            let length = slots[i].length
            if length > bufferSize { oversized(); continue }
            let base = UnsafeRawPointer(slots[i].buffer!)
            if length == 0 { body(UnsafeRawBufferPointer(start: base, count: 0), i); continue }
            let segment = max(1, min(slots[i].segment, length))
            var offset = 0
            while offset < length {
                let n = min(segment, length - offset)
                body(UnsafeRawBufferPointer(start: base + offset, count: n), i)
                offset += n
            }
        }
    }

    /// The sender of slot `i`, with the local address it was sent to as its reply source.
    @inline(__always)
    public func address(_ i: Int) -> SocketAddress {
        var a = SocketAddress(storage: slots[i].address, length: slots[i].address_length)
        a.replySource.family = slots[i].source_family
        withUnsafeMutableBytes(of: &a.replySource.bytes) { dst in
            withUnsafeBytes(of: slots[i].source) { dst.copyMemory(from: $0) }
        }
        return a
    }

    // MARK: Sending

    /// Where to write the next datagram (at most `maximum` bytes) for `destination`: the tail of
    /// the last slot when it can take one more datagram for the same destination, else a fresh
    /// slot. Nil when the batch is full (flush first). Call `commit` with the bytes written.
    @inline(__always)
    public func reserve(maximum: Int, to destination: SocketAddress) -> UnsafeMutableRawBufferPointer? {
        // Appending needs a free slot too: a datagram longer than the run moves to a slot of its own.
        if coalescing, lastSlotOpen, count > 0, count < capacity, destinations[count - 1] == destination,
           destinations[count - 1]?.replySource == destination.replySource {
            let slot = slots[count - 1]
            if slot.length + maximum <= min(bufferSize, Self.maximumCoalesced),
               slot.length / max(slot.segment, 1) < Self.maximumSegments {
                pendingAppend = true
                return UnsafeMutableRawBufferPointer(start: slot.buffer! + slot.length, count: maximum)
            }
        }
        guard count < capacity else { return nil }
        pendingAppend = false
        return UnsafeMutableRawBufferPointer(start: slots[count].buffer!, count: min(maximum, bufferSize))
    }

    /// Records `length` bytes written at the place `reserve` returned for `destination`. Returns
    /// where they are now: that place, or the start of a fresh slot when a datagram longer than
    /// the run it was to join had to move (nil if it was dropped).
    @inline(__always) @discardableResult
    public func commit(_ length: Int, to destination: SocketAddress) -> UnsafeMutableRawPointer? {
        guard pendingAppend else {
            start(slot: count, length: length, destination: destination)
            return slots[count - 1].buffer
        }
        pendingAppend = false
        let last = count - 1
        let segment = slots[last].segment
        if length <= segment {
            let at = slots[last].buffer! + slots[last].length
            slots[last].length += length
            if length < segment { lastSlotOpen = false } // a shorter datagram ends a coalesced run
            return at
        }
        // Longer than the run's datagrams: move it into a slot of its own (`reserve` only offers
        // the tail of the last slot while one is free, so this cannot fail; count it if it ever does).
        guard count < capacity else { dropped &+= 1; return nil }
        slots[count].buffer!.copyMemory(from: slots[last].buffer! + slots[last].length, byteCount: length)
        start(slot: count, length: length, destination: destination)
        return slots[count - 1].buffer
    }

    /// Queues a copy of `bytes` for `destination`; false if the batch is full.
    @discardableResult
    public func append(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress) -> Bool {
        guard let room = reserve(maximum: bytes.count, to: destination) else { return false }
        room.copyMemory(from: bytes)
        commit(bytes.count, to: destination)
        return true
    }

    private var pendingAppend = false

    private func start(slot i: Int, length: Int, destination: SocketAddress) {
        slots[i].length = length
        slots[i].segment = length
        slots[i].address = destination.storage
        slots[i].address_length = destination.length
        slots[i].source_family = destination.replySource.family
        if destination.replySource.family != 0 {
            withUnsafeMutableBytes(of: &slots[i].source) { dst in
                withUnsafeBytes(of: destination.replySource.bytes) { dst.copyMemory(from: $0) }
            }
        }
        destinations[i] = destination
        count = i + 1
        lastSlotOpen = coalescing && length <= largestSegment
    }

    /// Records that the kernel refused a GSO send with segments of `size` bytes: later runs are
    /// led only by smaller datagrams (coalescing stops if that leaves no useful size). A path's
    /// MTU belongs to one destination and changes, so the limit is lifted again after
    /// `segmentLimitLifetime` (the next refusal sets it anew): one member behind a small path
    /// must not cost every other destination its coalescing for good.
    public func refuseSegments(of size: Int) {
        largestSegment = min(largestSegment, size - 1)
        limitedSince = monotonicNanoseconds()
        if largestSegment < Self.smallestPathSegment { coalescing = false }
    }

    /// GSO is not supported at all (EIO, EOPNOTSUPP): coalescing stops for good.
    public func stopCoalescing() {
        gsoUnsupported = true
        coalescing = false
    }

    /// Lifts a segment limit set by `refuseSegments` once it is `segmentLimitLifetime` old.
    private func expireSegmentLimit() {
        guard let since = limitedSince, monotonicNanoseconds() &- since >= Self.segmentLimitLifetime else { return }
        limitedSince = nil
        largestSegment = 65_535
        if !gsoUnsupported { coalescing = true }
    }
    private var limitedSince: UInt64?
    private var gsoUnsupported = false
    static let segmentLimitLifetime: UInt64 = 30_000_000_000

    /// Forgets everything queued.
    public func reset() {
        if limitedSince != nil { expireSegmentLimit() }
        count = 0
        lastSlotOpen = false
    }

}
