import ArgumentParser
import Foundation
import LanyardCore
import LanyardLinux
import LanyardWireGuard
#if canImport(Glibc)
import Glibc
#endif

/// `lanyard server add-client`: records a new client and prints a wg-quick configuration for it.
struct ServerAddClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-client",
        abstract: "Add a client to the clients file and print a wg-quick configuration for it.",
        discussion: "The client's private key is printed once, in the configuration, and not kept. A running server lets the client in at once (through its control socket), without dropping anyone.")

    @Argument(help: "The client's name.")
    var name: String

    @OptionGroup var pool: ServerPoolOptions

    @Option(help: "File with the server's private key (to print its public key).")
    var privateKey: String

    @Option(help: "The server's address as clients reach it: HOST:PORT.")
    var endpoint: String

    @Option(help: "What the client sends through the tunnel: wg-quick AllowedIPs.")
    var allowedIps: String = "0.0.0.0/0, ::/0"

    @Option(name: .customLong("server-name"), help: "Instance name of the running server to update (default: the only one running).")
    var serverName: String?

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
        let existing = FileManager.default.fileExists(atPath: pool.clients) ? try KeyFiles.contents(pool.clients) : ""
        try writeAtomically(existing + entry, to: pool.clients)
        reloadRunningDaemon(name: serverName, prefix: "server-")
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

/// Tells a running server (or switch) to re-read its member file, through its control socket:
/// the one named `name`, or the only `PREFIX*.sock` in /run/lanyard. Prints the outcome on stderr.
func reloadRunningDaemon(name: String?, prefix: String) {
    var path: String?
    if let name {
        path = "\(ControlServer.directory)/\(name).sock"
    } else {
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: ControlServer.directory)) ?? [])
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".sock") }
        if candidates.count == 1 { path = "\(ControlServer.directory)/\(candidates[0])" }
        if candidates.count > 1 {
            FileHandle.standardError.write(Data("note: several servers run here; apply the change with --name NAME or send the right one SIGHUP\n".utf8))
            return
        }
    }
    guard let path, FileManager.default.fileExists(atPath: path) else {
        FileHandle.standardError.write(Data("note: no running server found; the change applies when it starts\n".utf8))
        return
    }
    let reply = (try? ControlClient.request(path: path, "reload")) ?? "error: no answer on \(path)"
    FileHandle.standardError.write(Data("running server (\(path)): \(reply)\n".utf8))
}

/// Writes `text` to `path` atomically (a temporary file in the same folder, then rename), keeping
/// the file's mode, or 0600 for a new file: a member file may hold preshared keys.
func writeAtomically(_ text: String, to path: String) throws {
    let mode = ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber)?.uint16Value ?? 0o600
    let temporary = path + ".tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: mode & 0o770]) else {
        throw CommandFailure("cannot write \(temporary)")
    }
    guard rename(temporary, path) == 0 else {
        unlink(temporary)
        throw CommandFailure("cannot replace \(path): \(String(cString: strerror(errno)))")
    }
}

/// `lanyard server remove-client`: takes a client out of the clients file and off a running server.
struct ServerRemoveClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-client",
        abstract: "Remove a client from the clients file; a running server cuts it off at once.")

    @Argument(help: "The client's name.")
    var name: String

    @Option(help: "File listing the authorized clients ([Client] sections).")
    var clients: String

    @Option(name: .customLong("server-name"), help: "Instance name of the running server to update (default: the only one running).")
    var serverName: String?

    func run() throws {
        let text = try KeyFiles.contents(clients)
        let file: INIFile
        do { file = try INIFile(parsing: text) } catch { throw CommandFailure("\(clients): \(error)") }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var drop = Set<Int>()
        for (k, section) in file.sections.enumerated() {
            guard (try? section.value("Name")) == name else { continue }
            let end = k + 1 < file.sections.count ? file.sections[k + 1].line - 1 : lines.count
            for l in (section.line - 1)..<end { drop.insert(l) }
        }
        guard !drop.isEmpty else { throw CommandFailure("\(clients) has no client named \(name)") }
        let kept = lines.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
        try writeAtomically(kept.joined(separator: "\n"), to: clients)
        FileHandle.standardError.write(Data("removed \(name) from \(clients)\n".utf8))
        reloadRunningDaemon(name: serverName, prefix: "server-")
    }
}
