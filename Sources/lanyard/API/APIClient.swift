import Foundation
import LanyardLinux
import LanyardStore
import LanyardWireGuard
#if canImport(Glibc)
import Glibc
#endif

/// The CLI's side of the management API on the daemon's Unix socket: one HTTP/1.1 request per
/// connection. Written here rather than taken from AsyncHTTPClient: one request to a local
/// socket per command needs no event loop, and that package would add minutes to every build.
struct APIClient {
    let socketPath: String

    struct Reply {
        let status: Int
        let body: Data
    }

    /// Whether a daemon answers on the socket.
    var isAnswering: Bool { (try? send("GET", "/v1/network")) != nil }

    func send(_ method: String, _ path: String, json: [String: Any]? = nil) throws -> Reply {
        let body = try json.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let head = "\(method) \(path) HTTP/1.1\r\nHost: lanyard\r\nConnection: close\r\nAccept: application/json\r\n"
            + (json == nil ? "" : "Content-Type: application/json\r\n") + "Content-Length: \(body.count)\r\n\r\n"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CommandFailure("cannot make a socket: \(SystemError.text(errno))") }
        defer { close(fd) }
        var address = try ControlServer.unixAddress(socketPath)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw CommandFailure("cannot reach the daemon on \(socketPath): \(SystemError.text(errno))") }
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request = Array(head.utf8) + Array(body)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw CommandFailure("the daemon on \(socketPath) closed the connection") }
            sent += n
        }
        var reply = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            reply.append(contentsOf: buffer[0..<n])
        }
        guard let end = reply.range(of: Data("\r\n\r\n".utf8)),
              let statusLine = String(data: reply[..<end.lowerBound], encoding: .utf8)?.split(separator: "\r\n").first,
              let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw CommandFailure("the daemon on \(socketPath) sent no HTTP answer")
        }
        return Reply(status: status, body: reply[end.upperBound...])
    }

    /// Sends a request and decodes a successful answer; a refusal becomes the daemon's message.
    func call<T: Decodable>(_ method: String, _ path: String, json: [String: Any]? = nil, as: T.Type) throws(StoreError) -> T {
        let reply = try checked(method, path, json: json)
        do { return try JSONDecoder().decode(T.self, from: reply.body) } catch {
            throw .refused("the daemon's answer to \(method) \(path) could not be read: \(error)")
        }
    }

    @discardableResult
    func checked(_ method: String, _ path: String, json: [String: Any]? = nil) throws(StoreError) -> Reply {
        let reply: Reply
        do { reply = try send(method, path, json: json) } catch { throw .database("\(error)") }
        guard (200..<300).contains(reply.status) else {
            let message = (try? JSONDecoder().decode([String: String].self, from: reply.body))?["error"] ?? "HTTP \(reply.status)"
            throw reply.status >= 500 ? .database(message) : .refused(message)
        }
        return reply
    }
}

/// The member store reached through a running daemon's API: what the CLI uses while the daemon
/// runs, so every change is applied by it at once (and a PostgreSQL store notifies the others).
final class APIMemberStore: MemberStore {
    let client: APIClient
    init(socketPath: String) { client = APIClient(socketPath: socketPath) }

    var location: String { "the running switch (\(client.socketPath))" }

    func current() throws(StoreError) -> MemberList {
        let list = try client.call("GET", "/v1/members", as: MemberListJSON.self)
        return MemberList(version: list.version, members: try list.members.map { (j) throws(StoreError) in try j.member() })
    }

    func version() throws(StoreError) -> Int64 { try current().version }

    func add(_ m: Member) throws(StoreError) {
        var body: [String: Any] = ["name": m.name, "publicKey": m.publicKey.base64, "macs": m.macs.map(\.description),
                                   "addresses": m.addresses.map(\.description), "tags": m.tags, "enabled": m.enabled]
        if let psk = m.presharedKey { body["presharedKey"] = psk.base64 }
        try client.checked("POST", "/v1/members", json: body)
    }

    @discardableResult
    func update(_ name: String, _ change: MemberChange) throws(StoreError) -> Member {
        var body: [String: Any] = [:]
        if let v = change.name { body["name"] = v }
        if let v = change.tags { body["tags"] = v }
        if let v = change.enabled { body["enabled"] = v }
        if let v = change.pending { body["pending"] = v }
        if let v = change.macs { body["macs"] = v.map(\.description) }
        if let v = change.addresses { body["addresses"] = v.map(\.description) }
        return try client.call("PATCH", "/v1/members/\(Self.escape(name))", json: body, as: MemberJSON.self).member()
    }

    func remove(_ name: String) throws(StoreError) { try client.checked("DELETE", "/v1/members/\(Self.escape(name))") }

    func createInvite(_ invite: Invite) throws(StoreError) {
        throw .unsupported("invites through the running switch are made by it: use `lanyard member invite`")
    }

    func invites() throws(StoreError) -> [Invite] {
        try client.call("GET", "/v1/invites", as: [InviteJSON].self).map {
            Invite(id: $0.id, secretHash: "", name: $0.name, createdAt: $0.createdAt, expiresAt: $0.expiresAt, usesLeft: $0.usesLeft,
                   used: $0.used, revoked: $0.revoked, needsApproval: $0.needsApproval, tags: $0.tags)
        }
    }

    func revokeInvite(_ id: String) throws(StoreError) { try client.checked("DELETE", "/v1/invites/\(Self.escape(id))") }

    func redeem(inviteID: String, secretHash: String, publicKey: PublicKey, now: Int64) throws(StoreError) -> Redemption {
        throw .unsupported("tokens are redeemed by the switch itself")
    }

    func addOperator(_ name: String, tokenHash: String) throws(StoreError) {
        throw .unsupported("operators are managed on the database directly: stop using --name, or give --database")
    }
    func removeOperator(_ name: String) throws(StoreError) {
        throw .unsupported("operators are managed on the database directly: stop using --name, or give --database")
    }
    func operators() throws(StoreError) -> [String] { [] }
    func operatorHashes() throws(StoreError) -> Set<String> { [] }

    /// Makes an invite on the running switch (which knows its key and address); returns the token.
    func invite(_ body: [String: Any]) throws(StoreError) -> InviteJSON {
        try client.call("POST", "/v1/invites", json: body, as: InviteJSON.self)
    }

    static func escape(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(.init(charactersIn: "/"))) ?? s }
}

extension MemberJSON {
    /// The member this JSON shows (its preshared key is never shown, so it is not set).
    func member() throws(StoreError) -> Member {
        Member(name: name, publicKey: try MemberFields.key(publicKey), macs: try MemberFields.macs(macs),
               addresses: try MemberFields.addresses(addresses), tags: tags, enabled: enabled, pending: pending,
               createdAt: createdAt, invite: invite)
    }
}
