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
    public var kind = "switch"
    public var name: String
    public var listen: String
    public var publicKey: String
    public var ports: [Port]
    public var macTable: [MACEntry]
    public var datagramDrops: [String: UInt64]
    public var frameDrops: [String: UInt64]
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
}

/// Counters by reason as a JSON-friendly dictionary keyed by each reason's description.
func countsByName<R: CustomStringConvertible>(_ pairs: [(R, UInt64)]) -> [String: UInt64] {
    Dictionary(uniqueKeysWithValues: pairs.map { ($0.0.description, $0.1) })
}

func seconds(_ ns: UInt64) -> Double { (Double(ns) / 1e8).rounded() / 10 }
