import LanyardCore
import LanyardWireGuard

/// One member of a network as the store holds it: who may join (a switch's port or a VPN
/// server's client) and on what terms. Sessions, endpoints and counters are never stored.
public struct Member: Sendable, Equatable {
    /// Unique within the network; shown in status and logs.
    public var name: String
    /// Unique within the network; never changes (a new key is a new member).
    public var publicKey: PublicKey
    public var presharedKey: PresharedKey?
    /// MACs only this member may use (a switch's port); no MAC is pinned to two members.
    public var macs: [MACAddress]
    /// Fixed tunnel addresses (a server's client), host prefixes; none is held by two members.
    public var addresses: [IPPrefix]
    /// Free-form labels for the operator (sorted, unique).
    public var tags: [String]
    /// A disabled member stays in the store but may not join.
    public var enabled: Bool
    /// Joined with a token of a network that wants each join approved; may not join until approved.
    public var pending: Bool
    /// Unix seconds.
    public var createdAt: Int64
    /// The invite it joined with (its id), if any.
    public var invite: String?

    public init(name: String, publicKey: PublicKey, presharedKey: PresharedKey? = nil, macs: [MACAddress] = [],
                addresses: [IPPrefix] = [], tags: [String] = [], enabled: Bool = true, pending: Bool = false,
                createdAt: Int64 = 0, invite: String? = nil) {
        self.name = name
        self.publicKey = publicKey
        self.presharedKey = presharedKey
        self.macs = macs
        self.addresses = addresses
        self.tags = tags
        self.enabled = enabled
        self.pending = pending
        self.createdAt = createdAt
        self.invite = invite
    }

    /// Whether it may join now (listed for the data path).
    public var isActive: Bool { enabled && !pending }

    /// Whether `name` may name a member: 1–63 letters, digits, '-', '_' and '.'.
    public static func isValidName(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}

/// Everything a store holds about its members at one moment, and the version it had then.
public struct MemberList: Sendable {
    /// Grows with every change; two reads with the same version saw the same list.
    public var version: Int64
    public var members: [Member]
    /// The switches that serve the network (a store shared by several; empty for one switch).
    public var switches: [SwitchRecord]
    public init(version: Int64, members: [Member], switches: [SwitchRecord] = []) {
        self.version = version
        self.members = members
        self.switches = switches
    }
    /// The members that may join now.
    public var active: [Member] { members.filter(\.isActive) }
}

/// A change to one member, as `lanyard member` and the API make them; nil leaves a field as it is.
public struct MemberChange: Sendable, Equatable {
    public var name: String?
    public var tags: [String]?
    public var enabled: Bool?
    public var pending: Bool?
    public var macs: [MACAddress]?
    public var addresses: [IPPrefix]?
    public init(name: String? = nil, tags: [String]? = nil, enabled: Bool? = nil, pending: Bool? = nil,
                macs: [MACAddress]? = nil, addresses: [IPPrefix]? = nil) {
        self.name = name
        self.tags = tags
        self.enabled = enabled
        self.pending = pending
        self.macs = macs
        self.addresses = addresses
    }
}

/// A join token as the store keeps it: never the secret, only its hash.
public struct Invite: Sendable, Equatable {
    /// 16 hex characters (the token's invite id).
    public var id: String
    public var secretHash: String
    /// The name the first member to join with it gets (later ones NAME-2, NAME-3, ...).
    public var name: String
    public var createdAt: Int64
    /// Unix seconds; nil never expires.
    public var expiresAt: Int64?
    public var usesLeft: Int
    public var used: Int
    public var revoked: Bool
    /// Members joining with it wait for an operator's approval.
    public var needsApproval: Bool
    public var tags: [String]

    public init(id: String, secretHash: String, name: String, createdAt: Int64, expiresAt: Int64?, usesLeft: Int,
                used: Int = 0, revoked: Bool = false, needsApproval: Bool = false, tags: [String] = []) {
        self.id = id
        self.secretHash = secretHash
        self.name = name
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usesLeft = usesLeft
        self.used = used
        self.revoked = revoked
        self.needsApproval = needsApproval
        self.tags = tags
    }
}

/// What redeeming a join token came to.
public enum Redemption: Sendable, Equatable {
    /// A member now (or already, for a repeated request from the same key): its name, and
    /// whether it still waits for approval.
    case member(name: String, pending: Bool)
    case refused(RedeemRefusal)
}

/// Why a token was not accepted. `invalid` covers unknown, wrong and revoked alike, so a
/// stranger learns nothing about which invites exist.
public enum RedeemRefusal: Sendable, Equatable {
    case invalid, expired, used, keyTaken
}

/// One switch of a network served by several: who it is and where the other switches reach it.
/// Written by the switch itself at start (`lanyard switch --mesh-endpoint`).
public struct SwitchRecord: Sendable, Equatable {
    /// The switch's instance name, unique within the network.
    public var name: String
    public var publicKey: PublicKey
    /// Where the other switches reach its switch-to-switch socket, HOST:PORT.
    public var meshEndpoint: String
    /// Where members reach it, HOST:PORT each (what its join tokens carry).
    public var endpoints: [String]

    public init(name: String, publicKey: PublicKey, meshEndpoint: String, endpoints: [String] = []) {
        self.name = name
        self.publicKey = publicKey
        self.meshEndpoint = meshEndpoint
        self.endpoints = endpoints
    }
}
