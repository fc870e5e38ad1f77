import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// PostgreSQL through PostgresNIO: one connection for the store's statements, made again when
/// lost, and (for `watch`) one that LISTENs for other writers' changes.
///
/// PostgresNIO is asynchronous; the store's callers are a thread of their own (or the CLI), so
/// each statement's future is waited for here, with the calling thread blocked.
final class PostgresBackend: SQLBackend, @unchecked Sendable {
    let configuration: PostgresConnection.Configuration
    let location: String
    let logger: Logger
    var notifiesChanges: Bool { true }
    /// Guarded by `lock`: the store's connection, nil until first used or after it failed.
    private var connection: PostgresConnection?
    private let lock = NSLock()
    /// Guarded by `lock`: the task that LISTENs, while watching.
    private var listener: Task<Void, Never>?

    init(url: String, logger: Logger) throws(StoreError) {
        (configuration, location) = try Self.parse(url)
        self.logger = logger
    }

    /// Closes the connection and waits for it (PostgresNIO requires a connection closed before
    /// it is released). Runs on the thread that lets go of the store, never an event loop's.
    deinit {
        listener?.cancel()
        try? connection?.close().wait()
    }

    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?host=/socket/folder&sslmode=disable|prefer|require]
    /// (libpq's form; a password may also come from PGPASSWORD).
    static func parse(_ url: String) throws(StoreError) -> (PostgresConnection.Configuration, String) {
        guard let c = URLComponents(string: url), c.scheme == "postgres" || c.scheme == "postgresql" else {
            throw .invalidValue("the database is not a PostgreSQL URL that can be read: use postgres://USER:PASSWORD@HOST:PORT/DATABASE, with characters such as / # ? @ in the password written as %2F %23 %3F %40")
        }
        let query = Dictionary((c.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let user = c.user ?? "lanyard"
        let password = c.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        let database = c.path.isEmpty || c.path == "/" ? user : String(c.path.dropFirst())
        let port = c.port ?? 5432
        if let folder = query["host"], folder.hasPrefix("/") {
            return (.init(unixSocketPath: "\(folder)/.s.PGSQL.\(port)", username: user, password: password, database: database),
                    "postgresql \(user)@\(folder)/.s.PGSQL.\(port)/\(database)")
        }
        guard let host = c.host, !host.isEmpty else { throw .invalidValue("the PostgreSQL URL names no host: use postgres://USER@HOST/DATABASE") }
        let tls: PostgresConnection.Configuration.TLS
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "prefer", "require":
            do {
                let context = try NIOSSLContext(configuration: .makeClientConfiguration())
                tls = query["sslmode"] == "require" ? .require(context) : .prefer(context)
            } catch { throw .database("cannot set up TLS: \(error)") }
        case let other: throw .invalidValue("sslmode '\(other)' is not supported: use disable, prefer or require")
        }
        return (.init(host: host, port: port, username: user, password: password, database: database, tls: tls),
                "postgresql \(user)@\(host):\(port)/\(database)")
    }

    func transaction<T>(_ body: (any SQLTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        let connection = try connected()
        let tx = Transaction(connection: connection, logger: logger)
        do {
            try tx.execute("BEGIN", [])
            let result = try body(tx)
            try tx.execute("COMMIT", [])
            return result
        } catch {
            // A failed statement or a lost connection: roll back, and start afresh next time if
            // the connection is gone.
            if (try? tx.execute("ROLLBACK", [])) == nil { drop() }
            throw error
        }
    }

    private func connected() throws(StoreError) -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        do {
            let made = try PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(),
                                                      configuration: configuration, id: 1, logger: logger).wait()
            connection = made
            return made
        } catch {
            throw .database("cannot reach \(location): \(Self.describe(error))")
        }
    }

    private func drop() {
        if let connection { _ = connection.close() as EventLoopFuture<Void> }
        connection = nil
    }

    /// LISTENs on its own connection for other writers' NOTIFY; made again (after 1, 2, 4 …
    /// 10 s) when lost, and `changed` is called on each new connection too, for anything missed.
    func watch(_ changed: @escaping @Sendable () -> Void) {
        let configuration = configuration, logger = logger, location = location
        let task = Task {
            var delay: UInt64 = 1
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
                    delay = 1
                    changed()
                    do {
                        try await connection.listen(on: "lanyard_members") { notifications in
                            for try await _ in notifications { changed() }
                        }
                    } catch {
                        logger.debug("LISTEN on \(location) ended: \(Self.describe(error))")
                    }
                    try? await connection.close()
                } catch {
                    logger.debug("cannot LISTEN on \(location): \(Self.describe(error))")
                }
                try? await Task.sleep(nanoseconds: delay * 1_000_000_000)
                delay = min(delay * 2, 10)
            }
        }
        lock.withLock { listener = task }
    }

    func stopWatching() {
        lock.withLock {
            listener?.cancel()
            listener = nil
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return message }
            return "\(e.code)"
        }
        return "\(error)"
    }

    struct Transaction: SQLTransaction {
        let connection: PostgresConnection
        let logger: Logger

        @discardableResult
        func execute(_ sql: String, _ arguments: [SQLValue]) throws(StoreError) -> Int {
            _ = try run(sql, arguments)
            return changed
        }

        func rows(_ sql: String, _ arguments: [SQLValue]) throws(StoreError) -> [[SQLValue]] {
            try run(sql, arguments).rows
        }

        /// Rows changed by the last statement: PostgresNIO reports it in the command tag.
        private var changed: Int { lastTag.value }
        private let lastTag = Tag()
        final class Tag { var value = 0 }

        private func run(_ sql: String, _ arguments: [SQLValue]) throws(StoreError) -> (rows: [[SQLValue]], tag: Int) {
            var text = ""
            var n = 0
            for ch in sql {
                if ch == "?" { n += 1; text += "$\(n)" } else { text.append(ch) }
            }
            var binds = PostgresBindings()
            for a in arguments {
                switch a {
                case .integer(let i): binds.append(i)
                case .text(let s): binds.append(s)
                case .null: binds.appendNull()
                }
            }
            do {
                let result = try connection.query(PostgresQuery(unsafeSQL: text, binds: binds), logger: logger).wait()
                let rows = try result.rows.map { row in
                    try row.map { cell -> SQLValue in
                        guard cell.bytes != nil else { return .null }
                        switch cell.dataType {
                        case .int8: return .integer(try cell.decode(Int64.self))
                        case .int4: return .integer(Int64(try cell.decode(Int32.self)))
                        case .int2: return .integer(Int64(try cell.decode(Int16.self)))
                        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
                        case .void: return .null
                        default: return .text(try cell.decode(String.self))
                        }
                    }
                }
                lastTag.value = result.metadata.rows ?? 0
                return (rows, lastTag.value)
            } catch {
                throw .database(PostgresBackend.describe(error))
            }
        }
    }
}

extension SQLMemberStore {
    /// The member store in a PostgreSQL database (shared by several switches), its schema
    /// created or brought up to date at start.
    public static func postgres(url: String, logger: Logger) throws(StoreError) -> SQLMemberStore {
        // An advisory lock held to the end of the migration's transaction: switches starting at
        // once migrate one after another.
        try SQLMemberStore(backend: try PostgresBackend(url: url, logger: logger), migrationLock: "SELECT pg_advisory_xact_lock(7460)")
    }
}
