import Glibc

/// An operating-system failure, phrased so that a person knows what to do next.
public enum SystemError: Error, CustomStringConvertible, Sendable {
    /// The process lacks root / CAP_NET_ADMIN for a network operation.
    case notPrivileged(operation: String)
    /// /dev/net/tun is missing (no tun module, or a container without the device).
    case noTunDevice
    /// Another process holds the UDP port.
    case addressInUse(String)
    /// An address or host name did not parse or resolve.
    case badAddress(String, reason: String)
    /// A system call failed for another reason.
    case call(String, errno: Int32)
    /// An external command (ip, nft) failed.
    case command(String, status: Int32, output: String)
    /// The TUN/TAP interface this process serves was deleted (`ip link del`, `wg-quick down`),
    /// wherever it lives now: seen on its own descriptor, not by looking its name up.
    case deviceGone(String)

    public var description: String {
        switch self {
        case .notPrivileged(let op):
            return "\(op) needs root or CAP_NET_ADMIN: run it with sudo (or grant cap_net_admin to the binary)."
        case .noTunDevice:
            return "/dev/net/tun is missing: load the tun module (`modprobe tun`), or in a container pass --device /dev/net/tun."
        case .addressInUse(let a):
            return "UDP \(a) is already in use: stop the other process or choose another port with --listen."
        case .badAddress(let a, let reason):
            return "'\(a)' is not a usable address: \(reason)."
        case .call(let name, let e):
            return "\(name) failed: \(Self.text(e)) (errno \(e))."
        case .command(let cmd, let status, let output):
            return "`\(cmd)` exited with status \(status): \(output.trimmingCharacters())"
        case .deviceGone(let name):
            return "interface \(name) was deleted: start the daemon again to recreate it."
        }
    }

    /// The system's text for an errno value.
    public static func text(_ e: Int32) -> String { cText(strerror(e)) }

    /// Maps an errno from a privileged call to the most helpful case.
    static func from(_ name: String, errno e: Int32) -> SystemError {
        switch e {
        case EPERM, EACCES: return .notPrivileged(operation: name)
        default: return .call(name, errno: e)
        }
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}

/// A C string as Swift text (nil pointer: empty).
func cText(_ p: UnsafePointer<CChar>?) -> String {
    guard let p else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
}

/// A NUL-terminated buffer as Swift text.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
