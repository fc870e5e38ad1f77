/// What a VPN server tells a Lanyard client after `hello` (the body of a `config` message):
/// UTF-8 lines `key=value`, keys `address` (CIDR, repeatable), `route` (CIDR the server offers to
/// carry, repeatable; `0.0.0.0/0` / `::/0` mean the full tunnel), `keepalive` and `silence`
/// (seconds). Unknown keys are ignored so that later servers can add settings.
public struct ClientConfig: Equatable, Sendable {
    /// The client's tunnel addresses with the pool's prefix length (e.g. 198.51.100.2/24).
    public var addresses: [String]
    /// Prefixes the server routes for the client.
    public var routes: [IPPrefix]
    public var keepaliveSeconds: Int
    public var silenceSeconds: Int

    public init(addresses: [String], routes: [IPPrefix], keepaliveSeconds: Int, silenceSeconds: Int) {
        self.addresses = addresses
        self.routes = routes
        self.keepaliveSeconds = keepaliveSeconds
        self.silenceSeconds = silenceSeconds
    }

    /// The inner source addresses the server may send from: the prefixes it routes for the
    /// client (its pools included), as WireGuard's AllowedIPs for the server peer. With a full
    /// tunnel (0.0.0.0/0, ::/0) that is everything.
    public var allowedSources: AllowedIPs {
        var table = AllowedIPs()
        for prefix in routes { table.insert(prefix, for: 0) }
        for text in addresses {
            if let p = IPPrefix(text) { table.insert(p, for: 0) }
        }
        return table
    }

    /// Why a config body was refused.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case notUTF8
        case malformedLine(String)
        case badValue(key: String, value: String)
        case missing(String)

        public var description: String {
            switch self {
            case .notUTF8: "config is not UTF-8"
            case .malformedLine(let l): "config line '\(l)' is not key=value"
            case .badValue(let k, let v): "config \(k)=\(v) is not valid"
            case .missing(let k): "config has no \(k)"
            }
        }
    }

    public var text: String {
        (addresses.map { "address=\($0)" } + routes.map { "route=\($0)" }
            + ["keepalive=\(keepaliveSeconds)", "silence=\(silenceSeconds)"]).joined(separator: "\n")
    }

    public init(parsing body: UnsafeRawBufferPointer) throws(ParseError) {
        guard let text = String(validating: body, as: UTF8.self) else { throw .notUTF8 }
        addresses = []
        routes = []
        var keepalive: Int?
        var silence: Int?
        for line in text.split(separator: "\n") where !line.isEmpty {
            guard let eq = line.firstIndex(of: "=") else { throw .malformedLine(String(line)) }
            let key = String(line[..<eq]), value = String(line[line.index(after: eq)...])
            switch key {
            case "address":
                guard IPPrefix(value) != nil, value.contains("/") else { throw .badValue(key: key, value: value) }
                addresses.append(value)
            case "route":
                guard let p = IPPrefix(value) else { throw .badValue(key: key, value: value) }
                routes.append(p)
            case "keepalive":
                guard let v = Int(value), (1...3600).contains(v) else { throw .badValue(key: key, value: value) }
                keepalive = v
            case "silence":
                guard let v = Int(value), (2...3600).contains(v) else { throw .badValue(key: key, value: value) }
                silence = v
            default:
                continue
            }
        }
        guard !addresses.isEmpty else { throw .missing("address") }
        guard let keepalive else { throw .missing("keepalive") }
        guard let silence, silence > keepalive else { throw .missing("silence (larger than keepalive)") }
        keepaliveSeconds = keepalive
        silenceSeconds = silence
    }
}

/// Hands out host addresses from a pool prefix, skipping the network address, the server's own
/// (first host) and, for IPv4, the broadcast address.
public struct AddressPool: Sendable {
    public let prefix: IPPrefix
    private var next: UInt64 = 2
    private var taken: Set<UInt64> = []

    public init?(_ prefix: IPPrefix) {
        guard prefix.isIPv6 ? prefix.length <= 126 : prefix.length <= 30 else { return nil }
        self.prefix = prefix
    }

    /// The server's own address in the pool (first host), as CIDR text.
    public var serverAddress: String { text(1) }

    /// Why a fixed address cannot be reserved.
    public enum Refusal: Error, Equatable, Sendable {
        case outsidePool
        case serverAddress
        case alreadyTaken
    }

    /// Marks a fixed address as used; returns why not, or nil when reserved.
    public mutating func reserve(_ host: IPPrefix) -> Refusal? {
        guard host.isIPv6 == prefix.isIPv6 else { return .outsidePool }
        let offset = host.low &- prefix.low
        let inside = host.isIPv6 ? prefix.contains(ipv6High: host.high, low: host.low) : prefix.contains(ipv4: UInt32(host.low))
        guard inside, offset != 0 else { return .outsidePool }
        guard offset != 1 else { return .serverAddress }
        guard taken.insert(offset).inserted else { return .alreadyTaken }
        return nil
    }

    /// The next free host address as a host prefix, nil when exhausted.
    public mutating func allocate() -> IPPrefix? {
        let hostBits = (prefix.isIPv6 ? 128 : 32) - prefix.length
        let limit: UInt64 = hostBits >= 63 ? UInt64.max : (UInt64(1) << UInt64(hostBits)) - (prefix.isIPv6 ? 0 : 1)
        while next < limit {
            let candidate = next
            next += 1
            if taken.insert(candidate).inserted { return IPPrefix(hostText(candidate)) }
        }
        return nil
    }

    /// A host address with the pool's prefix length, e.g. 198.51.100.7/24.
    public func text(_ offset: UInt64) -> String { "\(hostText(offset))/\(prefix.length)" }

    func hostText(_ offset: UInt64) -> String {
        if !prefix.isIPv6 {
            let v = UInt32(truncatingIfNeeded: prefix.low &+ offset)
            return "\(v >> 24).\(v >> 16 & 255).\(v >> 8 & 255).\(v & 255)"
        }
        let low = prefix.low &+ offset
        let groups = (0..<8).map { i -> String in
            let word = i < 4 ? prefix.high >> UInt64(48 - 16 * i) : low >> UInt64(48 - 16 * (i - 4))
            return String(UInt16(truncatingIfNeeded: word), radix: 16)
        }
        return groups.joined(separator: ":")
    }
}

extension IPPrefix {
    /// The address part with the given prefix length (e.g. host 198.51.100.7 in a /24 pool).
    public func withLength(_ length: Int) -> String {
        let d = description
        return String(d[..<d.firstIndex(of: "/")!]) + "/\(length)"
    }
}
