import Testing
@testable import LanyardCore

@Suite struct AllowedIPsTests {
    func p(_ s: String) -> IPPrefix { IPPrefix(s)! }
    func v4(_ s: String) -> UInt32 { UInt32(truncatingIfNeeded: IPPrefix(s)!.low) }
    func v6(_ s: String) -> (UInt64, UInt64) { let x = IPPrefix(s)!; return (x.high, x.low) }

    @Test func theMostSpecificPrefixWinsInBothFamilies() {
        var t = AllowedIPs()
        t.insert(p("0.0.0.0/0"), for: 1)
        t.insert(p("198.51.100.0/24"), for: 2)
        t.insert(p("198.51.100.128/25"), for: 3)
        t.insert(p("198.51.100.200/32"), for: 4)
        t.insert(p("2001:db8::/32"), for: 5)
        t.insert(p("2001:db8:1::/48"), for: 6)
        #expect(t.lookup(ipv4: v4("203.0.113.9")) == 1)
        #expect(t.lookup(ipv4: v4("198.51.100.5")) == 2)
        #expect(t.lookup(ipv4: v4("198.51.100.129")) == 3)
        #expect(t.lookup(ipv4: v4("198.51.100.200")) == 4)
        #expect(t.lookup(ipv4: v4("198.51.100.201")) == 3)
        let (a, b) = v6("2001:db8:1::7"), (c, d) = v6("2001:db8:2::7"), (e, f) = v6("2001:db9::1")
        #expect(t.lookup(ipv6High: a, low: b) == 6)
        #expect(t.lookup(ipv6High: c, low: d) == 5)
        #expect(t.lookup(ipv6High: e, low: f) == nil) // 0.0.0.0/0 is IPv4 only
    }

    @Test func aPrefixMovesBetweenPeersAndRemovalFallsBackToTheLessSpecific() {
        var t = AllowedIPs()
        t.insert(p("198.51.100.0/24"), for: 1)
        t.insert(p("198.51.100.7/32"), for: 2)
        t.insert(p("198.51.100.7/32"), for: 3) // moves from 2 to 3
        #expect(t.prefixes(of: 2).isEmpty)
        #expect(t.lookup(ipv4: v4("198.51.100.7")) == 3)
        t.removeAll(of: 3)
        #expect(t.lookup(ipv4: v4("198.51.100.7")) == 1)
        t.removeAll(of: 1)
        #expect(t.lookup(ipv4: v4("198.51.100.7")) == nil)
        #expect(t.count == 0)
    }

    /// Against a linear longest-prefix scan, on random prefixes and addresses.
    @Test func agreesWithALinearScanOnRandomTables() {
        var rng = SystemRandomNumberGenerator()
        var t = AllowedIPs()
        var list: [(IPPrefix, UInt32)] = []
        for peer in 0..<200 as Range<UInt32> {
            for _ in 0..<10 {
                let len = Int.random(in: 8...32, using: &rng)
                let addr = UInt32.random(in: 0...UInt32.max, using: &rng) | 0xC000_0000
                let text = "\(addr >> 24).\(addr >> 16 & 255).\(addr >> 8 & 255).\(addr & 255)/\(len)"
                let prefix = p(text)
                t.insert(prefix, for: peer)
                list.removeAll { $0.0 == prefix }
                list.append((prefix, peer))
            }
        }
        for _ in 0..<5000 {
            let a = UInt32.random(in: 0...UInt32.max, using: &rng) | 0xC000_0000
            let expected = list.filter { $0.0.contains(ipv4: a) }.max { $0.0.length < $1.0.length }?.1
            #expect(t.lookup(ipv4: a) == expected)
        }
    }
}

@Suite struct ClientAllowedSourcesTests {
    func v4(_ s: String) -> UInt32 { UInt32(truncatingIfNeeded: IPPrefix(s)!.low) }

    @Test func aSplitTunnelClientAcceptsOnlyWhatTheServerRoutes() {
        let config = ClientConfig(addresses: ["198.51.100.2/24"], routes: [IPPrefix("203.0.113.0/24")!],
                                  keepaliveSeconds: 2, silenceSeconds: 6)
        let allowed = config.allowedSources
        #expect(allowed.lookup(ipv4: v4("203.0.113.9")) != nil)
        #expect(allowed.lookup(ipv4: v4("198.51.100.1")) != nil)  // the server itself
        #expect(allowed.lookup(ipv4: v4("192.0.2.66")) == nil)    // a forged source: refused
    }

    @Test func aFullTunnelAcceptsEverything() {
        let config = ClientConfig(addresses: ["198.51.100.2/24"], routes: [IPPrefix("0.0.0.0/0")!],
                                  keepaliveSeconds: 2, silenceSeconds: 6)
        #expect(config.allowedSources.lookup(ipv4: v4("192.0.2.66")) != nil)
    }
}
