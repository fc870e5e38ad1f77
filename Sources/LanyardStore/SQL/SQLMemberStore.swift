import LanyardCore
import LanyardWireGuard

/// The member store on an SQL database (SQLite or PostgreSQL, through `SQLBackend`): one copy of
/// every query, each change one transaction that raises the version.
public final class SQLMemberStore: MemberStore {
    let backend: any SQLBackend

    init(backend: any SQLBackend, migrationLock: String? = nil) throws(StoreError) {
        self.backend = backend
        try Schema.migrate(backend, lock: migrationLock)
    }

    public var location: String { backend.location }
    public func watch(_ changed: @escaping @Sendable () -> Void) { backend.watch(changed) }
    public func stopWatching() { backend.stopWatching() }

    public func version() throws(StoreError) -> Int64 {
        try backend.transaction { (tx) throws(StoreError) in try Self.revision(tx) }
    }

    public func current() throws(StoreError) -> MemberList {
        try backend.transaction { (tx) throws(StoreError) in
            let version = try Self.revision(tx)
            var macs: [String: [MACAddress]] = [:]
            for row in try tx.rows("SELECT public_key, mac FROM member_macs ORDER BY mac", []) {
                guard let key = row[0].string, let mac = row[1].string.flatMap(MACAddress.init) else { continue }
                macs[key, default: []].append(mac)
            }
            var addresses: [String: [IPPrefix]] = [:]
            for row in try tx.rows("SELECT public_key, address FROM member_addresses ORDER BY address", []) {
                guard let key = row[0].string, let prefix = row[1].string.flatMap(IPPrefix.init) else { continue }
                addresses[key, default: []].append(prefix)
            }
            let rows = try tx.rows("""
                SELECT public_key, name, preshared_key, tags, enabled, pending, created_at, invite FROM members ORDER BY name
                """, [])
            var members: [Member] = []
            members.reserveCapacity(rows.count)
            for row in rows {
                guard let keyText = row[0].string, let key = try? PublicKey(base64: keyText), let name = row[1].string else {
                    throw .database("a member row holds no valid public key or name")
                }
                members.append(Member(
                    name: name, publicKey: key, presharedKey: row[2].string.flatMap { try? PresharedKey(base64: $0) },
                    macs: macs[keyText] ?? [], addresses: addresses[keyText] ?? [], tags: Self.tags(row[3].string),
                    enabled: row[4].int != 0, pending: row[5].int == 1, createdAt: row[6].int ?? 0, invite: row[7].string))
            }
            return MemberList(version: version, members: members, switches: try Self.switches(tx))
        }
    }

    public func add(_ member: Member) throws(StoreError) {
        guard Member.isValidName(member.name) else { throw .invalidName(member.name) }
        try Self.checkTags(member.tags)
        try backend.transaction { (tx) throws(StoreError) in
            try Self.insert(member, tx)
            try bump(tx)
        }
    }

    public func add(all members: [Member]) throws(StoreError) {
        for m in members where !Member.isValidName(m.name) { throw .invalidName(m.name) }
        try backend.transaction { (tx) throws(StoreError) in
            for m in members { try Self.insert(m, tx) }
            try bump(tx)
        }
    }

    @discardableResult
    public func update(_ name: String, _ change: MemberChange) throws(StoreError) -> Member {
        if let new = change.name, !Member.isValidName(new) { throw .invalidName(new) }
        if let tags = change.tags { try Self.checkTags(tags) }
        try backend.transaction { (tx) throws(StoreError) in
            guard let key = try tx.rows("SELECT public_key FROM members WHERE name = ?", [.text(name)]).first?[0] else {
                throw .noSuchMember(name)
            }
            if let new = change.name, new != name {
                if try tx.int("SELECT COUNT(*) FROM members WHERE name = ?", [.text(new)]) != 0 { throw .nameTaken(new) }
                try tx.execute("UPDATE members SET name = ? WHERE public_key = ?", [.text(new), key])
            }
            if let tags = change.tags {
                try tx.execute("UPDATE members SET tags = ? WHERE public_key = ?", [.text(Self.tagText(tags)), key])
            }
            if let enabled = change.enabled {
                try tx.execute("UPDATE members SET enabled = ? WHERE public_key = ?", [.integer(enabled ? 1 : 0), key])
            }
            if let pending = change.pending {
                try tx.execute("UPDATE members SET pending = ? WHERE public_key = ?", [.integer(pending ? 1 : 0), key])
            }
            if let macs = change.macs {
                try tx.execute("DELETE FROM member_macs WHERE public_key = ?", [key])
                try Self.pin(macs, to: key, tx)
            }
            if let addresses = change.addresses {
                try tx.execute("DELETE FROM member_addresses WHERE public_key = ?", [key])
                try Self.fix(addresses, to: key, tx)
            }
            try bump(tx)
        }
        guard let member = try member(named: change.name ?? name) else { throw .noSuchMember(change.name ?? name) }
        return member
    }

    public func remove(_ name: String) throws(StoreError) {
        try backend.transaction { (tx) throws(StoreError) in
            guard let key = try tx.rows("SELECT public_key FROM members WHERE name = ?", [.text(name)]).first?[0] else {
                throw .noSuchMember(name)
            }
            // The pins and addresses go with it (ON DELETE CASCADE, said again for clarity).
            try tx.execute("DELETE FROM member_macs WHERE public_key = ?", [key])
            try tx.execute("DELETE FROM member_addresses WHERE public_key = ?", [key])
            try tx.execute("DELETE FROM members WHERE public_key = ?", [key])
            try bump(tx)
        }
    }

    // MARK: Shared pieces

    static func revision(_ tx: any SQLTransaction) throws(StoreError) -> Int64 {
        guard let v = try tx.int("SELECT value FROM lanyard_state WHERE key = 'revision'") else {
            throw .database("the member database has no revision row: it was not made by lanyard")
        }
        return v
    }

    /// Raises the version (and, on PostgreSQL, tells every listening switch).
    func bump(_ tx: any SQLTransaction) throws(StoreError) {
        try tx.execute("UPDATE lanyard_state SET value = value + 1 WHERE key = 'revision'", [])
        if backend.notifiesChanges { _ = try tx.rows("SELECT pg_notify('lanyard_members', '')", []) }
    }

    static func insert(_ m: Member, _ tx: any SQLTransaction) throws(StoreError) {
        let key = SQLValue.text(m.publicKey.base64)
        if let owner = try tx.rows("SELECT name FROM members WHERE public_key = ?", [key]).first?[0].string {
            throw .keyTaken(name: owner)
        }
        if try tx.int("SELECT COUNT(*) FROM members WHERE name = ?", [.text(m.name)]) != 0 { throw .nameTaken(m.name) }
        try tx.execute("""
            INSERT INTO members (public_key, name, preshared_key, tags, enabled, pending, created_at, invite)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [key, .text(m.name), m.presharedKey.map { .text($0.base64) } ?? .null, .text(tagText(m.tags)),
                  .integer(m.enabled ? 1 : 0), .integer(m.pending ? 1 : 0), .integer(m.createdAt),
                  m.invite.map { .text($0) } ?? .null])
        try pin(m.macs, to: key, tx)
        try fix(m.addresses, to: key, tx)
    }

    static func pin(_ macs: [MACAddress], to key: SQLValue, _ tx: any SQLTransaction) throws(StoreError) {
        for mac in Set(macs) {
            guard !mac.isMulticast, !mac.isZero else { throw .invalidValue("\(mac) cannot be pinned: use a unicast MAC like 02:00:00:00:00:01") }
            if let owner = try tx.rows("SELECT m.name FROM member_macs p JOIN members m ON m.public_key = p.public_key WHERE p.mac = ?",
                                       [.text(mac.description)]).first?[0].string {
                throw .macTaken(mac: mac.description, member: owner)
            }
            try tx.execute("INSERT INTO member_macs (mac, public_key) VALUES (?, ?)", [.text(mac.description), key])
        }
    }

    static func fix(_ addresses: [IPPrefix], to key: SQLValue, _ tx: any SQLTransaction) throws(StoreError) {
        for address in Set(addresses.map(\.description)) {
            if let owner = try tx.rows("SELECT m.name FROM member_addresses a JOIN members m ON m.public_key = a.public_key WHERE a.address = ?",
                                       [.text(address)]).first?[0].string {
                throw .addressTaken(address: address, member: owner)
            }
            try tx.execute("INSERT INTO member_addresses (address, public_key) VALUES (?, ?)", [.text(address), key])
        }
    }

    static func tags(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map(String.init)
    }

    static func tagText(_ tags: [String]) -> String { Set(tags).sorted().joined(separator: ",") }

    static func checkTags(_ tags: [String]) throws(StoreError) {
        for tag in tags where !Member.isValidName(tag) {
            throw .invalidValue("tag '\(tag)' is not valid: use 1–63 letters, digits, '-', '_' and '.'")
        }
    }
}
