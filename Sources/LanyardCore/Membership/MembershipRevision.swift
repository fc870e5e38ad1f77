/// The switch's answer to a port's keepalive `ping`: the ping's sequence number and, from a switch
/// that has one, its membership revision (docs/PROTOCOL.md, `pong`). The revision changes whenever
/// a member is removed, so a port that missed the `memberGone` for it (one datagram, never
/// acknowledged) notices at its next keepalive and asks about every member it knows again.
public struct KeepaliveAnswer: Equatable, Sendable {
    public var sequence: UInt64
    public var membershipRevision: UInt64?

    public init(sequence: UInt64, membershipRevision: UInt64?) {
        self.sequence = sequence
        self.membershipRevision = membershipRevision
    }

    /// 8 bytes (the sequence), or 16 with the revision; both UInt64 big-endian.
    public var bytes: [UInt8] {
        LanyardMessage.encodeUInt64(sequence) + (membershipRevision.map(LanyardMessage.encodeUInt64) ?? [])
    }

    /// Parses a pong body: 8 bytes from a switch without revisions, 16 or more from one with
    /// them (bytes past the 16th are left for later additions and ignored).
    public init(parsing body: UnsafeRawBufferPointer) throws(LanyardMessage.ParseError) {
        guard body.count == 8 || body.count >= 16 else { throw .badBody }
        sequence = Self.uint64(body, at: 0)
        membershipRevision = body.count >= 16 ? Self.uint64(body, at: 8) : nil
    }

    private static func uint64(_ b: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 << 8 | UInt64(b[offset + $1]) }
    }
}

/// What a port makes of the revisions in the switch's pongs: the first one after registering is
/// the baseline (registering already looks every member up); any change after that means a
/// member was removed, and every member known should be looked up again.
public struct RevisionWatch: Sendable, Equatable {
    private var last: UInt64?

    public init() {}

    /// Records `revision`; true when it differs from the last one seen.
    public mutating func observe(_ revision: UInt64) -> Bool {
        defer { last = revision }
        guard let last else { return false }
        return last != revision
    }

    /// Forgets the baseline (the port registered again: the switch may have restarted).
    public mutating func reset() { last = nil }
}
