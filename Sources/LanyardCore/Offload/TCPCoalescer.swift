#if canImport(Glibc)
import Glibc
#endif
/// Joins consecutive in-order TCP segments of one flow into a single super-packet that an
/// offloading TUN/TAP accepts in one write (the reverse of `TCPSegmenter`, what GRO does in a NIC
/// driver): the receiving kernel then runs its TCP stack once per 64 KB instead of once per
/// segment. Anything that cannot join (other flows, flags, options, out-of-order data) ends the
/// run first, so packets stay in order.
public struct TCPCoalescer {
    /// Where the IP header starts in each packet (0 for TUN, after the Ethernet header for TAP).
    public let ipOffset: Int
    /// The super-packet under construction.
    public let buffer: UnsafeMutableRawBufferPointer
    public private(set) var length = 0
    private var segments = 0
    private var headersEnd = 0
    private var tcpOffset = 0
    private var segmentSize = 0
    private var nextSequence: UInt32 = 0
    private var isIPv6 = false
    private var closed = false
    /// Most bytes of one super-packet (IPv4 total length is 16 bits).
    static let maximumLength = 65_000

    /// `buffer` must hold `maximumLength` bytes plus the link header.
    public init(ipOffset: Int, buffer: UnsafeMutableRawBufferPointer) {
        self.ipOffset = ipOffset
        self.buffer = buffer
    }

    /// What to write: the bytes and, for a joined run, the virtio header saying how to split it.
    public struct Pending {
        public let bytes: UnsafeRawBufferPointer
        public let header: VirtioNetHeader
    }

    /// Tries to add `packet` to the current run; false means flush the run and write this one
    /// on its own (or start a new run with `start`).
    public mutating func append(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard segments > 0, !closed, let info = Self.inspect(packet, ipOffset: ipOffset), info.isIPv6 == isIPv6,
              info.tcpOffset == tcpOffset, info.headersEnd == headersEnd, info.sequence == nextSequence,
              info.payload > 0, info.payload <= segmentSize, length + info.payload <= Self.maximumLength,
              sameHeaders(packet) else { return false }
        UnsafeMutableRawBufferPointer(rebasing: buffer[length...]).copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[headersEnd...]))
        length += info.payload
        segments += 1
        nextSequence = info.sequence &+ UInt32(info.payload)
        buffer[tcpOffset + 13] |= packet[tcpOffset + 13] & 0x08 // keep PSH of the last segment
        if info.payload < segmentSize { closed = true }
        return true
    }

    /// Starts a run with `packet` if it is a plain TCP data segment; false if it can never join
    /// (write it as it is).
    public mutating func start(_ packet: UnsafeRawBufferPointer) -> Bool {
        segments = 0
        length = 0
        guard let info = Self.inspect(packet, ipOffset: ipOffset), info.payload > 0, packet.count <= buffer.count else { return false }
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<packet.count]).copyMemory(from: packet)
        length = packet.count
        segments = 1
        isIPv6 = info.isIPv6
        tcpOffset = info.tcpOffset
        headersEnd = info.headersEnd
        segmentSize = info.payload
        nextSequence = info.sequence &+ UInt32(info.payload)
        closed = false
        return true
    }

    /// True when a run is held.
    public var isEmpty: Bool { segments == 0 }

    /// Finishes the run (lengths, checksums, virtio header) and empties the coalescer. A run of
    /// one packet goes out unchanged with an empty header.
    public mutating func finish() -> Pending? {
        guard segments > 0 else { return nil }
        defer { segments = 0; length = 0 }
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<length])
        guard segments > 1 else { return Pending(bytes: bytes, header: VirtioNetHeader()) }
        let ipLength = length - ipOffset
        if isIPv6 {
            TCPSegmenter.put16(buffer, ipOffset + 4, UInt16(ipLength - 40))
        } else {
            TCPSegmenter.put16(buffer, ipOffset + 2, UInt16(ipLength))
            TCPSegmenter.put16(buffer, ipOffset + 10, 0)
            let ihl = Int(buffer[ipOffset] & 0x0F) * 4
            TCPSegmenter.put16(buffer, ipOffset + 10, InternetChecksum.of(UnsafeRawBufferPointer(rebasing: buffer[ipOffset..<(ipOffset + ihl)])))
        }
        // CHECKSUM_PARTIAL: the TCP checksum field holds the pseudo-header sum; the kernel finishes it.
        let addresses = isIPv6 ? UnsafeRawBufferPointer(rebasing: buffer[(ipOffset + 8)..<(ipOffset + 40)])
                               : UnsafeRawBufferPointer(rebasing: buffer[(ipOffset + 12)..<(ipOffset + 20)])
        let pseudo = InternetChecksum.add(addresses) &+ 6 &+ UInt64(length - tcpOffset)
        TCPSegmenter.put16(buffer, tcpOffset + 16, InternetChecksum.fold(pseudo))
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum,
                                     gsoType: isIPv6 ? VirtioNetHeader.GSOType.tcpV6.rawValue : VirtioNetHeader.GSOType.tcpV4.rawValue,
                                     headerLength: UInt16(headersEnd), gsoSize: UInt16(segmentSize),
                                     checksumStart: UInt16(tcpOffset), checksumOffset: 16)
        return Pending(bytes: bytes, header: header)
    }

    /// Everything before the TCP payload must match the run's first packet, except the IP
    /// length, ID and checksum, and TCP sequence number, checksum and PSH flag.
    private func sameHeaders(_ p: UnsafeRawBufferPointer) -> Bool {
        let a = p.baseAddress!, b = UnsafeRawPointer(buffer.baseAddress!)
        @inline(__always) func same(_ from: Int, _ to: Int) -> Bool { to <= from || memcmp(a + from, b + from, to - from) == 0 }
        let o = ipOffset, t = tcpOffset
        let ipSame = isIPv6 ? same(0, o + 4) && same(o + 6, t)
                            : same(0, o + 2) && same(o + 6, o + 10) && same(o + 12, t)
        return ipSame && same(t, t + 4) && same(t + 8, t + 13)
            && (p[t + 13] & ~0x08) == (buffer[t + 13] & ~0x08)
            && same(t + 14, t + 16) && same(t + 18, headersEnd)
    }

    struct Info { let isIPv6: Bool; let tcpOffset: Int; let headersEnd: Int; let sequence: UInt32; let payload: Int }

    /// A TCP segment with only ACK (and PSH) set, no IP options or extension headers, no fragments.
    static func inspect(_ p: UnsafeRawBufferPointer, ipOffset o: Int) -> Info? {
        guard p.count >= o + 40 else { return nil }
        let version = p[o] >> 4
        let tcp: Int
        if version == 4 {
            guard p[o] == 0x45, p[o + 9] == 6, Int(p[o + 2]) << 8 | Int(p[o + 3]) == p.count - o,
                  p[o + 6] & 0x3F == 0, p[o + 7] == 0 else { return nil } // no fragments
            tcp = o + 20
        } else if version == 6 {
            guard p.count >= o + 60, p[o + 6] == 6, Int(p[o + 4]) << 8 | Int(p[o + 5]) == p.count - o - 40 else { return nil }
            tcp = o + 40
        } else {
            return nil
        }
        let flags = p[tcp + 13]
        guard flags & ~0x18 == 0, flags & 0x10 != 0 else { return nil } // ACK, maybe PSH; nothing else
        let end = tcp + Int(p[tcp + 12] >> 4) * 4
        guard end - tcp >= 20, end <= p.count else { return nil }
        let seq = UInt32(p[tcp + 4]) << 24 | UInt32(p[tcp + 5]) << 16 | UInt32(p[tcp + 6]) << 8 | UInt32(p[tcp + 7])
        return Info(isIPv6: version == 6, tcpOffset: tcp, headersEnd: end, sequence: seq, payload: p.count - end)
    }
}
