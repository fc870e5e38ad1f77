import Testing
@testable import LanyardCore

@Suite struct LanyardMessageTests {
    func parse(_ bytes: [UInt8]) throws(LanyardMessage.ParseError) -> LanyardMessage.Header {
        var result: Result<LanyardMessage.Header, LanyardMessage.ParseError>!
        bytes.withUnsafeBytes { raw in
            do throws(LanyardMessage.ParseError) { result = .success(try LanyardMessage.parse(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    @Test(arguments: LanyardMessage.Kind.allCases)
    func roundTrips(_ kind: LanyardMessage.Kind) throws {
        let body: [UInt8] = [1, 2, 3, 4, 5]
        let bytes = LanyardMessage.encode(kind, body: body) + [0, 0, 0] // WireGuard padding
        let header = try parse(bytes)
        #expect(header.kind == kind)
        #expect(Array(bytes[header.bodyRange]) == body)
    }

    @Test func firstByteCannotLookLikeIP() {
        for kind in LanyardMessage.Kind.allCases { #expect(kind.rawValue >> 4 != 4 && kind.rawValue >> 4 != 6) }
    }

    @Test func rejectsMalformed() {
        #expect(throws: LanyardMessage.ParseError.truncatedHeader) { try parse([1, 1, 0]) }
        #expect(throws: LanyardMessage.ParseError.unknownType) { try parse([0x45, 1, 0, 0]) }
        #expect(throws: LanyardMessage.ParseError.unknownType) { try parse([0x00, 1, 0, 0]) }
        #expect(throws: LanyardMessage.ParseError.unsupportedVersion) { try parse([1, 2, 0, 0]) }
        #expect(throws: LanyardMessage.ParseError.truncatedBody) { try parse([1, 1, 0, 5, 1, 2]) }
    }

    @Test func welcomeRoundTripAndValidation() throws {
        let w = LanyardMessage.Welcome(keepaliveSeconds: 5, silenceTimeoutSeconds: 15)
        let back = try w.bytes.withUnsafeBytes { try LanyardMessage.Welcome(parsing: $0) }
        #expect(back == w)
        #expect(throws: LanyardMessage.ParseError.badBody) {
            try [0, 5, 0, 2].withUnsafeBytes { try LanyardMessage.Welcome(parsing: $0) }
        }
        #expect(throws: LanyardMessage.ParseError.badBody) {
            try [0, 5, 0].withUnsafeBytes { try LanyardMessage.Welcome(parsing: $0) }
        }
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let n = Int.random(in: 0..<64, using: &rng)
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? parse(bytes)
            _ = bytes.withUnsafeBytes { try? EthernetFrame(parsing: $0) }
        }
    }
}

@Suite struct INIFileTests {
    @Test func parsesSectionsAndRepeatedKeys() throws {
        let ini = try INIFile(parsing: """
        # switch peers
        [Port]
        Name = alice   ; the laptop
        PublicKey = abc=
        MACAddress = 02:00:00:00:00:0a
        MACAddress = 02:00:00:00:00:0b

        [port]
        Name=bob
        """)
        #expect(ini.sections(named: "Port").count == 2)
        let first = ini.sections[0]
        #expect(try first.value("name") == "alice")
        #expect(try first.value("PublicKey") == "abc=")
        #expect(first.values("MACAddress").count == 2)
    }

    @Test func reportsLineOfError() {
        #expect(throws: INIFile.ParseError.entryOutsideSection(line: 1)) { try INIFile(parsing: "Name = x") }
        #expect(throws: INIFile.ParseError.malformedLine(line: 2)) { try INIFile(parsing: "[Port]\nNameWithoutValue") }
        #expect(throws: INIFile.ParseError.malformedLine(line: 1)) { try INIFile(parsing: "[Port") }
        #expect(throws: INIFile.ParseError.duplicateKey("Name", line: 3)) {
            try INIFile(parsing: "[Port]\nName = a\nName = b").sections[0].value("Name")
        }
    }
}

@Suite struct IPPrefixTests {
    @Test func parsesAndMatchesIPv4() {
        let p = IPPrefix("198.51.100.77/24")!
        #expect(p.description == "198.51.100.0/24")
        #expect(p.contains(ipv4: 0xC633_64FE))
        #expect(!p.contains(ipv4: 0xC633_65FE))
        #expect(IPPrefix("0.0.0.0/0")!.contains(ipv4: 0x0102_0304))
        #expect(IPPrefix("203.0.113.9")!.length == 32)
    }

    @Test func parsesAndMatchesIPv6() {
        let p = IPPrefix("2001:db8:2::11/64")!
        #expect(p.description == "2001:db8:2:0:0:0:0:0/64")
        #expect(p.contains(ipv6High: 0x2001_0db8_0002_0000, low: 0x11))
        #expect(!p.contains(ipv6High: 0x2001_0db8_0003_0000, low: 0x11))
        #expect(IPPrefix("::/0")!.contains(ipv6High: 1, low: 2))
        #expect(IPPrefix("2001:db8::1")!.length == 128)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4/33", "256.1.1.1/8", "1.2.3.4/x", "2001:db8::/129", "2001:::1", "1::2::3", "::g", "1.2.3.4/8/9"])
    func rejectsMalformed(_ text: String) { #expect(IPPrefix(text) == nil) }

    @Test func readsPacketSourceAndLength() {
        var v4 = [UInt8](repeating: 0, count: 28)
        v4[0] = 0x45; v4[3] = 28
        v4[12...15] = [198, 51, 100, 2]
        v4 += [0, 0, 0, 0] // padding
        v4.withUnsafeBytes { p in
            #expect(IPPacket.length(p) == 28)
            #expect(IPPrefix("198.51.100.0/24")!.containsSource(ofPacket: p))
            #expect(!IPPrefix("203.0.113.0/24")!.containsSource(ofPacket: p))
        }
        [UInt8]([0x45, 0, 0, 200] + [UInt8](repeating: 0, count: 30)).withUnsafeBytes { #expect(IPPacket.length($0) == nil) }
        [UInt8]([0x60, 0, 0]).withUnsafeBytes { #expect(IPPacket.length($0) == nil) }
    }
}
