import LanyardCore
import LanyardWireGuard
import Foundation
import Testing
@testable import LanyardStore

/// The member store on a real SQLite file: migrations, every change in a transaction, refusals
/// that change nothing, and join tokens.
@Suite final class SQLMemberStoreTests {
    let folder = NSTemporaryDirectory() + "lanyard-store-\(UUID().uuidString)"

    init() { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    func makeStore() throws -> SQLMemberStore { try SQLMemberStore.sqlite(path: folder + "/net.db") }

    func key() -> PublicKey { PrivateKey().publicKey }

    @Test func addListRemoveRaisesTheVersion() throws {
        let store = try makeStore()
        let v0 = try store.version()
        try store.add(Member(name: "a", publicKey: key(), macs: [MACAddress("02:00:00:00:00:01")!]))
        try store.add(Member(name: "b", publicKey: key()))
        let list = try store.current()
        #expect(list.members.map(\.name) == ["a", "b"])
        #expect(list.members[0].macs == [MACAddress("02:00:00:00:00:01")!])
        #expect(list.version > v0)
        try store.remove("a")
        #expect(try store.current().members.map(\.name) == ["b"])
        #expect(throws: StoreError.noSuchMember("a")) { try store.remove("a") }
    }

    @Test func refusalsChangeNothing() throws {
        let store = try makeStore()
        let k = key()
        try store.add(Member(name: "a", publicKey: k, macs: [MACAddress("02:00:00:00:00:01")!]))
        let before = try store.current()
        #expect(throws: StoreError.nameTaken("a")) { try store.add(Member(name: "a", publicKey: key())) }
        #expect(throws: StoreError.keyTaken(name: "a")) { try store.add(Member(name: "b", publicKey: k)) }
        #expect(throws: StoreError.macTaken(mac: "02:00:00:00:00:01", member: "a")) {
            try store.add(Member(name: "c", publicKey: self.key(), macs: [MACAddress("02:00:00:00:00:01")!]))
        }
        #expect(throws: StoreError.self) { try store.add(Member(name: "bad name", publicKey: key())) }
        #expect(throws: StoreError.self) { try store.update("a", MemberChange(name: "x/y")) }
        let after = try store.current()
        #expect(after.version == before.version)
        #expect(after.members == before.members)
    }

    @Test func updateRenamesTagsDisablesAndPins() throws {
        let store = try makeStore()
        try store.add(Member(name: "a", publicKey: key()))
        try store.add(Member(name: "b", publicKey: key()))
        let m = try store.update("a", MemberChange(name: "laptop", tags: ["office", "dev"], enabled: false,
                                                   macs: [MACAddress("02:00:00:00:00:09")!]))
        #expect(m.name == "laptop")
        #expect(m.tags == ["dev", "office"])
        #expect(!m.enabled)
        #expect(try store.current().active.map(\.name) == ["b"])
        #expect(throws: StoreError.self) { try store.update("b", MemberChange(name: "laptop")) }
        #expect(throws: StoreError.self) { try store.update("b", MemberChange(macs: [MACAddress("02:00:00:00:00:09")!])) }
        #expect(try store.member(named: "b")?.macs == [])
    }

    @Test func migrationIsAppliedOnceAndANewerSchemaIsRefused() throws {
        _ = try makeStore()
        let again = try makeStore()   // opening twice applies nothing twice
        #expect(try again.current().members.count == 0)
        _ = try again.backend.transaction { (tx) throws(StoreError) in
            try tx.execute("INSERT INTO lanyard_schema (version) VALUES (99)", [])
        }
        #expect(throws: StoreError.newerSchema(found: 99, known: Schema.latest)) { try self.makeStore() }
    }

    @Test func aFileThatIsNotADatabaseIsAClearError() throws {
        try Data("this is not sqlite, just text that goes on for a while".utf8).write(to: URL(fileURLWithPath: folder + "/net.db"))
        let error = #expect(throws: StoreError.self) { try self.makeStore() }
        #expect("\(error!)".contains("not a Lanyard database"))
    }

    @Test func redeemIsSingleUseIdempotentAndExpires() throws {
        let store = try makeStore()
        try store.createInvite(Invite(id: "0011223344556677", secretHash: "h1", name: "laptop", createdAt: 100, expiresAt: 200, usesLeft: 1))
        let k = key()
        #expect(try store.redeem(inviteID: "0011223344556677", secretHash: "wrong", publicKey: k, now: 150) == .refused(.invalid))
        #expect(try store.redeem(inviteID: "ffff", secretHash: "h1", publicKey: k, now: 150) == .refused(.invalid))
        #expect(try store.redeem(inviteID: "0011223344556677", secretHash: "h1", publicKey: k, now: 150) == .member(name: "laptop", pending: false))
        // The same joiner again (a lost reply): the same answer, no second member.
        #expect(try store.redeem(inviteID: "0011223344556677", secretHash: "h1", publicKey: k, now: 151) == .member(name: "laptop", pending: false))
        #expect(try store.redeem(inviteID: "0011223344556677", secretHash: "h1", publicKey: key(), now: 152) == .refused(.used))
        #expect(try store.current().members.count == 1)
        try store.createInvite(Invite(id: "8899aabbccddeeff", secretHash: "h2", name: "x", createdAt: 100, expiresAt: 200, usesLeft: 3))
        #expect(try store.redeem(inviteID: "8899aabbccddeeff", secretHash: "h2", publicKey: key(), now: 200) == .refused(.expired))
        #expect(try store.redeem(inviteID: "8899aabbccddeeff", secretHash: "h2", publicKey: k, now: 150) == .refused(.keyTaken))
    }

    @Test func revokedAndApprovalAndNumberedNames() throws {
        let store = try makeStore()
        try store.createInvite(Invite(id: "1", secretHash: "h", name: "lab", createdAt: 0, expiresAt: nil, usesLeft: 3, needsApproval: true, tags: ["lab"]))
        #expect(try store.redeem(inviteID: "1", secretHash: "h", publicKey: key(), now: 1) == .member(name: "lab", pending: true))
        #expect(try store.redeem(inviteID: "1", secretHash: "h", publicKey: key(), now: 1) == .member(name: "lab-2", pending: true))
        #expect(try store.current().active.count == 0)
        try store.update("lab", MemberChange(pending: false))
        #expect(try store.current().active.map(\.name) == ["lab"])
        #expect(try store.member(named: "lab")?.tags == ["lab"])
        try store.revokeInvite("1")
        #expect(try store.redeem(inviteID: "1", secretHash: "h", publicKey: key(), now: 2) == .refused(.invalid))
        #expect(throws: StoreError.self) { try store.revokeInvite("nope") }
    }

    @Test func numberedJoinNamesStayValid() throws {
        let store = try makeStore()
        let long = String(repeating: "n", count: 63)
        try store.createInvite(Invite(id: "2", secretHash: "h", name: long, createdAt: 0, expiresAt: nil, usesLeft: 12))
        var names: [String] = []
        for _ in 0..<12 {
            if case .member(let name, _) = try store.redeem(inviteID: "2", secretHash: "h", publicKey: key(), now: 1) { names.append(name) }
        }
        #expect(names.count == 12 && Set(names).count == 12)
        #expect(names.allSatisfy(Member.isValidName))
        #expect(names.last!.hasSuffix("-12"))
        #expect(try store.redeem(inviteID: "2", secretHash: "h", publicKey: key(), now: 1) == .refused(.used))
    }

    @Test func operatorsAreFoundByTokenHash() throws {
        let store = try makeStore()
        try store.addOperator("alice", tokenHash: "aaaa")
        #expect(throws: StoreError.self) { try store.addOperator("alice", tokenHash: "bbbb") }
        #expect(try store.operatorHashes() == ["aaaa"])
        try store.removeOperator("alice")
        #expect(try store.operatorHashes().isEmpty)
        #expect(try store.operators() == [])
        try store.addOperator("bob", tokenHash: "bbbb")
        #expect(try store.operatorHashes() == ["bbbb"])
    }
}

/// The switches of a network served by several, on a real SQLite file.
@Suite final class SwitchListTests {
    let folder = NSTemporaryDirectory() + "lanyard-switches-\(UUID().uuidString)"
    init() { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: folder) }

    @Test func aSwitchListsItselfOnceAndARestartChangesNothing() throws {
        let store = try SQLMemberStore.sqlite(path: folder + "/net.db")
        let k1 = PrivateKey().publicKey, k2 = PrivateKey().publicKey
        try store.registerSwitch(SwitchRecord(name: "s1", publicKey: k1, meshEndpoint: "192.0.2.1:51821", endpoints: ["192.0.2.1:51820"]), now: 1)
        try store.registerSwitch(SwitchRecord(name: "s2", publicKey: k2, meshEndpoint: "192.0.2.2:51821"), now: 1)
        let v = try store.version()
        try store.registerSwitch(SwitchRecord(name: "s1", publicKey: k1, meshEndpoint: "192.0.2.1:51821", endpoints: ["192.0.2.1:51820"]), now: 2)
        #expect(try store.version() == v)
        let list = try store.current().switches
        #expect(list.map(\.name) == ["s1", "s2"])
        #expect(list[0].endpoints == ["192.0.2.1:51820"] && list[1].endpoints.isEmpty)
        // Another key under a listed name is refused (two switches at one name); a known key
        // under a new name moves the entry; a removed name may be taken by a new key.
        let k3 = PrivateKey().publicKey
        #expect(throws: StoreError.self) { try store.registerSwitch(SwitchRecord(name: "s1", publicKey: k3, meshEndpoint: "192.0.2.9:51821"), now: 3) }
        #expect(try store.current().switches.first { $0.name == "s1" }?.publicKey == k1)
        try store.removeSwitch("s1")
        try store.registerSwitch(SwitchRecord(name: "s1", publicKey: k3, meshEndpoint: "192.0.2.1:51821"), now: 3)
        try store.registerSwitch(SwitchRecord(name: "s3", publicKey: k2, meshEndpoint: "192.0.2.3:51821"), now: 3)
        #expect(try store.current().switches.map(\.name) == ["s1", "s3"])
        #expect(try store.current().switches[0].publicKey == k3)
        #expect(try store.version() > v)
        try store.removeSwitch("s3")
        #expect(try store.current().switches.map(\.name) == ["s1"])
        #expect(throws: StoreError.invalidValue("no switch named s3 is listed")) { try store.removeSwitch("s3") }
        #expect(throws: StoreError.invalidName("bad name")) {
            try store.registerSwitch(SwitchRecord(name: "bad name", publicKey: k1, meshEndpoint: "192.0.2.1:51821"), now: 4)
        }
    }
}
