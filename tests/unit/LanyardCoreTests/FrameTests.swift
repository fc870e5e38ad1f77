import Testing
@testable import LanyardCore

func frame(dst: String, src: String, type: [UInt8] = [0x08, 0x00], payload: Int = 46) -> [UInt8] {
    MACAddress(dst)!.octets + MACAddress(src)!.octets + type + [UInt8](repeating: 0xAB, count: payload)
}

@Suite struct MACAddressTests {
    @Test func parsesAndPrints() {
        let mac = MACAddress("02:00:5E:10:00:01")!
        #expect(mac.description == "02:00:5e:10:00:01")
        #expect(mac.octets == [0x02, 0x00, 0x5E, 0x10, 0x00, 0x01])
        #expect(!mac.isMulticast)
    }

    @Test(arguments: ["", "02:00:5e:10:00", "02:00:5e:10:00:01:02", "zz:00:5e:10:00:01", "2:00:5e:10:00:01", "02:00:5e:10:00:"])
    func rejectsMalformed(_ text: String) { #expect(MACAddress(text) == nil) }

    @Test func groupBits() {
        #expect(MACAddress.broadcast.isMulticast && MACAddress.broadcast.isBroadcast)
        #expect(MACAddress("33:33:00:00:00:01")!.isMulticast)   // IPv6 neighbour discovery
        #expect(MACAddress("01:00:5e:00:00:fb")!.isMulticast)   // IPv4 multicast
        #expect(MACAddress("00:00:00:00:00:00")!.isZero)
    }
}

@Suite struct EthernetFrameTests {
    @Test func parsesPlainFrame() throws {
        let f = try EthernetFrame(parsing: frame(dst: "ff:ff:ff:ff:ff:ff", src: "02:00:00:00:00:0a", type: [0x08, 0x06]))
        #expect(f.destination.isBroadcast)
        #expect(f.source == MACAddress("02:00:00:00:00:0a"))
        #expect(f.etherType == 0x0806)
        #expect(f.vlanID == nil)
        #expect(f.payloadOffset == 14)
    }

    @Test func parsesVLANTaggedFrame() throws {
        let bytes = frame(dst: "02:00:00:00:00:0b", src: "02:00:00:00:00:0a", type: [0x81, 0x00, 0x20, 0x64, 0x86, 0xDD])
        let f = try EthernetFrame(parsing: bytes)
        #expect(f.vlanID == 100)
        #expect(f.etherType == 0x86DD)
        #expect(f.payloadOffset == 18)
    }

    @Test func rejectsTruncatedVLANTag() {
        let bytes = MACAddress.broadcast.octets + MACAddress("02:00:00:00:00:0a")!.octets + [0x81, 0x00, 0x00]
        #expect(throws: EthernetFrame.ParseError.truncatedVLANTag) { try EthernetFrame(parsing: bytes) }
    }

    @Test(arguments: [0, 1, 6, 13])
    func rejectsRunts(_ length: Int) {
        #expect(throws: EthernetFrame.ParseError.runt(length: length)) {
            try EthernetFrame(parsing: [UInt8](repeating: 2, count: length))
        }
    }

    @Test func rejectsOversized() {
        let n = EthernetFrame.maximumLength + 1
        #expect(throws: EthernetFrame.ParseError.oversized(length: n)) { try EthernetFrame(parsing: [UInt8](repeating: 2, count: n)) }
        #expect(throws: Never.self) { try EthernetFrame(parsing: [UInt8](repeating: 2, count: n - 1)) }
    }
}
