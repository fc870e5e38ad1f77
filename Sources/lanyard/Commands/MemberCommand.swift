import ArgumentParser
import Foundation
import LanyardCore
import LanyardLinux
import LanyardStore
import LanyardWireGuard

/// `lanyard member`: a network's members, invites and operators, through the running switch's
/// API when it runs (every change applied at once) or on its database when it does not.
struct MemberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member",
        abstract: "Manage a switch's members: add, invite, remove, list, rename, tag, disable, pin MACs.",
        discussion: """
        Changes go through the running switch (its API on /run/lanyard/NAME.api.sock), which applies each at once and touches only the member changed; when it does not run, they go to its database, and it reads them when it starts.
        Find the switch with --config (its configuration file), --name (its instance), or --database / --ports.
        """,
        subcommands: [MemberListCommand.self, MemberShowCommand.self, MemberAddCommand.self, MemberRemoveCommand.self,
                      MemberRenameCommand.self, MemberTagCommand.self, MemberEnableCommand.self, MemberDisableCommand.self,
                      MemberApproveCommand.self, MemberPinCommand.self, MemberInviteCommand.self, MemberInvitesCommand.self,
                      MemberRevokeCommand.self, MemberImportCommand.self, MemberExportCommand.self, OperatorCommand.self,
                      MemberSwitchesCommand.self, MemberRemoveSwitchCommand.self])
}

/// Which switch's members a `lanyard member` command works on.
struct MemberTarget: ParsableArguments {
    @Option(help: "The switch's configuration file (TOML): its database, ports file, private key, endpoints and name.")
    var config: String?

    @Option(help: "The switch's instance name (its --name): API socket /run/lanyard/NAME.api.sock, default database /var/lib/lanyard/NAME.db.")
    var name: String?

    @Option(help: "The member database (an SQLite file or a postgres:// URL), used directly.")
    var database: String?

    @Option(help: "A ports file to read or change instead of a database.")
    var ports: String?

    /// The switch's own options, from its configuration file.
    func switchOptions() throws -> SwitchCommand? {
        guard let config else { return nil }
        do {
            let file = try ConfigFile(path: config, role: "switch")
            return try SwitchCommand.parse(try file.arguments(for: ConfiguredArguments.keys(for: "switch"), overriddenBy: []))
        } catch {
            throw CommandFailure("\(config): \(error)")
        }
    }

    var instance: String { name ?? (try? switchOptions()?.daemon.name) ?? nil ?? "switch" }

    /// The running switch's API socket.
    var socketPath: String { "\(ControlServer.directory)/\(instance).api.sock" }

    /// The store to use: the running switch's API, else the database or ports file.
    func open(direct: Bool = false) throws -> any MemberStore {
        let options = try switchOptions()
        if let ports = ports ?? (database == nil ? options?.ports : nil) { return PortsFileStore(path: ports, instance: name ?? options?.daemon.name) }
        if !direct, database == nil, FileManager.default.fileExists(atPath: socketPath), APIClient(socketPath: socketPath).isAnswering {
            return APIMemberStore(socketPath: socketPath)
        }
        let location = database ?? options?.storeLocation ?? MemberStores.defaultDatabase(instance: instance)
        return try MemberStores.open(location, logger: .init(label: "lanyard.member"))
    }
}

/// Runs a store call, turning a refusal into the CLI's one-line failure.
func storeCall<T>(_ work: () throws(StoreError) -> T) throws -> T {
    do { return try work() } catch { throw CommandFailure("\(error)") }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

func note(_ text: String) { FileHandle.standardError.write(Data("\(text)\n".utf8)) }

struct MemberListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the members.")
    @OptionGroup var target: MemberTarget
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let list = try storeCall(try target.open().current)
        if json { return try printJSON(MemberListJSON(version: list.version, members: list.members.map { MemberJSON($0) })) }
        print("NAME\tSTATE\tPUBLIC KEY\tTAGS\tMACS")
        for m in list.members {
            let state = m.pending ? "pending" : (m.enabled ? "enabled" : "disabled")
            print("\(m.name)\t\(state)\t\(m.publicKey.base64)\t\(m.tags.joined(separator: ","))\t\(m.macs.map(\.description).joined(separator: ","))")
        }
    }
}

struct MemberShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one member (JSON), with its live state when the switch runs.")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The member's name.") var member: String

    func run() throws {
        let store = try target.open()
        if let api = store as? APIMemberStore {
            let m = try storeCall { () throws(StoreError) in try api.client.call("GET", "/v1/members/\(APIMemberStore.escape(member))", as: MemberJSON.self) }
            return try printJSON(m)
        }
        guard let m = try storeCall({ () throws(StoreError) in try store.member(named: member) }) else {
            throw CommandFailure("\(StoreError.noSuchMember(member))")
        }
        try printJSON(MemberJSON(m))
    }
}

struct MemberAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a member by its public key.")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The member's name.") var member: String
    @Argument(help: "Its public key (`lanyard pubkey < KEYFILE` on its host).") var publicKey: String
    @Option(help: "File with a preshared key for it (the member needs the same file).") var presharedKey: String?
    @Option(help: "A MAC only it may use; repeatable.") var mac: [String] = []
    @Option(help: "A label; repeatable.") var tag: [String] = []
    @Flag(help: "Add it disabled.") var disabled = false

    func run() throws {
        var m = Member(name: member, publicKey: try storeCall { () throws(StoreError) in try MemberFields.key(publicKey) },
                       macs: try storeCall { () throws(StoreError) in try MemberFields.macs(mac) }, tags: tag,
                       enabled: !disabled, createdAt: UnixTime.now)
        if let presharedKey { m.presharedKey = try KeyFiles.presharedKey(at: presharedKey) }
        let store = try target.open()
        let added = m
        try storeCall { () throws(StoreError) in try store.add(added) }
        note("added \(member) (\(store.location))")
    }
}

struct MemberRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a member; a running switch cuts it off at once.")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The member's name.") var member: String

    func run() throws {
        let store = try target.open()
        try storeCall { () throws(StoreError) in try store.remove(member) }
        note("removed \(member) (\(store.location))")
    }
}

/// The commands that change one field of one member.
protocol MemberChangeCommand: ParsableCommand {
    var target: MemberTarget { get }
    var member: String { get }
    func change() throws -> MemberChange
}

extension MemberChangeCommand {
    func run() throws {
        let store = try target.open()
        let change = try change()
        let m = try storeCall { () throws(StoreError) in try store.update(member, change) }
        note("\(m.name): \(m.pending ? "pending" : (m.enabled ? "enabled" : "disabled")); tags \(m.tags.joined(separator: ",")); MACs \(m.macs.map(\.description).joined(separator: ","))")
    }
}

struct MemberRenameCommand: MemberChangeCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a member (its sessions start over).")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The member's name.") var member: String
    @Argument(help: "Its new name.") var newName: String
    func change() throws -> MemberChange { MemberChange(name: newName) }
}

struct MemberTagCommand: MemberChangeCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Set a member's labels (none clears them).")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The member's name.") var member: String
    @Argument(help: "Its labels.") var tags: [String] = []
    func change() throws -> MemberChange { MemberChange(tags: tags) }
}

struct MemberEnableCommand: MemberChangeCommand {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Let a disabled member join again.")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The member's name.") var member: String
    func change() throws -> MemberChange { MemberChange(enabled: true) }
}

struct MemberDisableCommand: MemberChangeCommand {
    static let configuration = CommandConfiguration(commandName: "disable", abstract: "Cut a member off, keeping it in the database.")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The member's name.") var member: String
    func change() throws -> MemberChange { MemberChange(enabled: false) }
}

struct MemberApproveCommand: MemberChangeCommand {
    static let configuration = CommandConfiguration(commandName: "approve", abstract: "Let in a member that joined with an invite needing approval.")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The member's name.") var member: String
    func change() throws -> MemberChange { MemberChange(pending: false) }
}

struct MemberPinCommand: MemberChangeCommand {
    static let configuration = CommandConfiguration(commandName: "pin", abstract: "Set the MACs only this member may use (none unpins all).")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The member's name.") var member: String
    @Argument(help: "MAC addresses.") var macs: [String] = []
    func change() throws -> MemberChange { MemberChange(macs: try storeCall { () throws(StoreError) in try MemberFields.macs(macs) }) }
}
