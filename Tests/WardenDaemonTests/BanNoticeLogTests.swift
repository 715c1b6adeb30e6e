import Foundation
import Logging
import Testing
import WardenIPC
@testable import WardenDaemon
@testable import WardenJail
import WardenStore
import WardenLines

/// `Ban <address>` lines: one per ban, in the log handler's layout, and none below NOTICE.
@Suite struct BanNoticeLogTests {
    static func bans() -> [JailBan] {
        [JailBan(jail: "sshd", address: NetworkAddress("192.0.2.7")!, timeOfBan: 1000, banTime: 600, banCount: 1,
                 failures: 3, matches: MatchedLines()),
         JailBan(jail: "sshd", address: NetworkAddress("2001:db8::/64")!, timeOfBan: 1000, banTime: -1, banCount: 12,
                 failures: 5, matches: MatchedLines())]
    }

    /// The bans' store rows, which the lines take their address texts from.
    static func rows(_ bans: [JailBan]) -> BanRows {
        var rows = BanRows()
        for ban in bans {
            rows.append(jail: ban.jail, timeOfBan: ban.timeOfBan, banTime: ban.banTime, banCount: ban.banCount,
                        address: { $0.append(address: ban.address) }, data: { _ in })
        }
        return rows
    }

    @Test func oneLinePerBanInTheHandlersLayout() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("warden-notice-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output = try LogOutput(target: path)
        let log = BanNoticeLog(label: "warden", output: output, level: .notice)
        let bans = Self.bans()
        log.write(bans, rows: Self.rows(bans))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        let pid = getpid()
        #expect(lines[0].hasSuffix(" warden [\(pid)]: NOTICE   [sshd] Ban 192.0.2.7 bancount=1 bantime=600 failures=3"))
        #expect(lines[1].hasSuffix(" warden [\(pid)]: NOTICE   [sshd] Ban 2001:db8::/64 bancount=12 bantime=-1 failures=5"))
        // `2024-05-01 12:00:00,123`, the same time on both lines of one chunk.
        #expect(lines[0].prefix(23) == lines[1].prefix(23))
        #expect(lines[0].range(of: #"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "#, options: .regularExpression) != nil)

        // The swift-log handler lays out the same record identically after the timestamp.
        let handler = DaemonLogHandler(label: "warden", output: output, level: .notice)
        let logger = Logger(label: "warden") { _ in handler }
        logger.notice("Ban 192.0.2.7", metadata: ["jail": "sshd", "bantime": "600", "bancount": "1", "failures": "3"])
        let third = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)[2]
        #expect(third.dropFirst(23) == lines[0].dropFirst(23))
    }

    @Test func nothingBelowNotice() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("warden-notice-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = BanNoticeLog(label: "warden", output: try LogOutput(target: path), level: .warning)
        let bans = Self.bans()
        log.write(bans, rows: Self.rows(bans))
        #expect(try String(contentsOfFile: path, encoding: .utf8).isEmpty)
    }
}
