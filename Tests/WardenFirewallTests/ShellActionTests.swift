import Foundation
import Synchronization
import Testing
import WardenConfig
@testable import WardenFirewall

@Suite struct ShellActionTests {
    /// Collects outcomes from the runner's thread.
    final class Outcomes: Sendable {
        private let state = Mutex<[ShellActionOutcome]>([])
        private let arrived = DispatchSemaphore(value: 0)
        func add(_ outcome: ShellActionOutcome) { state.withLock { $0.append(outcome) }; arrived.signal() }
        func wait(for count: Int) -> [ShellActionOutcome] {
            for _ in 0..<count { _ = arrived.wait(timeout: .now() + 60) }
            return state.withLock { $0 }
        }
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "wfw-actions-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path + "/action.d", withIntermediateDirectories: true)
        return path
    }

    @Test func debiansDummyActionWritesBansToItsTarget() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let target = directory + "/dummy.out"
        let action = try ShellAction(reference: FilterReference(parsing: "dummy[target=\"\(target)\"]"),
                                     jailValues: ["name": "sshd"], configDirectory: "/etc/fail2ban")
        let outcomes = Outcomes()
        let runner = try ShellActionRunner(timeoutSeconds: 30) { outcomes.add($0) }
        let ticket = BanTicket(ip: "192.0.2.1", jail: "sshd", failures: 3, time: 1_700_000_000, banTime: 600)
        runner.submit(try #require(action.command(.start)), label: "start")
        runner.submit(try #require(action.command(.ban, for: ticket.tags)), label: "ban")
        runner.submit(try #require(action.command(.unban, for: ticket.tags)), label: "unban")
        let results = outcomes.wait(for: 3)
        runner.stop()
        #expect(results.map(\.exitStatus) == [0, 0, 0])
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "123\n+192.0.2.1\n-192.0.2.1\n")
        #expect(results[1].output.contains("[sshd] dummy \(target) -- banned 192.0.2.1 (family: inet4)"), "\(results[1].output)")
    }

    @Test func ticketValuesAreShellEscaped() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
        [Definition]
        actionban = printf '%%s\\n' <matches> <failures> <name> > <out>
        [Init]
        name = default
        out = \(directory)/matches.out
        """.write(toFile: directory + "/action.d/record.conf", atomically: true, encoding: .utf8)
        let action = try ShellAction(reference: FilterReference(parsing: "record"), jailValues: ["name": "web"], configDirectory: directory)
        let hostile = "x; touch \(directory)/pwned $(id) `id` 'q' \"d\" | & > <"
        let ticket = BanTicket(ip: "192.0.2.1", jail: "web", failures: 5, time: 0, banTime: 60, matches: [hostile])
        let outcomes = Outcomes()
        let runner = try ShellActionRunner { outcomes.add($0) }
        runner.submit(try #require(action.command(.ban, for: ticket.tags)), label: "ban")
        let result = outcomes.wait(for: 1)
        runner.stop()
        #expect(result.first?.exitStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: directory + "/pwned"))
        let written = try String(contentsOfFile: directory + "/matches.out", encoding: .utf8)
        #expect(written.contains("x;"), "\(written)")
        #expect(written.contains("$(id)") && written.contains("`id`") && written.contains("'q'"))
        #expect(written.hasSuffix("5\nweb\n"))
    }

    @Test func exitStatusAndTimeoutAreReported() throws {
        let outcomes = Outcomes()
        let runner = try ShellActionRunner(timeoutSeconds: 0.5) { outcomes.add($0) }
        runner.submit("echo out; echo err >&2; exit 3", label: "fails")
        runner.submit("sleep 30", label: "hangs")
        let results = outcomes.wait(for: 2)
        runner.stop()
        #expect(results[0].exitStatus == 3)
        #expect(results[0].output == "out\nerr\n")
        #expect(results[1].timedOut)
        #expect(results[1].exitStatus == nil && results[1].terminatingSignal == SIGTERM)
    }

    @Test func nestedStaticTagsResolveInnermostFirst() throws {
        let expanded = try ShellTags.expandStatic("<cmd-<type>> <ip>", values: ["type": "multiport", "cmd-multiport": "nft add <port>", "port": "22"], option: "actionban")
        #expect(expanded == "nft add 22 <ip>")
        #expect(throws: ConfigError.self) { try ShellTags.expandStatic("<a>", values: ["a": "<a>"], option: "x") }
    }
}

/// fail2ban's ActionInfo tags beyond `<ip>`: merged matches and failures, time, ban time,
/// captured groups (`<F-USER>`, `<F-ID>`), and an F- tag the ban lacks becoming empty.
@Suite struct ShellActionTagTests {
    @Test func ticketTagsFollowFail2bansActionInfo() throws {
        var ticket = BanTicket(ip: "192.0.2.1", jail: "sshd", failures: 3, time: 1_700_000_000.5, banTime: 600, banCount: 2,
                               matches: ["m1", "m2"], fields: ["user": "root", "fid": "192.0.2.1", "fport": "22"])
        ticket.jailMerged = (["old", "m1", "m2"], 8)
        ticket.allMerged = (["other", "old", "m1", "m2"], 11)
        let action = ShellAction(name: "t", commands: [
            .ban: "<matches>|<ipjailmatches>|<ipmatches>|<failures>|<ipjailfailures>|<ipfailures>|<time>|<bantime>|<bancount>|<F-USER>|<F-ID>|<F-PORT>|<F-MISSING>|<unknown>|<fid>",
        ])
        let command = try #require(action.command(.ban, for: ticket.tags))
        #expect(command == "m1'\n'm2|old'\n'm1'\n'm2|other'\n'old'\n'm1'\n'm2|3|8|11|1700000000.5|600|2|root|192.0.2.1|22||<unknown>|192.0.2.1")
        #expect(BanTicket.needsMergedBans("echo <ipjailmatches>") && !BanTicket.needsMergedBans("echo <matches>"))
        // Without a merged history the ban's own lines and count stand in.
        let plain = BanTicket(ip: "192.0.2.1", jail: "sshd", failures: 3, time: 0, banTime: 60, matches: ["m"]).tags
        #expect(plain["ipmatches"] == "m" && plain["ipjailfailures"] == "3" && plain["fid"] == "192.0.2.1")
    }
}
