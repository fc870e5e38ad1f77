import ArgumentParser
import Foundation
import LanyardCore
import LanyardWireGuard

/// `lanyard server add-client`: records a new client and prints a wg-quick configuration for it.
struct ServerAddClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-client",
        abstract: "Add a client to the clients file and print a wg-quick configuration for it.",
        discussion: "The client's private key is printed once, in the configuration, and not kept. Restart the server to let the client in.")

    @Argument(help: "The client's name.")
    var name: String

    @OptionGroup var pool: ServerPoolOptions

    @Option(help: "File with the server's private key (to print its public key).")
    var privateKey: String

    @Option(help: "The server's address as clients reach it: HOST:PORT.")
    var endpoint: String

    @Option(help: "What the client sends through the tunnel: wg-quick AllowedIPs.")
    var allowedIps: String = "0.0.0.0/0, ::/0"

    func run() throws {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw CommandFailure("the name may contain letters, digits, '-', '_' and '.' only")
        }
        let serverKey = try KeyFiles.privateKey(at: privateKey)
        // `assign` has already given every listed client its address; the next free ones are this client's.
        var (clients, _, pools) = try pool.assign()
        guard !clients.contains(where: { $0.name == name }) else { throw CommandFailure("a client named \(name) already exists") }
        let addresses = pools.indices.compactMap { pools[$0].allocate() }
        guard addresses.count == pools.count else { throw CommandFailure("no free address left in the pool") }
        let key = PrivateKey()
        var entry = "\n[Client]\nName = \(name)\nPublicKey = \(key.publicKey.base64)\n"
        for a in addresses { entry += "Address = \(a.withLength(a.isIPv6 ? 128 : 32))\n" }
        guard let handle = FileHandle(forWritingAtPath: pool.clients) ?? {
            _ = FileManager.default.createFile(atPath: pool.clients, contents: nil, attributes: [.posixPermissions: 0o600])
            return FileHandle(forWritingAtPath: pool.clients)
        }() else { throw CommandFailure("cannot write \(pool.clients)") }
        handle.seekToEndOfFile()
        handle.write(Data(entry.utf8))
        handle.closeFile()
        print("""
        # wg-quick configuration for \(name); keep it secret (it holds the private key).
        [Interface]
        PrivateKey = \(key.base64)
        Address = \(addresses.map { $0.withLength($0.isIPv6 ? 128 : 32) }.joined(separator: ", "))

        [Peer]
        PublicKey = \(serverKey.publicKey.base64)
        Endpoint = \(endpoint)
        AllowedIPs = \(allowedIps)
        PersistentKeepalive = 25
        """)
    }
}
