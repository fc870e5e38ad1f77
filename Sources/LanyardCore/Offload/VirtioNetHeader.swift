/// The 10-byte header the kernel puts before each packet on a TUN/TAP opened with IFF_VNET_HDR
/// (struct virtio_net_hdr, little-endian on the hosts Lanyard runs on).
public struct VirtioNetHeader: Equatable, Sendable {
    public static let length = 10
    /// VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum at csumStart+csumOffset is only partial.
    public static let needsChecksum: UInt8 = 1

    /// What kind of large segment the packet is.
    public enum GSOType: UInt8, Sendable {
        case none = 0
        case tcpV4 = 1
        case udp = 3
        case tcpV6 = 4
    }

    public var flags: UInt8
    public var gsoType: UInt8
    public var headerLength: UInt16
    public var gsoSize: UInt16
    public var checksumStart: UInt16
    public var checksumOffset: UInt16

    public init(flags: UInt8 = 0, gsoType: UInt8 = 0, headerLength: UInt16 = 0, gsoSize: UInt16 = 0,
                checksumStart: UInt16 = 0, checksumOffset: UInt16 = 0) {
        self.flags = flags
        self.gsoType = gsoType
        self.headerLength = headerLength
        self.gsoSize = gsoSize
        self.checksumStart = checksumStart
        self.checksumOffset = checksumOffset
    }

    /// Reads the header from the first 10 bytes of `bytes`.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) {
        func u16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
        flags = bytes[0]
        gsoType = bytes[1]
        headerLength = u16(2)
        gsoSize = u16(4)
        checksumStart = u16(6)
        checksumOffset = u16(8)
    }

    /// The GSO type without the ECN bit, nil if unknown.
    public var segmentation: GSOType? { GSOType(rawValue: gsoType & 0x7F) }

    /// Writes the 10 bytes at the start of `out`.
    @inlinable
    public func write(into out: UnsafeMutableRawBufferPointer) {
        out[0] = flags; out[1] = gsoType
        out[2] = UInt8(headerLength & 0xFF); out[3] = UInt8(headerLength >> 8)
        out[4] = UInt8(gsoSize & 0xFF); out[5] = UInt8(gsoSize >> 8)
        out[6] = UInt8(checksumStart & 0xFF); out[7] = UInt8(checksumStart >> 8)
        out[8] = UInt8(checksumOffset & 0xFF); out[9] = UInt8(checksumOffset >> 8)
    }

    public var bytes: [UInt8] {
        [flags, gsoType, UInt8(headerLength & 0xFF), UInt8(headerLength >> 8), UInt8(gsoSize & 0xFF), UInt8(gsoSize >> 8),
         UInt8(checksumStart & 0xFF), UInt8(checksumStart >> 8), UInt8(checksumOffset & 0xFF), UInt8(checksumOffset >> 8)]
    }
}
