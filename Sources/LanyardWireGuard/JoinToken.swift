/// What `lanyard member invite NAME` prints and `lanyard port --join TOKEN` reads: the switch's
/// public key, where to reach it, and a one-time invitation (an id and a secret).
///
/// Text form: `lanyard1-` then base64url without padding of
///
///     0      version, 1
///     1      the switch's public key (32 bytes)
///     33     invite id (8 bytes)
///     41     secret (16 bytes)
///     57     endpoints, UTF-8 "HOST:PORT" joined by "," (1...8 of them, each at most 255 bytes)
///
/// The switch keeps only `secretHash(secret)` and the invite id; the token itself is the only copy
/// of the secret.
public struct JoinToken: Sendable, Equatable {
    /// The text form's prefix.
    public static let prefix = "lanyard1-"
    /// The binary form's version byte.
    public static let version: UInt8 = 1
    /// Longer text is refused before it is decoded.
    public static let maxTextLength = 4096
    /// Bytes in an invite id.
    public static let inviteIDLength = 8
    /// Bytes in a secret.
    public static let secretLength = 16
    /// Bytes before the endpoints in the binary form.
    static let fixedLength = 1 + 32 + inviteIDLength + secretLength

    /// The switch's public key: the joiner encrypts its request to it.
    public let switchKey: PublicKey
    /// Names the invitation on the switch (8 random bytes; not secret).
    public let inviteID: [UInt8]
    /// Proves the holder was invited (16 random bytes).
    public let secret: [UInt8]
    /// Where the switch listens, "HOST:PORT" each (1...8).
    public let endpoints: [String]

    /// Wraps the fields; `nil` when an id or secret has the wrong length or the endpoints are not
    /// 1...8 valid "HOST:PORT" strings.
    init?(switchKey: PublicKey, inviteID: [UInt8], secret: [UInt8], endpoints: [String]) {
        guard inviteID.count == Self.inviteIDLength, secret.count == Self.secretLength,
              JoinEndpoints.isValid(endpoints) else { return nil }
        self.switchKey = switchKey
        self.inviteID = inviteID
        self.secret = secret
        self.endpoints = endpoints
    }

    /// A new token with a random invite id and secret (from the system's secure generator).
    /// Throws `badEndpoints` unless `endpoints` are 1...8 valid "HOST:PORT" strings
    /// (see `isValidEndpoint`), `invalidKey` when `switchKey` is a low-order point.
    public static func make(switchKey: PublicKey, endpoints: [String]) throws(JoinTokenError) -> JoinToken {
        guard JoinEndpoints.isValid(endpoints) else { throw .badEndpoints }
        guard isUsableKey(switchKey) else { throw .invalidKey }
        let random = SystemRandomSource()
        return JoinToken(switchKey: switchKey, inviteID: random.bytes(inviteIDLength),
                         secret: random.bytes(secretLength), endpoints: endpoints)!
    }

    /// Whether `endpoint` may go into a token or a join reply: "HOST:PORT" with a name, an IPv4
    /// address or a bracketed IPv6 address, a port in 1...65535, at most 255 bytes, and no comma,
    /// whitespace or control character.
    public static func isValidEndpoint(_ endpoint: String) -> Bool { JoinEndpoints.isValid(endpoint) }

    /// Parses the text form, ignoring surrounding whitespace.
    public init(parsing text: String) throws(JoinTokenError) {
        guard text.utf8.count <= Self.maxTextLength else { throw .tooLong }
        let trimmed = Self.trimmed(text)
        let prefix = Array(Self.prefix.utf8)
        guard trimmed.starts(with: prefix) else { throw .wrongPrefix }
        guard let binary = Base64URL.decode(trimmed.dropFirst(prefix.count)) else { throw .badEncoding }
        guard let version = binary.first else { throw .truncated }
        guard version == Self.version else { throw .unsupportedVersion(version) }
        guard binary.count > Self.fixedLength else { throw .truncated }
        let key = try! PublicKey(rawValue: Array(binary[1..<33])) // 32 bytes: cannot fail
        guard Self.isUsableKey(key) else { throw .invalidKey }
        guard let endpoints = JoinEndpoints.decode(binary[Self.fixedLength...]) else { throw .badEndpoints }
        self.init(switchKey: key, inviteID: Array(binary[33..<41]), secret: Array(binary[41..<57]), endpoints: endpoints)!
    }

    /// The text form, `lanyard1-…`.
    public var text: String {
        let binary = [Self.version] + switchKey.rawValue + inviteID + secret + JoinEndpoints.encode(endpoints)
        return Self.prefix + Base64URL.encode(binary)
    }

    /// The invite id as 16 lowercase hex digits (how the switch's store and its operator name it).
    public var inviteIDHex: String { UAPI.hex(inviteID) }

    /// What the switch stores instead of the secret: lowercase hex of BLAKE2s-256(secret).
    public static func secretHash(_ secret: [UInt8]) -> String { UAPI.hex(BLAKE2s.hash(secret)) }

    /// Compares two hashes (as from `secretHash`) in time independent of where they differ.
    public static func sameHash(_ a: String, _ b: String) -> Bool {
        constantTimeEqual(Array(a.utf8), Array(b.utf8))
    }

    /// Whether Diffie-Hellman with `key` gives a non-zero secret (false for the all-zero key and
    /// the other low-order points, whose result is zero whatever the private key).
    static func isUsableKey(_ key: PublicKey) -> Bool {
        PrivateKey().sharedSecret(with: key) != nil
    }

    private static func trimmed(_ text: String) -> [UInt8] {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return [] }
        return Array(Substring(scalars[first...last]).utf8)
    }
}

/// Why a join token was refused.
public enum JoinTokenError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Longer than `JoinToken.maxTextLength` characters.
    case tooLong
    /// Does not start with `lanyard1-`.
    case wrongPrefix
    /// Not base64url after the prefix.
    case badEncoding
    /// A version this program does not know.
    case unsupportedVersion(UInt8)
    /// Too short to hold a key, an invite and an endpoint.
    case truncated
    /// The switch key is one no Diffie-Hellman can be done with.
    case invalidKey
    /// No endpoints, more than 8, or one that is not "HOST:PORT".
    case badEndpoints

    public var description: String {
        let copy = "copy the whole line that `lanyard member invite` printed"
        switch self {
        case .tooLong:
            return "this is far too long to be a Lanyard join token: \(copy), and nothing else"
        case .wrongPrefix:
            return "this is not a Lanyard join token (it should start with \(JoinToken.prefix)): \(copy)"
        case .badEncoding:
            return "this join token has characters that do not belong in one (it was probably cut or altered while copying): \(copy)"
        case .unsupportedVersion(let v):
            return "this join token has version \(v), which this lanyard does not understand: update lanyard on this machine, or ask the network's operator for a token from the same release"
        case .truncated:
            return "this join token is cut short: \(copy), it is one long line"
        case .invalidKey:
            return "this join token names an unusable switch key (it was probably altered): ask the network's operator for a new one (`lanyard member invite NAME`)"
        case .badEndpoints:
            return "this join token's switch addresses are missing or malformed (it was probably altered): ask the network's operator for a new one (`lanyard member invite NAME`), and check the switch's public endpoints in its configuration"
        }
    }
}
