import Foundation
import Glibc
import NetworkTestSupport
import Testing

/// `warden reload JAIL` restarts only that jail: another jail keeps its failure counts and
/// every ban stays; `warden reload` of a configuration without a jail stops that jail and
/// lifts its bans (store and kernel), as fail2ban-client's reload does.
@Suite(.serialized) struct ReloadTests {
    @Test func reloadOfOneJailKeepsTheOthersAndReloadOfAllRemovesADroppedJailRequiresRoot() throws {
        let harness = try DaemonHarness(ipc: "memory", bantime: 600)
        let otherLog = harness.directory + "/other.log"
        _ = FileManager.default.createFile(atPath: otherLog, contents: nil)
        let otherJail = """
            [other]
            enabled = true
            filter = demo
            logpath = \(otherLog)
            maxretry = 3
            findtime = 10m
            bantime = 600
            action = nftables[type=allports, protocol=all]
            ipc = memory
            ipc.path = \(harness.directory)/other-channel

            """
        try otherJail.write(toFile: harness.directory + "/jail.local", atomically: true, encoding: .utf8)
        try harness.startDaemon()

        try Self.append(failures: 2, from: "198.51.100.7", to: otherLog)
        try harness.waitUntil("the other jail counted two failures") {
            try harness.client("status", "other").contains("Currently failed:\t1\n")
                && harness.client("status", "other").contains("Total failed:\t2\n")
        }
        #expect(try harness.client("ban", "demo", "203.0.113.5") == "1")
        try harness.waitUntil("the manual ban is in the kernel") { try harness.kernelElements() == ["203.0.113.5"] }

        // demo now bans after two failures; reloading demo leaves `other` running.
        try (otherJail + "[demo]\nmaxretry = 2\n").write(toFile: harness.directory + "/jail.local", atomically: true, encoding: .utf8)
        #expect(try harness.client("reload", "demo") == "OK")
        #expect(try harness.client("status", "other").contains("Total failed:\t2\n"))
        #expect(try harness.kernelElements() == ["203.0.113.5"])
        try Self.append(failures: 1, from: "198.51.100.7", to: otherLog)
        try harness.waitUntil("the third failure bans in the other jail") { try Self.elements(of: "other", harness).contains("198.51.100.7") }
        try harness.appendFailures(from: VethPair.peerV4, count: 2)
        try harness.waitUntil("demo bans after the reloaded maxretry") { try harness.kernelElements().contains(VethPair.peerV4) }
        #expect(throws: (any Error).self) { try harness.client("reload", "missing") }

        // `other` leaves the configuration: a full reload stops it and lifts its bans.
        try "[demo]\nmaxretry = 2\n".write(toFile: harness.directory + "/jail.local", atomically: true, encoding: .utf8)
        #expect(try harness.client("reload") == "OK")
        #expect(try harness.client("status").hasSuffix("Jail list:\tdemo"))
        #expect(try !harness.storedBans().contains("198.51.100.7"))
        #expect(try harness.server.exec("nft", "list", "set", "inet", "warden", "other-v4") != 0)
        #expect(try Set(harness.kernelElements()) == ["203.0.113.5", VethPair.peerV4])
    }

    static func append(failures count: Int, from address: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        let stamp = ISO8601DateFormatter().string(from: Date())
        for _ in 0..<count {
            try handle.write(contentsOf: Data("\(stamp) host demo[42]: authentication failure for root from \(address)\n".utf8))
        }
        try handle.close()
    }

    static func elements(of jail: String, _ harness: DaemonHarness) throws -> String {
        (try? harness.server.output("nft", "list", "set", "inet", "warden", "\(jail)-v4")) ?? ""
    }
}
