import Foundation
import Glibc
import NetworkTestSupport
import Testing

/// A jail with the native nftables action plus an `action.d` action of its own, which
/// warden runs through `ShellActionRunner` beside the firewall: actionstart at start,
/// actionban with `<ip>` after the ban is in the kernel, actionstop at stop.
@Suite(.serialized) struct ShellActionTests {
    @Test func customActionReceivesTheBannedAddressRequiresRoot() throws {
        let record = Self.recordPath("record")
        defer { try? FileManager.default.removeItem(atPath: record) }
        let harness = try DaemonHarness(ipc: "memory", bantime: 600,
                                        actions: ["nftables[type=allports, protocol=all]", "record[file=\"\(record)\"]"])
        try Self.writeAction("record", """
            [Definition]
            actionstart = echo "start <name>" >> <file>
            actionstop = echo "stop <name>" >> <file>
            actionban = echo "ban <ip> <bantime>" >> <file>
            actionunban = echo "unban <ip>" >> <file>

            [Init]
            file = /dev/null
            """, for: harness)
        try harness.startDaemon()
        func lines() -> [String] { Self.recordedLines(record) }
        try harness.waitUntil("actionstart ran") { lines() == ["start demo"] }
        try harness.appendFailures(from: VethPair.peerV4, count: 3)
        try harness.waitUntil("actionban wrote the address") { lines().count == 2 }
        #expect(lines() == ["start demo", "ban 192.0.2.2 600"])
        #expect(try harness.kernelElements() == [VethPair.peerV4])
        #expect(try harness.client("stop") == "Shutdown successful")
        harness.process?.waitUntilExit()
        #expect(lines() == ["start demo", "ban 192.0.2.2 600", "stop demo"])
    }

    /// actionban gets the ban's tags from the store: `<matches>` (cut to `maxmatches`),
    /// `<failures>`, `<ipjailfailures>`, `<bancount>`, `<bantime>` and a captured group.
    @Test func actionbanReceivesMatchesFailuresAndCapturedGroupsRequiresRoot() throws {
        let record = Self.recordPath("tags")
        defer { try? FileManager.default.removeItem(atPath: record) }
        let harness = try DaemonHarness(ipc: "memory", bantime: 600,
                                        actions: ["nftables[type=allports, protocol=all]", "record[file=\"\(record)\"]"],
                                        extraJail: "maxmatches = 2")
        try """
            [Definition]
            failregex = demo\\[\\d+\\]: authentication failure for <F-USER>\\S+</F-USER> from <HOST>$
            """.write(toFile: harness.directory + "/filter.d/demo.local", atomically: true, encoding: .utf8)
        try Self.writeAction("record", """
            [Definition]
            actionban = echo ban <ip> f=<failures> jf=<ipjailfailures> n=<bancount> bt=<bantime> u=<F-USER> x=<F-NONE> <matches> >> <file>

            [Init]
            file = /dev/null
            """, for: harness)
        try harness.startDaemon()
        func text() -> String { Self.recordedText(record) }
        try harness.appendFailures(from: VethPair.peerV4, count: 3)
        try harness.waitUntil("actionban wrote the ban") { text().contains("u=root") }
        #expect(text().hasPrefix("ban 192.0.2.2 f=3 jf=3 n=1 bt=600 u=root x= "), "\(text())")
        #expect(text().components(separatedBy: "authentication failure for root from 192.0.2.2").count - 1 == 2, "\(text())")
        harness.stopDaemon()
    }

    /// actionunban runs when a ban's time is over (the kernel expires the element by
    /// itself), at once on `warden unban`, and after a restart for a ban that ended while
    /// warden was stopped, exactly once.
    @Test func actionunbanRunsWhenBansEndAndAfterARestartRequiresRoot() throws {
        let record = Self.recordPath("unban")
        defer { try? FileManager.default.removeItem(atPath: record) }
        let harness = try DaemonHarness(ipc: "memory", bantime: 2,
                                        actions: ["nftables[type=allports, protocol=all]", "record[file=\"\(record)\"]"])
        try Self.writeAction("record", """
            [Definition]
            actionban = echo "ban <ip>" >> <file>
            actionunban = echo "unban <ip>" >> <file>

            [Init]
            file = /dev/null
            """, for: harness)
        func lines() -> [String] { Self.recordedLines(record) }
        try harness.startDaemon()
        try harness.appendFailures(from: VethPair.peerV4, count: 3)
        try harness.waitUntil("the ban time ended and actionunban ran") { lines().contains("unban 192.0.2.2") }
        #expect(lines() == ["ban 192.0.2.2", "unban 192.0.2.2"])

        #expect(try harness.client("ban", "demo", "203.0.113.5") == "1")
        try harness.waitUntil("actionban ran") { lines().contains("ban 203.0.113.5") }
        #expect(try harness.client("unban", "demo", "203.0.113.5") == "1")
        try harness.waitUntil("warden unban ran actionunban") { lines().contains("unban 203.0.113.5") }

        #expect(try harness.client("ban", "demo", "198.51.100.3") == "1")
        try harness.waitUntil("actionban ran") { lines().contains("ban 198.51.100.3") }
        harness.stopDaemon()
        let stoppedAt = Date()
        try harness.waitUntil("the ban ended while warden is stopped") { Date().timeIntervalSince(stoppedAt) > 3 }
        #expect(!lines().contains("unban 198.51.100.3"))
        try harness.startDaemon()
        try harness.waitUntil("the restart ran the missed actionunban") { lines().contains("unban 198.51.100.3") }
        harness.stopDaemon()
        try harness.startDaemon()
        harness.stopDaemon()
        #expect(lines().filter { $0 == "unban 198.51.100.3" }.count == 1)
        #expect(lines().filter { $0.hasPrefix("unban") }.count == 3)
    }

    /// A jail dropped from the configuration by `warden reload JAIL` or `warden reload`
    /// is stopped as fail2ban stops one: an action with `actionflush` runs it once, an
    /// action without gets `actionunban` for each running ban, then `actionstop`.
    @Test func reloadWithoutTheJailFlushesOrUnbansItsActionsRequiresRoot() throws {
        let record = Self.recordPath("lift")
        defer { try? FileManager.default.removeItem(atPath: record) }
        let harness = try DaemonHarness(ipc: "memory", bantime: 600,
                                        actions: ["nftables[type=allports, protocol=all]", "record[file=\"\(record)\"]",
                                                  "flushing[file=\"\(record)\"]"])
        try Self.writeAction("record", """
            [Definition]
            actionban = echo "ban <ip>" >> <file>
            actionunban = echo "unban <ip>" >> <file>
            actionstop = echo "stop record" >> <file>

            [Init]
            file = /dev/null
            """, for: harness)
        try Self.writeAction("flushing", """
            [Definition]
            actionunban = echo "flushing unban <ip>" >> <file>
            actionflush = echo "flush <name>" >> <file>

            [Init]
            file = /dev/null
            """, for: harness)
        func lines() -> [String] { Self.recordedLines(record) }
        try harness.startDaemon()
        #expect(try harness.client("ban", "demo", "203.0.113.5", "198.51.100.3") == "2")
        try harness.waitUntil("actionban ran for both") { lines().filter { $0.hasPrefix("ban ") }.count == 2 }

        try "[demo]\nenabled = false\n".write(toFile: harness.directory + "/jail.local", atomically: true, encoding: .utf8)
        #expect(try harness.client("reload", "demo") == "OK")
        try harness.waitUntil("the removed jail's actions ran") { lines().contains("stop record") }
        let lifted = Array(lines().dropFirst(2))
        #expect(Set(lifted.filter { $0.hasPrefix("unban ") }) == ["unban 203.0.113.5", "unban 198.51.100.3"], "\(lifted)")
        #expect(lifted.filter { $0 == "flush demo" }.count == 1, "\(lifted)")
        #expect(!lifted.contains { $0.hasPrefix("flushing unban") }, "\(lifted)")
        #expect(lifted.last == "stop record", "\(lifted)")
        #expect(try harness.storedBans().isEmpty)
        harness.stopDaemon()
    }
}

extension ShellActionTests {
    /// A temporary file for the test actions to append to (`echo ... >> <file>`).
    static func recordPath(_ label: String) -> String {
        NSTemporaryDirectory() + "warden-\(label)-\(getpid())-\(Int.random(in: 0..<1_000_000)).txt"
    }

    /// What the actions have appended so far.
    static func recordedText(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    static func recordedLines(_ path: String) -> [String] {
        recordedText(path).split(separator: "\n").map(String.init)
    }

    /// Writes `action.d/NAME.conf` into the harness's configuration.
    static func writeAction(_ name: String, _ definition: String, for harness: DaemonHarness) throws {
        try FileManager.default.createDirectory(atPath: harness.directory + "/action.d", withIntermediateDirectories: true)
        try definition.write(toFile: harness.directory + "/action.d/\(name).conf", atomically: true, encoding: .utf8)
    }
}
