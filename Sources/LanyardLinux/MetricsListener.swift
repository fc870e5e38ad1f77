import Glibc

/// A TCP listener that answers `GET /metrics` with a Prometheus text exposition, from inside the
/// daemon's event loop. It is a few dozen lines of HTTP/1.0 (one request per connection, then
/// close) because that is all a Prometheus scrape needs; an HTTP server package (SwiftNIO,
/// Hummingbird) would bring a second threading model and event loop into a daemon that has one.
/// A slow or silent client gets 200 ms in all to send its request (however it trickles it in)
/// and 1 s to take the answer: the event loop is never held up longer.
public final class MetricsListener {
    public let fileDescriptor: Int32

    /// Listens on `address` (for example 127.0.0.1:9586).
    public init(address: SocketAddress) throws(SystemError) {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .call("socket(AF_INET, SOCK_STREAM)", errno: errno) }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var storage = address.storage
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, address.length) }
        }
        guard rc == 0, listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            throw .from("metrics listener \(address)", errno: e)
        }
        fileDescriptor = fd
    }

    deinit { close(fileDescriptor) }

    /// Answers every waiting connection: `body()` for `GET /metrics`, 404 for other paths, 405 for
    /// other methods.
    public func serve(_ body: () -> String) {
        // At most a few connections per wake, so that a stream of them cannot keep the loop here.
        for _ in 0..<4 {
            let client = accept(fileDescriptor, nil, nil)
            guard client >= 0 else { return }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            defer { close(client) }
            var request = [UInt8]()
            var chunk = [UInt8](repeating: 0, count: 1024)
            // The request line and headers, up to the blank line (at most 8 KiB, 200 ms in all).
            let deadline = monotonicNanoseconds() &+ 200_000_000
            while request.count < 8192, !Self.endsHeaders(request) {
                let now = monotonicNanoseconds()
                guard now < deadline else { break }
                let left = deadline - now
                var wait = timeval(tv_sec: 0, tv_usec: Int(max(1_000, left / 1_000)))
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
                let n = recv(client, &chunk, chunk.count, 0)
                guard n > 0 else { break }
                request += chunk[0..<n]
            }
            let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
            let response: String
            if line.count < 2 {
                response = Self.response(400, "Bad Request", "bad request\n")
            } else if line[0] != "GET" && line[0] != "HEAD" {
                response = Self.response(405, "Method Not Allowed", "only GET\n")
            } else if line[1] != "/metrics" && !line[1].hasPrefix("/metrics?") {
                response = Self.response(404, "Not Found", "metrics are at /metrics\n")
            } else {
                response = Self.response(200, "OK", body(), headOnly: line[0] == "HEAD")
            }
            // The answer within 1 s in all, however slowly the client reads.
            let bytes = Array(response.utf8)
            var sent = 0
            let sendDeadline = monotonicNanoseconds() &+ 1_000_000_000
            while sent < bytes.count {
                let now = monotonicNanoseconds()
                guard now < sendDeadline else { break }
                var wait = timeval(tv_sec: 0, tv_usec: Int(max(1_000, (sendDeadline - now) / 1_000)))
                setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
                let n = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { break }
                sent += n
            }
        }
    }

    private static func endsHeaders(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes.suffix(4).elementsEqual([13, 10, 13, 10]) || bytes.count >= 2 && bytes.suffix(2).elementsEqual([10, 10])
    }

    private static func response(_ code: Int, _ reason: String, _ body: String, headOnly: Bool = false) -> String {
        "HTTP/1.0 \(code) \(reason)\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + (headOnly ? "" : body)
    }
}
