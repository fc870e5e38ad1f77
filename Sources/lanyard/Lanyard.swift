import Foundation
import ArgumentParser

/// `lanyard`: a self-hosted virtual network on WireGuard's protocol.
@main
struct Lanyard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lanyard",
        abstract: "A self-hosted virtual network: an encrypted Ethernet switch, its ports, and WireGuard-compatible tunnels.",
        subcommands: [
            SwitchCommand.self, PortCommand.self, TunnelCommand.self, ServerCommand.self, ClientCommand.self, StatusCommand.self,
            WireGuardCommand.self, UpCommand.self, DownCommand.self,
            GenKeyCommand.self, PubKeyCommand.self, GenPSKCommand.self,
        ])

    /// Started under the name `lanyard-wireguard` (a symlink, as wg-quick's
    /// WG_QUICK_USERSPACE_IMPLEMENTATION names one program), it is `lanyard wireguard`.
    static func main() {
        let invokedAs = CommandLine.arguments.first.map { ($0 as NSString).lastPathComponent } ?? ""
        if invokedAs == "lanyard-wireguard" {
            main(["wireguard"] + CommandLine.arguments.dropFirst())
        } else {
            main(nil)
        }
    }
}
