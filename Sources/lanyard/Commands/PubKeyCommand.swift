import ArgumentParser
import Foundation
import LanyardWireGuard

/// `lanyard pubkey`: reads a private key on stdin and prints its public key, as `wg pubkey` does.
struct PubKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pubkey",
        abstract: "Read a private key on standard input and print its public key.",
        discussion: "Example: lanyard pubkey < private.key > public.key")

    func run() throws {
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = try? PrivateKey(base64: input) else {
            throw CommandFailure("standard input is not a private key (one line of base64 from `lanyard genkey`).")
        }
        print(key.publicKey.base64)
    }
}
