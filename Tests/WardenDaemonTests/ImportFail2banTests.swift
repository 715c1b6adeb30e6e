import Foundation
import Glibc
import NetworkTestSupport
import Testing

/// `warden import-fail2ban` on a database fail2ban itself wrote (python3's
/// `fail2ban.server.database.Fail2BanDb`), into the store `warden start` would open.
@Suite struct ImportFail2banTests {
    @Test func importsFail2bansDatabaseIntoTheStoreBesideItsDbfile() throws {
        let directory = NSTemporaryDirectory() + "warden-import-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fail2banDatabase = directory + "/fail2ban.sqlite3"
        // A fail2ban.conf-style directory: warden's store is warden.sqlite3 beside dbfile.
        try "[Definition]\ndbfile = \(fail2banDatabase)\n".write(toFile: directory + "/fail2ban.local", atomically: true, encoding: .utf8)
        let script = """
            import sys, time
            from fail2ban.server.database import Fail2BanDb
            from fail2ban.server.ticket import FailTicket
            class Actions:
                def getBanTime(self): return 600
            class Jail:
                def __init__(self, name): self.name, self.actions, self.idle = name, Actions(), False
            class Log:
                def getFileName(self): return '/var/log/auth.log'
                def getPos(self): return 4242
                def getHash(self): return 'd41d8cd98f00b204e9800998ecf8427e'
            db = Fail2BanDb(sys.argv[1])
            sshd = Jail('sshd')
            db.addJail(sshd)
            now = time.time()
            for index in range(3):
                ticket = FailTicket('192.0.2.%d' % (index + 1), now - 10 * index, ['line %d' % index])
                ticket.setBanTime(3600)
                db.addBan(sshd, ticket)
            # fail2ban stores bancount 0 for a first ban made this way. A second, later
            # ban of the same address: history 4, current 3.
            ticket = FailTicket('192.0.2.1', now, ['again'])
            ticket.setBanTime(7200)
            ticket.setBanCount(2)
            db.addBan(sshd, ticket)
            db.addLog(sshd, Log())
            db.close()
            """
        _ = try Command.output(["/usr/bin/python3", "-c", script, fail2banDatabase])

        let output = try Command.output([try DaemonHarness.wardenBinary(), "import-fail2ban", "--config", directory, fail2banDatabase])
        #expect(output == "Imported \(fail2banDatabase) into \(directory)/warden.sqlite3: 4 bans of history, 3 current bans, 1 log positions")
        let current = try Command.output(["sqlite3", directory + "/warden.sqlite3", "SELECT jail, address, bantime, bancount FROM current ORDER BY address"])
        #expect(current.split(separator: "\n") == ["sshd|192.0.2.1|7200|2", "sshd|192.0.2.2|3600|0", "sshd|192.0.2.3|3600|0"])
        // --dbfile picks the store as it does for `warden start`; fail2ban's file itself is refused.
        let other = directory + "/other.sqlite3"
        _ = try Command.output([try DaemonHarness.wardenBinary(), "import-fail2ban", "--config", directory, "--dbfile", other, fail2banDatabase])
        #expect(try Command.output(["sqlite3", other, "SELECT count(*) FROM current"]) == "3")
        #expect(throws: TestFailure.self) {
            try Command.output([try DaemonHarness.wardenBinary(), "import-fail2ban", "--config", directory, "--dbfile", fail2banDatabase, fail2banDatabase])
        }
    }
}
