/// Monotonic time in nanoseconds, as read by the caller (e.g. `CLOCK_MONOTONIC`). The core never
/// reads a clock itself; every timer decision is made against a `Timestamp` passed in.
public struct Timestamp: Comparable, Hashable, Sendable {
    /// Nanoseconds since an arbitrary fixed origin.
    public var nanoseconds: UInt64

    /// Wraps a nanosecond count.
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// A timestamp `seconds` after the origin (handy in tests).
    public static func seconds(_ seconds: Double) -> Timestamp {
        Timestamp(nanoseconds: UInt64(seconds * 1_000_000_000))
    }

    /// This time plus `duration`, saturating.
    public func adding(_ duration: Duration) -> Timestamp {
        let (value, overflow) = nanoseconds.addingReportingOverflow(duration.nanoseconds)
        return Timestamp(nanoseconds: overflow ? .max : value)
    }

    /// Time elapsed from `earlier` to self (zero if `earlier` is later).
    public func since(_ earlier: Timestamp) -> Duration {
        Duration(nanoseconds: nanoseconds >= earlier.nanoseconds ? nanoseconds - earlier.nanoseconds : 0)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }

    /// A span of monotonic time.
    public struct Duration: Comparable, Hashable, Sendable {
        /// Length in nanoseconds.
        public var nanoseconds: UInt64
        /// Wraps a nanosecond count.
        public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
        /// Whole seconds.
        public static func seconds(_ s: UInt64) -> Duration { Duration(nanoseconds: s * 1_000_000_000) }
        /// Milliseconds.
        public static func milliseconds(_ ms: UInt64) -> Duration { Duration(nanoseconds: ms * 1_000_000) }
        public static func < (a: Duration, b: Duration) -> Bool { a.nanoseconds < b.nanoseconds }
        public static func + (a: Duration, b: Duration) -> Duration { Duration(nanoseconds: a.nanoseconds &+ b.nanoseconds) }
        public static func * (a: Duration, n: UInt64) -> Duration { Duration(nanoseconds: a.nanoseconds &* n) }
    }
}

/// Wall-clock time for TAI64N timestamps, as read by the caller (e.g. `CLOCK_REALTIME`).
public struct WallClockTime: Sendable, Hashable {
    /// Seconds since the Unix epoch.
    public var seconds: Int64
    /// Nanoseconds within the second (0..<1e9).
    public var nanoseconds: UInt32
    /// Wraps a Unix time.
    public init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// The 12-byte TAI64N label WireGuard puts in initiations: big-endian (2^62 + 10 + unix seconds)
/// then big-endian nanoseconds. Like wireguard-go and the kernel, the nanoseconds are rounded down
/// to a multiple of 2^24 so the timestamp does not leak a precise clock.
public struct TAI64N: Hashable, Sendable {
    /// Size on the wire.
    public static let size = 12
    /// The 12 bytes.
    public let bytes: [UInt8]

    /// The label for a wall-clock time.
    public init(_ time: WallClockTime) {
        let secs = UInt64(bitPattern: 0x4000_0000_0000_000A &+ time.seconds)
        let nanos = time.nanoseconds & ~UInt32(0xFF_FFFF)
        var b = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { b[i] = UInt8(truncatingIfNeeded: secs >> (8 * UInt64(7 - i))) }
        for i in 0..<4 { b[8 + i] = UInt8(truncatingIfNeeded: nanos >> (8 * UInt32(3 - i))) }
        bytes = b
    }

    /// Wraps 12 bytes read off the wire; nil for another length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.size else { return nil }
        self.bytes = bytes
    }

    /// Whether self is strictly later than `other` (big-endian compare).
    public func isNewer(than other: TAI64N) -> Bool {
        for i in 0..<Self.size where bytes[i] != other.bytes[i] {
            return bytes[i] > other.bytes[i]
        }
        return false
    }
}

/// A source of randomness, injected so tests are deterministic (ephemeral keys, indices, jitter,
/// cookie secrets and nonces all come from here).
public protocol RandomSource: AnyObject {
    /// Fills `buffer` with random bytes.
    func fill(_ buffer: UnsafeMutableRawBufferPointer)
}

extension RandomSource {
    /// `count` random bytes.
    func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }

    /// A random 32-bit value.
    func uint32() -> UInt32 {
        var value: UInt32 = 0
        withUnsafeMutableBytes(of: &value) { fill($0) }
        return value
    }
}

/// The operating system's cryptographically secure generator (`getrandom`).
public final class SystemRandomSource: RandomSource {
    /// Creates the source.
    public init() {}
    public func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var rng = SystemRandomNumberGenerator()
        var i = 0
        while i < buffer.count {
            var word = rng.next()
            let n = min(8, buffer.count - i)
            withUnsafeBytes(of: &word) { w in
                for j in 0..<n { buffer[i + j] = w[j] }
            }
            i += n
        }
    }
}
