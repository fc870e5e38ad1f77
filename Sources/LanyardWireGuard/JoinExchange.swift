/// The two datagrams of joining a network with a token: one request from the joining machine to
/// the switch, one reply back. Pure: callers send, receive and decide.
///
/// Request (at most 172 bytes):
///
///     0      type 0x11, then three zero bytes (Lanyard's types start at 0x10, WireGuard's are 1...4)
///     4      the joiner's public key (32 bytes)
///     36     random nonce (24 bytes)
///     60     XChaCha20-Poly1305 of: invite id (8), secret (16), unix seconds (UInt64 big endian),
///            hostname length (1) and UTF-8 hostname (0...63), then the 16-byte tag
///
/// Reply:
///
///     0      type 0x12, then three zero bytes
///     4      random nonce (24 bytes)
///     28     XChaCha20-Poly1305 of the outcome, then the 16-byte tag. Outcome: status 1 (accepted),
///            member name length (1), UTF-8 member name (1...63), endpoints as in a join token
///            (0...8, to the end); status 2 (pending); or status 3 (refused) and a `JoinRefusal`
///
/// Both are sealed under KDF1(HASH(label || joiner key || switch key), DH(joiner, switch)), with
/// label "lanyard join v1 request" or "lanyard join v1 reply": only the holders of the joiner's or
/// the switch's private key can derive it, so a valid request proves the joiner holds the private
/// key it registers, and a request can never be reflected as a reply. The AAD of both is their
/// 4-byte header and the joiner's public key.
public enum JoinExchange {
    /// The request's type byte.
    public static let requestType: UInt8 = 0x11
    /// The reply's type byte.
    public static let replyType: UInt8 = 0x12
    /// At most this many UTF-8 bytes in a requested hostname or a member name.
    public static let maxNameLength = 63

    static let requestLabel = Array("lanyard join v1 request".utf8)
    static let replyLabel = Array("lanyard join v1 reply".utf8)
    static let nonceLength = 24
    static let tagLength = 16
    static let requestKeyOffset = 4
    static let requestNonceOffset = 36
    static let requestSealedOffset = 60
    static let requestFixedPlaintext = JoinToken.inviteIDLength + JoinToken.secretLength + 8 + 1
    /// The shortest request (empty hostname).
    public static let minRequestSize = requestSealedOffset + requestFixedPlaintext + tagLength
    /// The longest request (63-byte hostname): 172 bytes.
    public static let maxRequestSize = minRequestSize + maxNameLength
    static let replyNonceOffset = 4
    static let replySealedOffset = 28
    /// The shortest reply (pending).
    public static let minReplySize = replySealedOffset + 1 + tagLength
    /// The longest reply (63-byte name, 8 endpoints of 255 bytes).
    public static let maxReplySize = replySealedOffset + 2 + maxNameLength
        + JoinEndpoints.maxCount * (JoinEndpoints.maxLength + 1) - 1 + tagLength

    /// Whether `bytes` starts like a join request (header only; no allocation).
    @inline(__always)
    public static func isJoinRequest(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] == requestType && bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 0
    }

    /// Whether `bytes` starts like a join reply (header only; no allocation).
    @inline(__always)
    public static func isJoinReply(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] == replyType && bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 0
    }

    /// The request the holder of `joiner` sends to the switch `token` names. `hostname`: the member
    /// name asked for (at most 63 UTF-8 bytes, no control characters; may be empty); `unixSeconds`:
    /// this machine's clock. Throws `invalidHostname`, or `invalidSwitchKey` for a low-order key.
    public static func sealRequest(token: JoinToken, joiner: PrivateKey, hostname: String,
                                   now unixSeconds: UInt64) throws(JoinExchangeError) -> [UInt8] {
        guard isValidName(hostname, allowEmpty: true) else { throw .invalidHostname }
        let joinerKey = joiner.publicKey
        guard var key = sealingKey(requestLabel, mine: joiner, theirs: token.switchKey,
                                   joiner: joinerKey, switchKey: token.switchKey) else { throw .invalidSwitchKey }
        defer { key.zeroize() }
        let name = Array(hostname.utf8)
        var plaintext = token.inviteID + token.secret + bigEndian(unixSeconds) + [UInt8(name.count)] + name
        defer { plaintext.zeroize() }
        let header: [UInt8] = [requestType, 0, 0, 0]
        let nonce = SystemRandomSource().bytes(nonceLength)
        let sealed = try! XChaCha20Poly1305.seal(key: key, nonce: nonce, plaintext: plaintext, aad: header + joinerKey.rawValue) // lengths are right
        return header + joinerKey.rawValue + nonce + sealed
    }

    /// Opens a request at the switch whose private key is `switchKey`. Throws `notARequest`,
    /// `badLength`, `invalidJoinerKey`, `authenticationFailed` or `malformed`.
    public static func openRequest(_ bytes: [UInt8], switchKey: PrivateKey) throws(JoinExchangeError) -> JoinRequest {
        guard bytes.withUnsafeBytes(isJoinRequest) else { throw .notARequest }
        guard (minRequestSize...maxRequestSize).contains(bytes.count) else { throw .badLength }
        let joinerKey = try! PublicKey(rawValue: Array(bytes[requestKeyOffset..<requestNonceOffset])) // 32 bytes
        guard var key = sealingKey(requestLabel, mine: switchKey, theirs: joinerKey,
                                   joiner: joinerKey, switchKey: switchKey.publicKey) else { throw .invalidJoinerKey }
        defer { key.zeroize() }
        let header = Array(bytes[0..<requestKeyOffset])
        let plaintext: [UInt8]
        do {
            plaintext = try XChaCha20Poly1305.open(key: key, nonce: Array(bytes[requestNonceOffset..<requestSealedOffset]),
                                                   sealed: Array(bytes[requestSealedOffset...]), aad: header + joinerKey.rawValue)
        } catch {
            throw .authenticationFailed
        }
        var p = plaintext[...]
        let inviteID = Array(p.prefix(JoinToken.inviteIDLength)); p = p.dropFirst(JoinToken.inviteIDLength)
        let secret = Array(p.prefix(JoinToken.secretLength)); p = p.dropFirst(JoinToken.secretLength)
        let timestamp = p.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }; p = p.dropFirst(8)
        guard let nameLength = p.first, p.count == 1 + Int(nameLength),
              let hostname = String(validating: p.dropFirst(), as: UTF8.self),
              isValidName(hostname, allowEmpty: true) else { throw .malformed }
        return JoinRequest(joinerKey: joinerKey, inviteID: inviteID, secret: secret, timestamp: timestamp, hostname: hostname)
    }

    /// The reply the switch whose private key is `switchKey` sends to the joiner whose request
    /// carried `joiner`. Throws `invalidMemberName` or `invalidEndpoints` for an outcome that
    /// does not fit the format, `invalidJoinerKey` for a low-order key.
    public static func sealReply(_ outcome: JoinOutcome, to joiner: PublicKey,
                                 switchKey: PrivateKey) throws(JoinExchangeError) -> [UInt8] {
        let plaintext: [UInt8]
        switch outcome {
        case .accepted(let memberName, let endpoints):
            guard isValidName(memberName, allowEmpty: false) else { throw .invalidMemberName }
            guard JoinEndpoints.isValid(endpoints, allowEmpty: true) else { throw .invalidEndpoints }
            let name = Array(memberName.utf8)
            plaintext = [1, UInt8(name.count)] + name + JoinEndpoints.encode(endpoints)
        case .pending:
            plaintext = [2]
        case .refused(let refusal):
            plaintext = [3, refusal.rawValue]
        }
        guard var key = sealingKey(replyLabel, mine: switchKey, theirs: joiner,
                                   joiner: joiner, switchKey: switchKey.publicKey) else { throw .invalidJoinerKey }
        defer { key.zeroize() }
        let header: [UInt8] = [replyType, 0, 0, 0]
        let nonce = SystemRandomSource().bytes(nonceLength)
        let sealed = try! XChaCha20Poly1305.seal(key: key, nonce: nonce, plaintext: plaintext, aad: header + joiner.rawValue) // lengths are right
        return header + nonce + sealed
    }

    /// Opens, at the joiner whose private key is `joiner`, a reply from the switch `switchKey`.
    /// Throws `notAReply`, `badLength`, `invalidSwitchKey`, `authenticationFailed` or `malformed`.
    public static func openReply(_ bytes: [UInt8], joiner: PrivateKey, switchKey: PublicKey) throws(JoinExchangeError) -> JoinOutcome {
        guard bytes.withUnsafeBytes(isJoinReply) else { throw .notAReply }
        guard (minReplySize...maxReplySize).contains(bytes.count) else { throw .badLength }
        let joinerKey = joiner.publicKey
        guard var key = sealingKey(replyLabel, mine: joiner, theirs: switchKey,
                                   joiner: joinerKey, switchKey: switchKey) else { throw .invalidSwitchKey }
        defer { key.zeroize() }
        let header = Array(bytes[0..<replyNonceOffset])
        let plaintext: [UInt8]
        do {
            plaintext = try XChaCha20Poly1305.open(key: key, nonce: Array(bytes[replyNonceOffset..<replySealedOffset]),
                                                   sealed: Array(bytes[replySealedOffset...]), aad: header + joinerKey.rawValue)
        } catch {
            throw .authenticationFailed
        }
        switch plaintext.first {
        case 1:
            guard plaintext.count >= 2 else { throw .malformed }
            let end = 2 + Int(plaintext[1])
            guard plaintext.count >= end, let name = String(validating: plaintext[2..<end], as: UTF8.self),
                  isValidName(name, allowEmpty: false),
                  let endpoints = JoinEndpoints.decode(plaintext[end...], allowEmpty: true) else { throw .malformed }
            return .accepted(memberName: name, endpoints: endpoints)
        case 2:
            guard plaintext.count == 1 else { throw .malformed }
            return .pending
        case 3:
            guard plaintext.count == 2, let refusal = JoinRefusal(rawValue: plaintext[1]) else { throw .malformed }
            return .refused(refusal)
        default:
            throw .malformed
        }
    }

    /// The sealing key of `label` between `joiner` and `switchKey`, from `mine`'s side of the
    /// Diffie-Hellman; nil when `theirs` is a low-order point.
    static func sealingKey(_ label: [UInt8], mine: PrivateKey, theirs: PublicKey,
                           joiner: PublicKey, switchKey: PublicKey) -> [UInt8]? {
        guard var dh = mine.sharedSecret(with: theirs) else { return nil }
        defer { dh.zeroize() }
        return WireGuardHash.kdf1(key: WireGuardHash.hash(label, joiner.rawValue, switchKey.rawValue), input: dh)
    }

    /// A hostname or member name: at most 63 UTF-8 bytes, no control characters.
    static func isValidName(_ name: String, allowEmpty: Bool) -> Bool {
        let count = name.utf8.count
        return count <= maxNameLength && (allowEmpty || count > 0)
            && !name.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    private static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
}

/// What the switch learns from a valid request.
public struct JoinRequest: Sendable, Equatable {
    /// The joiner's public key; the request proves the joiner holds its private key.
    public let joinerKey: PublicKey
    /// The token's invite id (8 bytes).
    public let inviteID: [UInt8]
    /// The token's secret (16 bytes): compare `JoinToken.secretHash(secret)` with the stored one.
    public let secret: [UInt8]
    /// The joiner's clock, unix seconds: not checked here (the store decides what is too far off).
    public let timestamp: UInt64
    /// The name the joiner asks for (0...63 UTF-8 bytes, no control characters; may be empty).
    public let hostname: String
}
