import LanyardCore

/// WireGuard's cross-platform userspace API ("Cross-platform Userspace Implementation" on
/// wireguard.com): the text protocol `wg` speaks over /var/run/wireguard/NAME.sock. A request is
/// `get=1` or `set=1` followed by `key=value` lines and an empty line; the answer ends with
/// `errno=N` and an empty line. Keys are lowercase hex. Pure: parsing and formatting only.
public enum UAPI {
    /// Why a `set` was refused; the whole request is then applied not at all.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case unknownKey(String)
        case invalidValue(key: String, value: String)
        case peerKeyBeforePublicKey(String)
        case malformedLine(String)

        /// The errno `wg` expects (EINVAL for everything a request can get wrong).
        public var errno: Int32 { 22 }

        public var description: String {
            switch self {
            case .unknownKey(let k): "unknown key '\(k)'"
            case .invalidValue(let k, let v): "invalid value '\(v)' for '\(k)'"
            case .peerKeyBeforePublicKey(let k): "'\(k)' before any public_key"
            case .malformedLine(let l): "malformed line '\(l)' (expected key=value)"
            }
        }
    }

    /// One peer's part of a `set`.
    public struct PeerChange: Equatable, Sendable {
        public var publicKey: PublicKey
        public var remove = false
        public var updateOnly = false
        /// nil: unchanged; .some(nil): cleared (all-zero key).
        public var presharedKey: PresharedKey??
        /// "IP:PORT" or "[IPv6]:PORT", numeric.
        public var endpoint: String?
        public var persistentKeepalive: UInt16?
        public var replaceAllowedIPs = false
        public var allowedIPs: [IPPrefix] = []
        public init(publicKey: PublicKey) { self.publicKey = publicKey }
    }

    /// A whole `set` request, parsed and checked before anything is applied.
    public struct SetRequest: Equatable, Sendable {
        /// nil: unchanged; .some(nil): removed (all-zero key).
        public var privateKey: PrivateKey??
        public var listenPort: UInt16?
        /// nil: unchanged; 0: removed.
        public var fwmark: UInt32?
        public var replacePeers = false
        public var peers: [PeerChange] = []
        public init() {}
    }

    /// Parses the lines after `set=1` (without the terminating empty line).
    public static func parseSet<S: Sequence>(_ lines: S) throws(Failure) -> SetRequest where S.Element: StringProtocol {
        var request = SetRequest()
        var peer: PeerChange?
        func flush() { if let p = peer { request.peers.append(p) }; peer = nil }
        for raw in lines {
            let line = String(raw)
            guard let eq = line.firstIndex(of: "=") else { throw .malformedLine(line) }
            let key = String(line[..<eq]), value = String(line[line.index(after: eq)...])
            func bad() -> Failure { .invalidValue(key: key, value: key.hasSuffix("key") ? "(hidden)" : value) }
            switch key {
            case "private_key":
                guard peer == nil else { throw .peerKeyBeforePublicKey(key) }
                guard let bytes = hexBytes(value, count: 32) else { throw bad() }
                if bytes.allSatisfy({ $0 == 0 }) {
                    request.privateKey = .some(nil)
                } else {
                    guard let k = try? PrivateKey(rawValue: bytes) else { throw bad() }
                    request.privateKey = .some(k)
                }
            case "listen_port":
                guard peer == nil, let port = UInt16(value) else { throw bad() }
                request.listenPort = port
            case "fwmark":
                guard peer == nil, let mark = UInt32(value) else { throw bad() }
                request.fwmark = mark
            case "replace_peers":
                guard peer == nil, value == "true" else { throw bad() }
                request.replacePeers = true
            case "public_key":
                guard let bytes = hexBytes(value, count: 32), let key = try? PublicKey(rawValue: bytes) else { throw bad() }
                flush()
                peer = PeerChange(publicKey: key)
            case "remove", "update_only", "replace_allowed_ips":
                guard peer != nil else { throw .peerKeyBeforePublicKey(key) }
                guard value == "true" else { throw bad() }
                if key == "remove" { peer!.remove = true } else if key == "update_only" { peer!.updateOnly = true } else { peer!.replaceAllowedIPs = true }
            case "preshared_key":
                guard peer != nil else { throw .peerKeyBeforePublicKey(key) }
                guard let bytes = hexBytes(value, count: 32) else { throw bad() }
                if bytes.allSatisfy({ $0 == 0 }) {
                    peer!.presharedKey = .some(nil)
                } else {
                    guard let k = try? PresharedKey(rawValue: bytes) else { throw bad() }
                    peer!.presharedKey = .some(k)
                }
            case "endpoint":
                guard peer != nil else { throw .peerKeyBeforePublicKey(key) }
                guard value.contains(":"), value.last != ":" else { throw bad() }
                peer!.endpoint = value
            case "persistent_keepalive_interval":
                guard peer != nil else { throw .peerKeyBeforePublicKey(key) }
                guard let s = UInt16(value) else { throw bad() }
                peer!.persistentKeepalive = s
            case "allowed_ip":
                guard peer != nil else { throw .peerKeyBeforePublicKey(key) }
                guard value.contains("/"), let prefix = IPPrefix(value) else { throw bad() }
                peer!.allowedIPs.append(prefix)
            case "protocol_version":
                guard peer != nil else { throw .peerKeyBeforePublicKey(key) }
                guard value == "1" else { throw bad() }
            default:
                throw .unknownKey(key)
            }
        }
        flush()
        return request
    }

    /// What `get=1` reports of one peer.
    public struct PeerState: Sendable {
        public var publicKey: PublicKey
        public var presharedKey: PresharedKey?
        public var endpoint: String?
        public var lastHandshakeSeconds: Int64
        public var lastHandshakeNanoseconds: Int64
        public var txBytes: UInt64
        public var rxBytes: UInt64
        public var persistentKeepalive: UInt16
        public var allowedIPs: [IPPrefix]
        public init(publicKey: PublicKey, presharedKey: PresharedKey?, endpoint: String?, lastHandshakeSeconds: Int64,
                    lastHandshakeNanoseconds: Int64, txBytes: UInt64, rxBytes: UInt64, persistentKeepalive: UInt16, allowedIPs: [IPPrefix]) {
            self.publicKey = publicKey
            self.presharedKey = presharedKey
            self.endpoint = endpoint
            self.lastHandshakeSeconds = lastHandshakeSeconds
            self.lastHandshakeNanoseconds = lastHandshakeNanoseconds
            self.txBytes = txBytes
            self.rxBytes = rxBytes
            self.persistentKeepalive = persistentKeepalive
            self.allowedIPs = allowedIPs
        }
    }

    /// The answer to `get=1`, `errno=0` and the empty line included.
    public static func formatGet(privateKey: PrivateKey?, listenPort: UInt16, fwmark: UInt32, peers: [PeerState]) -> String {
        var out = ""
        if let privateKey { out += "private_key=\(hex(privateKey.rawValue))\n" }
        out += "listen_port=\(listenPort)\n"
        if fwmark != 0 { out += "fwmark=\(fwmark)\n" }
        for p in peers {
            out += "public_key=\(hex(p.publicKey.rawValue))\n"
            if let psk = p.presharedKey { out += "preshared_key=\(hex(psk.rawValue))\n" }
            out += "protocol_version=1\n"
            if let e = p.endpoint { out += "endpoint=\(e)\n" }
            out += "last_handshake_time_sec=\(p.lastHandshakeSeconds)\nlast_handshake_time_nsec=\(p.lastHandshakeNanoseconds)\n"
            out += "tx_bytes=\(p.txBytes)\nrx_bytes=\(p.rxBytes)\n"
            out += "persistent_keepalive_interval=\(p.persistentKeepalive)\n"
            for a in p.allowedIPs { out += "allowed_ip=\(a)\n" }
        }
        return out + "errno=0\n\n"
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(bytes.count * 2)
        for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
        return s
    }

    static func hexBytes(_ text: String, count: Int) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count == count * 2 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(count)
        var i = 0
        while i < chars.count {
            guard let h = nibble(chars[i]), let l = nibble(chars[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
