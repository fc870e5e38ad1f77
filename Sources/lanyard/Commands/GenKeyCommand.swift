import ArgumentParser
import LanyardWireGuard

/// `lanyard genkey`: a new private key, as `wg genkey` prints it.
struct GenKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genkey",
        abstract: "Print a new private key (base64, same format as `wg genkey`).",
        discussion: "Save it where only you can read it: (umask 077; lanyard genkey > private.key)")

    func run() { print(PrivateKey().base64) }
}
