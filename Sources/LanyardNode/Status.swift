/// What `lanyard status` shows for a switch (also its `--json` form).
public struct SwitchStatus: Codable, Sendable {
    public struct Port: Codable, Sendable {
        public var id: UInt32
        public var name: String
        public var publicKey: String
        public var state: String
        public var endpoint: String?
        public var connectedSeconds: Double?
        public var lastHeardSeconds: Double?
        public var lastHandshakeSeconds: Double? = nil
        public var macs: Int
        public var traffic: TrafficCounters
        /// A VPN server's client addresses.
        public var addresses: [String]? = nil
    }
    public struct MACEntry: Codable, Sendable {
        public var mac: String
        public var port: String
        public var ageSeconds: Double
    }
    /// Traffic the switch relayed, sealed, from one member to another.
    public struct RelayPair: Codable, Sendable {
        public var from: String
        public var to: String
        public var packets: UInt64
        public var bytes: UInt64
    }
    public var kind = "switch"
    /// "direct paths" or "relay all" (switch only).
    public var mode: String? = nil
    public var name: String
    public var listen: String
    public var publicKey: String
    public var ports: [Port]
    public var macTable: [MACEntry]
    public var datagramDrops: [String: UInt64]
    public var frameDrops: [String: UInt64]
    /// Pairs of members with relayed traffic in the last 10 minutes (pairs with a removed member go).
    public var relayPairs: [RelayPair]? = nil
    /// Everything relayed since the switch started.
    public var relayedPackets: UInt64? = nil
    public var relayedBytes: UInt64? = nil
    public var handshakes: UInt64? = nil
    /// Cookie replies sent (handshakes demanded a cookie under load), and whether it is under load now.
    public var cookieReplies: UInt64? = nil
    public var underLoad: Bool? = nil
    public var batching: BatchCounters? = nil
    public var macMoves: UInt64? = nil
    /// Set when `ports` (and `macTable`, which then holds those ports' MACs) is one page of the
    /// table or empty (a summary): all the ports, how many are up, all the MACs.
    public var portCount: Int? = nil
    public var portsUp: Int? = nil
    public var macCount: Int? = nil
    /// Where the members come from and how that is going (a switch on a member database).
    public var store: Store? = nil
    /// Join requests answered (a switch on a member database).
    public var joins: JoinCounters? = nil
    /// The other switches of the network, and what crossed between them (a switch in a mesh).
    public var mesh: Mesh? = nil

    /// One switch among several: its listen address, its peers, the traffic between them.
    public struct Mesh: Codable, Sendable {
        public var listen: String
        public var switches: [MeshPeer]
        /// Members of this network registered at another switch now.
        public var remoteMembers: Int
        public var counters: MeshCounters
        /// Datagrams the switch-to-switch socket dropped, by reason.
        public var datagramDrops: [String: UInt64]
    }

    /// Another switch of the network.
    public struct MeshPeer: Codable, Sendable {
        public var name: String
        public var publicKey: String
        public var endpoint: String
        public var up: Bool
        /// Members registered there, as it last said.
        public var members: Int
        public var lastHandshakeSeconds: Double?
    }

    /// The member store, as the daemon last saw it.
    public struct Store: Codable, Sendable, Equatable {
        public var location: String
        public var reachable: Bool
        /// The version of the member list in use, and when (unix seconds) it was applied.
        public var appliedVersion: Int64
        public var appliedAt: Int64
        public var lastError: String?
        public init(location: String, reachable: Bool, appliedVersion: Int64, appliedAt: Int64, lastError: String?) {
            self.location = location
            self.reachable = reachable
            self.appliedVersion = appliedVersion
            self.appliedAt = appliedAt
            self.lastError = lastError
        }
    }
}

/// How much of a switch's or server's tables (or a port's members) a status request wants.
public enum StatusScope: Equatable, Sendable {
    /// Everything (the `status` request): builds the whole tables on the daemon's thread.
    case all
    /// Counts and drops only (`status summary`): cheap at any size.
    case summary
    /// Ports `offset..<offset+limit` with their MACs (`status page OFFSET LIMIT`).
    case page(offset: Int, limit: Int)
    /// Every port with its MAC count, no MAC table (what metrics read).
    case ports

    /// Reads a control request ("status", "status summary", "status page 0 500").
    public init(request: String) {
        let words = request.split(separator: " ")
        if words.count == 2, words[1] == "summary" { self = .summary; return }
        if words.count == 2, words[1] == "ports" { self = .ports; return }
        if words.count == 4, words[1] == "page", let o = Int(words[2]), let l = Int(words[3]), o >= 0, l > 0 {
            self = .page(offset: min(o, 1 << 40), limit: min(l, 5000)); return   // no overflow in offset + limit
        }
        self = .all
    }
}

/// What `lanyard status` shows for a port or tunnel.
public struct LinkStatus: Codable, Sendable {
    public var kind: String
    public var name: String
    public var interface: String
    public var publicKey: String
    public var peerPublicKey: String
    public var endpoint: String?
    public var state: String
    public var lastHandshakeSeconds: Double?
    public var lastHeardSeconds: Double?
    public var traffic: TrafficCounters
    public var drops: [String: UInt64]
    /// A port's view of the other members it has talked to.
    public var members: [MemberStatus]? = nil
    /// A port's way to other members: "direct paths" or "through the switch".
    public var mode: String? = nil
    public var batching: BatchCounters? = nil
    /// A port: cookie replies its member sessions sent under handshake load.
    public var cookieReplies: UInt64? = nil
    /// Set when `members` is one page of a port's members or empty (a summary): how many it
    /// knows, and how many of those it reaches on a direct path.
    public var memberCount: Int? = nil
    public var membersDirect: Int? = nil
}

/// One member as a port sees it.
public struct MemberStatus: Codable, Sendable {
    public var name: String
    public var publicKey: String
    /// "direct", "relayed" (end to end, sealed, through the switch's relay), or "switch"
    /// (no end-to-end session: frames go through the switch, which reads them).
    public var path: String
    public var endpoint: String?
    public var rttMilliseconds: Double?
    public var lastHandshakeSeconds: Double?
    public var candidates: [String]
    public var traffic: TrafficCounters
}

/// Counters by reason as a JSON-friendly dictionary keyed by each reason's description.
func countsByName<R: CustomStringConvertible>(_ pairs: [(R, UInt64)]) -> [String: UInt64] {
    Dictionary(uniqueKeysWithValues: pairs.map { ($0.0.description, $0.1) })
}

func seconds(_ ns: UInt64) -> Double { (Double(ns) / 1e8).rounded() / 10 }
