import Testing
@testable import LanyardCore

/// Builds an IPv4/TCP packet with a correct IP checksum and TCP checksum.
func tcpPacket(payload: [UInt8], seq: UInt32, flags: UInt8 = 0x10, id: UInt16 = 7,
               src: [UInt8] = [198, 51, 100, 1], dst: [UInt8] = [198, 51, 100, 2]) -> [UInt8] {
    var p = [UInt8](repeating: 0, count: 40) + payload
    p[0] = 0x45; p[2] = UInt8((p.count >> 8) & 0xFF); p[3] = UInt8(p.count & 0xFF)
    p[4] = UInt8(id >> 8); p[5] = UInt8(id & 0xFF); p[6] = 0x40; p[8] = 64; p[9] = 6
    p[12...15] = src[...]; p[16...19] = dst[...]
    p[20] = 0x30; p[21] = 0x39; p[22] = 0x14; p[23] = 0x51 // ports 12345 -> 5201
    p[24] = UInt8(seq >> 24); p[25] = UInt8(seq >> 16 & 0xFF); p[26] = UInt8(seq >> 8 & 0xFF); p[27] = UInt8(seq & 0xFF)
    p[32] = 0x50; p[33] = flags; p[34] = 0xFF; p[35] = 0xFF
    p.withUnsafeMutableBytes { b in
        TCPSegmenter.put16(b, 10, InternetChecksum.of(UnsafeRawBufferPointer(rebasing: b[0..<20])))
        let pseudo = InternetChecksum.add(UnsafeRawBufferPointer(rebasing: b[12..<20])) &+ 6 &+ UInt64(b.count - 20)
        TCPSegmenter.put16(b, 36, InternetChecksum.of(UnsafeRawBufferPointer(rebasing: b[20...]), initial: pseudo))
    }
    return p
}

func checksumsValid(_ p: [UInt8]) -> Bool {
    p.withUnsafeBytes { b in
        let ip = InternetChecksum.fold(InternetChecksum.add(UnsafeRawBufferPointer(rebasing: b[0..<20])))
        let pseudo = InternetChecksum.add(UnsafeRawBufferPointer(rebasing: b[12..<20])) &+ 6 &+ UInt64(b.count - 20)
        let tcp = InternetChecksum.fold(InternetChecksum.add(UnsafeRawBufferPointer(rebasing: b[20...]), to: pseudo))
        return ip == 0xFFFF && tcp == 0xFFFF
    }
}

@Suite struct InternetChecksumTests {
    @Test func rfc1071Example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let bytes: [UInt8] = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]
        #expect(bytes.withUnsafeBytes { InternetChecksum.fold(InternetChecksum.add($0)) } == 0xDDF2)
        #expect(([0x01] as [UInt8]).withUnsafeBytes { InternetChecksum.fold(InternetChecksum.add($0)) } == 0x0100)
    }
}

@Suite struct TCPSegmenterTests {
    @Test func splitsSuperPacketIntoValidSegments() throws {
        let payload = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var big = tcpPacket(payload: payload, seq: 1000, flags: 0x18) // ACK+PSH
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: 1, headerLength: 40,
                                     gsoSize: 1400, checksumStart: 20, checksumOffset: 16)
        var segments: [[UInt8]] = []
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { scratch.deallocate() }
        try big.withUnsafeMutableBytes { b in
            try TCPSegmenter.prepare(b, header: header, ipOffset: 0, scratch: scratch, headroom: 4) { segments.append(Array($0[4...])) }
        }
        #expect(segments.map(\.count) == [1440, 1440, 1440, 840])
        #expect(segments.allSatisfy(checksumsValid))
        let seqs = segments.map { UInt32($0[24]) << 24 | UInt32($0[25]) << 16 | UInt32($0[26]) << 8 | UInt32($0[27]) }
        #expect(seqs == [1000, 2400, 3800, 5200])
        #expect(segments.map { $0[33] } == [0x10, 0x10, 0x10, 0x18]) // PSH only on the last
        #expect(segments.map { UInt16($0[4]) << 8 | UInt16($0[5]) } == [7, 8, 9, 10])
        #expect(segments.flatMap { $0[40...] } == payload)
    }

    @Test func segmentsAtAJumboMSSFitTheScratchCallersAllocate() throws {
        // MTU 34,736 (WireGuard's netns tests): MSS 34,696; a 60,000-byte super-packet is 2 segments.
        let payload = (0..<60_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        var big = tcpPacket(payload: payload, seq: 1, flags: 0x18)
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: 1, headerLength: 40,
                                     gsoSize: 34_696, checksumStart: 20, checksumOffset: 16)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: TCPSegmenter.scratchSize, alignment: 16)
        defer { scratch.deallocate() }
        var segments: [[UInt8]] = []
        try big.withUnsafeMutableBytes { b in
            try TCPSegmenter.prepare(b, header: header, ipOffset: 0, scratch: scratch, headroom: 16) { segments.append(Array($0[16...])) }
        }
        #expect(segments.map(\.count) == [34_736, 25_344])
        #expect(segments.allSatisfy(checksumsValid))
        #expect(segments.flatMap { $0[40...] } == payload)
    }

    @Test func completesPartialChecksum() throws {
        var p = tcpPacket(payload: Array(repeating: 9, count: 100), seq: 1)
        // Replace the TCP checksum by the pseudo-header sum only (what the kernel hands over).
        p.withUnsafeMutableBytes { b in
            let pseudo = InternetChecksum.add(UnsafeRawBufferPointer(rebasing: b[12..<20])) &+ 6 &+ UInt64(b.count - 20)
            TCPSegmenter.put16(b, 36, InternetChecksum.fold(pseudo))
        }
        #expect(!checksumsValid(p))
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, checksumStart: 20, checksumOffset: 16)
        var out: [[UInt8]] = []
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
        defer { scratch.deallocate() }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: p.count + 8, alignment: 16)
        defer { storage.deallocate() }
        p.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: storage[8...]).copyMemory(from: $0) }
        try TCPSegmenter.prepare(UnsafeMutableRawBufferPointer(rebasing: storage[8...]), header: header, ipOffset: 0,
                                 scratch: scratch, headroom: 8) { out.append(Array($0[8...])) }
        #expect(out.count == 1 && checksumsValid(out[0]))
    }

    @Test func refusesMalformedOffloads() {
        var tiny = [UInt8](repeating: 0x45, count: 30)
        let header = VirtioNetHeader(gsoType: 1, gsoSize: 100, checksumStart: 20, checksumOffset: 16)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
        defer { scratch.deallocate() }
        #expect(throws: TCPSegmenter.Failure.malformed) {
            try tiny.withUnsafeMutableBytes { try TCPSegmenter.prepare($0, header: header, ipOffset: 0, scratch: scratch, headroom: 0) { _ in } }
        }
        #expect(throws: TCPSegmenter.Failure.unsupportedGSO(3)) {
            try tiny.withUnsafeMutableBytes {
                try TCPSegmenter.prepare($0, header: VirtioNetHeader(gsoType: 3, gsoSize: 10), ipOffset: 0, scratch: scratch, headroom: 0) { _ in }
            }
        }
    }

    /// An IPv4 header length (IHL 15: 60 bytes) that runs past where the TCP header starts made the
    /// segmenter checksum bytes beyond each segment (found by reading the fuzz target's paths).
    @Test func refusesIPv4HeaderLengthPastTheTCPHeader() {
        var p = tcpPacket(payload: Array(repeating: 0x41, count: 10), seq: 1)
        p[0] = 0x4F
        let header = VirtioNetHeader(flags: 1, gsoType: 1, headerLength: 40, gsoSize: 5, checksumStart: 20, checksumOffset: 16)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { scratch.deallocate() }
        #expect(throws: TCPSegmenter.Failure.malformed) {
            try p.withUnsafeMutableBytes { try TCPSegmenter.prepare($0, header: header, ipOffset: 0, scratch: scratch, headroom: 0) { _ in } }
        }
    }
}

@Suite struct TCPCoalescerTests {
    func run(_ packets: [[UInt8]]) -> [(bytes: [UInt8], header: VirtioNetHeader)] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 70_000, alignment: 16)
        defer { buffer.deallocate() }
        var c = TCPCoalescer(ipOffset: 0, buffer: buffer)
        var out: [(bytes: [UInt8], header: VirtioNetHeader)] = []
        func flush() { if let p = c.finish() { out.append((Array(p.bytes), p.header)) } }
        for p in packets {
            p.withUnsafeBytes { b in
                if c.append(b) { return }
                flush()
                if !c.start(b) { out.append((Array(b), VirtioNetHeader())) }
            }
        }
        flush()
        return out
    }

    @Test func joinsInOrderSegmentsOfOneFlow() {
        let chunks = (0..<3).map { i in (0..<1000).map { UInt8(truncatingIfNeeded: $0 + i) } }
        let packets = [tcpPacket(payload: chunks[0], seq: 100), tcpPacket(payload: chunks[1], seq: 1100, id: 8),
                       tcpPacket(payload: chunks[2], seq: 2100, flags: 0x18, id: 9)]
        let out = run(packets)
        #expect(out.count == 1)
        let joined = out[0]
        #expect(joined.bytes.count == 40 + 3000)
        #expect(Array(joined.bytes[40...]) == chunks.flatMap { $0 })
        #expect(joined.header.gsoType == 1 && joined.header.gsoSize == 1000 && joined.header.checksumStart == 20)
        #expect(joined.header.flags == VirtioNetHeader.needsChecksum)
        #expect(Int(joined.bytes[2]) << 8 | Int(joined.bytes[3]) == 3040)
        #expect(joined.bytes[33] == 0x18) // PSH of the last segment kept
    }

    @Test func keepsOrderAndSeparatesWhatCannotJoin() {
        let a = tcpPacket(payload: [UInt8](repeating: 1, count: 500), seq: 0)
        let gap = tcpPacket(payload: [UInt8](repeating: 2, count: 500), seq: 9999)        // out of order
        let other = tcpPacket(payload: [UInt8](repeating: 3, count: 500), seq: 10499, dst: [198, 51, 100, 9])
        let syn = tcpPacket(payload: [], seq: 1, flags: 0x02)
        let out = run([a, gap, other, syn])
        #expect(out.count == 4)
        #expect(out.map { $0.bytes } == [a, gap, other, syn])
        #expect(out.allSatisfy { $0.header.gsoType == 0 })
    }

    @Test func shorterSegmentEndsTheRun() {
        let p1 = tcpPacket(payload: [UInt8](repeating: 1, count: 1000), seq: 0)
        let p2 = tcpPacket(payload: [UInt8](repeating: 2, count: 400), seq: 1000)
        let p3 = tcpPacket(payload: [UInt8](repeating: 3, count: 1000), seq: 1400)
        let out = run([p1, p2, p3])
        #expect(out.count == 2)
        #expect(out[0].bytes.count == 40 + 1400 && out[0].header.gsoSize == 1000)
        #expect(out[1].bytes == p3)
    }

    @Test func segmentingTheJoinedPacketGivesTheOriginalsBack() throws {
        var packets: [[UInt8]] = []
        for i in 0..<4 {
            let payload: [UInt8] = (0..<1200).map { (j: Int) -> UInt8 in UInt8(truncatingIfNeeded: j ^ i) }
            packets.append(tcpPacket(payload: payload, seq: UInt32(5000 + 1200 * i), id: UInt16(20 + i)))
        }
        var joined = run(packets)[0].bytes
        let header = run(packets)[0].header
        // The kernel would finish the checksum; emulate by splitting with the segmenter.
        var back: [[UInt8]] = []
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { scratch.deallocate() }
        try joined.withUnsafeMutableBytes { b in
            try TCPSegmenter.prepare(b, header: header, ipOffset: 0, scratch: scratch, headroom: 0) { back.append(Array($0)) }
        }
        #expect(back == packets)
    }
}

/// The word-at-a-time checksum against the definition (16-bit big-endian words, one at a time),
/// for every length from 0 to 300 and every starting offset parity, and with a running sum.
@Suite struct InternetChecksumDefinitionTests {
    func reference(_ bytes: [UInt8], initial: UInt64 = 0) -> UInt16 {
        var sum = initial
        var i = 0
        while i + 1 < bytes.count { sum += UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1]); i += 2 }
        if i < bytes.count { sum += UInt64(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return UInt16(sum)
    }

    @Test func matchesTheDefinitionForEveryLength() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        let data: [UInt8] = (0..<320).map { _ in seed = seed &* 6364136223846793005 &+ 1442695040888963407; return UInt8(truncatingIfNeeded: seed >> 33) }
        for start in 0..<2 {
            for length in 0...300 {
                let slice = Array(data[start..<(start + length)])
                let ours = slice.withUnsafeBytes { InternetChecksum.fold(InternetChecksum.add($0, to: 0x1_2345)) }
                #expect(ours == reference(slice, initial: 0x1_2345), "length \(length), start \(start)")
            }
        }
        let ones = [UInt8](repeating: 0xFF, count: 4096)   // worst case for carries
        #expect(ones.withUnsafeBytes { InternetChecksum.fold(InternetChecksum.add($0)) } == reference(ones))
    }
}
