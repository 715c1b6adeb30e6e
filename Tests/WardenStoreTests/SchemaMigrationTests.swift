import Testing
@testable import WardenStore

/// Stores written by earlier versions open, migrate once and keep their bans.
struct SchemaMigrationTests {
    /// The tables as schema version 1 created them: the data in both tables and
    /// `current` indexed on `timeofban`.
    static let version1 = """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
        INSERT INTO meta(key, value) VALUES('schema', '1');
        CREATE TABLE bans(
            jail TEXT NOT NULL, address TEXT NOT NULL, timeofban REAL NOT NULL,
            bantime INTEGER NOT NULL, bancount INTEGER NOT NULL DEFAULT 1, data TEXT);
        CREATE INDEX bans_timeofban ON bans(timeofban);
        CREATE INDEX bans_address ON bans(address);
        CREATE TABLE current(
            address TEXT NOT NULL, jail TEXT NOT NULL, timeofban REAL NOT NULL,
            bantime INTEGER NOT NULL, bancount INTEGER NOT NULL DEFAULT 1, data TEXT,
            PRIMARY KEY(address, jail)) WITHOUT ROWID;
        CREATE INDEX current_timeofban ON current(timeofban);
        CREATE TABLE positions(
            path TEXT PRIMARY KEY, device INTEGER NOT NULL, inode INTEGER NOT NULL,
            offset INTEGER NOT NULL, firstline TEXT) WITHOUT ROWID;
        INSERT INTO bans VALUES('sshd', '192.0.2.1', 1000, 600, 1, '{"matches": ["first"], "failures": 3}');
        INSERT INTO bans VALUES('sshd', '192.0.2.1', 5000, 1200, 2, '{"matches": ["second"], "failures": 4}');
        INSERT INTO current VALUES('192.0.2.1', 'sshd', 5000, 1200, 2, '{"matches": ["second"], "failures": 4}');
        """

    @Test func version1StoreIsMigratedAndKeepsItsBans() throws {
        let path = BanStoreTests.temporaryPath("v1")
        defer { BanStoreTests.remove(path) }
        try SQLiteConnection(path: path).execute(Self.version1)

        let store = try BanStore(path: path)
        #expect(try store.read(StoreSchema.storedVersion) == 2)
        #expect(try Self.integer("SELECT count(*) FROM sqlite_master WHERE name = 'current_timeofban'", in: store) == 0)
        // The version-1 row keeps its own data.
        let (ban, data) = try #require(try store.currentBan(jail: "sshd", address: "192.0.2.1"))
        #expect(ban.banCount == 2 && ban.banTime == 1200)
        #expect(data == BanData(matches: ["second"], failures: 4))
        #expect(try store.restoreBans(now: 5100).map(\.data) == [#"{"matches": ["second"], "failures": 4}"#])
        #expect(try store.mergedBans(address: "192.0.2.1", jail: "sshd").failures == 7)

        // New bans are written the version-2 way, and the file opens again unchanged.
        try store.record([StoredBan(jail: "sshd", address: "192.0.2.1", timeOfBan: 9000, banTime: 2400, banCount: 3,
                                    data: #"{"matches": ["third"], "failures": 5}"#)])
        let reopened = try BanStore(path: path)
        #expect(try reopened.banCount(address: "192.0.2.1", jail: "sshd")?.count == 3)
        #expect(try reopened.currentBan(jail: "sshd", address: "192.0.2.1")?.data == BanData(matches: ["third"], failures: 5))
        #expect(try reopened.history(jail: "sshd").count == 3)
    }

    @Test func newerSchemaIsRefused() throws {
        let path = BanStoreTests.temporaryPath("v99")
        defer { BanStoreTests.remove(path) }
        try SQLiteConnection(path: path).execute(
            "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID; INSERT INTO meta VALUES('schema', '99');")
        #expect(throws: StoreError.self) { try BanStore(path: path) }
    }

    @Test func dataWrittenOnceIsKeptWhenPurgeDropsTheHistoryRow() throws {
        let path = BanStoreTests.temporaryPath("purge-data")
        defer { BanStoreTests.remove(path) }
        let store = try BanStore(path: path)
        let day = 86400.0, now = 10 * day
        try store.record([StoredBan(jail: "j", address: "forever", timeOfBan: now - 3 * day, banTime: -1,
                                    data: #"{"matches": ["kept"], "failures": 3}"#)])
        #expect(try Self.integer("SELECT data IS NULL AND ban IS NOT NULL FROM current", in: store) == 1)
        try store.purge(age: day, now: now)
        #expect(try store.history().isEmpty)
        #expect(try store.currentBan(jail: "j", address: "forever")?.data == BanData(matches: ["kept"], failures: 3))
        #expect(try store.restoreBans(now: now).first?.data == #"{"matches": ["kept"], "failures": 3}"#)
    }

    /// The first column of the first row of `sql`, read through the store's connection.
    static func integer(_ sql: String, in store: BanStore) throws -> Int64 {
        try store.read { sqlite in
            let statement = try sqlite.prepare(sql)
            try statement.bind([])
            _ = try statement.step()
            return statement.int(0)
        }
    }
}
