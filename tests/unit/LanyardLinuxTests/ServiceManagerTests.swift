import Glibc
import Testing
@testable import LanyardLinux

/// sd_notify over a real datagram socket standing in for systemd's.
@Suite(.serialized) struct ServiceManagerTests {
    @Test func notificationsReachTheSocketAndWatchdogFollowsHalfTheInterval() throws {
        let path = "/tmp/lanyard-notify-test-\(getpid()).sock"
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        #expect(rc == 0)
        setenv("NOTIFY_SOCKET", path, 1)
        setenv("WATCHDOG_USEC", "2000000", 1)
        setenv("WATCHDOG_PID", String(getpid()), 1)
        let manager = ServiceManager()
        #expect(getenv("NOTIFY_SOCKET") == nil)   // not passed on to ip or nft
        #expect(manager.watchdogInterval == 1_000_000_000)
        manager.notify("READY=1\nSTATUS=ok")
        manager.keepAlive(now: 5_000_000_000)
        manager.keepAlive(now: 5_500_000_000)     // not due yet: no second ping
        manager.keepAlive(now: 6_000_000_000)
        var received: [String] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard n > 0 else { break }
            received.append(String(decoding: buffer[0..<n], as: UTF8.self))
        }
        #expect(received == ["READY=1\nSTATUS=ok", "WATCHDOG=1", "WATCHDOG=1"])
    }

    @Test func withoutNotifySocketNothingHappens() {
        unsetenv("NOTIFY_SOCKET"); unsetenv("WATCHDOG_USEC")
        let manager = ServiceManager()
        #expect(!manager.isActive)
        #expect(manager.watchdogInterval == nil)
        manager.notify("READY=1")   // no crash, no effect
    }
}
