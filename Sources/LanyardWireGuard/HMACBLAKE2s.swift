/// The hash-based primitives WireGuard builds from BLAKE2s (whitepaper §5.4):
/// `HASH`, `MAC`, `HMAC` and the HKDF-style `KDF1/KDF2/KDF3`.
public enum WireGuardHash {
    /// `HASH(input)`: BLAKE2s-256 of the concatenation of `parts`.
    public static func hash(_ parts: [UInt8]...) -> [UInt8] {
        var state = BLAKE2s()
        for part in parts { state.update(part) }
        return state.finalize()
    }

    /// `MAC(key, input)`: keyed BLAKE2s with a 16-byte digest.
    public static func mac(key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        var state = BLAKE2s(outputSize: 16, key: key)
        for part in parts { state.update(part) }
        return state.finalize()
    }

    /// `MAC` over raw bytes (used on message prefixes without copying them into arrays first).
    public static func mac(key: [UInt8], bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var state = BLAKE2s(outputSize: 16, key: key)
        state.update(bytes)
        return state.finalize()
    }

    /// `HMAC(key, input)`: RFC 2104 HMAC over BLAKE2s-256 (block size 64), 32-byte output.
    public static func hmac(key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        var k = key.count > BLAKE2s.blockSize ? BLAKE2s.hash(key) : key
        k += [UInt8](repeating: 0, count: BLAKE2s.blockSize - k.count)
        var inner = BLAKE2s()
        inner.update(k.map { $0 ^ 0x36 })
        for part in parts { inner.update(part) }
        var outer = BLAKE2s()
        outer.update(k.map { $0 ^ 0x5C })
        outer.update(inner.finalize())
        for i in k.indices { k[i] = 0 }
        return outer.finalize()
    }

    /// `KDF1(key, input)` = τ1.
    public static func kdf1(key: [UInt8], input: [UInt8]) -> [UInt8] {
        kdf(key: key, input: input, count: 1)[0]
    }

    /// `KDF2(key, input)` = (τ1, τ2).
    public static func kdf2(key: [UInt8], input: [UInt8]) -> ([UInt8], [UInt8]) {
        let t = kdf(key: key, input: input, count: 2)
        return (t[0], t[1])
    }

    /// `KDF3(key, input)` = (τ1, τ2, τ3).
    public static func kdf3(key: [UInt8], input: [UInt8]) -> ([UInt8], [UInt8], [UInt8]) {
        let t = kdf(key: key, input: input, count: 3)
        return (t[0], t[1], t[2])
    }

    /// τ0 = HMAC(key, input); τ1 = HMAC(τ0, 0x1); τi = HMAC(τ0, τ(i-1) || i).
    static func kdf(key: [UInt8], input: [UInt8], count: Int) -> [[UInt8]] {
        var prk = hmac(key: key, input)
        var outputs: [[UInt8]] = []
        var previous: [UInt8] = []
        for i in 1...count {
            previous = hmac(key: prk, previous, [UInt8(i)])
            outputs.append(previous)
        }
        for i in prk.indices { prk[i] = 0 }
        return outputs
    }
}
