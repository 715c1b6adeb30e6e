import Foundation
import Glibc
import NetworkTestSupport
import Testing

/// `backend = systemd`: the daemon follows journal files (written by
/// systemd-journal-remote) with the stock sshd filter's journalmatch and bans from them.
@Suite(.serialized) struct JournalBackendTests {
    /// `journalpath`: a second journal file appears in the directory while running;
    /// `journalfiles`: systemd-journal-remote appends to the one file named.
    @Test(arguments: ["journalpath", "journalfiles"])
    func journalFailuresBanAndAppendedEntriesBanAnotherRequiresRoot(option: String) throws {
        let harness = try DaemonHarness(ipc: "memory", bantime: 600)
        let journalDirectory = harness.directory + "/journal"
        try FileManager.default.createDirectory(atPath: journalDirectory, withIntermediateDirectories: true)
        // fail2ban's own sshd filter (its journalmatch names _SYSTEMD_UNIT=sshd.service + _COMM=sshd).
        for name in ["sshd.conf", "common.conf"] {
            try FileManager.default.copyItem(atPath: "/etc/fail2ban/filter.d/" + name, toPath: harness.directory + "/filter.d/" + name)
        }
        try """
            [demo]
            filter = sshd
            backend = systemd[\(option == "journalpath" ? "journalpath=" + journalDirectory : "journalfiles=" + journalDirectory + "/first.journal")]
            """.write(toFile: harness.directory + "/jail.local", atomically: true, encoding: .utf8)
        // Noise the journalmatch must leave out: another unit's entries with the same text.
        try SshJournal.write([
            SshJournal.failure(from: "203.0.113.7", index: 0, command: "other"),
            SshJournal.failure(from: "203.0.113.7", index: 1, command: "other"),
            SshJournal.failure(from: "203.0.113.7", index: 2, command: "other"),
            SshJournal.failure(from: VethPair.peerV4, index: 3),
            SshJournal.failure(from: VethPair.peerV4, index: 4),
            SshJournal.failure(from: VethPair.peerV4, index: 5),
        ], to: journalDirectory + "/first.journal")
        try harness.startDaemon()
        try harness.waitUntil("the peer is in the kernel set") { try harness.kernelSet().contains(VethPair.peerV4) }
        #expect(!(try harness.peerCanConnect()))

        // New entries while running, followed through the journal's inotify.
        try SshJournal.write((0..<3).map { SshJournal.failure(from: "198.51.100.9", index: 10 + $0) },
                             to: journalDirectory + (option == "journalpath" ? "/second.journal" : "/first.journal"))
        try harness.waitUntil("198.51.100.9 is in the kernel set") { try harness.kernelSet().contains("198.51.100.9") }
        #expect(!(try harness.kernelSet().contains("203.0.113.7")))
        let status = try harness.client("status", "demo")
        #expect(status.contains("Currently banned:\t2"))
        #expect(status.contains("Total failed:\t6"))
        #expect(try harness.client("stop") == "Shutdown successful")
        harness.process?.waitUntilExit()
        #expect(harness.process?.terminationStatus == 0)
        // The cursor of the last entry read is in the store.
        let cursor = try Command.output(["sqlite3", harness.directory + "/warden.sqlite3", "SELECT cursor FROM journals WHERE jail = 'demo'"])
        #expect(cursor.hasPrefix("s="), "\(cursor)")
    }
}

/// sshd failures as journal entries in export format, written to a journal file.
enum SshJournal {
    /// An sshd "Failed password" entry a moment from now (`index` orders the entries).
    static func failure(from address: String, index: Int, command: String = "sshd") -> [(String, String)] {
        let now = UInt64(Date().timeIntervalSince1970 * 1_000_000) + UInt64(index)
        var monotonic = timespec()
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        return [
            ("__REALTIME_TIMESTAMP", String(now)),
            ("__MONOTONIC_TIMESTAMP", String(UInt64(monotonic.tv_sec) * 1_000_000 + UInt64(monotonic.tv_nsec) / 1000 + UInt64(index))),
            ("_BOOT_ID", "0123456789abcdef0123456789abcdef"),
            ("_HOSTNAME", "host"),
            ("_SYSTEMD_UNIT", command == "sshd" ? "ssh.service" : "other.service"),
            ("SYSLOG_IDENTIFIER", command),
            ("_COMM", command),
            ("_PID", "4242"),
            ("MESSAGE", "Failed password for root from \(address) port 50000 ssh2"),
        ]
    }

    /// Writes the entries with `systemd-journal-remote --output=PATH -` from export format.
    static func write(_ entries: [[(String, String)]], to path: String) throws {
        let remote = ["/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"]
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/lib/systemd/systemd-journal-remote"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: remote)
        process.arguments = ["--output=\(path)", "-"]
        let input = Pipe()
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        let exported = entries.map { entry in entry.map { "\($0.0)=\($0.1)\n" }.joined() + "\n" }.joined()
        input.fileHandleForWriting.write(Data(exported.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("systemd-journal-remote exited \(process.terminationStatus)") }
    }
}
