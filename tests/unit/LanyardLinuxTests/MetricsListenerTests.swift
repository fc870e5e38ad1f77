import Glibc
import Testing
@testable import LanyardLinux

/// The metrics listener, over real loopback TCP connections.
@Suite(.serialized) struct MetricsListenerTests {
    func makeListener() throws -> (MetricsListener, sockaddr_in) {
        let listener = try MetricsListener(address: SocketAddress.resolve("127.0.0.1:0", passive: true))
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener.fileDescriptor, $0, &length) }
        }
        return (listener, address)
    }

    func connectClient(_ address: sockaddr_in) -> Int32 {
        var address = address
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(rc == 0)
        return fd
    }

    func now() -> UInt64 { monotonicNanoseconds() }

    /// Security review (issue 19): clients that connect and send nothing must not hold the event
    /// loop: one wake with several of them waiting returns within a few milliseconds (it took
    /// 200 ms per client), and a client that never sends its request is dropped unanswered.
    @Test func silentClientsDoNotHoldTheLoop() throws {
        let (listener, address) = try makeListener()
        let silent = (0..<6).map { _ in connectClient(address) }
        defer { silent.forEach { close($0) } }
        usleep(20_000)
        var longest: UInt64 = 0
        for _ in 0..<5 {
            let start = now()
            listener.serve { "x 1\n" }
            longest = max(longest, now() - start)
        }
        #expect(longest < 50_000_000, "one wake took \(Double(longest) / 1e6) ms")
    }

    /// A well-behaved scrape is still answered, even when its request arrives after the connection
    /// was accepted (it is picked up on a later wake).
    @Test func aScrapeIsAnsweredAcrossWakes() throws {
        let (listener, address) = try makeListener()
        let client = connectClient(address)
        defer { close(client) }
        usleep(10_000)
        listener.serve { "never" }      // accepted, nothing to read yet
        let request = Array("GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = now() + 2_000_000_000
        while now() < deadline {
            listener.serve { "lanyard_up 1\n" }
            let n = recv(client, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n > 0 { reply += buffer[0..<n] } else if n == 0 { break }
            usleep(2_000)
        }
        let text = String(decoding: reply, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.0 200 OK"))
        #expect(text.hasSuffix("lanyard_up 1\n"))
    }

    /// One silent client more than are served at once (within the listen backlog): it is closed,
    /// so the listener is not left readable (the event loop would spin on it).
    @Test func clientsBeyondTheLimitAreClosedNotLeftWaiting() throws {
        let (listener, address) = try makeListener()
        let silent = (0..<(MetricsListener.maximumClients + 1)).map { _ in connectClient(address) }
        defer { silent.forEach { close($0) } }
        usleep(20_000)
        let start = now()
        listener.serve { "x 1\n" }
        #expect(now() - start < 50_000_000)
        var p = pollfd(fd: listener.fileDescriptor, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 0) == 0, "the listener is still readable")
    }
}
