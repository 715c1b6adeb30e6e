import Synchronization

/// A ban as the store keeps it.
public struct StoredBan: Sendable, Equatable {
    public var jail: String
    /// The address or network as text (`192.0.2.1`, `2001:db8::/64`), or a raw failure id.
    public var address: String
    /// Epoch seconds the ban started.
    public var timeOfBan: Double
    /// Seconds; negative means permanent.
    public var banTime: Int64
    /// How many times the address has been banned in this jail, this ban included.
    public var banCount: Int
    /// JSON with extra ticket data (matches, failures), as fail2ban's `data` column.
    public var data: String?

    public init(jail: String, address: String, timeOfBan: Double, banTime: Int64, banCount: Int = 1, data: String? = nil) {
        self.jail = jail
        self.address = address
        self.timeOfBan = timeOfBan
        self.banTime = banTime
        self.banCount = banCount
        self.data = data
    }

    public var isPermanent: Bool { banTime < 0 }

    /// Seconds left at `now`; nil for a permanent ban.
    public func remaining(at now: Double) -> Double? {
        isPermanent ? nil : timeOfBan + Double(banTime) - now
    }
}

/// Where tailing of one log file stopped: the file's identity (inode and device, and
/// a hash of its first line to notice a new file that reuses the inode) and the byte
/// offset after the last line handled.
public struct LogPosition: Sendable, Equatable {
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    public var offset: Int64
    /// Hex digest of the first line (fail2ban keeps an MD5), nil when unknown.
    public var firstLineHash: String?

    public init(path: String, device: UInt64 = 0, inode: UInt64, offset: Int64, firstLineHash: String?) {
        self.path = path
        self.device = device
        self.inode = inode
        self.offset = offset
        self.firstLineHash = firstLineHash
    }
}

/// How one jail's bans are restored (fail2ban's restoreCurrentBans): the stored ban
/// time is cut to the jail's current longest ban (`bantime`, or `bantime.maxtime` with
/// increments; negative = no cap), and without increments only bans started within the
/// jail's current `bantime` come back.
public struct RestorePolicy: Sendable, Equatable {
    public var maximumBanTime: Double
    public var incrementEnabled: Bool

    public init(maximumBanTime: Double, incrementEnabled: Bool) {
        self.maximumBanTime = maximumBanTime
        self.incrementEnabled = incrementEnabled
    }
}

/// SQLite persistence of bans (a history plus the current ban per jail and address)
/// and log positions.
///
/// Durability: WAL journal with `synchronous=NORMAL`. A transaction is in the WAL when
/// `record` returns, so it survives the process being killed (kill -9) at any point;
/// only a power loss can drop the last transactions. Callers write a ban here before
/// the firewall applies it, so a ban the kernel has is always one the store has.
/// All access is serialised by a mutex; the store is safe to share between threads.
public final class BanStore: Sendable {
    private let connection: Mutex<Connection>

    private struct Connection: ~Copyable, Sendable {
        let sqlite: SQLiteConnection
        let rows: BanRowWriter
        let deleteCurrent: Statement
        let deleteCurrentJail: Statement
        let selectCount: Statement
        let selectCountOverall: Statement
        let selectUnexpired: Statement
        let upsertPosition: Statement
        let selectPositions: Statement
        let advanceLogPosition: Statement
        let saveJournalCursor: Statement
    }

    public let path: String

    public init(path: String) throws {
        self.path = path
        let sqlite = try SQLiteConnection(path: path)
        try sqlite.execute("PRAGMA journal_mode=WAL")
        try sqlite.execute("PRAGMA synchronous=NORMAL")
        try StoreSchema.prepare(sqlite)
        try sqlite.execute(Self.positionSchema)
        connection = Mutex(Connection(
            sqlite: sqlite,
            // The data stays in the history row (`ban`); the current row is the key and the times.
            rows: try BanRowWriter(sqlite),
            deleteCurrent: try sqlite.prepare("DELETE FROM current WHERE jail = ? AND address = ?"),
            deleteCurrentJail: try sqlite.prepare("DELETE FROM current WHERE jail = ?"),
            selectCount: try sqlite.prepare(
                "SELECT bancount, timeofban FROM current WHERE address = ? AND jail = ?"),
            selectCountOverall: try sqlite.prepare(
                "SELECT sum(bancount), max(timeofban) FROM current WHERE address = ? HAVING count(*) > 0"),
            selectUnexpired: try sqlite.prepare(
                "SELECT current.jail, current.address, current.timeofban, current.bantime, current.bancount, "
                + StoreSchema.currentData + " FROM " + StoreSchema.currentWithData
                + " WHERE current.bantime < 0 OR current.timeofban + current.bantime > ? ORDER BY current.timeofban"),
            upsertPosition: try sqlite.prepare(
                "INSERT OR REPLACE INTO positions(path, device, inode, offset, firstline) VALUES(?, ?, ?, ?, ?)"),
            selectPositions: try sqlite.prepare("SELECT path, device, inode, offset, firstline FROM positions ORDER BY path"),
            advanceLogPosition: try sqlite.prepare(Self.advancePositionSQL),
            saveJournalCursor: try sqlite.prepare(Self.saveCursorSQL)
        ))
    }

    /// Writes bans (a history row with the data, and the current row pointing at it) in
    /// one transaction, with how far their jail had read when it decided them
    /// (`ReadProgress`); committed when it returns.
    public func record(_ bans: BanRows, progress: ReadProgress? = nil) throws {
        try connection.withLock { connection in
            try connection.sqlite.transaction {
                try connection.rows.write(bans)
                if let progress {
                    try Self.record(progress, advancePosition: connection.advanceLogPosition, saveCursor: connection.saveJournalCursor)
                }
            }
        }
    }

    /// The same for bans given as `StoredBan`s.
    public func record(_ bans: [StoredBan], progress: ReadProgress? = nil) throws {
        var rows = BanRows()
        for ban in bans { rows.append(ban) }
        try record(rows, progress: progress)
    }

    /// Ends bans early (unban): they leave `current`, the history keeps them. Without
    /// addresses every ban of the jail ends. Returns how many were current.
    @discardableResult
    public func remove(jail: String, addresses: [String]? = nil) throws -> Int {
        try connection.withLock { connection in
            try connection.sqlite.transaction {
                guard let addresses else {
                    try connection.deleteCurrentJail.run([.text(jail)])
                    return connection.sqlite.changes
                }
                var removed = 0
                for address in addresses {
                    try connection.deleteCurrent.run([.text(jail), .text(address)])
                    removed += connection.sqlite.changes
                }
                return removed
            }
        }
    }

    /// How often `address` was banned and when last, in `jail` or, with nil, summed
    /// over all jails (bantime.overalljails); nil when never (or purged).
    public func banCount(address: String, jail: String?) throws -> (count: Int, lastTimeOfBan: Double)? {
        try connection.withLock { connection in
            let statement = jail == nil ? connection.selectCountOverall : connection.selectCount
            try statement.bind(jail.map { [.text(address), .text($0)] } ?? [.text(address)])
            guard try statement.step(), !statement.isNull(0) else { return nil }
            return (Int(statement.int(0)), statement.double(1))
        }
    }

    /// Bans still in force at `now`, in one query, with fail2ban's restore rules when a
    /// policy is given for the jail: the ban time cut to the jail's longest ban, and
    /// without increments only bans started within the current bantime. Bans of jails
    /// missing from `policies` come back as stored; pass an empty dictionary with
    /// `onlyConfiguredJails` to restore configured jails only.
    public func restoreBans(now: Double, policies: [String: RestorePolicy] = [:],
                            onlyConfiguredJails: Bool = false) throws -> [StoredBan] {
        try connection.withLock { connection in
            let statement = connection.selectUnexpired
            try statement.bind([.real(now)])
            var restored: [StoredBan] = []
            while try statement.step() {
                var ban = StoredBan(jail: statement.text(0) ?? "", address: statement.text(1) ?? "",
                                    timeOfBan: statement.double(2), banTime: statement.int(3),
                                    banCount: Int(statement.int(4)), data: statement.text(5))
                if let policy = policies[ban.jail] {
                    if policy.maximumBanTime >= 0, ban.banTime < 0 || Double(ban.banTime) > policy.maximumBanTime {
                        ban.banTime = Int64(policy.maximumBanTime.rounded(.up))
                    }
                    if !policy.incrementEnabled, policy.maximumBanTime >= 0,
                       ban.timeOfBan <= now - policy.maximumBanTime {
                        continue
                    }
                    if let remaining = ban.remaining(at: now), remaining <= 0 { continue }
                } else if onlyConfiguredJails {
                    continue
                }
                restored.append(ban)
            }
            return restored
        }
    }

    /// `dbpurgeage`: drops history older than `age` seconds and current entries that
    /// ended long ago — started before `now - age` and, like fail2ban's bips purge,
    /// over by three ban times before it. Permanent bans stay. A current entry that
    /// stays while its history row goes takes the row's data first. Returns rows deleted.
    @discardableResult
    public func purge(age: Double, now: Double) throws -> Int {
        try connection.withLock { connection in
            try connection.sqlite.transaction {
                let limit = now - age
                let current = try connection.sqlite.prepare(
                    "DELETE FROM current WHERE timeofban < ? AND bantime >= 0 AND timeofban + bantime * 3 < ?")
                try current.run([.real(limit), .real(limit)])
                var deleted = connection.sqlite.changes
                let keepData = try connection.sqlite.prepare(
                    "UPDATE current SET data = (SELECT data FROM bans WHERE bans.rowid = current.ban), ban = NULL "
                    + "WHERE ban IN (SELECT rowid FROM bans WHERE timeofban < ?)")
                try keepData.run([.real(limit)])
                let history = try connection.sqlite.prepare("DELETE FROM bans WHERE timeofban < ?")
                try history.run([.real(limit)])
                deleted += connection.sqlite.changes
                return deleted
            }
        }
    }

    /// Every ban ever recorded (history), oldest first; for `warden banned` and tests.
    public func history(jail: String? = nil) throws -> [StoredBan] {
        try connection.withLock { connection in
            let statement = try connection.sqlite.prepare(
                "SELECT jail, address, timeofban, bantime, bancount, data FROM bans"
                + (jail == nil ? "" : " WHERE jail = ?") + " ORDER BY rowid")
            try statement.bind(jail.map { [.text($0)] } ?? [])
            var result: [StoredBan] = []
            while try statement.step() {
                result.append(StoredBan(jail: statement.text(0) ?? "", address: statement.text(1) ?? "",
                                        timeOfBan: statement.double(2), banTime: statement.int(3),
                                        banCount: Int(statement.int(4)), data: statement.text(5)))
            }
            return result
        }
    }

    public func savePositions(_ positions: [LogPosition]) throws {
        try connection.withLock { connection in
            try connection.sqlite.transaction {
                for position in positions {
                    try connection.upsertPosition.run([
                        .text(position.path), .integer(Int64(bitPattern: position.device)),
                        .integer(Int64(bitPattern: position.inode)), .integer(position.offset),
                        position.firstLineHash.map(Statement.Value.text) ?? .null,
                    ])
                }
            }
        }
    }

    public func positions() throws -> [LogPosition] {
        try connection.withLock { connection in
            let statement = connection.selectPositions
            try statement.bind([])
            var result: [LogPosition] = []
            while try statement.step() {
                result.append(LogPosition(path: statement.text(0) ?? "", device: UInt64(bitPattern: statement.int(1)),
                                          inode: UInt64(bitPattern: statement.int(2)), offset: statement.int(3),
                                          firstLineHash: statement.text(4)))
            }
            return result
        }
    }

    /// Runs `body` with the raw connection, outside a transaction (reads).
    func read<T: Sendable>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try connection.withLock { connection in try body(connection.sqlite) }
    }

    /// Runs `body` with the raw connection inside one transaction (for the importer).
    func withTransaction<T: Sendable>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try connection.withLock { connection in
            try connection.sqlite.transaction { try body(connection.sqlite) }
        }
    }
}
