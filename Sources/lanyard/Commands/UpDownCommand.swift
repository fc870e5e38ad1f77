import ArgumentParser
import Foundation
import LanyardLinux
#if canImport(Glibc)
import Glibc
#endif

/// Where `lanyard up` puts the `lanyard-wireguard` name that wg-quick runs.
private let helperDirectory = "/run/lanyard/bin"

/// Runs wg-quick (from Debian's wireguard-tools) with Lanyard as its userspace implementation.
/// wg-quick is the reference reader of its own files (Address, DNS through resolvconf, MTU,
/// Table, FwMark, Pre/PostUp/Down, SaveConfig, every [Peer] key), so every file that works with
/// wg-quick on a kernel interface works here, with the same messages for the same mistakes.
private func wgQuick(_ action: String, _ target: String) throws -> Never {
    let candidates: [String] = ["/usr/bin/wg-quick", "/bin/wg-quick", "/usr/local/bin/wg-quick"]
    guard let wgQuick = candidates.first(where: { access($0, X_OK) == 0 }) else {
        throw CommandFailure("wg-quick is not installed: apt-get install wireguard-tools (it reads the configuration files; Lanyard runs the interface)")
    }
    let helper = "\(helperDirectory)/lanyard-wireguard"
    mkdir(ControlServer.directory, 0o700)
    mkdir(helperDirectory, 0o755)
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    if (try? FileManager.default.destinationOfSymbolicLink(atPath: helper)) != me {
        unlink(helper)
        guard symlink(me, helper) == 0 else { throw CommandFailure("cannot create \(helper): \(String(cString: strerror(errno)))") }
    }
    setenv("WG_QUICK_USERSPACE_IMPLEMENTATION", helper, 1)
    let words: [String] = [wgQuick, action, target]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    execv(wgQuick, argv)
    throw CommandFailure("could not run \(wgQuick): \(String(cString: strerror(errno)))")
}

/// `lanyard up wg0` / `lanyard up /etc/wireguard/wg0.conf`.
struct UpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Bring up a WireGuard interface from a wg-quick file, with Lanyard as the engine.",
        discussion: "The same as `wg-quick up`, with WG_QUICK_USERSPACE_IMPLEMENTATION pointing at Lanyard. Needs wireguard-tools.")

    @Argument(help: "An interface name (reads /etc/wireguard/NAME.conf) or a path to a .conf file.")
    var config: String

    func run() throws {
        try requireNetworkAdmin("bringing up a WireGuard interface")
        try wgQuick("up", config)
    }
}

/// `lanyard down wg0`.
struct DownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Take down an interface brought up by `lanyard up` (routes, DNS, rules and the process go too).")

    @Argument(help: "The interface name or the .conf file it was brought up from.")
    var config: String

    func run() throws {
        try requireNetworkAdmin("taking down a WireGuard interface")
        try wgQuick("down", config)
    }
}
