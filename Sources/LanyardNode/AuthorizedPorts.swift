import LanyardCore
import LanyardWireGuard

/// One port the switch lets in.
public struct AuthorizedPort: Sendable {
    public var name: String
    public var publicKey: PublicKey
    public var presharedKey: PresharedKey?
    /// MACs only this port may use (optional).
    public var macs: [MACAddress]

    public init(name: String, publicKey: PublicKey, presharedKey: PresharedKey? = nil, macs: [MACAddress] = []) {
        self.name = name
        self.publicKey = publicKey
        self.presharedKey = presharedKey
        self.macs = macs
    }

    /// Reads `[Port]` sections: `Name`, `PublicKey` (required), `PresharedKey`, `MACAddress` (repeatable).
    public static func parse(_ text: String) throws(INIFile.ParseError) -> [AuthorizedPort] {
        let file = try INIFile(parsing: text)
        var ports: [AuthorizedPort] = []
        var seen = Set<PublicKey>()
        for section in file.sections {
            guard section.name.lowercased() == "port" else {
                throw .unknownKey("[\(section.name)]", section: section.name, line: section.line)
            }
            for entry in section.entries where !["name", "publickey", "presharedkey", "macaddress"].contains(entry.key.lowercased()) {
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
            var psk: PresharedKey?
            if let text = try section.value("PresharedKey") {
                guard let k = try? PresharedKey(base64: text) else {
                    throw .invalidValue(key: "PresharedKey", value: "(hidden)", line: line, reason: "not a base64 key made by `lanyard genpsk`")
                }
                psk = k
            }
            var macs: [MACAddress] = []
            for text in section.values("MACAddress") {
                guard let mac = MACAddress(text), !mac.isMulticast, !mac.isZero else {
                    throw .invalidValue(key: "MACAddress", value: text, line: line, reason: "expected a unicast MAC like 02:00:00:00:00:01")
                }
                macs.append(mac)
            }
            let name = try section.value("Name") ?? "port\(ports.count + 1)"
            ports.append(AuthorizedPort(name: name, publicKey: key, presharedKey: psk, macs: macs))
        }
        return ports
    }
}
