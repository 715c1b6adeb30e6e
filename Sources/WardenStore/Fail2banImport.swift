/// What `importFail2banDatabase` copied.
public struct Fail2banImportSummary: Sendable, Equatable {
    public var history: Int
    public var current: Int
    public var positions: Int
}

extension BanStore {
    /// fail2ban's database schema version this importer reads (fail2ban 0.11 to 1.1).
    public static let fail2banSchemaVersion = 4

    /// Copies an existing `fail2ban.sqlite3` (schema v4) into this store in one
    /// transaction: `bans` (the history), `bips` (the latest ban per address and jail,
    /// which restore and bantime.increment read) and `logs` (positions; fail2ban keeps no
    /// inode, so the first-line MD5 alone identifies the file). The source is opened
    /// read-only. A ban time of -2 (rows fail2ban migrated from schema v1, meaning "the
    /// jail's bantime") becomes `defaultBanTime`.
    @discardableResult
    public func importFail2banDatabase(path: String, defaultBanTime: Int64 = 600) throws -> Fail2banImportSummary {
        let source = try SQLiteConnection(path: path, readOnly: true)
        let version = try source.prepare("SELECT version FROM fail2banDb LIMIT 1")
        try version.bind([])
        guard try version.step() else {
            throw StoreError(code: 0, message: "\(path): no fail2banDb version row")
        }
        guard version.int(0) == Self.fail2banSchemaVersion else {
            throw StoreError(code: 0, message: "\(path): fail2ban database schema \(version.int(0)) is not supported "
                             + "(expected \(Self.fail2banSchemaVersion); let fail2ban 1.0 upgrade it first)")
        }
        func bans(_ table: String) throws -> [StoredBan] {
            let statement = try source.prepare("SELECT jail, ip, timeofban, bantime, bancount, data FROM \(table) ORDER BY rowid")
            try statement.bind([])
            var rows: [StoredBan] = []
            while try statement.step() {
                guard let jail = statement.text(0), let address = statement.text(1), !address.isEmpty else { continue }
                let banTime = statement.int(3)
                rows.append(StoredBan(jail: jail, address: address, timeOfBan: statement.double(2),
                                      banTime: banTime == -2 ? defaultBanTime : banTime,
                                      banCount: Int(statement.int(4)), data: statement.text(5)))
            }
            return rows
        }
        let history = try bans("bans")
        let current = try bans("bips")
        let logs = try source.prepare("SELECT path, firstlinemd5, lastfilepos FROM logs WHERE path IS NOT NULL")
        try logs.bind([])
        var positions: [LogPosition] = []
        while try logs.step() {
            positions.append(LogPosition(path: logs.text(0) ?? "", inode: 0, offset: logs.int(2), firstLineHash: logs.text(1)))
        }
        try withTransaction { sqlite in
            let insertHistory = try sqlite.prepare(
                "INSERT INTO bans(jail, address, timeofban, bantime, bancount, data) VALUES(?, ?, ?, ?, ?, ?)")
            let upsertCurrent = try sqlite.prepare(
                "INSERT OR REPLACE INTO current(jail, address, timeofban, bantime, bancount, data) VALUES(?, ?, ?, ?, ?, ?)")
            let upsertPosition = try sqlite.prepare(
                "INSERT OR REPLACE INTO positions(path, device, inode, offset, firstline) VALUES(?, 0, 0, ?, ?)")
            func values(_ ban: StoredBan) -> [Statement.Value] {
                [.text(ban.jail), .text(ban.address), .real(ban.timeOfBan), .integer(ban.banTime),
                 .integer(Int64(ban.banCount)), ban.data.map(Statement.Value.text) ?? .null]
            }
            for ban in history { try insertHistory.run(values(ban)) }
            for ban in current { try upsertCurrent.run(values(ban)) }
            for position in positions {
                try upsertPosition.run([.text(position.path), .integer(position.offset),
                                        position.firstLineHash.map(Statement.Value.text) ?? .null])
            }
        }
        return Fail2banImportSummary(history: history.count, current: current.count, positions: positions.count)
    }
}
