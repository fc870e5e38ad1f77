import ArgumentParser
import Foundation
import LanyardCore
import LanyardLinux
import LanyardNode
import LanyardWireGuard
#if canImport(Glibc)
import Glibc
#endif

/// `lanyard server add-client`: records a new client and prints a wg-quick configuration for it.
struct ServerAddClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-client",
        abstract: "Add a client to the clients file and print a wg-quick configuration for it.",
        discussion: "The client's private key is printed once, in the configuration, and not kept. A running server lets the client in at once (through its control socket), without dropping anyone.\n\n" + MemberCommandHelp.daemonOptions(role: "server", file: "clients"))

    @Argument(help: "The client's name.")
    var clientName: String

    @Option(help: "The server's address as clients reach it: HOST:PORT (default: this host's name and the listen port).")
    var endpoint: String?

    @Option(help: "What the client sends through the tunnel: wg-quick AllowedIPs.")
    var allowedIps: String = "0.0.0.0/0, ::/0"

    /// The server's options: --config, --clients, --pool, --private-key, --listen and --name (the
    /// running instance to update).
    @ParentCommand var parent: ServerCommand

    func run() throws {
        guard !clientName.isEmpty, clientName.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw CommandFailure("the name may contain letters, digits, '-', '_' and '.' only")
        }
        let serverKey = try KeyFiles.privateKey(at: try required(parent.privateKey, "private-key"))
        let clients = try required(parent.pool.clients, "clients")
        let key = PrivateKey()
        // Read, allocate and write under the file's lock: two add-client at once get different addresses.
        let addresses = try MemberFile.locked(clients) {
            // `assign` has already given every listed client its address; the next free ones are this client's.
            var (list, _, pools) = try parent.pool.assign()
            guard !list.contains(where: { $0.name == clientName }) else { throw CommandFailure("a client named \(clientName) already exists") }
            let addresses = pools.indices.compactMap { pools[$0].allocate() }
            guard addresses.count == pools.count else { throw CommandFailure("no free address left in the pool") }
            var entry = "\n[Client]\nName = \(clientName)\nPublicKey = \(key.publicKey.base64)\n"
            for a in addresses { entry += "Address = \(a.withLength(a.isIPv6 ? 128 : 32))\n" }
            try MemberFile.append(entry, to: clients) { text in _ = try AuthorizedPeer.parse(text, kind: .client) }
            return addresses
        }
        let port = parent.listen.split(separator: ":").last.map(String.init) ?? "51820"
        let shownEndpoint = endpoint ?? "\(ProcessInfo.processInfo.hostName):\(port)"
        print("""
        # wg-quick configuration for \(clientName); keep it secret (it holds the private key).
        [Interface]
        PrivateKey = \(key.base64)
        Address = \(addresses.map { $0.withLength($0.isIPv6 ? 128 : 32) }.joined(separator: ", "))

        [Peer]
        PublicKey = \(serverKey.publicKey.base64)
        Endpoint = \(shownEndpoint)
        AllowedIPs = \(allowedIps)
        PersistentKeepalive = 25
        """)
        // After printing: the client's private key exists only in that output.
        try parent.daemon.reloadRunning(role: "server")
    }
}

/// `lanyard server remove-client`: takes a client out of the clients file and off a running server.
struct ServerRemoveClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-client",
        abstract: "Remove a client from the clients file; a running server cuts it off at once.",
        discussion: MemberCommandHelp.daemonOptions(role: "server", file: "clients"))

    @Argument(help: "The client's name.")
    var clientName: String

    /// The server's options: --config, --clients and --name.
    @ParentCommand var parent: ServerCommand

    func run() throws {
        let clients = try required(parent.pool.clients, "clients")
        try MemberFile.locked(clients) { try MemberFile.remove(section: "Client", named: clientName, from: clients) }
        FileHandle.standardError.write(Data("removed \(clientName) from \(clients)\n".utf8))
        try parent.daemon.reloadRunning(role: "server")
    }
}
