import ArgumentParser
import LanyardWireGuard

/// `lanyard genpsk`: a new preshared key, as `wg genpsk` prints it.
struct GenPSKCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genpsk",
        abstract: "Print a new preshared key (base64, same format as `wg genpsk`).")

    func run() { print(PresharedKey().base64) }
}
