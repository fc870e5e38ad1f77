import ArgumentParser
import Foundation
import Logging
import LanyardCore
import LanyardLinux
import LanyardNode
#if canImport(Glibc)
import Glibc
#endif

/// `lanyard wireguard INTERFACE`: a userspace WireGuard interface, a drop-in for wireguard-go.
/// Same contract: creates the TUN device, serves WireGuard's userspace API on
/// /var/run/wireguard/INTERFACE.sock (so `wg` and `wg-quick` configure it), goes to the
/// background once ready unless `-f` or WG_PROCESS_FOREGROUND=1, and exits when the interface is
/// deleted. Invoked as `lanyard-wireguard INTERFACE` (a symlink), it is what
/// WG_QUICK_USERSPACE_IMPLEMENTATION can name.
struct WireGuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wireguard",
        abstract: "Run a userspace WireGuard interface that wg and wg-quick configure (like wireguard-go).",
        discussion: """
        Use it from wg-quick unchanged:
          WG_QUICK_USERSPACE_IMPLEMENTATION=lanyard-wireguard wg-quick up wg0
        or let `lanyard up wg0` do that. The interface starts with no key and no peers; `wg setconf`, `wg set` and `wg show` work on it as on a kernel interface.
        """)

    @Flag(name: .shortAndLong, help: "Stay in the foreground (also when WG_PROCESS_FOREGROUND=1).")
    var foreground = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { ["verbose": "debug", "error": "error", "silent": "critical"][$0] } ?? "info"

    @Argument(help: "Interface name (at most 15 characters).")
    var interface: String

    static let apiDirectory = "/var/run/wireguard"

    func validate() throws {
        guard !interface.isEmpty, interface.utf8.count <= 15, !interface.contains("/"), interface != ".", interface != ".." else {
            throw ValidationError("'\(interface)' is not a usable interface name (1 to 15 characters, no '/')")
        }
    }

    func run() throws {
        let inForeground = foreground || ProcessInfo.processInfo.environment["WG_PROCESS_FOREGROUND"] == "1"
        try runDaemon {
            try requireNetworkAdmin("creating a TUN device")
            if !inForeground { try daemonize() }
            try serve()
        }
    }

    /// Starts this command again in the foreground, in a session of its own, and returns once it
    /// serves the API (exit 0) or has died (exit 1), as wireguard-go's parent process does.
    private func daemonize() throws {
        let args = ["lanyard", "wireguard", "--foreground", "--log-level", logLevel, interface]
        var env = ProcessInfo.processInfo.environment
        env["WG_PROCESS_FOREGROUND"] = "1"
        let pid = try spawnDetached(path: "/proc/self/exe", arguments: args, environment: env)
        let socketPath = "\(Self.apiDirectory)/\(interface).sock"
        for _ in 0..<100 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { throw ExitCode.failure }
            if FileManager.default.fileExists(atPath: socketPath), interfaceExists(interface) { throw ExitCode.success }
            usleep(50_000)
        }
        FileHandle.standardError.write(Data("lanyard: \(interface) did not come up within 5 s\n".utf8))
        kill(pid, SIGTERM)
        throw ExitCode.failure
    }

    private func serve() throws {
        let logger = DaemonOptions.makeLogger("lanyard.wireguard", level: Logger.Level(rawValue: logLevel) ?? .info, json: false)
        let signals = try SignalWatcher()
        let tun = try TunDevice(name: interface, mode: .tun)
        // WireGuard's default MTU (1500 − 80), as wireguard-go sets it; wg-quick may change it.
        try NetworkChanges.run(["ip", "link", "set", "dev", interface, "mtu", "1420"])
        let address: SocketAddress
        if let v6 = try? SocketAddress.resolve("[::]:0", passive: true), (try? UDPSocket(bindTo: v6)) != nil {
            address = v6
        } else {
            address = try SocketAddress.resolve("0.0.0.0:0", passive: true)
        }
        let socket = try UDPSocket(bindTo: address)
        // Crypto threads as `lanyard tunnel` has them by default (wireguard-go's contract has no
        // option for them: LANYARD_THREADS sets the number).
        let threads = ProcessInfo.processInfo.environment["LANYARD_THREADS"].flatMap(Int.init) ?? CryptoWorkers.defaultThreads
        let workers = CryptoWorkers(threads: threads)
        defer { workers.stop() }
        let device = WireGuardDevice(name: interface, tun: tun, socket: socket, workers: workers, logger: logger)
        let api = try ControlServer(path: "\(Self.apiDirectory)/\(interface).sock", directory: Self.apiDirectory, directoryMode: 0o755)
        let control = try ControlServer(path: "\(ControlServer.directory)/\(interface).sock")
        logger.notice("WireGuard interface \(interface) up (userspace, Lanyard); API on \(api.path); \(workers.threads) crypto thread(s)")
        let loop = EventLoop(
            sources: [.init(fileDescriptor: tun.fileDescriptor) { try device.tunReadable(now: $0) },
                      .init(fileDescriptor: socket.fileDescriptor) { try device.socketReadable(now: $0) },
                      .init(fileDescriptor: api.fileDescriptor) { now in
                          api.serveBlankLineTerminated { device.handleAPI($0, now: now) }
                      }],
            signals: signals, control: control, logger: logger,
            tick: { device.tick(now: $0) },
            status: { _ in encodeStatus(device.status(now: monotonicNanoseconds())) })
        // Returns on a signal or when the interface is deleted, seen on the TUN descriptor itself:
        // the interface may have been moved to another namespace (wireguard.com/netns), where a
        // name lookup from here would no longer find it although it still works.
        _ = try loop.run()
    }
}

/// Whether a network interface of this name exists in this namespace (at start-up only).
func interfaceExists(_ name: String) -> Bool { if_nametoindex(name) != 0 }

/// Starts `path` in a new session with stdio on /dev/null; returns its pid.
func spawnDetached(path: String, arguments: [String], environment: [String: String]) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, 0x80) // POSIX_SPAWN_SETSID (glibc, hidden behind _GNU_SOURCE)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd in 0...2 { posix_spawn_file_actions_addopen(&actions, Int32(fd), "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
    guard rc == 0 else { throw CommandFailure("could not start the background process: \(String(cString: strerror(rc)))") }
    return pid
}
