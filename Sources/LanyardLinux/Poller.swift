import CLanyardLinux
import Glibc

/// Waits for any of a fixed set of descriptors to become readable (poll(2)).
public struct Poller {
    private var fds: [pollfd]

    public init(_ descriptors: [Int32]) {
        fds = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    }

    /// Blocks up to `timeoutMilliseconds` (-1 forever); returns the readiness of each descriptor, in order.
    public mutating func wait(timeoutMilliseconds: Int32) -> [Bool] {
        let n = poll(&fds, nfds_t(fds.count), timeoutMilliseconds)
        if n <= 0 { return Array(repeating: false, count: fds.count) }
        return fds.map { $0.revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 }
    }
}

/// Turns SIGINT, SIGTERM and SIGHUP into a readable descriptor, so an event loop sees them as events.
public final class SignalWatcher {
    public let fileDescriptor: Int32

    /// Blocks those signals for the calling thread (call before starting other threads).
    public init() throws(SystemError) {
        let fd = clanyard_signalfd_open()
        guard fd >= 0 else { throw .call("signalfd", errno: -fd) }
        fileDescriptor = fd
    }

    /// The signal number received, if any.
    public func take() -> Int32? {
        let s = clanyard_signalfd_read(fileDescriptor)
        return s > 0 ? s : nil
    }

    deinit { close(fileDescriptor) }
}

/// A monotonic clock reading in nanoseconds.
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Wall-clock time as seconds and nanoseconds since 1970 (for TAI64N timestamps).
public func wallClock() -> (seconds: UInt64, nanoseconds: UInt32) {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return (UInt64(ts.tv_sec), UInt32(ts.tv_nsec))
}

/// True when the process may configure the network (root, or CAP_NET_ADMIN in its effective set).
public func hasNetworkAdminCapability() -> Bool {
    if geteuid() == 0 { return true }
    guard let f = fopen("/proc/self/status", "r") else { return false }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let s = cText(line)
        if s.hasPrefix("CapEff:"), let v = UInt64(String(s.dropFirst(7)).trimmingCharacters(), radix: 16) {
            return v & (1 << 12) != 0 // CAP_NET_ADMIN
        }
    }
    return false
}
