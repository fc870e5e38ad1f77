import BenchSupport
import LanyardCore
import LanyardWireGuard

// A fixed amount of TCP traffic through Lanyard's data path in one process, with no system calls,
// so that `valgrind --tool=callgrind` counts the same instructions on every run whatever else the
// machine does (bench/instructions.sh runs it and splits the count by function).
//
//   send path:    TSO super-packet as an offloading TUN hands it over (virtio-net header + 64 KB)
//                 → TCPSegmenter (MSS-sized segments with their headers and checksums)
//                 → WireGuardPeer.encapsulate (header, padding, ChaCha20-Poly1305) into a batch slot
//   receive path: each sealed datagram → WireGuardPeer.decapsulate, in place (replay window,
//                 AEAD open) → TCPCoalescer (joins the segments back into a super-packet for the TUN)
//
// The per-datagram system calls (sendmmsg/recvmmsg/TUN read and write) and the node's batch
// bookkeeping are left out: they are the kernel's instructions, which callgrind does not count.
//
// Usage: lanyard-datapath [SUPER_PACKETS] [PAYLOAD_PER_SUPER_PACKET]; prints the packets moved.

let arguments = CommandLine.arguments
let superPackets = arguments.count > 1 ? Int(arguments[1]) ?? 200 : 200
let payloadBytes = arguments.count > 2 ? Int(arguments[2]) ?? 64_000 : 64_000
let mss = 1_380          // a 1420-byte tunnel MTU less 40 bytes of IPv4 and TCP headers
let headers = 40

/// An IPv4/TCP super-packet of `payload` bytes (checksum left partial, as the kernel leaves it).
func superPacket(payload: Int, sequence: UInt32) -> [UInt8] {
    var p = [UInt8](repeating: 0, count: headers + payload)
    let total = p.count
    p[0] = 0x45; p[2] = UInt8(total >> 8 & 0xFF); p[3] = UInt8(total & 0xFF)
    p[6] = 0x40; p[8] = 64; p[9] = 6
    p[12] = 198; p[13] = 51; p[14] = 100; p[15] = 1
    p[16] = 198; p[17] = 51; p[18] = 100; p[19] = 2
    p[20] = 0x9C; p[21] = 0x40; p[22] = 0x14; p[23] = 0x51
    p[24] = UInt8(sequence >> 24); p[25] = UInt8(sequence >> 16 & 0xFF); p[26] = UInt8(sequence >> 8 & 0xFF); p[27] = UInt8(sequence & 0xFF)
    p[32] = 0x50; p[33] = 0x18; p[34] = 0xFF; p[35] = 0xFF
    for i in headers..<p.count { p[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
    return p
}

let pair = try PeerPair(maxPlaintext: 2048)
let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: VirtioNetHeader.GSOType.tcpV4.rawValue,
                             headerLength: UInt16(headers), gsoSize: UInt16(mss), checksumStart: 20, checksumOffset: 16)
let segmentScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 70_000, alignment: 64)
let slotSize = 2048
let slots = 64
let batch = UnsafeMutableRawBufferPointer.allocate(byteCount: slots * slotSize, alignment: 64)
let coalesced = UnsafeMutableRawBufferPointer.allocate(byteCount: 70_000, alignment: 64)
var coalescer = TCPCoalescer(ipOffset: 0, buffer: coalesced)
var lengths = [Int](repeating: 0, count: slots)
var packets = 0, joined = 0, refused = 0
var sequence: UInt32 = 1

/// Opens every sealed datagram in the batch in place and coalesces what comes out.
@MainActor func receiveBatch(_ count: Int) {
    for i in 0..<count {
        let datagram = UnsafeMutableRawBufferPointer(rebasing: batch[(i * slotSize)..<(i * slotSize + lengths[i])])
        let body = UnsafeMutableRawBufferPointer(rebasing: datagram[MessageLayout.transportHeaderSize...])
        let result = pair.responder.decapsulate(datagram: UnsafeRawBufferPointer(datagram), into: body, now: pair.now)
        guard case .writeToTunnel(let n) = result else { refused += 1; continue }
        let plaintext = UnsafeRawBufferPointer(rebasing: body[0..<n])
        if !coalescer.append(plaintext) {
            if coalescer.finish() != nil { joined += 1 }
            _ = coalescer.start(plaintext)
        }
    }
}

var template = superPacket(payload: payloadBytes, sequence: sequence)
for _ in 0..<superPackets {
    // The TUN read: the super-packet lands in the read buffer (the kernel's copy, not counted).
    template[24] = UInt8(sequence >> 24); template[25] = UInt8(sequence >> 16 & 0xFF)
    template[26] = UInt8(sequence >> 8 & 0xFF); template[27] = UInt8(sequence & 0xFF)
    var queued = 0
    template.withUnsafeMutableBytes { packet in
        try? TCPSegmenter.prepare(packet, header: header, ipOffset: 0, scratch: segmentScratch, headroom: 0) { region in
            if queued == slots { receiveBatch(queued); queued = 0 }
            let slot = UnsafeMutableRawBufferPointer(rebasing: batch[(queued * slotSize)..<((queued + 1) * slotSize)])
            if case .writeToNetwork(let n) = pair.initiator.encapsulate(plaintext: UnsafeRawBufferPointer(region), into: slot, now: pair.now) {
                lengths[queued] = n
                queued += 1
                packets += 1
            }
        }
    }
    receiveBatch(queued)
    sequence &+= UInt32(payloadBytes)
}
if coalescer.finish() != nil { joined += 1 }
print("packets \(packets) bytes \(packets * mss) super-packets-in \(superPackets) super-packets-out \(joined) refused \(refused)")
