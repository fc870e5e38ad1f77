import Crypto

/// Errors of the AEAD helpers used by the handshake and cookie messages.
public enum AEADError: Error, Equatable, Sendable {
    /// A key, nonce or input had the wrong length.
    case invalidLength
    /// The tag did not verify.
    case authenticationFailed
}

/// HChaCha20 (draft-irtf-cfrg-xchacha §2.2): derives a 32-byte subkey from a 32-byte key and a
/// 16-byte nonce, by 20 ChaCha rounds without the final feed-forward.
public enum HChaCha20 {
    /// Returns the subkey, or throws `invalidLength` for a wrong key or nonce size.
    public static func deriveSubkey(key: [UInt8], nonce: [UInt8]) throws(AEADError) -> [UInt8] {
        guard key.count == 32, nonce.count == 16 else { throw .invalidLength }
        var s = [UInt32](repeating: 0, count: 16)
        s[0] = 0x6170_7865; s[1] = 0x3320_646E; s[2] = 0x7962_2D32; s[3] = 0x6B20_6574
        for i in 0..<8 { s[4 + i] = loadLE32(key, 4 * i) }
        for i in 0..<4 { s[12 + i] = loadLE32(nonce, 4 * i) }
        for _ in 0..<10 {
            quarterRound(&s, 0, 4, 8, 12); quarterRound(&s, 1, 5, 9, 13)
            quarterRound(&s, 2, 6, 10, 14); quarterRound(&s, 3, 7, 11, 15)
            quarterRound(&s, 0, 5, 10, 15); quarterRound(&s, 1, 6, 11, 12)
            quarterRound(&s, 2, 7, 8, 13); quarterRound(&s, 3, 4, 9, 14)
        }
        var out = [UInt8]()
        out.reserveCapacity(32)
        for i in [0, 1, 2, 3, 12, 13, 14, 15] {
            let w = s[i]
            out += [UInt8(w & 0xFF), UInt8((w >> 8) & 0xFF), UInt8((w >> 16) & 0xFF), UInt8(w >> 24)]
        }
        for i in s.indices { s[i] = 0 }
        return out
    }

    private static func loadLE32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }

    @inline(__always)
    private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

    private static func quarterRound(_ s: inout [UInt32], _ a: Int, _ b: Int, _ c: Int, _ d: Int) {
        s[a] = s[a] &+ s[b]; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = s[c] &+ s[d]; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = s[a] &+ s[b]; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = s[c] &+ s[d]; s[b] = rotl(s[b] ^ s[c], 7)
    }
}

/// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): ChaCha20-Poly1305 with a 24-byte nonce, used by
/// WireGuard's cookie reply. Output of `seal` is ciphertext || 16-byte tag.
public enum XChaCha20Poly1305 {
    /// Encrypts `plaintext`; returns ciphertext followed by the tag.
    public static func seal(key: [UInt8], nonce: [UInt8], plaintext: [UInt8], aad: [UInt8] = []) throws(AEADError) -> [UInt8] {
        let (subkey, inner) = try split(key: key, nonce: nonce)
        do {
            let box = try ChaChaPoly.seal(plaintext, using: subkey, nonce: inner, authenticating: aad)
            return Array(box.ciphertext) + Array(box.tag)
        } catch {
            throw .invalidLength
        }
    }

    /// Verifies and decrypts ciphertext || tag.
    public static func open(key: [UInt8], nonce: [UInt8], sealed: [UInt8], aad: [UInt8] = []) throws(AEADError) -> [UInt8] {
        guard sealed.count >= 16 else { throw .invalidLength }
        let (subkey, inner) = try split(key: key, nonce: nonce)
        do {
            let box = try ChaChaPoly.SealedBox(nonce: inner, ciphertext: sealed.dropLast(16), tag: sealed.suffix(16))
            return Array(try ChaChaPoly.open(box, using: subkey, authenticating: aad))
        } catch {
            throw .authenticationFailed
        }
    }

    private static func split(key: [UInt8], nonce: [UInt8]) throws(AEADError) -> (SymmetricKey, ChaChaPoly.Nonce) {
        guard nonce.count == 24 else { throw .invalidLength }
        let subkey = try HChaCha20.deriveSubkey(key: key, nonce: Array(nonce[0..<16]))
        guard let inner = try? ChaChaPoly.Nonce(data: [0, 0, 0, 0] + nonce[16..<24]) else { throw .invalidLength }
        return (SymmetricKey(data: subkey), inner)
    }
}

/// The handshake's `AEAD(key, counter, plaintext, aad)`: ChaCha20-Poly1305 with nonce
/// 32 zero bits || 64-bit little-endian counter (the handshake always uses counter 0).
enum HandshakeAEAD {
    static func seal(key: [UInt8], counter: UInt64 = 0, plaintext: [UInt8], aad: [UInt8]) throws(AEADError) -> [UInt8] {
        do {
            let box = try ChaChaPoly.seal(plaintext, using: SymmetricKey(data: key), nonce: nonce(counter), authenticating: aad)
            return Array(box.ciphertext) + Array(box.tag)
        } catch {
            throw .invalidLength
        }
    }

    static func open(key: [UInt8], counter: UInt64 = 0, sealed: [UInt8], aad: [UInt8]) throws(AEADError) -> [UInt8] {
        guard sealed.count >= 16 else { throw .invalidLength }
        do {
            let box = try ChaChaPoly.SealedBox(nonce: nonce(counter), ciphertext: sealed.dropLast(16), tag: sealed.suffix(16))
            return Array(try ChaChaPoly.open(box, using: SymmetricKey(data: key), authenticating: aad))
        } catch {
            throw .authenticationFailed
        }
    }

    static func nonce(_ counter: UInt64) -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { bytes[4 + i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        // A 12-byte nonce is always accepted.
        return try! ChaChaPoly.Nonce(data: bytes)
    }
}
