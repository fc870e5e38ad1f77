import ArgumentParser
import Foundation
import LanyardLinux

/// `lanyard`: a self-hosted virtual network on WireGuard's protocol.
@main
struct Lanyard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lanyard",
        abstract: "A self-hosted virtual network: an encrypted Ethernet switch, its ports, and WireGuard-compatible tunnels.",
        discussion: """
        Daemons (switch, port, server, client) take their settings as options or from a configuration file (--config FILE, TOML); `lanyard check FILE` validates one. Under systemd, the units lanyard-switch@NAME, lanyard-port@NAME, lanyard-server@NAME and lanyard-client@NAME read /etc/lanyard/ROLE-NAME.toml.
        """,
        version: "lanyard \(BuildInfo.version) (commit \(BuildInfo.commit))",
        subcommands: [
            SwitchCommand.self, PortCommand.self, TunnelCommand.self, ServerCommand.self, ClientCommand.self,
            StatusCommand.self, ReloadCommand.self, CheckCommand.self,
            WireGuardCommand.self, UpCommand.self, DownCommand.self,
            MemberCommand.self, GenKeyCommand.self, PubKeyCommand.self, GenPSKCommand.self,
        ])

    /// Started under the name `lanyard-wireguard` (a symlink, as wg-quick's
    /// WG_QUICK_USERSPACE_IMPLEMENTATION names one program), it is `lanyard wireguard`.
    /// `--config FILE` is expanded into options here, before parsing.
    static func main() {
        // A child (nft reading a rule set) that exits before reading all its input must not kill
        // the daemon writing to it: write() then fails with EPIPE, which is handled.
        signal(SIGPIPE, SIG_IGN)
        let invokedAs = CommandLine.arguments.first.map { ($0 as NSString).lastPathComponent } ?? ""
        var arguments = Array(CommandLine.arguments.dropFirst())
        if invokedAs == "lanyard-wireguard" { arguments = ["wireguard"] + arguments }
        do {
            let (expanded, file) = try ConfiguredArguments.expand(arguments)
            ConfiguredArguments.startup = (expanded, file)
            arguments = expanded
        } catch {
            FileHandle.standardError.write(Data("lanyard: \(error)\n".utf8))
            Foundation.exit(1)
        }
        guard DaemonOptions.logsToJournal else { main(arguments); return }
        // Under systemd a failure to start is an error in the journal (`journalctl -p err`), not
        // a line at the default priority: ArgumentParser's own printing knows no priorities.
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            let code = exitCode(for: error)
            guard code != .success else { exit(withError: error) }
            let message = fullMessage(for: error)
            if !message.isEmpty {
                let lines = message.split(separator: "\n", omittingEmptySubsequences: false)
                FileHandle.standardError.write(Data(lines.map { "<3>\($0)\n" }.joined().utf8))
            }
            Foundation.exit(code.rawValue)
        }
    }
}
