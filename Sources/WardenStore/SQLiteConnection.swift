import CSQLite

/// An SQLite error with the library's message and the statement that failed.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "sqlite error \(code): \(message)" }
}

/// One SQLite connection and the few operations the store needs: run SQL, prepare,
/// bind, step. Not thread-safe: unchecked Sendable because `BanStore` only touches it
/// (and its statements) while holding its mutex.
final class SQLiteConnection: @unchecked Sendable {
    let sqlite: SQLiteLibrary
    private let handle: OpaquePointer

    /// Throws when libsqlite3 cannot be loaded (the error has the loader's reason) or the
    /// database cannot be opened.
    init(path: String, readOnly: Bool = false) throws {
        let sqlite = try SQLiteLibrary.shared.get()
        var pointer: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let status = sqlite.open(path, &pointer, flags, nil)
        guard status == SQLITE_OK, let pointer else {
            let message = pointer.flatMap { sqlite.errorMessage($0) }.map { String(cString: $0) } ?? "cannot open"
            _ = sqlite.close(pointer)
            throw StoreError(code: status, message: "\(path): \(message)")
        }
        self.sqlite = sqlite
        handle = pointer
        _ = sqlite.busyTimeout(handle, 5000)
    }

    deinit { _ = sqlite.closeV2(handle) }

    func error(_ status: Int32, _ context: String) -> StoreError {
        StoreError(code: status, message: "\(context): \(sqlite.errorMessage(handle).map { String(cString: $0) } ?? "")")
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws {
        let status = sqlite.exec(handle, sql, nil, nil, nil)
        guard status == SQLITE_OK else { throw error(status, sql) }
    }

    func prepare(_ sql: String) throws -> Statement {
        var statement: OpaquePointer?
        let status = sqlite.prepare(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw error(status, sql) }
        return Statement(connection: self, handle: statement, sql: sql)
    }

    /// BEGIN IMMEDIATE, COMMIT and ROLLBACK, prepared at the first transaction: every
    /// chunk of bans is a transaction, and compiling the three each time showed up in
    /// the jail thread's profile.
    private var transactionStatements: (begin: Statement, commit: Statement, rollback: Statement)?

    /// Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        let statements = try transactionStatements ?? {
            let prepared = (begin: try prepare("BEGIN IMMEDIATE"), commit: try prepare("COMMIT"), rollback: try prepare("ROLLBACK"))
            transactionStatements = prepared
            return prepared
        }()
        try statements.begin.run([])
        do {
            let result = try body()
            try statements.commit.run([])
            return result
        } catch {
            try? statements.rollback.run([])
            throw error
        }
    }

    var changes: Int { Int(sqlite.changes(handle)) }
}

/// A prepared statement; values bind by 1-based position, columns read by 0-based index.
final class Statement: @unchecked Sendable {
    private unowned let connection: SQLiteConnection
    // The connection's table, copied: a statement's calls run per ban and per row, and
    // reaching it through the unowned reference would check that reference on each one.
    private let sqlite: SQLiteLibrary
    private let handle: OpaquePointer
    let sql: String

    init(connection: SQLiteConnection, handle: OpaquePointer, sql: String) {
        self.connection = connection
        sqlite = connection.sqlite
        self.handle = handle
        self.sql = sql
    }

    deinit { _ = sqlite.finalize(handle) }

    enum Value {
        case integer(Int64)
        case real(Double)
        case text(String)
        case null
    }

    /// Binds `values` after resetting the statement.
    func bind(_ values: [Value]) throws {
        _ = sqlite.reset(handle)
        _ = sqlite.clearBindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .integer(let number): status = sqlite.bindInt64(handle, index, number)
            case .real(let number): status = sqlite.bindDouble(handle, index, number)
            case .text(let text): status = sqlite.bindText(handle, index, text, -1, csqlite_transient())
            case .null: status = sqlite.bindNull(handle, index)
            }
            guard status == SQLITE_OK else { throw connection.error(status, sql) }
        }
    }

    // One value by 1-based position, for statements run per row in a hot loop (`reset()`
    // first): no array of values to build.

    /// Binds UTF-8 without SQLite copying it: the caller keeps `utf8` alive and unchanged
    /// until the statement has run (the per-ban inserts of a burst bind three strings each).
    func bind(borrowing utf8: UnsafeBufferPointer<UInt8>, at index: Int32) throws {
        guard let base = utf8.baseAddress else { return try check(sqlite.bindText(handle, index, "", 0, nil)) }
        try check(base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
            sqlite.bindText(handle, index, $0, Int32(utf8.count), nil)  // nil: SQLITE_STATIC
        })
    }

    func bindNull(at index: Int32) throws {
        try check(sqlite.bindNull(handle, index))
    }

    func bind(_ number: Int64, at index: Int32) throws {
        try check(sqlite.bindInt64(handle, index, number))
    }

    func bind(_ number: Double, at index: Int32) throws {
        try check(sqlite.bindDouble(handle, index, number))
    }

    /// Makes the statement ready to bind and run again (bindings are kept until replaced).
    func reset() { _ = sqlite.reset(handle) }

    /// Steps to completion with what is bound (for statements without rows).
    func runBound() throws {
        while try step() {}
    }

    private func check(_ status: Int32) throws {
        guard status == SQLITE_OK else { throw connection.error(status, sql) }
    }

    /// Steps once: true when a row is available.
    func step() throws -> Bool {
        let status = sqlite.step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(status, sql)
        }
    }

    /// Binds and steps to completion (for statements without rows).
    func run(_ values: [Value]) throws {
        try bind(values)
        while try step() {}
    }

    func int(_ column: Int32) -> Int64 { sqlite.columnInt64(handle, column) }
    func double(_ column: Int32) -> Double { sqlite.columnDouble(handle, column) }
    func isNull(_ column: Int32) -> Bool { sqlite.columnType(handle, column) == SQLITE_NULL }
    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite.columnText(handle, column) else { return nil }
        return String(cString: pointer)
    }
}
