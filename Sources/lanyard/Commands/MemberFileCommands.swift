import ArgumentParser
import Foundation
import LanyardStore

/// `lanyard member import` and `export`: between a ports file and a member database.
struct MemberImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Add every port of a ports file to the database (in one transaction on the database; members already there with the same key and name are kept).")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The ports file.") var file: String

    func run() throws {
        let incoming = try storeCall(PortsFileStore(path: file, instance: nil).current).members
        let store = try target.open()
        let existing = try storeCall(store.current).members
        let byKey = Dictionary(existing.map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        let names = Set(existing.map(\.name))
        var new: [Member] = []
        for m in incoming {
            if let there = byKey[m.publicKey] {
                guard there.name == m.name else { throw CommandFailure("\(m.name)'s key belongs to member \(there.name) already: nothing imported") }
                continue
            }
            guard !names.contains(m.name) else { throw CommandFailure("a member named \(m.name) exists already with another key: nothing imported") }
            var fresh = m
            fresh.createdAt = UnixTime.now
            new.append(fresh)
        }
        try storeCall { () throws(StoreError) in try store.add(all: new) }
        note("imported \(new.count) of \(incoming.count) ports from \(file) into \(store.location)")
    }
}

struct MemberExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write the members as a ports file (to a file, mode 600, or stdout).")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The file to write (default: stdout).") var file: String?

    func run() throws {
        // From the database itself: only it holds the preshared keys.
        let members = try storeCall(try target.open(direct: true).current).members
        let text = PortsFileStore.text(members)
        guard let file else { return print(text, terminator: "") }
        try writeAtomically(text, to: file)
        note("wrote \(members.count) members to \(file)")
    }
}
