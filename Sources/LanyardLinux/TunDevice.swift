import CLanyardLinux
import Glibc

/// A Linux TUN (IP packets) or TAP (Ethernet frames) device, opened non-blocking.
/// The interface exists while the descriptor is open and goes away when it is closed.
public final class TunDevice {
    /// Which kind of device.
    public enum Mode: String, Sendable { case tun, tap }

    public let name: String
    public let mode: Mode
    public let fileDescriptor: Int32

    /// Creates (or attaches to) interface `name`; an empty name lets the kernel choose.
    public init(name: String, mode: Mode) throws(SystemError) {
        guard access("/dev/net/tun", F_OK) == 0 else { throw .noTunDevice }
        guard name.utf8.count < 16 else {
            throw .badAddress(name, reason: "interface names are at most 15 characters")
        }
        var buffer = [CChar](repeating: 0, count: 16)
        for (i, b) in name.utf8.enumerated() { buffer[i] = CChar(bitPattern: b) }
        let fd = clanyard_tun_open(&buffer, 16, mode == .tap ? 1 : 0)
        if fd < 0 {
            if -fd == EBUSY { throw .badAddress(name, reason: "the interface is in use by another program") }
            throw SystemError.from("creating \(mode.rawValue) device \(name)", errno: -fd)
        }
        self.fileDescriptor = fd
        self.mode = mode
        self.name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Reads one packet/frame into `buffer`; nil when none is waiting.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        let n = Glibc.read(fileDescriptor, buffer.baseAddress, buffer.count)
        if n >= 0 { return n }
        let e = errno
        if e == EAGAIN || e == EINTR { return nil }
        throw .call("read from \(name)", errno: e)
    }

    /// Writes one packet/frame. Returns false if the kernel queue is full (the packet is dropped).
    @inline(__always)
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Bool {
        let n = Glibc.write(fileDescriptor, bytes.baseAddress, bytes.count)
        if n >= 0 { return true }
        let e = errno
        if e == EAGAIN || e == EINTR || e == EIO || e == EINVAL { return false }
        throw .call("write to \(name)", errno: e)
    }

    deinit { close(fileDescriptor) }
}
