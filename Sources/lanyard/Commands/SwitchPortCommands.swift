import ArgumentParser
import Foundation
import LanyardCore
import LanyardLinux
import LanyardNode
import LanyardStore
import LanyardWireGuard

/// `lanyard switch add-port`: authorizes a port in the ports file and on a running switch.
struct SwitchAddPortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-port",
        abstract: "Add a port to the ports file; a running switch lets it in at once, without dropping anyone.",
        discussion: MemberCommandHelp.daemonOptions(role: "switch", file: "ports"))

    @Argument(help: "The port's name (shown in status and logs).")
    var portName: String

    @Argument(help: "The port's public key (`lanyard pubkey < port.key` on the port's host).")
    var publicKey: String

    @Option(help: "File with a preshared key for this port (optional; the port needs the same file).")
    var presharedKey: String?

    @Option(help: "A MAC address only this port may use; repeatable.")
    var mac: [String] = []

    /// The switch's options: --config, --ports and --name (the running instance to update; by
    /// default the one a unit runs for the file, or the only one running).
    @ParentCommand var parent: SwitchCommand

    func run() throws {
        guard Member.isValidName(portName) else {
            throw CommandFailure("the name may contain letters, digits, '-', '_' and '.' only (1 to 63)")
        }
        let key = try KeyFiles.publicKey(publicKey, option: "PUBLIC-KEY")
        let macs = try mac.map { m in
            guard let parsed = MACAddress(m) else { throw CommandFailure("--mac '\(m)' is not a MAC address like 02:00:00:00:00:01") }
            return parsed
        }
        let ports = try required(parent.ports, "ports")
        let entry = AuthorizedPeer(name: portName, publicKey: key, presharedKey: try presharedKey.map(KeyFiles.presharedKey(at:)),
                                   macs: macs).portSection()
        try MemberFile.locked(ports) {
            let names = try MemberFile.names(section: "Port", in: ports)
            guard !names.contains(portName) else { throw CommandFailure("\(ports) already has a port named \(portName)") }
            try MemberFile.append(entry, to: ports) { text in _ = try AuthorizedPeer.parse(text) }
        }
        FileHandle.standardError.write(Data("added \(portName) to \(ports)\n".utf8))
        try parent.daemon.reloadRunning(role: "switch")
    }
}

/// `lanyard switch remove-port`: takes a port out of the ports file and off a running switch.
struct SwitchRemovePortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-port",
        abstract: "Remove a port from the ports file; a running switch cuts it off at once (its sessions are wiped).",
        discussion: MemberCommandHelp.daemonOptions(role: "switch", file: "ports"))

    @Argument(help: "The port's name.")
    var portName: String

    /// The switch's options: --config, --ports and --name.
    @ParentCommand var parent: SwitchCommand

    func run() throws {
        let ports = try required(parent.ports, "ports")
        try MemberFile.locked(ports) { try MemberFile.remove(section: "Port", named: portName, from: ports) }
        FileHandle.standardError.write(Data("removed \(portName) from \(ports)\n".utf8))
        try parent.daemon.reloadRunning(role: "switch")
    }
}

/// `lanyard reload NAME`: asks a running daemon to re-read its configuration and member list.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make a running daemon re-read its configuration and member list (what `systemctl reload` runs).",
        discussion: "Exits with status 1 if the daemon refused the new configuration; it then keeps running as it was.")

    @Argument(help: "The daemon's instance name (its --name; /run/lanyard/NAME.sock).")
    var name: String

    func run() throws {
        let path = "\(ControlServer.directory)/\(name).sock"
        let reply: String
        do { reply = try ControlClient.request(path: path, "reload") } catch {
            throw CommandFailure("no lanyard daemon named \(name) answers on \(path): \(error). `lanyard status` lists the running ones.")
        }
        print(reply)
        if !reply.hasPrefix("ok") { throw ExitCode.failure }
    }
}
