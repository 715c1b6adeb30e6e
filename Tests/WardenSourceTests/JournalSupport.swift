import Foundation
import Synchronization
@testable import WardenSource

/// One journal entry in journal export format, with fields in the given order.
struct ExportEntry {
    var fields: [(String, String)]

    /// An entry at `second` past a fixed epoch (2023-11-14 22:13:20 UTC), one boot.
    init(second: Int, _ fields: [(String, String)]) {
        self.fields = [
            ("__REALTIME_TIMESTAMP", String(1_700_000_000_000_000 + second * 1_000_000)),
            ("__MONOTONIC_TIMESTAMP", String(1_000_000 + second * 1_000_000)),
            ("_BOOT_ID", "0123456789abcdef0123456789abcdef"),
        ] + fields
    }

    /// Export format: `NAME=value` lines, or for values with a newline the name, a
    /// newline, a 64-bit little-endian length and the raw bytes; a blank line ends it.
    var exported: [UInt8] {
        var bytes: [UInt8] = []
        for (name, value) in fields {
            let data = Array(value.utf8)
            if data.contains(0x0A) {
                bytes += Array(name.utf8) + [0x0A]
                withUnsafeBytes(of: UInt64(data.count).littleEndian) { bytes += $0 }
                bytes += data + [0x0A]
            } else {
                bytes += Array("\(name)=".utf8) + data + [0x0A]
            }
        }
        return bytes + [0x0A]
    }
}

enum JournalFixture {
    static let remote = ["/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"]
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/lib/systemd/systemd-journal-remote"

    /// Writes (or appends) entries to a real journal file with systemd-journal-remote.
    static func write(_ entries: [ExportEntry], to path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: remote)
        process.arguments = ["--output=\(path)", "-"]
        let input = Pipe()
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(entries.flatMap(\.exported)))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw JournalFixtureError(message: "systemd-journal-remote exited \(process.terminationStatus)")
        }
    }

    /// What fail2ban's own FilterSystemd.formatJournalEntry makes of each entry of a
    /// journal file (read with python3-systemd): line and time, one per output line.
    static func fail2banLines(file: String) throws -> [(line: String, time: Double)] {
        let script = """
        import sys
        from systemd import journal
        from fail2ban.server.filtersystemd import FilterSystemd
        from fail2ban.tests.dummyjail import DummyJail
        backend = FilterSystemd(DummyJail(), journalfiles=sys.argv[1])
        for entry in journal.Reader(files=[sys.argv[1]]):
            (_, _, line), time = backend.formatJournalEntry(entry)
            sys.stdout.write("%r\\t%s\\n" % (time, line))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, file]
        // python-systemd converts _SOURCE_REALTIME_TIMESTAMP with the fixed UTC offset in
        // force when it was imported, and fail2ban reads the result back with mktime: for
        // an entry from the other half of the DST year the time is an hour off (warden
        // keeps the journal's absolute time). Other suites set the sample suite's CET/CEST
        // for the whole test process; UTC keeps this oracle exact.
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw JournalFixtureError(message: "fail2ban oracle failed") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map { row in
            let tab = row.firstIndex(of: "\t")!
            return (String(row[row.index(after: tab)...]), Double(row[..<tab])!)
        }
    }
}

struct JournalFixtureError: Error { let message: String }

/// Collects journal entries (line, realtime µs) and the last cursor seen.
final class JournalCollector: Sendable {
    private let state = Mutex<(entries: [(String, UInt64)], cursor: String)>(([], ""))
    private let condition = NSCondition()

    func consume(_ batch: JournalBatch) {
        let entries = batch.map { (String(decoding: $0.bytes, as: UTF8.self), $0.realtimeMicroseconds) }
        state.withLock { $0.entries += entries; $0.cursor = batch.cursor }
        condition.lock(); condition.broadcast(); condition.unlock()
    }

    var lines: [String] { state.withLock { $0.entries.map(\.0) } }
    var times: [UInt64] { state.withLock { $0.entries.map(\.1) } }

    /// Waits until `count` entries arrived; false after a generous guard time.
    @discardableResult
    func wait(for count: Int) -> Bool {
        let deadline = Date().addingTimeInterval(120)
        condition.lock(); defer { condition.unlock() }
        while state.withLock({ $0.entries.count < count }) {
            if !condition.wait(until: deadline) { break }
        }
        return state.withLock { $0.entries.count >= count }
    }
}
