import Glibc

/// A TCP listener that answers `GET /metrics` with a Prometheus text exposition, from inside the
/// daemon's event loop. It is a few dozen lines of HTTP/1.0 (one request per connection, then
/// close) because that is all a Prometheus scrape needs; an HTTP server package (SwiftNIO,
/// Hummingbird) would bring a second threading model and event loop into a daemon that has one.
///
/// It never waits on a client: every read and write is non-blocking, a connection whose request or
/// answer is not through yet is kept for the next wake (`hasPending`: the loop then wakes within a
/// few milliseconds), and one wake spends at most `budget` here however many clients there are.
/// A client gets `requestTime` from its connection to send its request and `answerTime` in all;
/// later it is dropped. At most `maximumClients` are served at once; connections beyond them are
/// closed at once.
public final class MetricsListener {
    public let fileDescriptor: Int32
    /// Time one wake may spend here.
    public var budget: UInt64 = 2_000_000
    /// Time a client has to send its request line and headers.
    public var requestTime: UInt64 = 1_000_000_000
    /// Time a client has, from its connection, to take the whole answer.
    public var answerTime: UInt64 = 3_000_000_000
    public static let maximumClients = 16
    public static let maximumRequest = 8192

    /// One accepted connection: reading its request, then writing the answer.
    struct Client {
        let fd: Int32
        let accepted: UInt64
        var request: [UInt8] = []
        var answer: [UInt8]?
        var sent = 0
    }
    private var clients: [Client] = []
    private var chunk = [UInt8](repeating: 0, count: 2048)

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

    deinit {
        for c in clients { close(c.fd) }
        close(fileDescriptor)
    }

    /// The bound address (the port, when listening on port 0).
    public var localAddress: SocketAddress {
        SocketAddress.bound(to: fileDescriptor)
    }

    /// Whether connections are waiting for their request or answer (serve again soon).
    public var hasPending: Bool { !clients.isEmpty }

    /// Accepts waiting connections and moves every client on as far as it goes without waiting:
    /// `body()` for `GET /metrics`, 404 for other paths, 405 for other methods. Call when the
    /// listener is readable and, while `hasPending`, on every wake.
    public func serve(_ body: () -> String) {
        let start = monotonicNanoseconds()
        let end = start &+ budget
        while clients.count < Self.maximumClients {
            let client = accept(fileDescriptor, nil, nil) // reads and writes pass MSG_DONTWAIT
            guard client >= 0 else { break }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            clients.append(Client(fd: client, accepted: start))
        }
        // Connections beyond those served at once are closed unanswered: left in the backlog they
        // would keep the listener readable and the event loop spinning.
        if clients.count == Self.maximumClients {
            for _ in 0..<64 {
                let extra = accept(fileDescriptor, nil, nil)
                guard extra >= 0 else { break }
                close(extra)
            }
        }
        var i = 0
        while i < clients.count {
            let now = monotonicNanoseconds()
            if now >= end { break } // the rest next wake
            if progress(&clients[i], now: now, body) {
                close(clients[i].fd)
                clients.swapAt(i, clients.count - 1)
                clients.removeLast()
            } else {
                i += 1
            }
        }
    }

    /// Reads and writes what `client` allows now; true when it is done with (answered or dropped).
    private func progress(_ client: inout Client, now: UInt64, _ body: () -> String) -> Bool {
        if client.answer == nil {
            guard now &- client.accepted < requestTime else { return true } // too slow: dropped unanswered
            while client.request.count < Self.maximumRequest, !Self.endsHeaders(client.request) {
                let n = recv(client.fd, &chunk, min(chunk.count, Self.maximumRequest - client.request.count), Int32(MSG_DONTWAIT))
                if n == 0 { return true } // closed before its request was through
                if n < 0 { if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return false }; return true }
                client.request += chunk[0..<n]
            }
            client.answer = Array(Self.answer(to: client.request, body).utf8)
        }
        guard now &- client.accepted < answerTime, let answer = client.answer else { return true }
        while client.sent < answer.count {
            let n = answer[client.sent...].withUnsafeBytes { send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if n < 0 { if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return false }; return true }
            if n == 0 { return true }
            client.sent += n
        }
        return true
    }

    static func answer(to request: [UInt8], _ body: () -> String) -> String {
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        if line.count < 2 || !endsHeaders(request) { return response(400, "Bad Request", "bad request\n") }
        if line[0] != "GET" && line[0] != "HEAD" { return response(405, "Method Not Allowed", "only GET\n") }
        if line[1] != "/metrics" && !line[1].hasPrefix("/metrics?") { return response(404, "Not Found", "metrics are at /metrics\n") }
        return response(200, "OK", body(), headOnly: line[0] == "HEAD")
    }

    private static func endsHeaders(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes.suffix(4).elementsEqual([13, 10, 13, 10]) || bytes.count >= 2 && bytes.suffix(2).elementsEqual([10, 10])
    }

    private static func response(_ code: Int, _ reason: String, _ body: String, headOnly: Bool = false) -> String {
        "HTTP/1.0 \(code) \(reason)\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + (headOnly ? "" : body)
    }
}
