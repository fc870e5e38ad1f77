import CLanyardCrypto

/// A ChaCha20-Poly1305 key for every packet of one direction of a session (only the nonce
/// changes). Wraps the C shim, which keeps the EVP contexts in a bounded cache per thread; the
/// key and its cached schedule are cleansed in deinit.
final class TransportCipher {
    private let context: OpaquePointer

    /// Nil if libcrypto could not create the context or the key is not 32 bytes.
    init?(key: [UInt8]) {
        guard key.count == 32, let ctx = key.withUnsafeBufferPointer({ clanyard_aead_new($0.baseAddress) }) else { return nil }
        context = ctx
    }

    deinit { clanyard_aead_free(context) }

    /// Encrypts `buffer[0..<count]` in place and writes the tag at `buffer[count..<count+16]`.
    /// Nonce: 32 zero bits || `counter` little-endian.
    func seal(counter: UInt64, buffer: UnsafeMutableRawBufferPointer, count: Int) -> Bool {
        guard let base = buffer.baseAddress, count + 16 <= buffer.count else { return false }
        var nonce = Self.nonce(counter)
        let p = base.assumingMemoryBound(to: UInt8.self)
        let rc = withUnsafeBytes(of: &nonce) { n in
            clanyard_aead_seal(context, n.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, 0, p, count, p + count)
        }
        return rc == 0
    }

    /// Verifies the tag at `buffer[count..<count+16]` and decrypts `buffer[0..<count]` in place.
    func open(counter: UInt64, buffer: UnsafeMutableRawBufferPointer, count: Int) -> Bool {
        guard let base = buffer.baseAddress, count + 16 <= buffer.count else { return false }
        var nonce = Self.nonce(counter)
        let p = base.assumingMemoryBound(to: UInt8.self)
        let rc = withUnsafeBytes(of: &nonce) { n in
            clanyard_aead_open(context, n.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, 0, p, count, p + count)
        }
        return rc == 0
    }

    /// The 12-byte nonce as a tuple (no allocation).
    private static func nonce(_ counter: UInt64) -> (UInt32, UInt32, UInt32) {
        (0, UInt32(truncatingIfNeeded: counter).littleEndian, UInt32(truncatingIfNeeded: counter >> 32).littleEndian)
    }
}
