import LanyardCore
import LanyardWireGuard

/// Scratch buffers shared by all ports (the generator is single-threaded).
final class Buffers {
    /// Largest datagram handled.
    static let size = 2048
    /// Where received datagrams are decrypted (and handshake answers written).
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)

    init() { output.initializeMemory(as: UInt8.self, repeating: 0) }

    deinit { output.deallocate() }

    /// Ethertypes: IPv4, and IEEE's local experimental one (a frame the kernel ignores).
    static let ipv4: UInt16 = 0x0800
    static let experimental: UInt16 = 0x88B5

    /// Writes a Lanyard frame message (header + Ethernet frame of `frameBytes` and `etherType`)
    /// from `source` to `destination` at the start of `out`; returns its length. The payload
    /// after the Ethernet header is whatever `out` held.
    static func writeFrame(from source: MACAddress, to destination: MACAddress, frameBytes: Int, etherType: UInt16 = ipv4,
                           into out: UnsafeMutableRawBufferPointer) -> Int {
        let h = LanyardMessage.headerLength
        LanyardMessage.writeHeader(.frame, bodyLength: frameBytes, into: out)
        for i in 0..<6 {
            out[h + i] = UInt8(truncatingIfNeeded: destination.rawValue >> UInt64(40 - 8 * i))
            out[h + 6 + i] = UInt8(truncatingIfNeeded: source.rawValue >> UInt64(40 - 8 * i))
        }
        out[h + 12] = UInt8(etherType >> 8)
        out[h + 13] = UInt8(etherType & 0xFF)
        return h + frameBytes
    }
}
