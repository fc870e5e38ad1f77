/// Lanyard's own messages, carried as the plaintext of WireGuard transport-data messages between a
/// port and the switch (docs/PROTOCOL.md). The first byte's high nibble is 0, so a Lanyard message
/// can never be mistaken for an IPv4 (4) or IPv6 (6) packet on the same session.
///
/// Layout: `type: UInt8 | version: UInt8 | length: UInt16 big-endian | body[length] | padding`.
/// WireGuard pads plaintext to a multiple of 16; bytes after `4 + length` are padding and ignored.
public enum LanyardMessage {
    /// Bytes before the body.
    public static let headerLength = 4
    /// The only version this build speaks.
    public static let version: UInt8 = 1

    /// The kind of a message.
    public enum Kind: UInt8, Sendable, CaseIterable {
        /// An Ethernet frame, port ↔ switch.
        case frame = 0x01
        /// A port announces itself after a handshake; body: its name in UTF-8 (may be empty).
        case hello = 0x02
        /// The switch accepts a port; body: keepalive interval and silence timeout, UInt16 seconds each.
        case welcome = 0x03
        /// Liveness probe from a port; body: UInt64 sequence number.
        case ping = 0x04
        /// Answer to a ping; body: the same sequence number.
        case pong = 0x05
        /// The sender is leaving cleanly; body empty.
        case bye = 0x06
        /// A VPN server's settings for its client, answering `hello`; body: `ClientConfig` text.
        case config = 0x07
        /// An Ethernet frame through the switch, with the member it came from; body: origin
        /// member id (UInt32 big-endian; a port sends 0xFFFFFFFF, the switch fills it in) + frame.
        case switchedFrame = 0x08
        /// A port asks the switch to introduce it to a member; body: member id (4) or public key (32).
        case lookup = 0x09
        /// The switch describes a member (answering `lookup`, or telling the member looked up
        /// who wants it: the rendezvous); body: `MemberInfo`.
        case member = 0x0A
        /// The switch says a member was removed from the network; body: its public key (32).
        case memberGone = 0x0B
        /// A port tells the switch its own addresses, for direct paths; body: `CandidateList`.
        case endpoints = 0x0C
        /// A port asks the switch whether a member may use a source MAC; body: id (4) + MAC (6).
        case vouch = 0x0D
        /// Switch ↔ switch: members registered at the sender (added, refreshed or gone); body: `RosterUpdate`.
        case roster = 0x0E
        /// Switch ↔ switch: an introduction across switches; body: the recipient's member id of
        /// the member it is for (4), a mode (1: `MeshIntroduction`), and `MemberInfo` of the other
        /// member, in the sender's ids.
        case meshIntroduce = 0x0F
        /// Switch ↔ switch: a frame from a member of the sender; body: the origin's id in the
        /// sender's ids (4) + the frame or switched-frame message as the member sent it.
        case meshFrame = 0x10
        /// Switch ↔ switch, now and then: the key that tags the sender's relay datagrams (16),
        /// which also names its run (a new key: it restarted), and flags (1; bit 0: send me your
        /// roster).
        case meshHello = 0x11
    }

    /// Why a message was refused.
    public enum ParseError: Int, Error, Sendable, CaseIterable, CustomStringConvertible {
        case truncatedHeader
        case unknownType
        case unsupportedVersion
        case truncatedBody
        case badBody

        public var description: String {
            switch self {
            case .truncatedHeader: "truncated Lanyard header"
            case .unknownType: "unknown Lanyard message type"
            case .unsupportedVersion: "unsupported Lanyard version"
            case .truncatedBody: "truncated Lanyard body"
            case .badBody: "malformed Lanyard body"
            }
        }
    }

    /// A parsed header: the kind and where the body sits in the buffer.
    public struct Header: Equatable, Sendable {
        public let kind: Kind
        public let bodyRange: Range<Int>
    }

    /// Parses the header of `bytes` (one decrypted plaintext) without copying.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> Header {
        guard bytes.count >= headerLength else { throw .truncatedHeader }
        guard let kind = Kind(rawValue: bytes[0]) else { throw .unknownType }
        guard bytes[1] == version else { throw .unsupportedVersion }
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard headerLength + length <= bytes.count else { throw .truncatedBody }
        return Header(kind: kind, bodyRange: headerLength..<(headerLength + length))
    }

    /// Writes a header for a body of `bodyLength` bytes at the start of `out` (which must hold 4 bytes).
    @inlinable
    public static func writeHeader(_ kind: Kind, bodyLength: Int, into out: UnsafeMutableRawBufferPointer) {
        out[0] = kind.rawValue
        out[1] = version
        out[2] = UInt8(truncatingIfNeeded: bodyLength >> 8)
        out[3] = UInt8(truncatingIfNeeded: bodyLength)
    }

    /// Encodes a whole control message (not for frames, which are written in place) as bytes.
    public static func encode(_ kind: Kind, body: [UInt8] = []) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: headerLength + body.count)
        out.withUnsafeMutableBytes { writeHeader(kind, bodyLength: body.count, into: $0) }
        out.replaceSubrange(headerLength..., with: body)
        return out
    }

    /// Encodes a 64-bit number big-endian (ping/pong sequence).
    public static func encodeUInt64(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * $0)) }
    }

    /// The welcome body: keepalive interval and silence timeout in whole seconds (4 bytes); a
    /// switch that offers direct paths adds flags (1), the port's member id (4) and the port's
    /// relay key (16).
    public struct Welcome: Equatable, Sendable {
        public var keepaliveSeconds: UInt16
        public var silenceTimeoutSeconds: UInt16
        /// Present when the switch offers direct paths and its relay.
        public var directory: Directory?

        /// What a port needs to use direct paths and the relay.
        public struct Directory: Equatable, Sendable {
            /// The port's own member id.
            public var memberID: UInt32
            /// The key the port tags relay headers with.
            public var relayKey: [UInt8]
            public init(memberID: UInt32, relayKey: [UInt8]) {
                self.memberID = memberID
                self.relayKey = relayKey
            }
        }

        public init(keepaliveSeconds: UInt16, silenceTimeoutSeconds: UInt16, directory: Directory? = nil) {
            self.keepaliveSeconds = keepaliveSeconds
            self.silenceTimeoutSeconds = silenceTimeoutSeconds
            self.directory = directory
        }

        public var bytes: [UInt8] {
            var out = [UInt8(keepaliveSeconds >> 8), UInt8(keepaliveSeconds & 0xFF),
                       UInt8(silenceTimeoutSeconds >> 8), UInt8(silenceTimeoutSeconds & 0xFF)]
            if let d = directory {
                out.append(1)
                out += bigEndianBytes(d.memberID)
                out += d.relayKey
            }
            return out
        }

        public init(parsing body: UnsafeRawBufferPointer) throws(ParseError) {
            guard body.count == 4 || body.count == 25 else { throw .badBody }
            keepaliveSeconds = UInt16(body[0]) << 8 | UInt16(body[1])
            silenceTimeoutSeconds = UInt16(body[2]) << 8 | UInt16(body[3])
            guard keepaliveSeconds > 0, silenceTimeoutSeconds > keepaliveSeconds else { throw .badBody }
            if body.count == 25 {
                guard body[4] == 1 else { throw .badBody }
                directory = Directory(memberID: readBigEndianUInt32(body, at: 5), relayKey: Array(body[9..<25]))
            }
        }
    }
}
