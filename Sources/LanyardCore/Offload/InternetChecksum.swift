/// The Internet checksum (RFC 1071): a ones'-complement sum of 16-bit big-endian words.
///
/// The sum is byte-order independent (RFC 1071 §2(B)): it is accumulated in the machine's own
/// order, sixteen bytes per step in two 64-bit accumulators with end-around carry (an add and an
/// add-with-carry each), and only the folded 16-bit result is swapped. That is about a quarter of
/// the instructions of swapping every word (measured with bench/instructions.sh).
public enum InternetChecksum {
    /// Adds `bytes` to a running sum (big-endian word order, folded later by `fold`).
    @inlinable
    public static func add(_ bytes: UnsafeRawBufferPointer, to initial: UInt64 = 0) -> UInt64 {
        let n = bytes.count
        guard n > 0, let base = bytes.baseAddress else { return initial }
        var a: UInt64 = 0
        var b: UInt64 = 0
        var i = 0
        // Four independent sums over 32 bytes a step (a 1,380-byte segment is 43 steps), so the
        // carries of one addition do not wait for the last.
        var e: UInt64 = 0
        var f: UInt64 = 0
        while i + 32 <= n {
            let (w, cw) = a.addingReportingOverflow(base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            a = w &+ (cw ? 1 : 0)
            let (x, cx) = b.addingReportingOverflow(base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
            b = x &+ (cx ? 1 : 0)
            let (y, cy) = e.addingReportingOverflow(base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self))
            e = y &+ (cy ? 1 : 0)
            let (z, cz) = f.addingReportingOverflow(base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self))
            f = z &+ (cz ? 1 : 0)
            i += 32
        }
        let (ae, cae) = a.addingReportingOverflow(e)
        a = ae &+ (cae ? 1 : 0)
        let (bf, cbf) = b.addingReportingOverflow(f)
        b = bf &+ (cbf ? 1 : 0)
        while i + 16 <= n {
            let (x, cx) = a.addingReportingOverflow(base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            a = x &+ (cx ? 1 : 0)
            let (y, cy) = b.addingReportingOverflow(base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
            b = y &+ (cy ? 1 : 0)
            i += 16
        }
        if i + 8 <= n {
            let (x, cx) = a.addingReportingOverflow(base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            a = x &+ (cx ? 1 : 0)
            i += 8
        }
        if i < n {
            // The last 1 to 7 bytes, zero-padded: a trailing odd byte is the high byte of its word.
            var tail: UInt64 = 0
            withUnsafeMutableBytes(of: &tail) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[i..<n])) }
            let (y, cy) = b.addingReportingOverflow(tail)
            b = y &+ (cy ? 1 : 0)
        }
        let (s, c) = a.addingReportingOverflow(b)
        var t = s &+ (c ? 1 : 0)
        t = (t & 0xFFFF_FFFF) &+ (t >> 32)
        t = (t & 0xFFFF_FFFF) &+ (t >> 32)
        t = (t & 0xFFFF) &+ (t >> 16)
        t = (t & 0xFFFF) &+ (t >> 16)
        #if _endian(little)
        return initial &+ UInt64(UInt16(truncatingIfNeeded: t).byteSwapped)
        #else
        return initial &+ t
        #endif
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
