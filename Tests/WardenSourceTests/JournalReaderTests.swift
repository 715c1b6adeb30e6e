import Foundation
import Testing
@testable import WardenSource

/// Real journal files written by systemd-journal-remote, read through libsystemd.
@Suite("JournalReader", .serialized)
struct JournalReaderTests {
    static let sshd: [(String, String)] = [("_HOSTNAME", "box"), ("SYSLOG_IDENTIFIER", "sshd"), ("_PID", "42"), ("_SYSTEMD_UNIT", "ssh.service")]

    static func failures(_ range: Range<Int>) -> [ExportEntry] {
        range.map { ExportEntry(second: $0, sshd + [("MESSAGE", "Failed password for root from 192.0.2.\($0 % 250) port 22 ssh2")]) }
    }

    /// Every way fail2ban's formatJournalEntry builds a line: host, identifier or _COMM,
    /// SYSLOG_PID or _PID, kernel time since boot, multi-line and non-ASCII messages,
    /// _SOURCE_REALTIME_TIMESTAMP; compared with fail2ban's own output on the same file.
    @Test func entriesAreFormattedAsFail2banFormatsThem() throws {
        let directory = TemporaryDirectory()
        let file = directory.file("system.journal")
        try JournalFixture.write([
            ExportEntry(second: 1, Self.sshd + [("MESSAGE", "Invalid user admin from 198.51.100.7 port 4242")]),
            ExportEntry(second: 2, [("_HOSTNAME", "box"), ("SYSLOG_IDENTIFIER", "kernel"), ("_SOURCE_MONOTONIC_TIMESTAMP", "12345678"), ("MESSAGE", "IN=eth0 SRC=203.0.113.9")]),
            ExportEntry(second: 3, [("_COMM", "dovecot"), ("SYSLOG_PID", "7"), ("_PID", "8"), ("MESSAGE", "auth failed\nrip=192.0.2.99")]),
            ExportEntry(second: 4, [("_HOSTNAME", "box"), ("MESSAGE", "no identifier, Grüße")]),
            ExportEntry(second: 5, Self.sshd + [("_SOURCE_REALTIME_TIMESTAMP", "1600000000123456"), ("MESSAGE", "")]),
        ], to: file)
        var configuration = JournalReaderConfiguration(journal: .files([file]))
        configuration.fromStart = true
        let collector = JournalCollector()
        let reader = try JournalReader(configuration: configuration) { collector.consume($0) }
        try reader.start()
        #expect(collector.wait(for: 5))
        reader.stop()
        let expected = try JournalFixture.fail2banLines(file: file)
        #expect(collector.lines == expected.map(\.line))
        #expect(collector.times.map { Double($0) / 1e6 } == expected.map(\.time))
        #expect(collector.lines.first == "box sshd[42]: Invalid user admin from 198.51.100.7 port 4242")
        #expect(collector.lines[2] == #"dovecot[7]: auth failed\nrip=192.0.2.99"#)
    }

    /// journalmatch "A=x + B=y C=z": entries with A=x, or with both B=y and C=z.
    @Test func journalmatchTermsAndDisjunctionsSelectEntries() throws {
        let directory = TemporaryDirectory()
        let file = directory.file("system.journal")
        try JournalFixture.write([
            ExportEntry(second: 1, [("_SYSTEMD_UNIT", "ssh.service"), ("MESSAGE", "one")]),
            ExportEntry(second: 2, [("_SYSTEMD_UNIT", "cron.service"), ("MESSAGE", "two")]),
            ExportEntry(second: 3, [("_COMM", "dovecot"), ("_TRANSPORT", "syslog"), ("MESSAGE", "three")]),
            ExportEntry(second: 4, [("_COMM", "dovecot"), ("_TRANSPORT", "stdout"), ("MESSAGE", "four")]),
        ], to: file)
        var configuration = JournalReaderConfiguration(
            journal: .files([file]),
            matches: JournalReaderConfiguration.matchWords("_SYSTEMD_UNIT=ssh.service + _COMM=dovecot _TRANSPORT=syslog")
        )
        configuration.fromStart = true
        let collector = JournalCollector()
        let reader = try JournalReader(configuration: configuration) { collector.consume($0) }
        try reader.start()
        reader.stop()
        #expect(collector.lines.map { $0.split(separator: " ").last.map(String.init) ?? "" } == ["one", "three"])
    }

    @Test func malformedJournalmatchIsAClearError() throws {
        let directory = TemporaryDirectory()
        let file = directory.file("system.journal")
        try JournalFixture.write(Self.failures(0..<1), to: file)
        let configuration = JournalReaderConfiguration(journal: .files([file]), matches: ["_SYSTEMD_UNIT"])
        let reader = try JournalReader(configuration: configuration) { _ in }
        #expect(throws: JournalError.self) { try reader.start() }
    }

    /// fail2ban's systemd backend without a saved position seeks to now - findtime: a jail
    /// passes that as the start time, and the reader delivers the entries from it on, then
    /// what is appended; a start time after every entry delivers only new ones.
    @Test func startsAtTheStartTimeWithoutACursor() throws {
        let directory = TemporaryDirectory()
        let file = directory.file("system.journal")
        try JournalFixture.write(Self.failures(0..<30), to: file)
        var configuration = JournalReaderConfiguration(journal: .files([file]))
        configuration.startRealtimeMicroseconds = 1_700_000_000_000_000 + 20 * 1_000_000
        let collector = JournalCollector()
        let reader = try JournalReader(configuration: configuration) { collector.consume($0) }
        try reader.start()
        #expect(collector.wait(for: 10))
        try JournalFixture.write(Self.failures(30..<32), to: file)
        #expect(collector.wait(for: 12))
        reader.stop()
        #expect(collector.times.map { ($0 - 1_700_000_000_000_000) / 1_000_000 } == Array(20..<32))

        configuration.startRealtimeMicroseconds = 1_700_000_000_000_000 + 100 * 1_000_000
        let late = JournalCollector()
        let lateReader = try JournalReader(configuration: configuration) { late.consume($0) }
        try lateReader.start()
        try JournalFixture.write(Self.failures(200..<201), to: file)
        #expect(late.wait(for: 1))
        lateReader.stop()
        #expect(late.times == [1_700_000_000_000_000 + 200 * 1_000_000])
    }

    /// Entries appended while the reader waits are delivered (woken through the journal's
    /// descriptor); after a stop, a restart with the saved cursor delivers exactly the
    /// entries written meanwhile.
    @Test func followsAppendedEntriesAndResumesAfterItsCursor() throws {
        let directory = TemporaryDirectory()
        let file = directory.file("system.journal")
        try JournalFixture.write(Self.failures(0..<10), to: file)
        var configuration = JournalReaderConfiguration(journal: .files([file]))
        configuration.cursorStore = JournalCursorFile(path: directory.file("cursor"))
        let first = JournalCollector()
        let reader = try JournalReader(configuration: configuration) { first.consume($0) }
        try reader.start()  // no cursor, not from start: only what comes next
        try JournalFixture.write(Self.failures(10..<25), to: file)
        #expect(first.wait(for: 15))
        reader.stop()
        #expect(first.lines.count == 15)
        #expect(first.lines.first?.hasSuffix("192.0.2.10 port 22 ssh2") == true)
        #expect(try JournalCursorFile(path: directory.file("cursor")).load() != nil)

        try JournalFixture.write(Self.failures(25..<40), to: file)
        let second = JournalCollector()
        let restarted = try JournalReader(configuration: configuration) { second.consume($0) }
        try restarted.start()
        #expect(second.wait(for: 15))
        restarted.stop()
        #expect(second.lines == Self.failures(25..<40).map { entry in
            "box sshd[42]: " + entry.fields.first { $0.0 == "MESSAGE" }!.1
        })
    }

    /// Journal rotation as journald does it: the active file is renamed to an archived
    /// name and a new one started. A reader on the directory keeps going: every entry once.
    @Test func survivesJournalRotation() throws {
        let directory = TemporaryDirectory()
        let active = directory.file("system.journal")
        try JournalFixture.write(Self.failures(0..<20), to: active)
        var configuration = JournalReaderConfiguration(journal: .directory(directory.path))
        configuration.fromStart = true
        let collector = JournalCollector()
        let reader = try JournalReader(configuration: configuration) { collector.consume($0) }
        try reader.start()
        #expect(collector.wait(for: 20))
        rename(active, directory.file("system@00000000000000000000000000000001-0000000000000001-0005f0c1b0000000.journal"))
        try JournalFixture.write(Self.failures(20..<50), to: active)
        #expect(collector.wait(for: 50))
        try JournalFixture.write(Self.failures(50..<60), to: active)
        #expect(collector.wait(for: 60))
        reader.stop()
        let numbers = collector.lines.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("192.0.2.") }.flatMap { Int($0.dropFirst(8)) }
        }
        #expect(numbers == Array(0..<60))
        #expect(reader.statistics.lines == 60)
    }
}
