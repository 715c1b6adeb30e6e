#if canImport(Glibc)
import Glibc
#endif
import WardenSource
import WardenStore

/// A jail's file positions in the ban database, behind WardenSource's `LogPositionStore`
/// seam. The first load of a jail without rows migrates the positions file earlier
/// versions kept (`positions/<jail>.positions`): read once, written to the store, removed.
struct StoredLogPositions: LogPositionStore {
    let store: BanStore
    let jail: String
    let legacyFile: String
    /// Waits until the bans decided before the save are recorded (`BanHandOff.drain`), so a
    /// saved position is never past a ban that a crash could still lose.
    let beforeSave: @Sendable () -> Void

    func loadPositions() throws -> [SavedPosition] {
        let rows = try store.logPositions(jail: jail)
        guard rows.isEmpty else {
            return rows.map { row in
                SavedPosition(path: row.path, device: row.device, inode: row.inode,
                              offset: row.offset, prefix: row.prefix, rotated: row.rotated)
            }
        }
        let migrated = try PositionFile(path: legacyFile).load()
        if !migrated.isEmpty { try savePositions(migrated) }
        unlink(legacyFile)
        return migrated
    }

    func savePositions(_ positions: [SavedPosition]) throws {
        beforeSave()
        try store.replaceLogPositions(jail: jail, positions.map { position in
            JailLogPosition(jail: jail, path: position.path, device: position.file.device, inode: position.file.inode,
                            offset: position.offset, prefix: position.prefix, rotated: position.rotated)
        })
    }
}

/// A jail's journal cursor in the ban database; migrates `positions/<jail>.cursor` once.
struct StoredJournalCursor: JournalCursorStore {
    let store: BanStore
    let jail: String
    let legacyFile: String
    /// As `StoredLogPositions.beforeSave`.
    let beforeSave: @Sendable () -> Void

    func loadCursor() throws -> String? {
        if let cursor = try store.journalCursor(jail: jail) { return cursor }
        let migrated = try JournalCursorFile(path: legacyFile).load()
        if let migrated { try saveCursor(migrated) }
        unlink(legacyFile)
        return migrated
    }

    func saveCursor(_ cursor: String) throws {
        beforeSave()
        try store.saveJournalCursor(jail: jail, cursor: cursor)
    }
}
