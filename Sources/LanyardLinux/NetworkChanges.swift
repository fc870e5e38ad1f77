import Foundation
import Logging

/// The one place that changes the host's network configuration (addresses, link state, MTU,
/// routes, sysctls, nftables). Every change that outlives the process is recorded with the command
/// that reverses it, and `undoAll()` runs those in reverse order, so a clean exit leaves nothing.
///
/// It drives `ip` and `nft` rather than netlink: these calls are rare (start and stop only), the
/// commands are exactly what an administrator would type to check or repair the state, and their
/// error messages are already phrased for people.
public final class NetworkChanges {
    private var undo: [(description: String, argv: [String])] = []
    private let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Runs `argv` and throws with its output if it fails.
    @discardableResult
    public static func run(_ argv: [String], input: String? = nil) throws(SystemError) -> String {
        // posix_spawn and waitpid rather than Foundation's Process: Process waits for the child on
        // a run loop of its own, which was seen to miss the exit of a fast `ip` and hang forever.
        var output: [Int32] = [-1, -1], feed: [Int32] = [-1, -1]
        guard pipe(&output) == 0 else { throw .call("pipe", errno: errno) }
        if input != nil, pipe(&feed) != 0 {
            let e = errno
            close(output[0]); close(output[1])
            throw .call("pipe", errno: e)
        }
        for fd in output + feed where fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input != nil { posix_spawn_file_actions_adddup2(&actions, feed[0], 0) } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, output[1], 2)
        // The child starts with no signal blocked (the daemon blocks its own for signalfd).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for a in cArguments { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArguments, environ)
        close(output[1])
        if input != nil { close(feed[0]) }
        guard rc == 0 else {
            close(output[0])
            if input != nil { close(feed[1]) }
            throw .command(argv.joined(separator: " "), status: 127, output: "cannot start \(argv[0]): is it installed?")
        }
        if let input {
            let bytes = Array(input.utf8)
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { write(feed[1], $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                sent += n
            }
            close(feed[1])
        }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(output[0], &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            data += chunk[0..<n]
        }
        close(output[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = String(decoding: data, as: UTF8.self)
        let exited = status & 0x7f == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard code == 0 else { throw .command(argv.joined(separator: " "), status: code, output: text) }
        return text
    }

    /// Applies a change and records how to reverse it (nil: it goes away with the interface).
    public func apply(_ argv: [String], undo reverse: [String]?) throws(SystemError) {
        try Self.run(argv)
        logger.debug("applied: \(argv.joined(separator: " "))")
        if let reverse { undo.append((argv.joined(separator: " "), reverse)) }
    }

    /// Records a change made by other means, with how to reverse it.
    func record(_ argv: [String], undo reverse: [String]) { undo.append((argv.joined(separator: " "), reverse)) }

    /// Sets MTU (and the hardware address, if given), adds addresses and brings `interface` up.
    /// Addresses vanish with the interface.
    public func configureInterface(_ interface: String, mtu: Int?, hardwareAddress: String? = nil, addresses: [String]) throws(SystemError) {
        if let mtu { try apply(["ip", "link", "set", "dev", interface, "mtu", String(mtu)], undo: nil) }
        if let hardwareAddress { try apply(["ip", "link", "set", "dev", interface, "address", hardwareAddress], undo: nil) }
        for address in addresses {
            try apply(["ip", "addr", "add", address, "dev", interface], undo: nil)
        }
        try apply(["ip", "link", "set", "dev", interface, "up"], undo: nil)
    }

    /// Reverses every recorded change, newest first; failures are logged, not thrown.
    public func undoAll() {
        while let change = undo.popLast() {
            do { try Self.run(change.argv) } catch {
                logger.warning("could not undo '\(change.description)': \(error)")
            }
        }
    }
}

extension NetworkChanges {
    /// Turns on IPv4 and IPv6 forwarding, recording the previous values to put back.
    public func enableForwarding() throws(SystemError) {
        for key in ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"] {
            let old = try Self.run(["sysctl", "-n", key]).trimmingCharacters()
            if old == "1" { continue }
            try apply(["sysctl", "-q", "-w", "\(key)=1"], undo: ["sysctl", "-q", "-w", "\(key)=\(old)"])
        }
    }
}

extension NetworkChanges {
    /// Routes `destination` (the VPN server) via the path it uses now, so that a tunnel that takes
    /// over all traffic does not swallow its own packets. Undone on exit.
    public func pinHostRoute(to destination: SocketAddress) throws(SystemError) {
        let host = destination.hostText
        let path = try Self.run(["ip", "route", "get", host])
        let words = path.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        var argv = ["ip", "route", "replace", host + (host.contains(":") ? "/128" : "/32")]
        if let i = words.firstIndex(of: "via"), i + 1 < words.count { argv += ["via", words[i + 1]] }
        guard let d = words.firstIndex(of: "dev"), d + 1 < words.count else {
            throw .command("ip route get \(host)", status: 0, output: "no route to the server")
        }
        argv += ["dev", words[d + 1]]
        try apply(argv, undo: ["ip", "route", "del"] + Array(argv[3...]))
    }

    /// Masquerades traffic from `sources` out of `interface` in an nftables table of our own
    /// (`inet NAME`), removed on exit. A stale table of the same name is replaced.
    public func enableMasquerade(table: String, sources: [String], outInterface: String) throws(SystemError) {
        _ = try? Self.run(["nft", "delete", "table", "inet", table])
        let rules = sources.map { s in
            "\(s.contains(":") ? "ip6" : "ip") saddr \(s) oifname \"\(outInterface)\" masquerade"
        }.joined(separator: "\n        ")
        let script = """
        table inet \(table) {
            chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                \(rules)
            }
        }
        """
        try Self.run(["nft", "-f", "-"], input: script)
        record(["nft", "add", "table", "inet", table], undo: ["nft", "delete", "table", "inet", table])
    }

    /// The interface of the default route (where NAT sends traffic out), if any.
    public static func defaultRouteInterface() -> String? {
        guard let out = try? run(["ip", "-o", "route", "show", "default"]) else { return nil }
        let words = out.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        guard let d = words.firstIndex(of: "dev"), d + 1 < words.count else { return nil }
        return words[d + 1]
    }
}

extension SocketAddress {
    /// The address without the port (IPv4-mapped addresses as IPv4).
    public var hostText: String {
        let d = description
        if d.hasPrefix("[") { return String(d.dropFirst().prefix { $0 != "]" }) }
        return String(d[..<d.lastIndex(of: ":")!])
    }
}
