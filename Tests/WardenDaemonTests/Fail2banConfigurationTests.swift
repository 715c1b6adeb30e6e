import Foundation
import Glibc
import NetworkTestSupport
import Testing

/// An unchanged copy of Debian's /etc/fail2ban, overridden only as a fail2ban user would
/// (a jail.d/*.local pointing sshd at a log, a fail2ban.local moving the socket).
@Suite(.serialized) struct Fail2banConfigurationTests {
    @Test func debianConfigurationWithSshdOnATestLogStartsAndBansRequiresRoot() throws {
        let harness = try DaemonHarness(ipc: "memory")
        let config = harness.directory + "/fail2ban"
        try Command.run("cp", "-r", "/etc/fail2ban", config)
        try """
            [Definition]
            socket = \(harness.directory)/f2b.sock
            pidfile = \(harness.directory)/f2b.pid
            dbfile = \(harness.directory)/fail2ban.sqlite3
            logtarget = \(harness.directory)/warden.log
            """.write(toFile: config + "/fail2ban.local", atomically: true, encoding: .utf8)
        try """
            [sshd]
            logpath = \(harness.log)
            backend = polling
            maxretry = 3
            """.write(toFile: config + "/jail.d/zz-test.local", atomically: true, encoding: .utf8)
        harness.configDirectory = config
        try harness.startDaemon()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "MMM dd HH:mm:ss"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: harness.log))
        for _ in 0..<3 {
            try handle.write(contentsOf: Data("\(formatter.string(from: Date())) host sshd[123]: Failed password for root from 192.0.2.2 port 4242 ssh2\n".utf8))
        }
        try handle.close()
        try harness.waitUntil("sshd banned the peer") {
            (try? harness.server.output("nft", "list", "set", "inet", "warden", "sshd-v4"))?.contains("192.0.2.2") == true
        }
        #expect(try harness.client("status", "sshd").contains("Banned IP list:\t192.0.2.2"))
        #expect(FileManager.default.fileExists(atPath: harness.directory + "/warden.sqlite3"))
        harness.stopDaemon()
    }
}
