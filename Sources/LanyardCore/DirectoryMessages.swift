/// Bodies of the messages with which the switch acts as directory and rendezvous
/// (docs/PROTOCOL.md, "Direct paths"). Each parses with exact length checks.

/// A UDP endpoint as carried in messages: an IPv4 (4 bytes) or IPv6 (16 bytes) address and a port.
public struct CandidateAddress: Hashable, Sendable, CustomStringConvertible {
    public let address: [UInt8]
    public let port: UInt16

    public init?(address: [UInt8], port: UInt16) {
        guard address.count == 4 || address.count == 16, port != 0 else { return nil }
        self.address = address
        self.port = port
    }

    /// Whether another host could send to it: not unspecified, loopback, multicast or broadcast.
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is judged by its IPv4 address (a dual-stack
    /// socket sends `::ffff:127.0.0.1` to its own loopback); the deprecated IPv4-compatible ones
    /// (`::a.b.c.d`, which includes `::` and `::1`) never are.
    public var isRoutable: Bool {
        if address.count == 4 { return Self.isRoutableIPv4(address[0]) }
        let zeroPrefix = address[0..<10].allSatisfy { $0 == 0 }
        if zeroPrefix && address[10] == 0xFF && address[11] == 0xFF { return Self.isRoutableIPv4(address[12]) }
        if zeroPrefix && address[10] == 0 && address[11] == 0 { return false }
        return address[0] != 0xFF
    }

    /// An IPv4 address by its first byte: not 0/8 ("this network"), 127/8, multicast or above.
    private static func isRoutableIPv4(_ first: UInt8) -> Bool { first != 0 && first != 127 && first < 224 }

    public var description: String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") + ":\(port)" }
        var groups: [String] = []
        for i in stride(from: 0, to: 16, by: 2) { groups.append(String(UInt16(address[i]) << 8 | UInt16(address[i + 1]), radix: 16)) }
        return "[" + groups.joined(separator: ":") + "]:\(port)"
    }

    func append(to out: inout [UInt8]) {
        out.append(UInt8(address.count))
        out += address
        out += [UInt8(port >> 8), UInt8(port & 0xFF)]
    }

    static func parse(_ body: UnsafeRawBufferPointer, at offset: inout Int) throws(LanyardMessage.ParseError) -> CandidateAddress {
        guard offset < body.count else { throw .badBody }
        let n = Int(body[offset])
        guard n == 4 || n == 16, offset + 1 + n + 2 <= body.count else { throw .badBody }
        let address = Array(body[(offset + 1)..<(offset + 1 + n)])
        let port = UInt16(body[offset + 1 + n]) << 8 | UInt16(body[offset + 2 + n])
        offset += 1 + n + 2
        guard let c = CandidateAddress(address: address, port: port) else { throw .badBody }
        return c
    }
}

/// The body of `endpoints`: a port's own addresses (at most `maximum`).
public struct CandidateList: Equatable, Sendable {
    public static let maximum = 8
    public var candidates: [CandidateAddress]

    public init(_ candidates: [CandidateAddress]) { self.candidates = Array(candidates.prefix(Self.maximum)) }

    public var bytes: [UInt8] {
        var out: [UInt8] = [UInt8(candidates.count)]
        for c in candidates { c.append(to: &out) }
        return out
    }

    public init(parsing body: UnsafeRawBufferPointer) throws(LanyardMessage.ParseError) {
        guard body.count >= 1, Int(body[0]) <= Self.maximum else { throw .badBody }
        var offset = 1
        var list: [CandidateAddress] = []
        for _ in 0..<Int(body[0]) { list.append(try CandidateAddress.parse(body, at: &offset)) }
        guard offset == body.count else { throw .badBody }
        candidates = list
    }
}

/// The body of `member`: who a member is, which MACs it may use, and where it might be reached.
public struct MemberInfo: Equatable, Sendable {
    public static let maximumMACs = 64
    public static let maximumNameLength = 64

    /// The member's id on the switch (what relay headers name).
    public var id: UInt32
    /// Registered with the switch now.
    public var isUp: Bool
    /// Sent to the member that was looked up: someone wants a path to it (probe back at once).
    public var isRendezvous: Bool
    public var publicKey: [UInt8]
    /// MACs pinned to this member in the switch's list (only it may use them).
    public var pinnedMACs: [MACAddress]
    /// MACs the switch has seen this member use and vouches for.
    public var learnedMACs: [MACAddress]
    /// The address the switch sees first, then the member's own.
    public var candidates: [CandidateAddress]
    public var name: String

    public init(id: UInt32, isUp: Bool, isRendezvous: Bool, publicKey: [UInt8], pinnedMACs: [MACAddress],
                learnedMACs: [MACAddress], candidates: [CandidateAddress], name: String) {
        self.id = id
        self.isUp = isUp
        self.isRendezvous = isRendezvous
        self.publicKey = publicKey
        self.pinnedMACs = Array(pinnedMACs.prefix(Self.maximumMACs))
        self.learnedMACs = Array(learnedMACs.prefix(Self.maximumMACs))
        self.candidates = Array(candidates.prefix(CandidateList.maximum + 1))
        self.name = name
    }

    public var bytes: [UInt8] {
        let nameBytes = Array(name.utf8.prefix(Self.maximumNameLength))
        var out = bigEndianBytes(id)
        out.append((isUp ? 1 : 0) | (isRendezvous ? 2 : 0))
        out += publicKey
        out += [UInt8(pinnedMACs.count), UInt8(learnedMACs.count), UInt8(candidates.count), UInt8(nameBytes.count)]
        for m in pinnedMACs + learnedMACs { out += m.octets }
        for c in candidates { c.append(to: &out) }
        out += nameBytes
        return out
    }

    public init(parsing body: UnsafeRawBufferPointer) throws(LanyardMessage.ParseError) {
        guard body.count >= 41 else { throw .badBody }
        id = readBigEndianUInt32(body, at: 0)
        guard body[4] & ~3 == 0 else { throw .badBody }
        isUp = body[4] & 1 != 0
        isRendezvous = body[4] & 2 != 0
        publicKey = Array(body[5..<37])
        let pins = Int(body[37]), learned = Int(body[38]), cands = Int(body[39]), nameLength = Int(body[40])
        guard pins <= Self.maximumMACs, learned <= Self.maximumMACs, cands <= CandidateList.maximum + 1,
              nameLength <= Self.maximumNameLength, 41 + 6 * (pins + learned) <= body.count else { throw .badBody }
        var offset = 41
        var macs: [MACAddress] = []
        for _ in 0..<(pins + learned) {
            let mac = MACAddress(bytes: body, offset: offset)
            guard !mac.isMulticast, !mac.isZero else { throw .badBody }
            macs.append(mac)
            offset += 6
        }
        pinnedMACs = Array(macs[0..<pins])
        learnedMACs = Array(macs[pins...])
        var list: [CandidateAddress] = []
        for _ in 0..<cands { list.append(try CandidateAddress.parse(body, at: &offset)) }
        candidates = list
        guard offset + nameLength == body.count else { throw .badBody }
        name = String(decoding: body[offset...], as: UTF8.self)
    }
}

/// The body of `vouch`: may member `id` use source MAC `mac`?
public struct VouchRequest: Equatable, Sendable {
    public var id: UInt32
    public var mac: MACAddress
    public init(id: UInt32, mac: MACAddress) { self.id = id; self.mac = mac }
    public var bytes: [UInt8] { bigEndianBytes(id) + mac.octets }
    public init(parsing body: UnsafeRawBufferPointer) throws(LanyardMessage.ParseError) {
        guard body.count == 10 else { throw .badBody }
        id = readBigEndianUInt32(body, at: 0)
        mac = MACAddress(bytes: body, offset: 4)
    }
}

/// The body of `lookup`: a member by id (4 bytes) or by public key (32 bytes).
public enum LookupRequest: Equatable, Sendable {
    case id(UInt32)
    case publicKey([UInt8])

    public var bytes: [UInt8] {
        switch self {
        case .id(let id): bigEndianBytes(id)
        case .publicKey(let key): key
        }
    }

    public init(parsing body: UnsafeRawBufferPointer) throws(LanyardMessage.ParseError) {
        switch body.count {
        case 4: self = .id(readBigEndianUInt32(body, at: 0))
        case 32: self = .publicKey(Array(body))
        default: throw .badBody
        }
    }
}

/// A UInt32 as four big-endian bytes.
@inlinable
public func bigEndianBytes(_ v: UInt32) -> [UInt8] {
    [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
}

/// Four big-endian bytes at `offset` as a UInt32 (the caller checked the length).
@inlinable
public func readBigEndianUInt32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
}
