/// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit MAC for short inputs.
///
/// Written here rather than taken from a package because none on this machine offers a keyed
/// short-input MAC without allocating or going through OpenSSL's parameter layer per call; the
/// relay tags every relayed datagram with it, so it must cost a few dozen instructions and no
/// allocation. Checked against the reference implementation's test vectors (SipHashTests).
public struct SipHash24: Sendable, Equatable {
    public let k0: UInt64
    public let k1: UInt64

    /// A MAC keyed with 16 bytes (little-endian halves, as in the reference implementation).
    public init(key: UnsafeRawBufferPointer) {
        precondition(key.count >= 16, "SipHash needs a 16-byte key")
        k0 = key.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        k1 = key.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
    }

    public init(key: [UInt8]) { self = key.withUnsafeBytes { SipHash24(key: $0) } }

    @inline(__always)
    fileprivate static func round(_ v0: inout UInt64, _ v1: inout UInt64, _ v2: inout UInt64, _ v3: inout UInt64) {
        v0 &+= v1; v1 = v1.rotl(13); v1 ^= v0; v0 = v0.rotl(32)
        v2 &+= v3; v3 = v3.rotl(16); v3 ^= v2
        v0 &+= v3; v3 = v3.rotl(21); v3 ^= v0
        v2 &+= v1; v1 = v1.rotl(17); v1 ^= v2; v2 = v2.rotl(32)
    }

    /// The 64-bit tag of `data`.
    public func tag(_ data: UnsafeRawBufferPointer) -> UInt64 {
        var state = State(self)
        let whole = data.count & ~7
        var i = 0
        while i < whole {
            state.absorb(data.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
            i += 8
        }
        var last = UInt64(truncatingIfNeeded: data.count) << 56
        var shift: UInt64 = 0
        while i < data.count { last |= UInt64(data[i]) << shift; shift += 8; i += 1 }
        return state.finish(last)
    }

    /// The tag of a 32-byte message given as four little-endian words (no buffer to assemble).
    @inline(__always)
    public func tag(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) -> UInt64 {
        var state = State(self)
        state.absorb(w0); state.absorb(w1); state.absorb(w2); state.absorb(w3)
        return state.finish(32 << 56)
    }

    /// SipHash's four lanes while a message is absorbed.
    struct State {
        var v0, v1, v2, v3: UInt64

        @inline(__always)
        init(_ key: SipHash24) {
            v0 = 0x736f_6d65_7073_6575 ^ key.k0
            v1 = 0x646f_7261_6e64_6f6d ^ key.k1
            v2 = 0x6c79_6765_6e65_7261 ^ key.k0
            v3 = 0x7465_6462_7974_6573 ^ key.k1
        }

        @inline(__always)
        mutating func absorb(_ m: UInt64) {
            v3 ^= m
            SipHash24.round(&v0, &v1, &v2, &v3); SipHash24.round(&v0, &v1, &v2, &v3)
            v0 ^= m
        }

        /// Absorbs the last block (remaining bytes and the length in the top byte) and finalizes.
        @inline(__always)
        mutating func finish(_ last: UInt64) -> UInt64 {
            absorb(last)
            v2 ^= 0xFF
            for _ in 0..<4 { SipHash24.round(&v0, &v1, &v2, &v3) }
            return v0 ^ v1 ^ v2 ^ v3
        }
    }
}

extension UInt64 {
    @inline(__always) func rotl(_ n: UInt64) -> UInt64 { (self << n) | (self >> (64 - n)) }
}
