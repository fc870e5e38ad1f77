#if canImport(Glibc)
import Glibc
#endif
import LanyardWireGuard

/// Join tokens: kept as hashes, redeemed in one transaction with the member they make.
extension SQLMemberStore {
    public func createInvite(_ invite: Invite) throws(StoreError) {
        guard Member.isValidName(invite.name) else { throw .invalidName(invite.name) }
        guard invite.usesLeft > 0 else { throw .invalidValue("an invite needs at least one use") }
        try Self.checkTags(invite.tags)
        try backend.transaction { (tx) throws(StoreError) in
            _ = try tx.execute("""
                INSERT INTO invites (id, secret_hash, name, created_at, expires_at, uses_left, used, revoked, needs_approval, tags)
                VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?)
                """, [.text(invite.id), .text(invite.secretHash), .text(invite.name), .integer(invite.createdAt),
                      invite.expiresAt.map { .integer($0) } ?? .null, .integer(Int64(invite.usesLeft)),
                      .integer(invite.needsApproval ? 1 : 0), .text(Self.tagText(invite.tags))])
        }
    }

    public func invites() throws(StoreError) -> [Invite] {
        try backend.transaction { (tx) throws(StoreError) in
            try tx.rows("""
                SELECT id, secret_hash, name, created_at, expires_at, uses_left, used, revoked, needs_approval, tags
                FROM invites ORDER BY created_at, id
                """, []).map(Self.invite)
        }
    }

    public func revokeInvite(_ id: String) throws(StoreError) {
        try backend.transaction { (tx) throws(StoreError) in
            guard try tx.execute("UPDATE invites SET revoked = 1 WHERE id = ?", [.text(id)]) > 0 else { throw .noSuchInvite(id) }
        }
    }

    public func redeem(inviteID: String, secretHash: String, publicKey: PublicKey, now: Int64) throws(StoreError) -> Redemption {
        try backend.transaction { (tx) throws(StoreError) in
            let key = SQLValue.text(publicKey.base64)
            guard let row = try tx.rows("""
                SELECT id, secret_hash, name, created_at, expires_at, uses_left, used, revoked, needs_approval, tags
                FROM invites WHERE id = ?
                """, [.text(inviteID)]).first else { return .refused(.invalid) }
            let invite = Self.invite(row)
            guard JoinToken.sameHash(invite.secretHash, secretHash), !invite.revoked else { return .refused(.invalid) }
            if let existing = try tx.rows("SELECT name, pending, invite FROM members WHERE public_key = ?", [key]).first {
                // The same joiner again (its reply was lost): the same answer.
                guard existing[2].string == inviteID, let name = existing[0].string else { return .refused(.keyTaken) }
                return .member(name: name, pending: existing[1].int == 1)
            }
            if let expires = invite.expiresAt, now >= expires { return .refused(.expired) }
            // Take a use in one conditional statement: on PostgreSQL it locks the row, so two
            // switches redeeming the last use at once cannot both succeed (the second finds none
            // left); a revoke that committed first is seen here too.
            guard try tx.execute("UPDATE invites SET uses_left = uses_left - 1, used = used + 1 WHERE id = ? AND revoked = 0 AND uses_left > 0",
                                 [.text(inviteID)]) == 1 else {
                return .refused(try tx.int("SELECT revoked FROM invites WHERE id = ?", [.text(inviteID)]) == 1 ? .invalid : .used)
            }
            let used = Int(try tx.int("SELECT used FROM invites WHERE id = ?", [.text(inviteID)]) ?? 1)
            var suffix = used
            var name = Self.numbered(invite.name, suffix)
            while try tx.int("SELECT COUNT(*) FROM members WHERE name = ?", [.text(name)]) != 0 {
                suffix += 1
                guard suffix < used + 1000 else { throw .nameTaken(name) }
                name = Self.numbered(invite.name, suffix)
            }
            try Self.insert(Member(name: name, publicKey: publicKey, tags: invite.tags, pending: invite.needsApproval,
                                   createdAt: now, invite: invite.id), tx)
            try bump(tx)
            return .member(name: name, pending: invite.needsApproval)
        }
    }

    /// The name of the `n`th member joining with an invite named `base` (`base`, `base-2`, ...),
    /// the base shortened so that the whole stays a valid name (63 bytes at most).
    static func numbered(_ base: String, _ n: Int) -> String {
        guard n > 1 else { return base }
        let suffix = "-\(n)"
        return String(base.prefix(63 - suffix.count)) + suffix
    }

    // MARK: Operators

    public func addOperator(_ name: String, tokenHash: String) throws(StoreError) {
        guard Member.isValidName(name) else { throw .invalidName(name) }
        try backend.transaction { (tx) throws(StoreError) in
            if try tx.int("SELECT COUNT(*) FROM operators WHERE name = ?", [.text(name)]) != 0 { throw .operatorExists(name) }
            try tx.execute("INSERT INTO operators (name, token_hash, created_at) VALUES (?, ?, ?)",
                           [.text(name), .text(tokenHash), .integer(UnixTime.now)])
        }
    }

    public func removeOperator(_ name: String) throws(StoreError) {
        try backend.transaction { (tx) throws(StoreError) in
            guard try tx.execute("DELETE FROM operators WHERE name = ?", [.text(name)]) > 0 else { throw .noSuchOperator(name) }
        }
    }

    public func operatorHashes() throws(StoreError) -> Set<String> {
        try backend.transaction { (tx) throws(StoreError) in
            Set(try tx.rows("SELECT token_hash FROM operators", []).compactMap { $0[0].string })
        }
    }

    public func operators() throws(StoreError) -> [String] {
        try backend.transaction { (tx) throws(StoreError) in
            try tx.rows("SELECT name FROM operators ORDER BY name", []).compactMap { $0[0].string }
        }
    }

    static func invite(_ row: [SQLValue]) -> Invite {
        Invite(id: row[0].string ?? "", secretHash: row[1].string ?? "", name: row[2].string ?? "",
               createdAt: row[3].int ?? 0, expiresAt: row[4].int, usesLeft: Int(row[5].int ?? 0), used: Int(row[6].int ?? 0),
               revoked: row[7].int == 1, needsApproval: row[8].int == 1, tags: tags(row[9].string))
    }

}

/// Unix seconds now.
public enum UnixTime {
    public static var now: Int64 {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Int64(t.tv_sec)
    }
}
