/// Where one jail stopped reading one log file: the file's identity (device, inode), the
/// offset after the last line handled, the file's first bytes (hex) to notice a file
/// replaced under the same inode, and whether it had been rotated away from `path` and
/// was still being drained. fail2ban's `logs` table keeps path, a first-line MD5 and the
/// position per jail.
public struct JailLogPosition: Sendable, Equatable {
    public var jail: String
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    public var offset: UInt64
    public var prefix: String
    public var rotated: Bool

    public init(jail: String, path: String, device: UInt64, inode: UInt64, offset: UInt64, prefix: String = "", rotated: Bool = false) {
        self.jail = jail
        self.path = path
        self.device = device
        self.inode = inode
        self.offset = offset
        self.prefix = prefix
        self.rotated = rotated
    }
}

/// How far a jail had read when it decided some bans: recorded in the bans' transaction,
/// so after a crash the lines that led to a ban are not read (and banned) again and the
/// lines after them are not skipped.
public enum ReadProgress: Sendable, Equatable {
    case log(JailLogPosition)
    case journal(jail: String, cursor: String)
}

extension BanStore {
    static let positionSchema = """
        CREATE TABLE IF NOT EXISTS logs(
            jail TEXT NOT NULL, path TEXT NOT NULL, device INTEGER NOT NULL, inode INTEGER NOT NULL,
            offset INTEGER NOT NULL, prefix TEXT NOT NULL DEFAULT '', rotated INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY(jail, path, device, inode)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS journals(jail TEXT PRIMARY KEY, cursor TEXT NOT NULL) WITHOUT ROWID;
        """

    /// The jail's saved file positions, by path.
    public func logPositions(jail: String) throws -> [JailLogPosition] {
        try read { sqlite in
            let statement = try sqlite.prepare(
                "SELECT path, device, inode, offset, prefix, rotated FROM logs WHERE jail = ? ORDER BY path, rotated DESC")
            try statement.bind([.text(jail)])
            var positions: [JailLogPosition] = []
            while try statement.step() {
                positions.append(JailLogPosition(
                    jail: jail, path: statement.text(0) ?? "", device: UInt64(bitPattern: statement.int(1)),
                    inode: UInt64(bitPattern: statement.int(2)), offset: UInt64(bitPattern: statement.int(3)),
                    prefix: statement.text(4) ?? "", rotated: statement.int(5) != 0))
            }
            return positions
        }
    }

    /// Replaces the jail's file positions with the tailer's current set, in one transaction.
    public func replaceLogPositions(jail: String, _ positions: [JailLogPosition]) throws {
        try withTransaction { sqlite in
            try sqlite.prepare("DELETE FROM logs WHERE jail = ?").run([.text(jail)])
            let insert = try sqlite.prepare(
                "INSERT OR REPLACE INTO logs(jail, path, device, inode, offset, prefix, rotated) VALUES(?, ?, ?, ?, ?, ?, ?)")
            for position in positions { try Self.upsert(position, with: insert) }
        }
    }

    public func journalCursor(jail: String) throws -> String? {
        try read { sqlite in
            let statement = try sqlite.prepare("SELECT cursor FROM journals WHERE jail = ?")
            try statement.bind([.text(jail)])
            return try statement.step() ? statement.text(0) : nil
        }
    }

    public func saveJournalCursor(jail: String, cursor: String) throws {
        try withTransaction { sqlite in try sqlite.prepare(Self.saveCursorSQL).run([.text(jail), .text(cursor)]) }
    }

    /// Moves the jail's position forward inside the bans' transaction (`record`). A row the
    /// tailer saved keeps its prefix and rotated flag; a file not saved yet gets a row that
    /// the tailer's next save completes.
    static let advancePositionSQL = """
        INSERT INTO logs(jail, path, device, inode, offset, prefix, rotated) VALUES(?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(jail, path, device, inode) DO UPDATE SET offset = max(offset, excluded.offset)
        """
    static let saveCursorSQL = "INSERT OR REPLACE INTO journals(jail, cursor) VALUES(?, ?)"

    /// Records `progress` with the statements prepared from `advancePositionSQL` and
    /// `saveCursorSQL` (every chunk of bans records one; compiling them each time is not free).
    static func record(_ progress: ReadProgress, advancePosition: Statement, saveCursor: Statement) throws {
        switch progress {
        case .log(let position): try upsert(position, with: advancePosition)
        case .journal(let jail, let cursor): try saveCursor.run([.text(jail), .text(cursor)])
        }
    }

    private static func upsert(_ position: JailLogPosition, with statement: Statement) throws {
        try statement.run([
            .text(position.jail), .text(position.path), .integer(Int64(bitPattern: position.device)),
            .integer(Int64(bitPattern: position.inode)), .integer(Int64(bitPattern: position.offset)),
            .text(position.prefix), .integer(position.rotated ? 1 : 0),
        ])
    }
}
