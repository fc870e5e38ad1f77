import LanyardCore
import LanyardWireGuard
import XCTest
@testable import LanyardStore

/// The member store on a real SQLite file: migrations, every change in a transaction, refusals
/// that change nothing, and join tokens.
final class SQLMemberStoreTests: XCTestCase {
    var folder = ""

    override func setUp() {
        folder = NSTemporaryDirectory() + "lanyard-store-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func makeStore() throws -> SQLMemberStore { try SQLMemberStore.sqlite(path: folder + "/net.db") }

    func key() -> PublicKey { PrivateKey().publicKey }

    func testAddListRemoveRaisesTheVersion() throws {
        let store = try makeStore()
        let v0 = try store.version()
        try store.add(Member(name: "a", publicKey: key(), macs: [MACAddress("02:00:00:00:00:01")!]))
        try store.add(Member(name: "b", publicKey: key()))
        let list = try store.current()
        XCTAssertEqual(list.members.map(\.name), ["a", "b"])
        XCTAssertEqual(list.members[0].macs, [MACAddress("02:00:00:00:00:01")!])
        XCTAssertGreaterThan(list.version, v0)
        try store.remove("a")
        XCTAssertEqual(try store.current().members.map(\.name), ["b"])
        XCTAssertThrowsError(try store.remove("a")) { XCTAssertEqual($0 as? StoreError, .noSuchMember("a")) }
    }

    func testRefusalsChangeNothing() throws {
        let store = try makeStore()
        let k = key()
        try store.add(Member(name: "a", publicKey: k, macs: [MACAddress("02:00:00:00:00:01")!]))
        let before = try store.current()
        XCTAssertThrowsError(try store.add(Member(name: "a", publicKey: key()))) { XCTAssertEqual($0 as? StoreError, .nameTaken("a")) }
        XCTAssertThrowsError(try store.add(Member(name: "b", publicKey: k))) { XCTAssertEqual($0 as? StoreError, .keyTaken(name: "a")) }
        XCTAssertThrowsError(try store.add(Member(name: "c", publicKey: key(), macs: [MACAddress("02:00:00:00:00:01")!]))) {
            XCTAssertEqual($0 as? StoreError, .macTaken(mac: "02:00:00:00:00:01", member: "a"))
        }
        XCTAssertThrowsError(try store.add(Member(name: "bad name", publicKey: key())))
        XCTAssertThrowsError(try store.update("a", MemberChange(name: "x/y")))
        let after = try store.current()
        XCTAssertEqual(after.version, before.version)
        XCTAssertEqual(after.members, before.members)
    }

    func testUpdateRenamesTagsDisablesAndPins() throws {
        let store = try makeStore()
        try store.add(Member(name: "a", publicKey: key()))
        try store.add(Member(name: "b", publicKey: key()))
        let m = try store.update("a", MemberChange(name: "laptop", tags: ["office", "dev"], enabled: false,
                                                   macs: [MACAddress("02:00:00:00:00:09")!]))
        XCTAssertEqual(m.name, "laptop")
        XCTAssertEqual(m.tags, ["dev", "office"])
        XCTAssertFalse(m.enabled)
        XCTAssertEqual(try store.current().active.map(\.name), ["b"])
        XCTAssertThrowsError(try store.update("b", MemberChange(name: "laptop")))
        XCTAssertThrowsError(try store.update("b", MemberChange(macs: [MACAddress("02:00:00:00:00:09")!])))
        XCTAssertEqual(try store.member(named: "b")?.macs, [])
    }

    func testMigrationIsAppliedOnceAndANewerSchemaIsRefused() throws {
        _ = try makeStore()
        let again = try makeStore()   // opening twice applies nothing twice
        XCTAssertEqual(try again.current().members.count, 0)
        try again.backend.transaction { (tx) throws(StoreError) in
            try tx.execute("INSERT INTO lanyard_schema (version) VALUES (99)", [])
        }
        XCTAssertThrowsError(try makeStore()) {
            XCTAssertEqual($0 as? StoreError, .newerSchema(found: 99, known: Schema.latest))
        }
    }

    func testAFileThatIsNotADatabaseIsAClearError() throws {
        try Data("this is not sqlite, just text that goes on for a while".utf8).write(to: URL(fileURLWithPath: folder + "/net.db"))
        XCTAssertThrowsError(try makeStore()) { error in
            XCTAssertTrue("\(error)".contains("not a Lanyard database") || "\(error)".contains("damaged"), "\(error)")
        }
    }

    func testRedeemIsSingleUseIdempotentAndExpires() throws {
        let store = try makeStore()
        try store.createInvite(Invite(id: "0011223344556677", secretHash: "h1", name: "laptop", createdAt: 100, expiresAt: 200, usesLeft: 1))
        let k = key()
        XCTAssertEqual(try store.redeem(inviteID: "0011223344556677", secretHash: "wrong", publicKey: k, now: 150), .refused(.invalid))
        XCTAssertEqual(try store.redeem(inviteID: "ffff", secretHash: "h1", publicKey: k, now: 150), .refused(.invalid))
        XCTAssertEqual(try store.redeem(inviteID: "0011223344556677", secretHash: "h1", publicKey: k, now: 150), .member(name: "laptop", pending: false))
        // The same joiner again (a lost reply): the same answer, no second member.
        XCTAssertEqual(try store.redeem(inviteID: "0011223344556677", secretHash: "h1", publicKey: k, now: 151), .member(name: "laptop", pending: false))
        XCTAssertEqual(try store.redeem(inviteID: "0011223344556677", secretHash: "h1", publicKey: key(), now: 152), .refused(.used))
        XCTAssertEqual(try store.current().members.count, 1)
        try store.createInvite(Invite(id: "8899aabbccddeeff", secretHash: "h2", name: "x", createdAt: 100, expiresAt: 200, usesLeft: 3))
        XCTAssertEqual(try store.redeem(inviteID: "8899aabbccddeeff", secretHash: "h2", publicKey: key(), now: 200), .refused(.expired))
        XCTAssertEqual(try store.redeem(inviteID: "8899aabbccddeeff", secretHash: "h2", publicKey: k, now: 150), .refused(.keyTaken))
    }

    func testRevokedAndApprovalAndNumberedNames() throws {
        let store = try makeStore()
        try store.createInvite(Invite(id: "1", secretHash: "h", name: "lab", createdAt: 0, expiresAt: nil, usesLeft: 3, needsApproval: true, tags: ["lab"]))
        XCTAssertEqual(try store.redeem(inviteID: "1", secretHash: "h", publicKey: key(), now: 1), .member(name: "lab", pending: true))
        XCTAssertEqual(try store.redeem(inviteID: "1", secretHash: "h", publicKey: key(), now: 1), .member(name: "lab-2", pending: true))
        XCTAssertEqual(try store.current().active.count, 0)
        try store.update("lab", MemberChange(pending: false))
        XCTAssertEqual(try store.current().active.map(\.name), ["lab"])
        XCTAssertEqual(try store.member(named: "lab")?.tags, ["lab"])
        try store.revokeInvite("1")
        XCTAssertEqual(try store.redeem(inviteID: "1", secretHash: "h", publicKey: key(), now: 2), .refused(.invalid))
        XCTAssertThrowsError(try store.revokeInvite("nope"))
    }

    func testOperatorsAreFoundByTokenHash() throws {
        let store = try makeStore()
        try store.addOperator("alice", tokenHash: "aaaa")
        XCTAssertThrowsError(try store.addOperator("alice", tokenHash: "bbbb"))
        XCTAssertEqual(try store.operator(tokenHash: "aaaa"), "alice")
        XCTAssertNil(try store.operator(tokenHash: "aaab"))
        try store.removeOperator("alice")
        XCTAssertNil(try store.operator(tokenHash: "aaaa"))
        XCTAssertEqual(try store.operators(), [])
    }
}
