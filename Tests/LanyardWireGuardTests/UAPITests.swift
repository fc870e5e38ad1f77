import Testing
import LanyardCore
@testable import LanyardWireGuard

@Suite struct UAPITests {
    let key = PrivateKey()
    var peerKey: PublicKey { PrivateKey().publicKey }
    func hex(_ b: [UInt8]) -> String { UAPI.hex(b) }

    @Test func parsesWhatWgSetconfSends() throws {
        let p1 = peerKey, p2 = peerKey
        let psk = PresharedKey()
        let lines = [
            "private_key=\(hex(key.rawValue))", "listen_port=51820", "fwmark=0", "replace_peers=true",
            "public_key=\(hex(p1.rawValue))", "preshared_key=\(hex(psk.rawValue))", "endpoint=192.0.2.2:51820",
            "persistent_keepalive_interval=25", "replace_allowed_ips=true", "allowed_ip=198.51.100.2/32", "allowed_ip=2001:db8::/32",
            "public_key=\(hex(p2.rawValue))", "remove=true",
        ]
        let r = try UAPI.parseSet(lines)
        #expect(r.privateKey == .some(key))
        #expect(r.listenPort == 51820 && r.fwmark == 0 && r.replacePeers)
        #expect(r.peers.count == 2)
        #expect(r.peers[0].publicKey == p1 && r.peers[0].presharedKey == .some(psk) && r.peers[0].endpoint == "192.0.2.2:51820")
        #expect(r.peers[0].persistentKeepalive == 25 && r.peers[0].replaceAllowedIPs)
        #expect(r.peers[0].allowedIPs == [IPPrefix("198.51.100.2/32")!, IPPrefix("2001:db8::/32")!])
        #expect(r.peers[1].remove)
    }

    @Test func zeroKeysMeanRemoval() throws {
        let zero = String(repeating: "0", count: 64)
        let r = try UAPI.parseSet(["private_key=\(zero)", "public_key=\(hex(peerKey.rawValue))", "preshared_key=\(zero)"])
        #expect(r.privateKey == .some(nil))
        #expect(r.peers[0].presharedKey == .some(nil))
    }

    @Test func refusesBadRequestsWithEINVAL() {
        let bad: [[String]] = [
            ["bogus=1"],
            ["listen_port=70000"],
            ["private_key=abc"],
            ["endpoint=192.0.2.1:1"],                                  // peer key before public_key
            ["public_key=\(hex(peerKey.rawValue))", "allowed_ip=300.0.0.0/8"],
            ["public_key=\(hex(peerKey.rawValue))", "allowed_ip=198.51.100.1"], // no prefix length
            ["public_key=\(hex(peerKey.rawValue))", "remove=yes"],
            ["public_key=\(hex(peerKey.rawValue))", "protocol_version=2"],
            ["no equals sign"],
            ["public_key=zz\(String(repeating: "0", count: 62))"],
        ]
        for lines in bad {
            #expect(throws: UAPI.Failure.self, "\(lines)") { _ = try UAPI.parseSet(lines) }
        }
    }

    @Test func getListsInterfaceThenPeersAndEndsWithErrno() {
        let p = peerKey
        let text = UAPI.formatGet(privateKey: key, listenPort: 51820, fwmark: 0, peers: [
            .init(publicKey: p, presharedKey: nil, endpoint: "192.0.2.2:51820", lastHandshakeSeconds: 1_700_000_000,
                  lastHandshakeNanoseconds: 5, txBytes: 10, rxBytes: 20, persistentKeepalive: 25,
                  allowedIPs: [IPPrefix("198.51.100.0/24")!]),
        ])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "private_key=\(hex(key.rawValue))")
        #expect(lines.contains("public_key=\(hex(p.rawValue))"))
        #expect(lines.contains("allowed_ip=198.51.100.0/24"))
        #expect(!lines.contains { $0.hasPrefix("fwmark") })
        #expect(text.hasSuffix("errno=0\n\n"))
    }
}
