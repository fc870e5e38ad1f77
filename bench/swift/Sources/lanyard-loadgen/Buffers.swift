import LanyardCore
import LanyardWireGuard

/// Scratch buffers shared by all ports (the generator is single-threaded).
final class Buffers {
    /// Largest datagram handled.
    static let size = 2048
    let receive = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
    let plaintext = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)

    init() {
        receive.initializeMemory(as: UInt8.self, repeating: 0)
        output.initializeMemory(as: UInt8.self, repeating: 0)
        plaintext.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        receive.deallocate()
        output.deallocate()
        plaintext.deallocate()
    }

    /// Writes a Lanyard frame message (header + Ethernet frame of `frameBytes`, IPv4 ethertype)
    /// from `source` to `destination` into `plaintext`; returns its length.
    func writeFrame(from source: MACAddress, to destination: MACAddress, frameBytes: Int) -> Int {
        let h = LanyardMessage.headerLength
        LanyardMessage.writeHeader(.frame, bodyLength: frameBytes, into: plaintext)
        for i in 0..<6 {
            plaintext[h + i] = UInt8(truncatingIfNeeded: destination.rawValue >> UInt64(40 - 8 * i))
            plaintext[h + 6 + i] = UInt8(truncatingIfNeeded: source.rawValue >> UInt64(40 - 8 * i))
        }
        plaintext[h + 12] = 0x08
        plaintext[h + 13] = 0x00
        return h + frameBytes
    }
}
