import CLanyardLinux
import Glibc
import LanyardCore

/// A Linux TUN (IP packets) or TAP (Ethernet frames) device, opened non-blocking.
/// The interface exists while the descriptor is open and goes away when it is closed.
///
/// The descriptor stays bound to the interface when it is moved to another network namespace
/// (`ip link set NAME netns NS`), so nothing here looks the interface up by name. When the
/// interface is deleted, wherever it is, the kernel detaches the descriptor: poll reports an
/// error and reads and writes fail with EBADFD, which become `SystemError.deviceGone`.
///
/// With offload on (IFF_VNET_HDR + TSO), the kernel hands over TCP super-packets of up to 64 KB
/// with partial checksums; `readPackets` turns them into wire-ready packets (`TCPSegmenter`), so
/// one system call brings in what would otherwise take dozens.
public final class TunDevice {
    /// Which kind of device.
    public enum Mode: String, Sendable { case tun, tap }

    public let name: String
    public let mode: Mode
    public let fileDescriptor: Int32
    /// Whether IFF_VNET_HDR with checksum/TSO offload is in effect.
    public let offload: Bool
    /// Room kept before each packet handed to `readPackets`' callback.
    public static let maximumHeadroom = 16
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536 + 64, alignment: 64)
    /// Where super-packets are cut into segments: sized for the largest MSS (a jumbo MTU), since a
    /// segment that does not fit is dropped as malformed.
    private let segmentBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: TCPSegmenter.scratchSize, alignment: 64)
    /// Super-packets the segmenter refused (counted, dropped).
    public private(set) var malformedOffloads: UInt64 = 0

    /// Packets the kernel refused on write (queue full, interface down, or a super-packet it
    /// would not take): counted, dropped.
    public private(set) var refusedWrites: UInt64 = 0

    /// Adds this device's own drop counts to a status dictionary.
    public func addDrops(to drops: inout [String: UInt64]) {
        if malformedOffloads > 0 { drops["malformed offload from \(name)"] = malformedOffloads }
        if refusedWrites > 0 { drops["write to \(name) refused"] = refusedWrites }
    }
    /// Joins in-order TCP segments written to the device (offload only).
    private var coalescer: TCPCoalescer?
    private let coalesceBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536 + 64, alignment: 64)
    private let headerBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNetHeader.length, alignment: 8)

    /// Creates (or attaches to) interface `name`; an empty name lets the kernel choose.
    public init(name: String, mode: Mode, offload wantOffload: Bool = true) throws(SystemError) {
        guard access("/dev/net/tun", F_OK) == 0 else { throw .noTunDevice }
        guard name.utf8.count < 16 else {
            throw .badAddress(name, reason: "interface names are at most 15 characters")
        }
        var buffer = [CChar](repeating: 0, count: 16)
        for (i, b) in name.utf8.enumerated() { buffer[i] = CChar(bitPattern: b) }
        var offloadFlag: Int32 = wantOffload ? 1 : 0
        let fd = clanyard_tun_open(&buffer, 16, mode == .tap ? 1 : 0, &offloadFlag)
        if fd < 0 {
            if -fd == EBUSY { throw .badAddress(name, reason: "the interface is in use by another program") }
            throw SystemError.from("creating \(mode.rawValue) device \(name)", errno: -fd)
        }
        self.fileDescriptor = fd
        self.mode = mode
        self.offload = offloadFlag != 0
        self.name = cText(buffer)
        if offload { coalescer = TCPCoalescer(ipOffset: mode == .tap ? 14 : 0, buffer: coalesceBuffer) }
    }

    deinit {
        close(fileDescriptor)
        readBuffer.deallocate()
        segmentBuffer.deallocate()
        coalesceBuffer.deallocate()
        headerBuffer.deallocate()
    }

    /// Reads up to `limit` packets/frames; calls `handle` with each wire-ready packet, preceded by
    /// `headroom` bytes the caller may write into (the region passed starts there). Returns the
    /// number of reads done (0: nothing was waiting).
    @discardableResult
    public func readPackets(limit: Int, headroom: Int, _ handle: (UnsafeMutableRawBufferPointer) -> Void) throws(SystemError) -> Int {
        precondition(headroom <= Self.maximumHeadroom)
        let start = Self.maximumHeadroom
        let vnet = offload ? VirtioNetHeader.length : 0
        for reads in 0..<limit {
            let n = Glibc.read(fileDescriptor, readBuffer.baseAddress! + start, readBuffer.count - start)
            if n < 0 {
                let e = errno
                if e == EAGAIN || e == EINTR { return reads }
                if e == EBADFD { throw .deviceGone(name) }
                throw .call("read from \(name)", errno: e)
            }
            guard n > vnet else { continue }
            let packet = UnsafeMutableRawBufferPointer(rebasing: readBuffer[(start + vnet)..<(start + n)])
            if !offload {
                handle(UnsafeMutableRawBufferPointer(rebasing: readBuffer[(start - headroom)..<(start + n)]))
                continue
            }
            // The packet may be moved left over its virtio header so the headroom sits right before it.
            let header = VirtioNetHeader(UnsafeRawBufferPointer(rebasing: readBuffer[start..<(start + vnet)]))
            do {
                try TCPSegmenter.prepare(packet, header: header, ipOffset: ipOffset(packet), scratch: segmentBuffer,
                                         headroom: headroom, emit: handle)
            } catch {
                malformedOffloads &+= 1
            }
        }
        return limit
    }

    /// Where the IP header starts: 0 for TUN; after the Ethernet header (and VLAN tags) for TAP.
    private func ipOffset(_ p: UnsafeMutableRawBufferPointer) -> Int {
        guard mode == .tap, p.count >= 14 else { return 0 }
        var offset = 12
        while offset + 4 <= p.count, p[offset] == 0x81 && p[offset + 1] == 0x00 || p[offset] == 0x88 && p[offset + 1] == 0xA8 {
            offset += 4
        }
        return offset + 2
    }

    /// Writes one packet/frame, joining it to the previous ones when they form one TCP stream
    /// (offload only); call `flushWrites` at the end of each batch. Packets keep their order.
    @inline(__always)
    public func writeCoalescing(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        guard coalescer != nil else { try write(bytes, header: nil); return }
        if coalescer!.append(bytes) { return }
        try flushWrites()
        if !coalescer!.start(bytes) { try write(bytes, header: nil) }
    }

    /// Writes the TCP run held by `writeCoalescing`, if any.
    public func flushWrites() throws(SystemError) {
        guard let pending = coalescer?.finish() else { return }
        guard pending.header.gsoType != 0 else { try write(pending.bytes, header: nil); return }
        pending.header.write(into: headerBuffer)
        try write(pending.bytes, header: UnsafeRawBufferPointer(headerBuffer))
    }

    /// Writes one packet/frame now. Returns false if the kernel queue is full (the packet is dropped).
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Bool {
        try flushWrites()
        return try write(bytes, header: nil)
    }

    @discardableResult
    private func write(_ bytes: UnsafeRawBufferPointer, header: UnsafeRawBufferPointer?) throws(SystemError) -> Bool {
        let n: Int
        if offload {
            n = clanyard_tun_write_vnet(fileDescriptor, header?.baseAddress, bytes.baseAddress, bytes.count)
            if n >= 0 { return true }
            let e = Int32(-n)
            if e == EAGAIN || e == EINTR || e == EIO || e == EINVAL { refusedWrites &+= 1; return false }
            if e == EBADFD { throw .deviceGone(name) }
            throw .call("write to \(name)", errno: e)
        }
        n = Glibc.write(fileDescriptor, bytes.baseAddress, bytes.count)
        if n >= 0 { return true }
        let e = errno
        if e == EAGAIN || e == EINTR || e == EIO || e == EINVAL { refusedWrites &+= 1; return false }
        if e == EBADFD { throw .deviceGone(name) }
        throw .call("write to \(name)", errno: e)
    }
}
