import Crypto

/// Errors when loading keys.
public enum KeyError: Error, Equatable, Sendable {
    /// Not 44 characters of canonical standard base64 for 32 bytes.
    case invalidBase64
    /// Not exactly 32 bytes.
    case invalidLength
}

/// Constant-time equality for secrets.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in a.indices { diff |= a[i] ^ b[i] }
    return diff == 0
}

/// A Curve25519 public key, printed as by `wg pubkey`.
public struct PublicKey: Hashable, Sendable, CustomStringConvertible {
    /// The 32 raw bytes.
    public let rawValue: [UInt8]

    /// Wraps 32 raw bytes.
    public init(rawValue: [UInt8]) throws(KeyError) {
        guard rawValue.count == 32 else { throw .invalidLength }
        self.rawValue = rawValue
    }

    /// Parses the 44-character base64 form.
    public init(base64: String) throws(KeyError) {
        guard let bytes = KeyBase64.decode(base64, count: 32) else { throw .invalidBase64 }
        rawValue = bytes
    }

    /// The 44-character base64 form.
    public var base64: String { KeyBase64.encode(rawValue) }
    public var description: String { base64 }
}

/// A Curve25519 private key, as made by `wg genkey`. Its description never shows the key.
public struct PrivateKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The 32 raw bytes (clamped if made here or by `wg genkey`; X25519 clamps anyway).
    public private(set) var rawValue: [UInt8]
    /// swift-crypto's key, made once: making one from raw bytes computes the public key (a
    /// fixed-base scalar multiplication), which doing per Diffie-Hellman cost a handshake three
    /// extra multiplications. swift-crypto zeroes its copy of the key when this is released.
    /// Immutable once made (swift-crypto's key never changes its storage), so sharing it between
    /// threads is safe although swift-crypto does not declare it Sendable.
    nonisolated(unsafe) private let agreement: Curve25519.KeyAgreement.PrivateKey

    /// Zeroes the key's bytes in place (an ephemeral key whose handshake ended).
    mutating func wipe() { rawValue.zeroize() }

    /// Generates a fresh key from the system's secure random source.
    public init() {
        agreement = Curve25519.KeyAgreement.PrivateKey()
        rawValue = Array(agreement.rawRepresentation)
    }

    /// Wraps 32 raw bytes.
    public init(rawValue: [UInt8]) throws(KeyError) {
        guard rawValue.count == 32 else { throw .invalidLength }
        self.rawValue = rawValue
        agreement = try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: rawValue) // 32 bytes: cannot fail
    }

    /// Parses the 44-character base64 form.
    public init(base64: String) throws(KeyError) {
        guard let bytes = KeyBase64.decode(base64, count: 32) else { throw .invalidBase64 }
        try self.init(rawValue: bytes)
    }

    /// The 44-character base64 form (secret: handle with care).
    public var base64: String { KeyBase64.encode(rawValue) }

    /// The matching public key (what `wg pubkey` prints).
    public var publicKey: PublicKey {
        try! PublicKey(rawValue: Array(agreement.publicKey.rawRepresentation))
    }

    /// X25519(self, peer). Returns nil when the result is all zeros (a low-order peer point).
    public func sharedSecret(with peer: PublicKey) -> [UInt8]? {
        guard let theirs = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: peer.rawValue),
              let secret = try? agreement.sharedSecretFromKeyAgreement(with: theirs)
        else { return nil }
        let bytes = secret.withUnsafeBytes { Array($0) }
        return bytes.allSatisfy({ $0 == 0 }) ? nil : bytes
    }

    public static func == (a: PrivateKey, b: PrivateKey) -> Bool { constantTimeEqual(a.rawValue, b.rawValue) }
    public var description: String { "PrivateKey(redacted)" }
    public var debugDescription: String { description }
}

/// A 32-byte pre-shared symmetric key, as made by `wg genpsk`. Its description never shows the key.
public struct PresharedKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The 32 raw bytes.
    public let rawValue: [UInt8]

    /// The all-zero key WireGuard uses when no pre-shared key is configured.
    public static let zero = try! PresharedKey(rawValue: [UInt8](repeating: 0, count: 32))

    /// Generates a fresh random key.
    public init() {
        var rng = SystemRandomNumberGenerator()
        rawValue = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Wraps 32 raw bytes.
    public init(rawValue: [UInt8]) throws(KeyError) {
        guard rawValue.count == 32 else { throw .invalidLength }
        self.rawValue = rawValue
    }

    /// Parses the 44-character base64 form.
    public init(base64: String) throws(KeyError) {
        guard let bytes = KeyBase64.decode(base64, count: 32) else { throw .invalidBase64 }
        rawValue = bytes
    }

    /// The 44-character base64 form (secret: handle with care).
    public var base64: String { KeyBase64.encode(rawValue) }

    public static func == (a: PresharedKey, b: PresharedKey) -> Bool { constantTimeEqual(a.rawValue, b.rawValue) }
    public var description: String { "PresharedKey(redacted)" }
    public var debugDescription: String { description }
}
