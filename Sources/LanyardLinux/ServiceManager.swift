import Glibc
import LanyardCore

/// Talks to systemd when it started the daemon (`Type=notify`): readiness, reloads, status and
/// watchdog pings, sent as datagrams to `$NOTIFY_SOCKET`. That is the whole sd_notify protocol,
/// so no libsystemd is needed. Without `$NOTIFY_SOCKET` every call does nothing.
public final class ServiceManager {
    private let fileDescriptor: Int32
    private var address = sockaddr_un()
    private var addressLength: socklen_t = 0
    /// How often systemd wants a watchdog ping (half its `WatchdogSec`), if it watches this process.
    public let watchdogInterval: Nanoseconds?
    private var nextWatchdog: Nanoseconds = 0

    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` from the environment, and
    /// removes them so that programs this daemon starts (ip, nft) do not talk to systemd.
    public init() {
        let path = getenv("NOTIFY_SOCKET").map { String(cString: $0) } ?? ""
        let usec = getenv("WATCHDOG_USEC").flatMap { UInt64(String(cString: $0)) }
        let pid = getenv("WATCHDOG_PID").flatMap { Int32(String(cString: $0)) }
        watchdogInterval = usec.flatMap { us in pid == nil || pid == getpid() ? Nanoseconds(us) * 1000 / 2 : nil }
        unsetenv("NOTIFY_SOCKET"); unsetenv("WATCHDOG_USEC"); unsetenv("WATCHDOG_PID")
        guard !path.isEmpty, path.utf8.count < MemoryLayout.size(ofValue: address.sun_path),
              path.hasPrefix("/") || path.hasPrefix("@") else {
            fileDescriptor = -1
            return
        }
        fileDescriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }  // an abstract socket
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
    }

    deinit { if fileDescriptor >= 0 { close(fileDescriptor) } }

    /// Whether a service manager listens.
    public var isActive: Bool { fileDescriptor >= 0 }

    /// Sends one notification, e.g. "READY=1\nSTATUS=serving 3 ports". Failures are ignored, as
    /// sd_notify does: the daemon works the same without a manager.
    public func notify(_ state: String) {
        guard fileDescriptor >= 0 else { return }
        let bytes = Array(state.utf8)
        _ = withUnsafePointer(to: &address) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fileDescriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, addressLength) }
            }
        }
    }

    /// Pings the watchdog when one is due (call from the event loop's timer).
    public func keepAlive(now: Nanoseconds) {
        guard let interval = watchdogInterval, now >= nextWatchdog else { return }
        nextWatchdog = now &+ interval
        notify("WATCHDOG=1")
    }

    /// Tells the manager a reload starts; a `READY=1` notification says it ended.
    public func reloading() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        notify("RELOADING=1\nMONOTONIC_USEC=\(UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000)")
    }
}
