import Foundation
import Glibc
import Testing

/// A jail with the native nftables action plus an `action.d` action of its own, which
/// warden runs through `ShellActionRunner` beside the firewall: actionstart at start,
/// actionban with `<ip>` after the ban is in the kernel, actionstop at stop.
@Suite(.serialized) struct ShellActionTests {
    @Test func customActionReceivesTheBannedAddressRequiresRoot() throws {
        let record = NSTemporaryDirectory() + "warden-record-\(getpid())-\(Int.random(in: 0..<1_000_000)).txt"
        defer { try? FileManager.default.removeItem(atPath: record) }
        let harness = try DaemonHarness(ipc: "memory", bantime: 600,
                                        actions: ["nftables[type=allports, protocol=all]", "record[file=\"\(record)\"]"])
        try FileManager.default.createDirectory(atPath: harness.directory + "/action.d", withIntermediateDirectories: true)
        try """
            [Definition]
            actionstart = echo "start <name>" >> <file>
            actionstop = echo "stop <name>" >> <file>
            actionban = echo "ban <ip> <bantime>" >> <file>
            actionunban = echo "unban <ip>" >> <file>

            [Init]
            file = /dev/null
            """.write(toFile: harness.directory + "/action.d/record.conf", atomically: true, encoding: .utf8)
        try harness.startDaemon()
        func lines() -> [String] {
            ((try? String(contentsOfFile: record, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        try harness.waitUntil("actionstart ran") { lines() == ["start demo"] }
        try harness.appendFailures(from: DaemonHarness.peerAddress, count: 3)
        try harness.waitUntil("actionban wrote the address") { lines().count == 2 }
        #expect(lines() == ["start demo", "ban 192.0.2.2 600"])
        #expect(try harness.kernelElements() == [DaemonHarness.peerAddress])
        #expect(try harness.client("stop") == "Shutdown successful")
        harness.process?.waitUntilExit()
        #expect(lines() == ["start demo", "ban 192.0.2.2 600", "stop demo"])
    }
}
