import ArgumentParser

/// `lanyard`: a self-hosted virtual network on WireGuard's protocol.
@main
struct Lanyard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lanyard",
        abstract: "A self-hosted virtual network: an encrypted Ethernet switch, its ports, and WireGuard-compatible tunnels.",
        subcommands: [
            SwitchCommand.self, PortCommand.self, TunnelCommand.self, ServerCommand.self, ClientCommand.self, StatusCommand.self,
            GenKeyCommand.self, PubKeyCommand.self, GenPSKCommand.self,
        ])
}
