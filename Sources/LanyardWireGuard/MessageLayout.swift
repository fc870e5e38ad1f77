/// WireGuard message types (first byte; the next three bytes are reserved zeros).
public enum MessageType: UInt8, Sendable {
    case initiation = 1
    case response = 2
    case cookieReply = 3
    case transportData = 4
}

/// Errors when parsing a datagram as a WireGuard message.
public enum MessageParseError: Error, Equatable, Sendable {
    /// Shorter than the 4-byte type header (or than a transport header plus tag).
    case truncated
    /// A known type but not its exact size.
    case wrongLength(type: MessageType, length: Int)
    /// The first four bytes are not one of the four known types.
    case unknownType
}

/// Sizes and offsets of WireGuard's messages (whitepaper §5.4). All integers are little-endian.
public enum MessageLayout {
    /// Size of the Poly1305 tag appended by every AEAD.
    public static let tagSize = 16
    /// Size of mac1 and mac2.
    public static let macSize = 16
    /// Size of a Curve25519 key.
    public static let keySize = 32

    /// Type 1: type(4) sender(4) ephemeral(32) static(32+16) timestamp(12+16) mac1(16) mac2(16).
    public static let initiationSize = 148
    public static let initiationSenderOffset = 4
    public static let initiationEphemeralOffset = 8
    public static let initiationStaticOffset = 40
    public static let initiationStaticSize = 48
    public static let initiationTimestampOffset = 88
    public static let initiationTimestampSize = 28
    public static let initiationMac1Offset = 116
    public static let initiationMac2Offset = 132

    /// Type 2: type(4) sender(4) receiver(4) ephemeral(32) empty(0+16) mac1(16) mac2(16).
    public static let responseSize = 92
    public static let responseSenderOffset = 4
    public static let responseReceiverOffset = 8
    public static let responseEphemeralOffset = 12
    public static let responseEmptyOffset = 44
    public static let responseMac1Offset = 60
    public static let responseMac2Offset = 76

    /// Type 3: type(4) receiver(4) nonce(24) cookie(16+16).
    public static let cookieReplySize = 64
    public static let cookieReceiverOffset = 4
    public static let cookieNonceOffset = 8
    public static let cookieNonceSize = 24
    public static let cookieEncryptedOffset = 32
    public static let cookieEncryptedSize = 32

    /// Type 4: type(4) receiver(4) counter(8) then ciphertext || tag.
    public static let transportHeaderSize = 16
    public static let transportReceiverOffset = 4
    public static let transportCounterOffset = 8
    /// The smallest transport message: a keepalive (empty plaintext) is header + tag.
    public static let transportMinimumSize = transportHeaderSize + tagSize
    /// Transport plaintexts are zero-padded to a multiple of this.
    public static let paddingMultiple = 16

    /// Bytes a transport message needs for a plaintext of `count` bytes (after padding).
    public static func transportSize(plaintextCount count: Int) -> Int {
        transportHeaderSize + paddedCount(count) + tagSize
    }

    /// `count` rounded up to the padding multiple.
    public static func paddedCount(_ count: Int) -> Int {
        (count + paddingMultiple - 1) / paddingMultiple * paddingMultiple
    }

    /// Identifies a datagram's type and checks its exact length, without reading anything else.
    public static func classify(_ datagram: UnsafeRawBufferPointer) throws(MessageParseError) -> MessageType {
        guard datagram.count >= 4 else { throw .truncated }
        let header = readLE32(datagram, 0)
        guard header >= 1, header <= 4, let type = MessageType(rawValue: UInt8(header)) else { throw .unknownType }
        let count = datagram.count
        switch type {
        case .initiation where count != initiationSize,
             .response where count != responseSize,
             .cookieReply where count != cookieReplySize:
            throw .wrongLength(type: type, length: count)
        case .transportData where count < transportMinimumSize:
            throw .truncated
        default:
            return type
        }
    }

    static func readLE32(_ b: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(b[offset + i]) << (8 * UInt32(i)) }
        return v
    }

    static func readLE64(_ b: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(b[offset + i]) << (8 * UInt64(i)) }
        return v
    }

    static func writeLE32(_ b: UnsafeMutableRawBufferPointer, _ offset: Int, _ v: UInt32) {
        for i in 0..<4 { b[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }

    static func writeLE64(_ b: UnsafeMutableRawBufferPointer, _ offset: Int, _ v: UInt64) {
        for i in 0..<8 { b[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
    }

    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
}
