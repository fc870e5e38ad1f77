/// Turns what an offloading TUN/TAP hands over into packets fit for the wire: completes partial
/// checksums, and splits a TCP segmentation-offload super-packet (up to 64 KB) into MSS-sized
/// TCP segments with their own IP lengths, IDs, sequence numbers, flags and checksums: the work
/// a NIC does for TSO, done here before encryption.
public enum TCPSegmenter {
    /// Why a packet could not be prepared.
    public enum Failure: Error, Equatable, Sendable {
        case malformed
        case unsupportedGSO(UInt8)
    }

    /// Bytes of `scratch` that hold any segment of a super-packet a TUN/TAP device hands over
    /// (up to 64 KB with its link header) after up to 64 bytes of headroom. The MSS follows the
    /// interface's MTU, so at a jumbo MTU (WireGuard's netns tests use 34,736) one segment is
    /// far larger than the 1,500 bytes of a default link.
    public static let scratchSize = 64 + 65_536 + 64

    /// Prepares `packet` (which starts at the link header: 0 bytes for TUN, Ethernet for TAP,
    /// `ipOffset` being where the IP header starts) and calls `emit` with each wire packet.
    /// Segments are built in `scratch` at offset `headroom`; `emit` receives the region from 0,
    /// so the caller may write its own header into the headroom. A packet that needs no
    /// splitting is emitted in place (region starting `headroom` bytes before it, which the
    /// caller guarantees exist).
    public static func prepare(_ packet: UnsafeMutableRawBufferPointer, header: VirtioNetHeader, ipOffset: Int,
                               scratch: UnsafeMutableRawBufferPointer, headroom: Int,
                               emit: (UnsafeMutableRawBufferPointer) -> Void) throws(Failure) {
        guard let kind = header.segmentation else { throw .unsupportedGSO(header.gsoType) }
        if kind == .none || Int(header.gsoSize) == 0 {
            if header.flags & VirtioNetHeader.needsChecksum != 0 {
                try completeChecksum(packet, start: Int(header.checksumStart), offset: Int(header.checksumOffset))
            }
            let region = UnsafeMutableRawBufferPointer(start: packet.baseAddress! - headroom, count: packet.count + headroom)
            emit(region)
            return
        }
        guard kind == .tcpV4 || kind == .tcpV6 else { throw .unsupportedGSO(header.gsoType) }
        try segmentTCP(packet, isIPv6: kind == .tcpV6, ipOffset: ipOffset, tcpOffset: Int(header.checksumStart),
                       mss: Int(header.gsoSize), scratch: scratch, headroom: headroom, emit: emit)
    }

    /// Finishes a CHECKSUM_PARTIAL packet: the field holds the pseudo-header sum; add the rest.
    static func completeChecksum(_ p: UnsafeMutableRawBufferPointer, start: Int, offset: Int) throws(Failure) {
        guard start < p.count, start + offset + 2 <= p.count else { throw .malformed }
        let sum = InternetChecksum.add(UnsafeRawBufferPointer(rebasing: p[start...]))
        let value = ~InternetChecksum.fold(sum)
        p[start + offset] = UInt8(value >> 8)
        p[start + offset + 1] = UInt8(value & 0xFF)
    }

    static func segmentTCP(_ p: UnsafeMutableRawBufferPointer, isIPv6: Bool, ipOffset: Int, tcpOffset: Int, mss: Int,
                           scratch: UnsafeMutableRawBufferPointer, headroom: Int,
                           emit: (UnsafeMutableRawBufferPointer) -> Void) throws(Failure) {
        guard tcpOffset + 20 <= p.count, ipOffset + (isIPv6 ? 40 : 20) <= tcpOffset, mss > 0 else { throw .malformed }
        // The IPv4 header (whose checksum is redone per segment) must end where TCP starts.
        guard isIPv6 || (p[ipOffset] >> 4 == 4 && ipOffset + Int(p[ipOffset] & 0x0F) * 4 == tcpOffset) else { throw .malformed }
        let headersEnd = tcpOffset + Int(p[tcpOffset + 12] >> 4) * 4
        guard headersEnd <= p.count, headersEnd - tcpOffset >= 20 else { throw .malformed }
        let payload = p.count - headersEnd
        let seq = UInt32(p[tcpOffset + 4]) << 24 | UInt32(p[tcpOffset + 5]) << 16 | UInt32(p[tcpOffset + 6]) << 8 | UInt32(p[tcpOffset + 7])
        let ipID = isIPv6 ? 0 : UInt16(p[ipOffset + 4]) << 8 | UInt16(p[ipOffset + 5])
        let originalFlags = p[tcpOffset + 13]
        // Pseudo-header sum of the addresses (same for every segment).
        let addresses = isIPv6 ? UnsafeRawBufferPointer(rebasing: p[(ipOffset + 8)..<(ipOffset + 40)])
                               : UnsafeRawBufferPointer(rebasing: p[(ipOffset + 12)..<(ipOffset + 20)])
        let addressSum = InternetChecksum.add(addresses)
        var offset = 0
        var index = 0
        while offset < payload {
            let chunk = min(mss, payload - offset)
            let last = offset + chunk >= payload
            let total = headersEnd + chunk
            guard headroom + total <= scratch.count else { throw .malformed }
            let seg = UnsafeMutableRawBufferPointer(rebasing: scratch[headroom..<(headroom + total)])
            seg.copyMemory(from: UnsafeRawBufferPointer(rebasing: p[0..<headersEnd]))
            UnsafeMutableRawBufferPointer(rebasing: seg[headersEnd...])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: p[(headersEnd + offset)..<(headersEnd + offset + chunk)]))
            let ipLength = total - ipOffset
            if isIPv6 {
                put16(seg, ipOffset + 4, UInt16(ipLength - 40))
            } else {
                put16(seg, ipOffset + 2, UInt16(ipLength))
                put16(seg, ipOffset + 4, ipID &+ UInt16(truncatingIfNeeded: index))
                put16(seg, ipOffset + 10, 0)
                let ihl = Int(seg[ipOffset] & 0x0F) * 4
                put16(seg, ipOffset + 10, InternetChecksum.of(UnsafeRawBufferPointer(rebasing: seg[ipOffset..<(ipOffset + ihl)])))
            }
            put32(seg, tcpOffset + 4, seq &+ UInt32(offset))
            var flags = originalFlags
            if !last { flags &= ~0x09 }          // FIN and PSH only on the last segment
            if index > 0 { flags &= ~0x80 }      // CWR only on the first
            seg[tcpOffset + 13] = flags
            put16(seg, tcpOffset + 16, 0)
            let tcpLength = total - tcpOffset
            let pseudo = addressSum &+ 6 &+ UInt64(tcpLength)
            let sum = InternetChecksum.of(UnsafeRawBufferPointer(rebasing: seg[tcpOffset...]), initial: pseudo)
            put16(seg, tcpOffset + 16, sum)
            emit(UnsafeMutableRawBufferPointer(rebasing: scratch[0..<(headroom + total)]))
            offset += chunk
            index += 1
        }
    }

    @inline(__always) static func put16(_ b: UnsafeMutableRawBufferPointer, _ o: Int, _ v: UInt16) {
        b[o] = UInt8(v >> 8); b[o + 1] = UInt8(v & 0xFF)
    }
    @inline(__always) static func put32(_ b: UnsafeMutableRawBufferPointer, _ o: Int, _ v: UInt32) {
        b[o] = UInt8(v >> 24); b[o + 1] = UInt8(v >> 16 & 0xFF); b[o + 2] = UInt8(v >> 8 & 0xFF); b[o + 3] = UInt8(v & 0xFF)
    }
}
