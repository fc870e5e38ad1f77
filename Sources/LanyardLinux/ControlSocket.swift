import Glibc

/// The daemon side of the local control socket: a root-only Unix stream socket that answers one
/// request line per connection with one response (JSON).
public final class ControlServer {
    public let path: String
    public let fileDescriptor: Int32

    /// Directory where daemons put their sockets.
    public static let directory = "/run/lanyard"

    /// Listens on `path` (replacing a stale socket), mode 0600, in `directory` (made with
    /// `directoryMode` if missing; /var/run/wireguard for WireGuard's userspace API).
    public init(path: String, directory: String = ControlServer.directory, directoryMode: mode_t = 0o700) throws(SystemError) {
        self.path = path
        mkdir(directory, directoryMode)
        if Self.isLive(path) { throw .addressInUse("control socket \(path) (another lanyard with this name is running)") }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .call("socket(AF_UNIX)", errno: errno) }
        var address = try Self.unixAddress(path)
        let old = umask(0o077)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard rc == 0, listen(fd, 8) == 0 else {
            let e = errno
            close(fd)
            throw .from("control socket \(path)", errno: e)
        }
        fileDescriptor = fd
    }

    /// Accepts pending connections and answers each with `respond(request)`. Never blocks long:
    /// a client gets 200 ms to send its request line.
    public func serve(_ respond: (String) -> String) {
        while let client = acceptClient(timeoutMicroseconds: 200_000) {
            defer { close(client) }
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = recv(client, &buffer, buffer.count, 0)
            guard n > 0 else { continue }
            let request = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters()
            Self.sendAll(respond(request), to: client)
        }
    }

    /// The next pending connection, with send and receive timeouts set; nil when none is waiting.
    private func acceptClient(timeoutMicroseconds: Int) -> Int32? {
        let client = accept(fileDescriptor, nil, nil)
        guard client >= 0 else { return nil }
        var tv = timeval(tv_sec: timeoutMicroseconds / 1_000_000, tv_usec: timeoutMicroseconds % 1_000_000)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return client
    }

    /// Writes all of `reply` to `client` (gives up when the client stops reading).
    private static func sendAll(_ reply: String, to client: Int32) {
        let bytes = Array(reply.utf8)
        var offset = 0
        while offset < bytes.count {
            let w = bytes[offset...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if w <= 0 { break }
            offset += w
        }
    }

    /// The largest userspace-API request taken (wireguard-go has no limit; a `set` for thousands
    /// of peers is well below this).
    public static let maximumRequest = 1 << 20

    /// Accepts pending connections and answers each request that ends with an empty line
    /// (WireGuard's userspace API: `get=1` or `set=1` and key=value lines) with `respond(request)`.
    /// Only a whole request is handed on: one the client cut short (it closed, or sent nothing
    /// for 1 s, before the empty line) is answered `errno=5` (EIO), one that reaches
    /// `maximumRequest` without it `errno=90` (EMSGSIZE), and neither changes anything. (A `set`
    /// cut after `allowed_ip=10.1.0.0/1` of `/16` would otherwise route half of IPv4 to a peer.)
    public func serveBlankLineTerminated(_ respond: (String) -> String) {
        while let client = acceptClient(timeoutMicroseconds: 1_000_000) {
            defer { close(client) }
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            var complete = false
            while request.count < Self.maximumRequest {
                let n = recv(client, &buffer, min(buffer.count, Self.maximumRequest - request.count), 0)
                if n <= 0 { break }   // closed, or 1 s without a byte (SO_RCVTIMEO)
                request += buffer[0..<n]
                if request.count >= 2, request[request.count - 1] == 10, request[request.count - 2] == 10 { complete = true; break }
            }
            guard !request.isEmpty else { continue }
            guard complete else {
                Self.sendAll("errno=\(request.count >= Self.maximumRequest ? EMSGSIZE : EIO)\n\n", to: client)
                continue
            }
            Self.sendAll(respond(String(decoding: request, as: UTF8.self)), to: client)
        }
    }

    /// True if something answers on `path`.
    static func isLive(_ path: String) -> Bool { (try? ControlClient.request(path: path, "ping")) != nil }

    public static func unixAddress(_ path: String) throws(SystemError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .badAddress(path, reason: "control socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { dst in
            for (i, b) in bytes.enumerated() { dst[i] = b }
        }
        return address
    }

    deinit {
        close(fileDescriptor)
        unlink(path)
    }
}

/// The `lanyard status` side of the control socket.
public enum ControlClient {
    /// Sends `request` and returns the whole reply.
    public static func request(path: String, _ request: String) throws(SystemError) -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .call("socket(AF_UNIX)", errno: errno) }
        defer { close(fd) }
        var address = try ControlServer.unixAddress(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw .from("connecting to \(path)", errno: errno) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let line = Array((request + "\n").utf8)
        _ = line.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            reply += buffer[0..<n]
        }
        guard !reply.isEmpty else { throw .call("reading from \(path)", errno: errno == 0 ? EIO : errno) }
        return String(decoding: reply, as: UTF8.self)
    }
}
