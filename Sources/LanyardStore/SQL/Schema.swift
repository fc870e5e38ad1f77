/// The member database's schema, as numbered migrations applied in order at start, each in the
/// transaction that records it. The same SQL serves SQLite and PostgreSQL: integers are BIGINT
/// (flags 0/1), text is TEXT, members are keyed by their public key (names may change).
enum Schema {
    /// Each entry is one version's statements; version N is `migrations[N - 1]`.
    static let migrations: [[String]] = [
        [
            "CREATE TABLE lanyard_state (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO lanyard_state (key, value) VALUES ('revision', 1)",
            """
            CREATE TABLE members (public_key TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, preshared_key TEXT,
              tags TEXT NOT NULL DEFAULT '', enabled BIGINT NOT NULL DEFAULT 1, pending BIGINT NOT NULL DEFAULT 0,
              created_at BIGINT NOT NULL, invite TEXT)
            """,
            """
            CREATE TABLE member_macs (mac TEXT PRIMARY KEY,
              public_key TEXT NOT NULL REFERENCES members(public_key) ON DELETE CASCADE)
            """,
            """
            CREATE TABLE member_addresses (address TEXT PRIMARY KEY,
              public_key TEXT NOT NULL REFERENCES members(public_key) ON DELETE CASCADE)
            """,
            """
            CREATE TABLE invites (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, name TEXT NOT NULL,
              created_at BIGINT NOT NULL, expires_at BIGINT, uses_left BIGINT NOT NULL, used BIGINT NOT NULL DEFAULT 0,
              revoked BIGINT NOT NULL DEFAULT 0, needs_approval BIGINT NOT NULL DEFAULT 0, tags TEXT NOT NULL DEFAULT '')
            """,
            "CREATE TABLE operators (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL)",
        ],
        [
            // The switches that serve one network from one (shared) database.
            """
            CREATE TABLE switches (name TEXT PRIMARY KEY, public_key TEXT NOT NULL UNIQUE,
              mesh_endpoint TEXT NOT NULL, endpoints TEXT NOT NULL DEFAULT '', updated_at BIGINT NOT NULL)
            """,
        ],
    ]

    static var latest: Int { migrations.count }

    /// Brings the database to the latest version; refuses one made by a newer Lanyard.
    /// `lock` (PostgreSQL) serializes switches that start at once against one database.
    static func migrate(_ backend: any SQLBackend, lock: String?) throws(StoreError) {
        try backend.transaction { (tx) throws(StoreError) in
            if let lock { try tx.execute(lock, []) }
            try tx.execute("CREATE TABLE IF NOT EXISTS lanyard_schema (version BIGINT NOT NULL)", [])
            let found = Int(try tx.int("SELECT MAX(version) FROM lanyard_schema") ?? 0)
            guard found <= latest else { throw .newerSchema(found: found, known: latest) }
            for version in stride(from: found + 1, through: latest, by: 1) {
                for statement in migrations[version - 1] { try tx.execute(statement, []) }
                try tx.execute("INSERT INTO lanyard_schema (version) VALUES (?)", [.integer(Int64(version))])
            }
        }
    }
}
