import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// SQLite through GRDB: one file (mode 600), write-ahead log, a writer waits up to 5 s for
/// another (the CLI and the daemon may write at once).
final class SQLiteBackend: SQLBackend {
    let queue: DatabaseQueue
    let location: String
    var notifiesChanges: Bool { false }

    init(path: String) throws(StoreError) {
        location = "sqlite \(path)"
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.foreignKeysEnabled = true
        // Members may carry preshared keys: nobody but the owner reads the file (or its journal).
        let old = umask(0o077)
        defer { umask(old) }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    func transaction<T>(_ body: (any SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
        var result: Result<T, StoreError>?
        do {
            try queue.inTransaction(.immediate) { db in
                do throws(StoreError) {
                    result = .success(try body(Transaction(db: db)))
                    return .commit
                } catch {
                    result = .failure(error)
                    return .rollback
                }
            }
        } catch {
            throw Self.storeError(error, path: location)
        }
        return try result!.get()
    }

    struct Transaction: SQLTransaction {
        let db: Database

        @discardableResult
        func execute(_ sql: String, _ arguments: [SQLValue]) throws(StoreError) -> Int {
            do {
                try db.execute(sql: sql, arguments: StatementArguments(arguments.map(Self.value)))
                return db.changesCount
            } catch { throw SQLiteBackend.storeError(error, path: "") }
        }

        func rows(_ sql: String, _ arguments: [SQLValue]) throws(StoreError) -> [[SQLValue]] {
            do {
                return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments.map(Self.value))).map { row in
                    row.databaseValues.map { value in
                        switch value.storage {
                        case .int64(let i): .integer(i)
                        case .string(let s): .text(s)
                        case .double(let d): .integer(Int64(d))
                        case .null, .blob: .null
                        }
                    }
                }
            } catch { throw SQLiteBackend.storeError(error, path: "") }
        }

        static func value(_ v: SQLValue) -> (any DatabaseValueConvertible)? {
            switch v {
            case .integer(let i): i
            case .text(let s): s
            case .null: nil
            }
        }
    }

    static func storeError(_ error: any Error, path: String) -> StoreError {
        if let e = error as? StoreError { return e }
        if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED: return .locked(e.message ?? "busy")
            case .SQLITE_FULL: return .database("the disk is full: free space where the database lives")
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return .database("\(path) is damaged or not a Lanyard database: restore it from a backup or `lanyard member export`")
            case .SQLITE_CANTOPEN: return .database("cannot open \(path): check that its folder exists and is writable")
            case .SQLITE_READONLY: return .database("\(path) is read-only")
            default: return .database(e.message ?? "\(e)")
            }
        }
        return .database("\(error)")
    }
}

extension SQLMemberStore {
    /// The member store in an SQLite file, created (mode 600) with its schema if missing.
    public static func sqlite(path: String) throws(StoreError) -> SQLMemberStore {
        try SQLMemberStore(backend: try SQLiteBackend(path: path))
    }
}
