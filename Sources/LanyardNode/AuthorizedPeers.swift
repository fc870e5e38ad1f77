import LanyardCore
import LanyardWireGuard

/// One peer a hub lets in: a switch's port or a VPN server's client.
public struct AuthorizedPeer: Sendable {
    public var name: String
    public var publicKey: PublicKey
    public var presharedKey: PresharedKey?
    /// MACs only this port may use (switch).
    public var macs: [MACAddress]
    /// Fixed tunnel addresses of a client (server); host prefixes.
    public var addresses: [IPPrefix]

    public init(name: String, publicKey: PublicKey, presharedKey: PresharedKey? = nil,
                macs: [MACAddress] = [], addresses: [IPPrefix] = []) {
        self.name = name
        self.publicKey = publicKey
        self.presharedKey = presharedKey
        self.macs = macs
        self.addresses = addresses
    }

    /// This peer as a `[Port]` section of a ports file (what `parse` reads back), each line
    /// prefixed by `linePrefix` (`"# "` comments it out).
    public func portSection(linePrefix c: String = "") -> String {
        var out = "\n\(c)[Port]\n\(c)Name = \(name)\n\(c)PublicKey = \(publicKey.base64)\n"
        if let presharedKey { out += "\(c)PresharedKey = \(presharedKey.base64)\n" }
        for mac in macs { out += "\(c)MACAddress = \(mac)\n" }
        return out
    }

    /// Which file is being read: a switch's ports or a server's clients.
    public enum Kind: String, Sendable {
        case port = "Port"
        case client = "Client"

        var keys: Set<String> {
            self == .port ? ["name", "publickey", "presharedkey", "macaddress"] : ["name", "publickey", "presharedkey", "address"]
        }
    }

    /// Reads `[Port]` or `[Client]` sections: `Name`, `PublicKey` (required), `PresharedKey`, and
    /// `MACAddress` (ports, repeatable) or `Address` (clients, repeatable host addresses).
    public static func parse(_ text: String, kind: Kind = .port) throws(INIFile.ParseError) -> [AuthorizedPeer] {
        let file = try INIFile(parsing: text)
        var result: [AuthorizedPeer] = []
        var seen = Set<PublicKey>()
        for section in file.sections {
            guard section.name.lowercased() == kind.rawValue.lowercased() else {
                throw .unknownKey("[\(section.name)]", section: section.name, line: section.line)
            }
            for entry in section.entries where !kind.keys.contains(entry.key.lowercased()) {
                throw .unknownKey(entry.key, section: section.name, line: entry.line)
            }
            guard let keyText = try section.value("PublicKey") else {
                throw .missingKey("PublicKey", section: section.name, line: section.line)
            }
            let line = section.entries.first { $0.key.lowercased() == "publickey" }!.line
            guard let key = try? PublicKey(base64: keyText) else {
                throw .invalidValue(key: "PublicKey", value: keyText, line: line, reason: "not a base64 WireGuard public key (44 characters)")
            }
            guard seen.insert(key).inserted else {
                throw .invalidValue(key: "PublicKey", value: keyText, line: line, reason: "this key is listed twice")
            }
            var peer = AuthorizedPeer(name: try section.value("Name") ?? "\(kind.rawValue.lowercased())\(result.count + 1)", publicKey: key)
            if let text = try section.value("PresharedKey") {
                guard let k = try? PresharedKey(base64: text) else {
                    throw .invalidValue(key: "PresharedKey", value: "(hidden)", line: line, reason: "not a base64 key made by `lanyard genpsk`")
                }
                peer.presharedKey = k
            }
            for text in section.values("MACAddress") {
                guard let mac = MACAddress(text), !mac.isMulticast, !mac.isZero else {
                    throw .invalidValue(key: "MACAddress", value: text, line: line, reason: "expected a unicast MAC like 02:00:00:00:00:01")
                }
                peer.macs.append(mac)
            }
            for text in section.values("Address") {
                let bare = text.split(separator: "/").first.map(String.init) ?? text
                guard let prefix = IPPrefix(bare) else {
                    throw .invalidValue(key: "Address", value: text, line: line, reason: "expected an IPv4 or IPv6 address")
                }
                peer.addresses.append(prefix)
            }
            result.append(peer)
        }
        return result
    }
}
