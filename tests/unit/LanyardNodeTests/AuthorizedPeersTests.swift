import LanyardCore
import LanyardWireGuard
import Testing
@testable import LanyardNode

@Suite struct AuthorizedPeersTests {
    let keyA = PrivateKey().publicKey.base64
    let keyB = PrivateKey().publicKey.base64

    @Test func parsesPorts() throws {
        let ports = try AuthorizedPeer.parse("""
        [Port]
        Name = a
        PublicKey = \(keyA)
        MACAddress = 02:00:00:00:00:0a
        [Port]
        PublicKey = \(keyB)
        PresharedKey = \(PresharedKey().base64)
        """)
        #expect(ports.count == 2)
        #expect(ports[0].name == "a" && ports[0].macs == [MACAddress("02:00:00:00:00:0a")!])
        #expect(ports[1].name == "port2" && ports[1].presharedKey != nil)
    }

    @Test func rejectsGarbage() {
        let cases: [(String, String)] = [
            ("[Port]\nName = a", "needs 'PublicKey'"),
            ("[Port]\nPublicKey = not-a-key", "not a base64"),
            ("[Port]\nPublicKey = \(keyA)\n[Port]\nPublicKey = \(keyA)", "listed twice"),
            ("[Port]\nPublicKey = \(keyA)\nColour = blue", "unknown setting"),
            ("[Interface]\nPublicKey = \(keyA)", "unknown setting"),
            ("[Port]\nPublicKey = \(keyA)\nMACAddress = ff:ff:ff:ff:ff:ff", "unicast MAC"),
            ("[Port]\nPublicKey = \(keyA)\nPresharedKey = short", "genpsk"),
            ("PublicKey = \(keyA)", "before any [Section]"),
            ("\u{0}\u{1}garbage", "expected 'Key = Value'"),
        ]
        for (text, message) in cases {
            do {
                _ = try AuthorizedPeer.parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.contains(message), "\(error.description) for \(text)")
            }
        }
    }
}

@Suite struct WireMessageClassificationTests {
    func classify(_ bytes: [UInt8]) -> Result<UInt8, DatagramDropReasonBox> {
        bytes.withUnsafeBytes { WireMessage.classify($0) }
    }

    @Test func acceptsExactLengths() {
        #expect((try? classify([1, 0, 0, 0] + [UInt8](repeating: 0, count: 144)).get()) == 1)
        #expect((try? classify([2, 0, 0, 0] + [UInt8](repeating: 0, count: 88)).get()) == 2)
        #expect((try? classify([3, 0, 0, 0] + [UInt8](repeating: 0, count: 60)).get()) == 3)
        #expect((try? classify([4, 0, 0, 0] + [UInt8](repeating: 0, count: 28)).get()) == 4)
    }

    @Test func refusesWrongShapes() {
        func reason(_ b: [UInt8]) -> DatagramDropReason? {
            if case .failure(let box) = classify(b) { return box.reason }
            return nil
        }
        #expect(reason([]) == .tooShort)
        #expect(reason([1, 0, 0]) == .tooShort)
        #expect(reason([1, 0, 0, 0] + [UInt8](repeating: 0, count: 143)) == .wrongLength)
        #expect(reason([2, 0, 0, 0] + [UInt8](repeating: 0, count: 89)) == .wrongLength)
        #expect(reason([4, 0, 0, 0] + [UInt8](repeating: 0, count: 27)) == .tooShort)
        #expect(reason([1, 1, 0, 0] + [UInt8](repeating: 0, count: 144)) == .unknownMessageType)
        #expect(reason([9, 0, 0, 0]) == .unknownMessageType)
    }
}

@Suite struct StatusFormatterTests {
    @Test func rendersSwitchTable() {
        let status = SwitchStatus(
            name: "sw", listen: "[::]:51820", publicKey: "K",
            ports: [.init(id: 0, name: "a", publicKey: "PA", state: "up", endpoint: "192.0.2.2:4000",
                          connectedSeconds: 3, lastHeardSeconds: 0.5, macs: 1, traffic: TrafficCounters())],
            macTable: [.init(mac: "02:00:00:00:00:0a", port: "a", ageSeconds: 1.5)],
            datagramDrops: ["replayed counter": 2], frameDrops: [:])
        let text = StatusFormatter.text(fromJSON: encodeStatus(status))
        #expect(text.contains("02:00:00:00:00:0a"))
        #expect(text.contains("192.0.2.2:4000"))
        #expect(text.contains("datagram: replayed counter"))
    }
}
