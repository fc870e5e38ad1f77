/// A type-1 handshake initiation, field by field.
public struct HandshakeInitiation: Equatable, Sendable {
    public var senderIndex: UInt32
    public var ephemeral: [UInt8]
    public var encryptedStatic: [UInt8]
    public var encryptedTimestamp: [UInt8]
    public var mac1: [UInt8]
    public var mac2: [UInt8]

    /// Parses an exactly 148-byte type-1 message.
    public init(parsing d: UnsafeRawBufferPointer) throws(MessageParseError) {
        guard try MessageLayout.classify(d) == .initiation else { throw .unknownType }
        typealias L = MessageLayout
        senderIndex = L.readLE32(d, L.initiationSenderOffset)
        ephemeral = Array(d[L.initiationEphemeralOffset..<L.initiationStaticOffset])
        encryptedStatic = Array(d[L.initiationStaticOffset..<L.initiationTimestampOffset])
        encryptedTimestamp = Array(d[L.initiationTimestampOffset..<L.initiationMac1Offset])
        mac1 = Array(d[L.initiationMac1Offset..<L.initiationMac2Offset])
        mac2 = Array(d[L.initiationMac2Offset..<L.initiationSize])
    }

    init(senderIndex: UInt32, ephemeral: [UInt8], encryptedStatic: [UInt8], encryptedTimestamp: [UInt8]) {
        self.senderIndex = senderIndex
        self.ephemeral = ephemeral
        self.encryptedStatic = encryptedStatic
        self.encryptedTimestamp = encryptedTimestamp
        mac1 = [UInt8](repeating: 0, count: 16)
        mac2 = [UInt8](repeating: 0, count: 16)
    }

    /// The 148 wire bytes.
    public var bytes: [UInt8] {
        [1, 0, 0, 0] + MessageLayout.le32(senderIndex) + ephemeral + encryptedStatic + encryptedTimestamp + mac1 + mac2
    }
}

/// A type-2 handshake response, field by field.
public struct HandshakeResponse: Equatable, Sendable {
    public var senderIndex: UInt32
    public var receiverIndex: UInt32
    public var ephemeral: [UInt8]
    public var encryptedNothing: [UInt8]
    public var mac1: [UInt8]
    public var mac2: [UInt8]

    /// Parses an exactly 92-byte type-2 message.
    public init(parsing d: UnsafeRawBufferPointer) throws(MessageParseError) {
        guard try MessageLayout.classify(d) == .response else { throw .unknownType }
        typealias L = MessageLayout
        senderIndex = L.readLE32(d, L.responseSenderOffset)
        receiverIndex = L.readLE32(d, L.responseReceiverOffset)
        ephemeral = Array(d[L.responseEphemeralOffset..<L.responseEmptyOffset])
        encryptedNothing = Array(d[L.responseEmptyOffset..<L.responseMac1Offset])
        mac1 = Array(d[L.responseMac1Offset..<L.responseMac2Offset])
        mac2 = Array(d[L.responseMac2Offset..<L.responseSize])
    }

    init(senderIndex: UInt32, receiverIndex: UInt32, ephemeral: [UInt8], encryptedNothing: [UInt8]) {
        self.senderIndex = senderIndex
        self.receiverIndex = receiverIndex
        self.ephemeral = ephemeral
        self.encryptedNothing = encryptedNothing
        mac1 = [UInt8](repeating: 0, count: 16)
        mac2 = [UInt8](repeating: 0, count: 16)
    }

    /// The 92 wire bytes.
    public var bytes: [UInt8] {
        [2, 0, 0, 0] + MessageLayout.le32(senderIndex) + MessageLayout.le32(receiverIndex) + ephemeral + encryptedNothing + mac1 + mac2
    }
}

/// A type-3 cookie reply, field by field.
public struct CookieReply: Equatable, Sendable {
    public var receiverIndex: UInt32
    public var nonce: [UInt8]
    public var encryptedCookie: [UInt8]

    /// Parses an exactly 64-byte type-3 message.
    public init(parsing d: UnsafeRawBufferPointer) throws(MessageParseError) {
        guard try MessageLayout.classify(d) == .cookieReply else { throw .unknownType }
        typealias L = MessageLayout
        receiverIndex = L.readLE32(d, L.cookieReceiverOffset)
        nonce = Array(d[L.cookieNonceOffset..<L.cookieEncryptedOffset])
        encryptedCookie = Array(d[L.cookieEncryptedOffset..<L.cookieReplySize])
    }

    init(receiverIndex: UInt32, nonce: [UInt8], encryptedCookie: [UInt8]) {
        self.receiverIndex = receiverIndex
        self.nonce = nonce
        self.encryptedCookie = encryptedCookie
    }

    /// The 64 wire bytes.
    public var bytes: [UInt8] { [3, 0, 0, 0] + MessageLayout.le32(receiverIndex) + nonce + encryptedCookie }
}

/// Reads the receiver index of a type-2, type-3 or type-4 message (for routing to a peer),
/// or the sender index of a type-1. Throws for malformed datagrams.
public func wireGuardIndex(of datagram: UnsafeRawBufferPointer) throws(MessageParseError) -> (type: MessageType, index: UInt32) {
    let type = try MessageLayout.classify(datagram)
    switch type {
    case .initiation: return (type, MessageLayout.readLE32(datagram, MessageLayout.initiationSenderOffset))
    case .response: return (type, MessageLayout.readLE32(datagram, MessageLayout.responseReceiverOffset))
    case .cookieReply: return (type, MessageLayout.readLE32(datagram, MessageLayout.cookieReceiverOffset))
    case .transportData: return (type, MessageLayout.readLE32(datagram, MessageLayout.transportReceiverOffset))
    }
}

extension Array where Element == UInt8 {
    /// Copies into `out` at `offset`.
    func write(to out: UnsafeMutableRawBufferPointer, at offset: Int = 0) {
        for (i, b) in enumerated() { out[offset + i] = b }
    }
}
