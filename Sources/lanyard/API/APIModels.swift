import LanyardCore
import LanyardNode
import LanyardStore
import LanyardWireGuard

/// A member as the API and `lanyard member list --json` show it (never its preshared key).
struct MemberJSON: Codable {
    var name: String
    var publicKey: String
    var hasPresharedKey: Bool
    var macs: [String]
    var addresses: [String]
    var tags: [String]
    var enabled: Bool
    var pending: Bool
    var createdAt: Int64
    var invite: String?
    /// What the running daemon knows of it now (up, endpoint, last handshake, traffic).
    var live: SwitchStatus.Port?

    init(_ m: Member, live: SwitchStatus.Port? = nil) {
        name = m.name
        publicKey = m.publicKey.base64
        hasPresharedKey = m.presharedKey != nil
        macs = m.macs.map(\.description)
        addresses = m.addresses.map(\.description)
        tags = m.tags
        enabled = m.enabled
        pending = m.pending
        createdAt = m.createdAt
        invite = m.invite
        self.live = live
    }
}

struct MemberListJSON: Codable {
    var version: Int64
    var members: [MemberJSON]
}

/// An invite as listed (never its secret or hash).
struct InviteJSON: Codable, Equatable {
    var id: String
    var name: String
    var createdAt: Int64
    var expiresAt: Int64?
    var usesLeft: Int
    var used: Int
    var revoked: Bool
    var needsApproval: Bool
    var tags: [String]
    /// Only in the answer that made it: the token to give the new member (shown once).
    var token: String?

    init(_ i: Invite, token: String? = nil) {
        id = i.id
        name = i.name
        createdAt = i.createdAt
        expiresAt = i.expiresAt
        usesLeft = i.usesLeft
        used = i.used
        revoked = i.revoked
        needsApproval = i.needsApproval
        tags = i.tags
        self.token = token
    }
}

/// The network this daemon serves, as joiners see it.
struct NetworkJSON: Codable {
    var name: String
    var publicKey: String
    var endpoints: [String]
    var store: SwitchStatus.Store?
}

/// Making a join token: the token (given once to the new member) and the invite the store keeps
/// (only the secret's hash).
enum Invitation {
    static func make(name: String, switchKey: PublicKey, endpoints: [String], expiresIn: Int64?, uses: Int,
                     needsApproval: Bool, tags: [String], now: Int64) throws(StoreError) -> (JoinToken, Invite) {
        guard !endpoints.isEmpty else {
            throw .invalidValue("the switch's public address is not known: start it with --endpoint HOST:PORT (or endpoint = [...] in its configuration), or pass --endpoint to invite")
        }
        guard (1...1000).contains(uses) else { throw .invalidValue("uses must be between 1 and 1000") }
        if let expiresIn, expiresIn <= 0 { throw .invalidValue("an invite must expire in the future") }
        let token: JoinToken
        do { token = try JoinToken.make(switchKey: switchKey, endpoints: endpoints) } catch {
            throw .invalidValue("cannot make a token for \(endpoints.joined(separator: ", ")): \(error)")
        }
        let invite = Invite(id: token.inviteIDHex, secretHash: JoinToken.secretHash(token.secret), name: name, createdAt: now,
                            expiresAt: expiresIn.map { now + $0 }, usesLeft: uses, needsApproval: needsApproval, tags: tags)
        return (token, invite)
    }
}

/// Reading the text forms of member fields, with errors the API and the CLI both give.
enum MemberFields {
    static func key(_ text: String) throws(StoreError) -> PublicKey {
        do { return try PublicKey(base64: text) } catch {
            throw .invalidValue("'\(text)' is not a Curve25519 public key: give the 44-character base64 that `lanyard pubkey` prints")
        }
    }

    static func macs(_ texts: [String]) throws(StoreError) -> [MACAddress] {
        try texts.map { (t) throws(StoreError) in
            guard let m = MACAddress(t), !m.isMulticast, !m.isZero else {
                throw .invalidValue("'\(t)' is not a unicast MAC address like 02:00:00:00:00:01")
            }
            return m
        }
    }

    static func addresses(_ texts: [String]) throws(StoreError) -> [IPPrefix] {
        try texts.map { (t) throws(StoreError) in
            guard let p = IPPrefix(t.split(separator: "/").first.map(String.init) ?? t) else {
                throw .invalidValue("'\(t)' is not an IPv4 or IPv6 address")
            }
            return p
        }
    }
}
