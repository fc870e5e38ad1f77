/// The header that lets the switch relay a port-to-port WireGuard datagram it cannot read
/// (docs/PROTOCOL.md, "Relay"). 24 bytes in front of the sealed datagram:
///
///     0      type 0x10, then three zero bytes (never a WireGuard type: those are 1...4)
///     4      member id, UInt32 little-endian: the destination when a port sends it to the
///            switch, the origin when the switch forwards it
///     8      counter, UInt64 little-endian: per sending port, strictly new for the switch
///     16     tag: SipHash-2-4 under the sender's relay key (given in `welcome`) of bytes
///            0..<16 and the first 16 bytes of the inner datagram
///
/// The tag proves to the switch that a member sent it (without decrypting anything); the counter
/// stops replays through the relay. Forwarded datagrams are exactly as long as received ones.
public enum RelayHeader {
    public static let type: UInt8 = 0x10
    public static let length = 24
    /// Inner bytes covered by the tag (a WireGuard header: type, receiver index, counter).
    public static let coveredInner = 16
    /// The smallest relayed datagram: header + the smallest WireGuard message (a keepalive).
    public static let minimumLength = length + 32

    /// Whether `bytes` starts like a relay datagram.
    @inline(__always)
    public static func isRelay(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] == type && bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 0
    }

    /// Whether `bytes` starts like one of Lanyard's own datagrams (not WireGuard's): the relay
    /// (0x10), a join request (0x11) or reply (0x12), each followed by three zero bytes.
    @inline(__always)
    public static func isLanyardDatagram(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] >= type && bytes[0] <= type + 2 && bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 0
    }

    @inline(__always)
    public static func memberID(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
    }

    @inline(__always)
    public static func counter(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
    }

    @inline(__always)
    public static func setMemberID(_ id: UInt32, in bytes: UnsafeMutableRawBufferPointer) {
        bytes.storeBytes(of: id.littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    /// The tag over bytes 0..<16 and the inner datagram's first 16 bytes, read in place.
    @inline(__always)
    public static func tag(_ bytes: UnsafeRawBufferPointer, key: SipHash24) -> UInt64 {
        key.tag(bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian,
                bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian,
                bytes.loadUnaligned(fromByteOffset: length, as: UInt64.self).littleEndian,
                bytes.loadUnaligned(fromByteOffset: length + 8, as: UInt64.self).littleEndian)
    }

    /// Writes a header in front of an inner datagram already at `bytes[24...]`.
    @inline(__always)
    public static func write(into bytes: UnsafeMutableRawBufferPointer, memberID: UInt32, counter: UInt64, key: SipHash24) {
        bytes.storeBytes(of: UInt32(type).littleEndian, toByteOffset: 0, as: UInt32.self) // 0x10 0 0 0
        setMemberID(memberID, in: bytes)
        bytes.storeBytes(of: counter.littleEndian, toByteOffset: 8, as: UInt64.self)
        let t = tag(UnsafeRawBufferPointer(bytes), key: key)
        bytes.storeBytes(of: t.littleEndian, toByteOffset: 16, as: UInt64.self)
    }

    /// Whether the tag of a received relay datagram verifies under `key`.
    @inline(__always)
    public static func verify(_ bytes: UnsafeRawBufferPointer, key: SipHash24) -> Bool {
        bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian == tag(bytes, key: key)
    }
}
