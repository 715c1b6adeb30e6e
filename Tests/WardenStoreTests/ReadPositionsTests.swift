import Testing
@testable import WardenStore

/// Per-jail file positions and journal cursors, and the read progress recorded in the
/// bans' own transaction.
struct ReadPositionsTests {
    @Test func positionsArePerJailAndMoveForwardWithTheirBans() throws {
        let path = BanStoreTests.temporaryPath("positions")
        defer { BanStoreTests.remove(path) }
        let store = try BanStore(path: path)
        let rotated = JailLogPosition(jail: "sshd", path: "/var/log/auth.log", device: 2049, inode: 7, offset: 900, prefix: "6a61", rotated: true)
        let current = JailLogPosition(jail: "sshd", path: "/var/log/auth.log", device: 2049, inode: 8, offset: 100, prefix: "4e6f")
        try store.replaceLogPositions(jail: "sshd", [rotated, current])
        try store.replaceLogPositions(jail: "web", [JailLogPosition(jail: "web", path: "/var/log/auth.log", device: 2049, inode: 8, offset: 5)])
        #expect(try store.logPositions(jail: "sshd") == [rotated, current])

        // A ban decided from the current file up to offset 250: same transaction.
        var moved = current
        moved.offset = 250
        moved.prefix = ""
        try store.record([StoredBan(jail: "sshd", address: "192.0.2.1", timeOfBan: 1, banTime: 60)], progress: .log(moved))
        var expected = current
        expected.offset = 250
        #expect(try store.logPositions(jail: "sshd") == [rotated, expected])
        #expect(try store.logPositions(jail: "web").map(\.offset) == [5])
        // An older offset never moves a position back; a file not saved yet gets a row.
        moved.offset = 10
        try store.record([], progress: .log(moved))
        #expect(try store.logPositions(jail: "sshd").last?.offset == 250)
        let fresh = JailLogPosition(jail: "nginx", path: "/var/log/nginx.log", device: 1, inode: 2, offset: 30)
        try store.record([StoredBan(jail: "nginx", address: "192.0.2.2", timeOfBan: 1, banTime: 60)], progress: .log(fresh))
        #expect(try store.logPositions(jail: "nginx") == [fresh])

        // Replacing drops files the tailer no longer has (a rotated file released).
        try store.replaceLogPositions(jail: "sshd", [expected])
        #expect(try store.logPositions(jail: "sshd") == [expected])
        let reopened = try BanStore(path: path)
        #expect(try reopened.logPositions(jail: "sshd") == [expected])
    }

    @Test func journalCursorIsSavedAloneOrWithBans() throws {
        let path = BanStoreTests.temporaryPath("cursor")
        defer { BanStoreTests.remove(path) }
        let store = try BanStore(path: path)
        #expect(try store.journalCursor(jail: "sshd") == nil)
        try store.saveJournalCursor(jail: "sshd", cursor: "s=1;i=1")
        try store.record([StoredBan(jail: "sshd", address: "192.0.2.1", timeOfBan: 1, banTime: 60)],
                         progress: .journal(jail: "sshd", cursor: "s=1;i=2"))
        #expect(try store.journalCursor(jail: "sshd") == "s=1;i=2")
        #expect(try store.history().count == 1)
    }
}
