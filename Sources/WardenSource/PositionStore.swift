/// Where a `LogTailer` keeps its positions across restarts: a file of its own (`warden
/// tail`), or the daemon's ban database, where positions are written in the same
/// transaction as the bans decided from the lines before them. The tailer knows only this
/// protocol, so WardenSource does not depend on the store.
public protocol LogPositionStore: Sendable {
    /// The positions saved last; empty when none were.
    func loadPositions() throws -> [SavedPosition]
    /// Replaces the saved positions (called on the tailer's thread after its consumer
    /// returned, every `positionSaveInterval` and at stop).
    func savePositions(_ positions: [SavedPosition]) throws
}

/// Where a `JournalReader` keeps the cursor of the last entry handled.
public protocol JournalCursorStore: Sendable {
    func loadCursor() throws -> String?
    func saveCursor(_ cursor: String) throws
}

extension PositionFile: LogPositionStore {
    public func loadPositions() throws -> [SavedPosition] { try load() }
    public func savePositions(_ positions: [SavedPosition]) throws { try save(positions) }
}

extension JournalCursorFile: JournalCursorStore {
    public func loadCursor() throws -> String? { try load() }
    public func saveCursor(_ cursor: String) throws { try save(cursor) }
}

extension SavedPosition {
    /// For stores that keep the fields in their own form (the daemon's database).
    public init(path: String, device: UInt64, inode: UInt64, offset: UInt64, prefix: String, rotated: Bool) {
        self.path = path
        self.file = FileIdentity(device: device, inode: inode)
        self.offset = offset
        self.prefix = prefix
        self.rotated = rotated
    }
}
