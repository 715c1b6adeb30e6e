import Foundation
import Testing
@testable import WardenStore

/// The data column decoded for shell actions, and bans merged as fail2ban's
/// getBansMerged merges them for `<ipmatches>` / `<ipjailfailures>`.
struct BanDataTests {
    @Test func currentBanDecodesMatchesFailuresAndCapturedGroups() throws {
        let path = BanStoreTests.temporaryPath("data")
        defer { BanStoreTests.remove(path) }
        let store = try BanStore(path: path)
        try store.record([StoredBan(jail: "sshd", address: "192.0.2.1", timeOfBan: 1000, banTime: 600, banCount: 2,
                                    data: #"{"matches": ["one \"quoted\"", "two\nlines"], "failures": 3, "user": "root", "fport": 2222}"#)])
        let (ban, data) = try #require(try store.currentBan(jail: "sshd", address: "192.0.2.1"))
        #expect(ban.banCount == 2)
        #expect(data == BanData(matches: ["one \"quoted\"", "two\nlines"], failures: 3, fields: ["user": "root", "fport": "2222"]))
        #expect(try store.currentBan(jail: "sshd", address: "192.0.2.9") == nil)
        try store.record([StoredBan(jail: "web", address: "192.0.2.1", timeOfBan: 1000, banTime: 600, data: "not json")])
        #expect(try store.currentBan(jail: "web", address: "192.0.2.1")?.data == BanData())
    }

    @Test func mergedBansSumFailuresAndKeepTheNewestMatchesInTimeOrder() throws {
        let path = BanStoreTests.temporaryPath("merged")
        defer { BanStoreTests.remove(path) }
        let store = try BanStore(path: path)
        func lines(_ prefix: String, _ count: Int) -> String {
            "[" + (0..<count).map { "\"\(prefix)\($0)\"" }.joined(separator: ", ") + "]"
        }
        try store.record([
            StoredBan(jail: "sshd", address: "192.0.2.1", timeOfBan: 1000, banTime: 60, data: #"{"matches": \#(lines("a", 6)), "failures": 6}"#),
            StoredBan(jail: "web", address: "192.0.2.1", timeOfBan: 2000, banTime: 60, data: #"{"matches": \#(lines("w", 2)), "failures": 2}"#),
            StoredBan(jail: "sshd", address: "192.0.2.1", timeOfBan: 3000, banTime: 60, data: #"{"matches": \#(lines("b", 5)), "failures": 5}"#),
            StoredBan(jail: "sshd", address: "192.0.2.1", timeOfBan: 4000, banTime: 60),  // no data: one failure
            StoredBan(jail: "sshd", address: "198.51.100.1", timeOfBan: 4000, banTime: 60, data: #"{"matches": ["x"], "failures": 9}"#),
        ])
        let jail = try store.mergedBans(address: "192.0.2.1", jail: "sshd")
        #expect(jail.failures == 12)
        #expect(jail.matches == ["a1", "a2", "a3", "a4", "a5", "b0", "b1", "b2", "b3", "b4"])
        let all = try store.mergedBans(address: "192.0.2.1", jail: nil)
        #expect(all.failures == 14)
        #expect(all.matches == ["a3", "a4", "a5", "w0", "w1", "b0", "b1", "b2", "b3", "b4"])
        #expect(try store.mergedBans(address: "203.0.113.1", jail: nil) == BanData(failures: 0))
    }
}
