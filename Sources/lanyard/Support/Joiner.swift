import Foundation
import LanyardCore
import LanyardLinux
import LanyardStore
import LanyardWireGuard
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `lanyard port --join TOKEN`: makes this member's key pair here (the private key never leaves
/// the host), proves the token to the switch in one encrypted datagram, and keeps what it needs
/// in a state folder, so a restart with the same token does not join again.
struct Joiner {
    /// What a joined port keeps (STATE/join.conf, and its key in STATE/private.key).
    struct Joined {
        var key: PrivateKey
        var switchKey: PublicKey
        var endpoints: [String]
        var memberName: String
        var invite: String
    }

    let folder: String
    let logger: Logger
    var keyPath: String { folder + "/private.key" }
    var statePath: String { folder + "/join.conf" }

    /// Joins with `text` unless this folder holds a join with the same token already.
    func join(_ text: String, hostname: String, maxWait: Double) throws -> Joined {
        let token: JoinToken
        do { token = try JoinToken(parsing: text) } catch { throw CommandFailure("--join: \(error)") }
        if let saved = try saved() {
            guard saved.invite == token.inviteIDHex, saved.switchKey == token.switchKey else {
                throw CommandFailure("this port joined another network already (\(statePath), as \(saved.memberName)): remove \(folder) to join with a new token, or give the port its own --state-directory")
            }
            logger.info("joined before as \(saved.memberName): not joining again")
            return saved
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // A key from a join that was interrupted is used again: the switch answers a repeated
        // request from the same key as it did the first time.
        let key: PrivateKey
        if KeyFiles.exists(keyPath) { key = try KeyFiles.privateKey(at: keyPath) } else {
            key = PrivateKey()
            try writeAtomically(key.base64 + "\n", to: keyPath)
        }
        let deadline = Date().addingTimeInterval(maxWait)
        var toldPending = false
        var attempt = 0
        while true {
            attempt += 1
            for endpoint in token.endpoints {
                guard let outcome = try ask(endpoint, token: token, key: key, hostname: hostname) else { continue }
                switch outcome {
                case .accepted(let name, let endpoints):
                    let joined = Joined(key: key, switchKey: token.switchKey, endpoints: endpoints.isEmpty ? token.endpoints : endpoints,
                                        memberName: name, invite: token.inviteIDHex)
                    try save(joined)
                    logger.notice("joined the network as \(name)")
                    return joined
                case .pending:
                    if !toldPending { logger.notice("joined; waiting for the network's operator to approve this member (`lanyard member approve` on the switch)") }
                    toldPending = true
                case .refused(.tryLater) where Date() < deadline:
                    logger.warning("the switch cannot take the join now: \(JoinRefusal.tryLater.message)")
                case .refused(let why):
                    throw CommandFailure("the switch refused to let this port join: \(why.message)")
                }
            }
            guard Date() < deadline else {
                throw CommandFailure(toldPending ? "not approved within \(Int(maxWait)) s: run the port again once the operator approved it"
                                                 : "no answer from the switch at \(token.endpoints.joined(separator: ", ")) in \(Int(maxWait)) s: check the address in the token and that its UDP port is reachable")
            }
            Thread.sleep(forTimeInterval: toldPending ? 3 : min(Double(attempt), 3))
        }
    }

    /// One request to one endpoint; nil when no valid answer came within 2 s.
    private func ask(_ endpoint: String, token: JoinToken, key: PrivateKey, hostname: String) throws -> JoinOutcome? {
        guard let address = try? SocketAddress.resolve(endpoint) else {
            logger.warning("cannot resolve \(endpoint)")
            return nil
        }
        let request: [UInt8]
        do { request = try JoinExchange.sealRequest(token: token, joiner: key, hostname: hostname, now: UInt64(UnixTime.now)) } catch {
            throw CommandFailure("cannot make a join request: \(error)")
        }
        let fd = socket(Int32(address.storage.ss_family), Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CommandFailure("cannot make a UDP socket: \(SystemError.text(errno))") }
        defer { close(fd) }
        var storage = address.storage
        let connected = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, address.length) }
        }
        guard connected == 0, request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
            logger.info("cannot send to \(endpoint): \(SystemError.text(errno))")
            return nil
        }
        let until = Date().addingTimeInterval(2)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < until {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(max(1, until.timeIntervalSinceNow * 1000))) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { continue }
            // Anything that does not open under this key and the switch's is ignored (forged).
            if let outcome = try? JoinExchange.openReply(Array(buffer[0..<n]), joiner: key, switchKey: token.switchKey) { return outcome }
        }
        return nil
    }

    private func saved() throws -> Joined? {
        guard KeyFiles.exists(statePath) else { return nil }
        let file: INIFile
        do { file = try INIFile(parsing: try KeyFiles.contents(statePath, kind: .memberList)) } catch {
            throw CommandFailure("\(statePath): \(error); remove \(folder) to join again")
        }
        guard let section = file.sections.first(where: { $0.name == "Join" }),
              let keyText = try? section.value("SwitchKey"), let switchKey = try? PublicKey(base64: keyText),
              let name = try? section.value("Name"), let invite = try? section.value("Invite") else {
            throw CommandFailure("\(statePath) is incomplete: remove \(folder) to join again")
        }
        let endpoints = section.values("Switch")
        guard !endpoints.isEmpty else { throw CommandFailure("\(statePath) names no switch (Switch = HOST:PORT): remove \(folder) to join again") }
        return Joined(key: try KeyFiles.privateKey(at: keyPath), switchKey: switchKey, endpoints: endpoints,
                      memberName: name, invite: invite)
    }

    private func save(_ j: Joined) throws {
        var text = "# Written by lanyard port --join: this port's membership. Its key is private.key beside it.\n[Join]\n"
        text += "Name = \(j.memberName)\nInvite = \(j.invite)\nSwitchKey = \(j.switchKey.base64)\n"
        for e in j.endpoints { text += "Switch = \(e)\n" }
        try writeAtomically(text, to: statePath)
    }
}
