/// A value in a row or a statement's argument: the three kinds the member schema uses, so the
/// same SQL runs on SQLite and PostgreSQL.
public enum SQLValue: Sendable, Equatable {
    case integer(Int64)
    case text(String)
    case null

    var int: Int64? { if case .integer(let v) = self { v } else { nil } }
    var string: String? { if case .text(let v) = self { v } else { nil } }
}

/// Statements inside one transaction. SQL uses `?` for arguments (the PostgreSQL backend
/// numbers them).
protocol SQLTransaction {
    /// Runs a statement; returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws(StoreError) -> Int
    func rows(_ sql: String, _ arguments: [SQLValue]) throws(StoreError) -> [[SQLValue]]
}

/// One database connection (or pool) the member store runs its SQL on.
///
/// Why not SQLKit: its API is async only, and the store runs on a thread of its own where a
/// blocking call is the simpler contract; GRDB (SQLite) and PostgresNIO (PostgreSQL, which also
/// gives LISTEN/NOTIFY) under this two-method seam keep one copy of every query.
protocol SQLBackend: Sendable {
    var location: String { get }
    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    func transaction<T>(_ body: (any SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T
    /// Whether each change also notifies other writers' listeners (PostgreSQL's NOTIFY).
    var notifiesChanges: Bool { get }
    /// Calls `changed` when another writer notified a change (see `MemberStore.watch`).
    func watch(_ changed: @escaping @Sendable () -> Void)
    func stopWatching()
}

extension SQLBackend {
    func watch(_ changed: @escaping @Sendable () -> Void) {}
    func stopWatching() {}
}

extension SQLTransaction {
    func int(_ sql: String, _ arguments: [SQLValue] = []) throws(StoreError) -> Int64? {
        try rows(sql, arguments).first?.first?.int
    }
}
