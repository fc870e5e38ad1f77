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
