import Foundation
import Glibc
import NetworkTestSupport
import Testing

/// Log positions live in the ban database, written in the same transaction as the bans
/// decided from the lines before them; a positions file of an earlier version is read once.
@Suite(.serialized) struct StoredPositionTests {
    /// kill -9 right after a ban (before the tailer's periodic save): the restart resumes
    /// after the lines that led to the ban (the ban is not decided again) and reads every
    /// later line (the next ban happens).
    @Test func killAfterABanNeitherRepeatsItNorSkipsLinesRequiresRoot() throws {
        let harness = try DaemonHarness(ipc: "memory", bantime: 600)
        try harness.startDaemon()
        try harness.appendFailures(from: "203.0.113.20", count: 3)
        try harness.waitUntil("the ban is stored") { try harness.storedBans() == ["203.0.113.20"] }
        harness.stopDaemon(signal: SIGKILL)
        let logSize = try #require(try FileManager.default.attributesOfItem(atPath: harness.log)[.size] as? Int)
        #expect(try Self.sql(harness, "SELECT offset FROM logs WHERE jail = 'demo'") == "\(logSize)")

        try harness.startDaemon()
        try harness.appendFailures(from: "203.0.113.21", count: 3)
        try harness.waitUntil("the next ban after the restart") { try harness.storedBans().contains("203.0.113.21") }
        harness.stopDaemon()
        #expect(try Self.sql(harness, "SELECT address FROM bans ORDER BY rowid") == "203.0.113.20\n203.0.113.21")
    }

    /// An earlier version's `positions/demo.positions` (offset 0 of the log, which already
    /// holds three failures) is migrated: the jail resumes from it, so the failures ban,
    /// and the file is gone afterwards, its position in the store.
    @Test func positionsFileOfAnEarlierVersionIsReadOnceRequiresRoot() throws {
        let harness = try DaemonHarness(ipc: "memory", bantime: 600)
        try harness.appendFailures(from: "203.0.113.30", count: 3)
        var info = stat()
        #expect(stat(harness.log, &info) == 0)
        let legacy = harness.directory + "/positions/demo.positions"
        try FileManager.default.createDirectory(atPath: harness.directory + "/positions", withIntermediateDirectories: true)
        try """
            [{"file":{"device":\(info.st_dev),"inode":\(info.st_ino)},"offset":0,"path":"\(harness.log)","prefix":"","rotated":false}]
            """.write(toFile: legacy, atomically: true, encoding: .utf8)
        try harness.startDaemon()
        try harness.waitUntil("the migrated position read the failures") { try harness.storedBans() == ["203.0.113.30"] }
        #expect(!FileManager.default.fileExists(atPath: legacy))
        harness.stopDaemon()
        #expect(try Self.sql(harness, "SELECT path, inode FROM logs WHERE jail = 'demo'") == "\(harness.log)|\(info.st_ino)")
    }

    static func sql(_ harness: DaemonHarness, _ query: String) throws -> String {
        try Command.output(["sqlite3", harness.directory + "/warden.sqlite3", query])
    }
}
