/// The ban tables, their version (`meta.schema`) and the migration from earlier versions.
///
/// Version 2 writes a ban's `data` once: the history row (`bans`) holds it and the
/// current row (`current`) points at that row (`ban`, its rowid) with `data` NULL. A
/// current row keeps its own `data` when it has no history row to point at: rows of
/// version 1 and of fail2ban imports, and rows whose history row `purge` removed (it
/// moves the data over first). Readers take `coalesce(current.data, bans.data)`.
/// `current` has no index on `timeofban` any more: restore reads every current row
/// anyway, and purge runs once per start. Each index is one more B-tree insert per ban;
/// in a 5,000-ban burst the second copy of the data and that index were half of the
/// store's time.
enum StoreSchema {
    static let version = 2

    /// `current` joined with the history row that holds its data.
    static let currentWithData = "current LEFT JOIN bans ON bans.rowid = current.ban"
    /// The data column of `currentWithData`.
    static let currentData = "coalesce(current.data, bans.data)"

    private static let tables = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
        INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '\(version)');
        CREATE TABLE IF NOT EXISTS bans(
            jail TEXT NOT NULL, address TEXT NOT NULL, timeofban REAL NOT NULL,
            bantime INTEGER NOT NULL, bancount INTEGER NOT NULL DEFAULT 1, data TEXT);
        CREATE INDEX IF NOT EXISTS bans_timeofban ON bans(timeofban);
        CREATE INDEX IF NOT EXISTS bans_address ON bans(address);
        CREATE TABLE IF NOT EXISTS current(
            address TEXT NOT NULL, jail TEXT NOT NULL, timeofban REAL NOT NULL,
            bantime INTEGER NOT NULL, bancount INTEGER NOT NULL DEFAULT 1, data TEXT, ban INTEGER,
            PRIMARY KEY(address, jail)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS positions(
            path TEXT PRIMARY KEY, device INTEGER NOT NULL, inode INTEGER NOT NULL,
            offset INTEGER NOT NULL, firstline TEXT) WITHOUT ROWID;
        """

    /// Version 1 kept the data in both tables and indexed `current` on `timeofban`.
    /// Its current rows keep their data (`ban` NULL), so nothing is rewritten.
    private static let fromVersion1 = """
        ALTER TABLE current ADD COLUMN ban INTEGER;
        DROP INDEX IF EXISTS current_timeofban;
        UPDATE meta SET value = '2' WHERE key = 'schema';
        """

    /// Creates the tables of a new file, migrates an older one in one transaction, and
    /// refuses a file written by a newer warden.
    static func prepare(_ sqlite: SQLiteConnection) throws {
        switch try storedVersion(sqlite) {
        case nil:
            try sqlite.execute(tables)
        case 1:
            try sqlite.transaction { try sqlite.execute(fromVersion1) }
        case version:
            break
        case let other?:
            throw StoreError(code: 0, message: "store schema \(other) is newer than this warden's (\(version))")
        }
    }

    /// `meta.schema`, or nil for a file without the table (a new store).
    static func storedVersion(_ sqlite: SQLiteConnection) throws -> Int? {
        let table = try sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
        try table.bind([])
        guard try table.step() else { return nil }
        let schema = try sqlite.prepare("SELECT value FROM meta WHERE key = 'schema'")
        try schema.bind([])
        guard try schema.step(), let text = schema.text(0), let number = Int(text) else {
            throw StoreError(code: 0, message: "store has a meta table without a schema version")
        }
        return number
    }
}
