/// A read-only view of an Ethernet II frame (optionally 802.1Q tagged) in a caller's buffer.
/// Parsing checks lengths only; it never copies the frame.
public struct EthernetFrame {
    /// Destination MAC + source MAC + EtherType.
    public static let headerLength = 14
    /// Length of an 802.1Q tag inserted after the source address.
    public static let vlanTagLength = 4
    /// The largest frame accepted: a 9000-byte jumbo payload, a VLAN tag and the header.
    public static let maximumLength = 9000 + headerLength + vlanTagLength

    public let destination: MACAddress
    public let source: MACAddress
    /// The EtherType of the payload (after any VLAN tag).
    public let etherType: UInt16
    /// The 12-bit VLAN ID when the frame carries an 802.1Q tag.
    public let vlanID: UInt16?
    /// Offset of the payload in the frame.
    public let payloadOffset: Int

    /// Why a frame was refused.
    public enum ParseError: Error, Equatable, Sendable {
        case runt(length: Int)
        case oversized(length: Int)
        case truncatedVLANTag
    }

    /// Parses the header of `bytes`, which holds exactly one frame.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(ParseError) {
        let length = bytes.count
        guard length >= Self.headerLength else { throw .runt(length: length) }
        guard length <= Self.maximumLength else { throw .oversized(length: length) }
        destination = MACAddress(bytes: bytes, offset: 0)
        source = MACAddress(bytes: bytes, offset: 6)
        let type = UInt16(bytes[12]) << 8 | UInt16(bytes[13])
        if type == 0x8100 || type == 0x88A8 {
            guard length >= Self.headerLength + Self.vlanTagLength else { throw .truncatedVLANTag }
            vlanID = (UInt16(bytes[14]) << 8 | UInt16(bytes[15])) & 0x0FFF
            etherType = UInt16(bytes[16]) << 8 | UInt16(bytes[17])
            payloadOffset = Self.headerLength + Self.vlanTagLength
        } else {
            vlanID = nil
            etherType = type
            payloadOffset = Self.headerLength
        }
    }
}

extension EthernetFrame {
    /// Convenience for tests and tools: parses an array.
    public init(parsing bytes: [UInt8]) throws(ParseError) {
        var result: Result<EthernetFrame, ParseError>!
        bytes.withUnsafeBytes { raw in
            do throws(ParseError) { result = .success(try EthernetFrame(parsing: raw)) } catch { result = .failure(error) }
        }
        self = try result.get()
    }
}
