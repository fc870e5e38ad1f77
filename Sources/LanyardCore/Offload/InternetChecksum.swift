/// The Internet checksum (RFC 1071): a ones'-complement sum of 16-bit big-endian words,
/// accumulated eight bytes at a time.
public enum InternetChecksum {
    /// Adds `bytes` to a running 32-bit-folded sum (big-endian word order).
    @inlinable
    public static func add(_ bytes: UnsafeRawBufferPointer, to initial: UInt64 = 0) -> UInt64 {
        var sum = initial
        var i = 0
        let n = bytes.count
        let base = bytes.baseAddress!
        while i + 8 <= n {
            let w = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            sum = sum &+ (w >> 32) &+ (w & 0xFFFF_FFFF)
            i += 8
        }
        while i + 2 <= n {
            sum = sum &+ (UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1]))
            i += 2
        }
        if i < n { sum = sum &+ (UInt64(bytes[i]) << 8) }
        return sum
    }

    /// Folds a sum to 16 bits (not complemented).
    @inlinable
    public static func fold(_ sum: UInt64) -> UInt16 {
        var s = sum
        while s >> 16 != 0 { s = (s & 0xFFFF) &+ (s >> 16) }
        return UInt16(s)
    }

    /// The checksum field value for `bytes` (complemented fold).
    @inlinable
    public static func of(_ bytes: UnsafeRawBufferPointer, initial: UInt64 = 0) -> UInt16 {
        ~fold(add(bytes, to: initial))
    }
}
