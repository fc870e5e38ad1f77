import Foundation
import LanyardCore
import LanyardLinux
import LanyardNode
import LanyardStore
import LanyardWireGuard

/// A ports file as a member store: the list is the file's `[Port]` sections, its version the
/// file's modification time; adding and removing rewrite it (locked, atomically) and tell a
/// running switch to re-read it. It holds no tags, states, invites or operators: for those,
/// `lanyard member import FILE` moves it into a database.
final class PortsFileStore: MemberStore {
    let path: String
    let instance: String?
    init(path: String, instance: String?) {
        self.path = path
        self.instance = instance
    }

    var location: String { "ports file \(path)" }

    func current() throws(StoreError) -> MemberList {
        do {
            let text = KeyFiles.exists(path) ? try KeyFiles.contents(path, kind: .memberList) : ""
            let peers = try AuthorizedPeer.parse(text)
            return MemberList(version: try version(), members: peers.map {
                Member(name: $0.name, publicKey: $0.publicKey, presharedKey: $0.presharedKey, macs: $0.macs, addresses: $0.addresses)
            })
        } catch let e as StoreError { throw e } catch { throw .invalidValue("\(path): \(error)") }
    }

    func version() throws(StoreError) -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { return 0 }
        return Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }

    func add(_ m: Member) throws(StoreError) {
        guard Member.isValidName(m.name) else { throw .invalidName(m.name) }
        guard m.tags.isEmpty, m.enabled else { throw unsupported("tags and disabled members") }
        let entry = AuthorizedPeer(member: m).portSection()
        do {
            try MemberFile.locked(path) {
                if try MemberFile.names(section: "Port", in: path).contains(m.name) { throw StoreError.nameTaken(m.name) }
                try MemberFile.append(entry, to: path) { text in _ = try AuthorizedPeer.parse(text) }
            }
            try MemberFile.reloadRunningDaemon(instance: instance, role: "switch")
        } catch let e as StoreError { throw e } catch { throw .invalidValue("\(error)") }
    }

    func update(_ name: String, _ change: MemberChange) throws(StoreError) -> Member { throw unsupported("changing a member") }

    func remove(_ name: String) throws(StoreError) {
        do {
            try MemberFile.locked(path) { try MemberFile.remove(section: "Port", named: name, from: path) }
            try MemberFile.reloadRunningDaemon(instance: instance, role: "switch")
        } catch { throw .invalidValue("\(error)") }
    }

    func createInvite(_ invite: Invite) throws(StoreError) { throw unsupported("invites") }
    func invites() throws(StoreError) -> [Invite] { [] }
    func revokeInvite(_ id: String) throws(StoreError) { throw unsupported("invites") }
    func redeem(inviteID: String, secretHash: String, publicKey: PublicKey, now: Int64) throws(StoreError) -> Redemption { .refused(.invalid) }
    func addOperator(_ name: String, tokenHash: String) throws(StoreError) { throw unsupported("operators") }
    func removeOperator(_ name: String) throws(StoreError) { throw unsupported("operators") }
    func operators() throws(StoreError) -> [String] { [] }
    func operatorHashes() throws(StoreError) -> Set<String> { [] }

    private func unsupported(_ what: String) -> StoreError {
        .unsupported("a ports file holds no \(what): move it into a database with `lanyard member import \(path)`, then run the switch with --database")
    }

    /// The text of a ports file listing `members` (those that may join; others as comments).
    static func text(_ members: [Member]) -> String {
        var out = "# Exported by lanyard member export. Members that may not join now are commented out.\n"
        for m in members { out += AuthorizedPeer(member: m).portSection(linePrefix: m.isActive ? "" : "# ") }
        return out
    }
}
