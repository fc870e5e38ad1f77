import Glibc
import LanyardWireGuard

/// Readings of the system clocks in the forms the WireGuard core takes.
enum Clock {
    /// Monotonic time.
    static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Timestamp(nanoseconds: UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec))
    }

    /// Wall-clock time, for TAI64N timestamps in initiations.
    static func wall() -> WallClockTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return WallClockTime(seconds: Int64(ts.tv_sec), nanoseconds: UInt32(ts.tv_nsec))
    }

    /// Seconds between two monotonic readings.
    static func seconds(from start: Timestamp, to end: Timestamp) -> Double {
        Double(end.since(start).nanoseconds) / 1e9
    }
}
