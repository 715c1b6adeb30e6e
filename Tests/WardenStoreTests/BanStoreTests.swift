import Foundation
import Testing
@testable import WardenStore

struct BanStoreTests {
    static func temporaryPath(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("warden-store-\(label)-\(UUID().uuidString).sqlite3").path
    }

    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    @Test func recordsCountsRemovesAndKeepsPositions() throws {
        let path = Self.temporaryPath("basic")
        defer { Self.remove(path) }
        let store = try BanStore(path: path)
        try store.record([
            StoredBan(jail: "sshd", address: "192.0.2.1", timeOfBan: 1000, banTime: 600, banCount: 1, data: #"{"failures": 5}"#),
            StoredBan(jail: "nginx", address: "192.0.2.1", timeOfBan: 1100, banTime: 600, banCount: 2),
        ])
        try store.record([StoredBan(jail: "sshd", address: "192.0.2.1", timeOfBan: 2000, banTime: 1200, banCount: 2)])
        #expect(try store.history().count == 3)
        #expect(try store.banCount(address: "192.0.2.1", jail: "sshd")?.count == 2)
        #expect(try store.banCount(address: "192.0.2.1", jail: "sshd")?.lastTimeOfBan == 2000)
        #expect(try store.banCount(address: "192.0.2.1", jail: nil)?.count == 4)
        #expect(try store.banCount(address: "192.0.2.1", jail: nil)?.lastTimeOfBan == 2000)
        #expect(try store.banCount(address: "198.51.100.1", jail: nil) == nil)
        #expect(try store.remove(jail: "sshd", addresses: ["192.0.2.1", "203.0.113.5"]) == 1)
        #expect(try store.restoreBans(now: 1200).map(\.jail) == ["nginx"])
        #expect(try store.history().count == 3)

        let positions = [LogPosition(path: "/var/log/auth.log", device: 2049, inode: 1234, offset: 987_654, firstLineHash: "abc"),
                         LogPosition(path: "/var/log/nginx/error.log", inode: 99, offset: 0, firstLineHash: nil)]
        try store.savePositions(positions)
        try store.savePositions([LogPosition(path: "/var/log/auth.log", device: 2049, inode: 1234, offset: 1_000_000, firstLineHash: "abc")])
        let reopened = try BanStore(path: path)
        #expect(try reopened.positions().map(\.offset) == [1_000_000, 0])
        #expect(try reopened.positions().first?.device == 2049)
    }

    /// Bans go in as multi-row inserts of up to `BanRowWriter.groupSize`: every history row
    /// is kept, in order, and every current row points at the data of its own last ban,
    /// across group boundaries, after earlier rows, and with an address twice in a group.
    @Test func bansWrittenInGroupsKeepEveryRowAndItsData() throws {
        let path = Self.temporaryPath("groups")
        defer { Self.remove(path) }
        let store = try BanStore(path: path)
        try store.record([StoredBan(jail: "j", address: "198.51.100.1", timeOfBan: 1, banTime: 60, data: #"{"matches": ["before"], "failures": 3}"#)])
        let count = 2 * BanRowWriter.groupSize + 5
        let bans = (0..<count).map { index in
            // Index 3 and 20 ban the same address: the later one is its current ban.
            StoredBan(jail: index % 2 == 0 ? "j" : "k", address: index == 20 ? "192.0.2.3" : "192.0.2.\(index)",
                      timeOfBan: Double(100 + index), banTime: 600, banCount: index + 1,
                      data: index == 7 ? nil : #"{"matches": ["line \#(index)"], "failures": \#(index)}"#)
        }
        try store.record(bans)
        let history = try store.history()
        #expect(history.count == count + 1)
        #expect(Array(history.dropFirst()) == bans)
        for (index, ban) in bans.enumerated() where index != 3 {
            let (current, data) = try #require(try store.currentBan(jail: ban.jail, address: ban.address))
            #expect(current.timeOfBan == ban.timeOfBan && current.banCount == ban.banCount)
            if index != 7 { #expect(data == BanData(matches: ["line \(index)"], failures: index)) }
        }
        #expect(try store.currentBan(jail: "j", address: "198.51.100.1")?.data == BanData(matches: ["before"], failures: 3))
    }

    @Test func restoreFollowsFail2bansRules() throws {
        let path = Self.temporaryPath("restore")
        defer { Self.remove(path) }
        let store = try BanStore(path: path)
        let now = 100_000.0
        try store.record([
            StoredBan(jail: "a", address: "10.0.0.1", timeOfBan: now - 100, banTime: 600),      // 500 s left
            StoredBan(jail: "a", address: "10.0.0.2", timeOfBan: now - 700, banTime: 600),      // expired
            StoredBan(jail: "a", address: "10.0.0.3", timeOfBan: now - 5000, banTime: -1),      // permanent
            StoredBan(jail: "b", address: "10.0.0.4", timeOfBan: now - 1000, banTime: 86400),   // long
            StoredBan(jail: "c", address: "10.0.0.5", timeOfBan: now - 10, banTime: 60),
        ])
        let all = try store.restoreBans(now: now)
        #expect(Set(all.map(\.address)) == ["10.0.0.1", "10.0.0.3", "10.0.0.4", "10.0.0.5"])
        #expect(all.first { $0.address == "10.0.0.1" }?.remaining(at: now) == 500)

        // Jail b now bans for 1800 s without increments: its ban is cut to 1800 s and
        // still runs; jail a's permanent ban becomes 600 s from its start, so it is over.
        let policies = ["a": RestorePolicy(maximumBanTime: 600, incrementEnabled: false),
                        "b": RestorePolicy(maximumBanTime: 1800, incrementEnabled: false)]
        let cut = try store.restoreBans(now: now, policies: policies)
        #expect(Set(cut.map(\.address)) == ["10.0.0.1", "10.0.0.4", "10.0.0.5"])
        #expect(cut.first { $0.address == "10.0.0.4" }?.banTime == 1800)
        #expect(try store.restoreBans(now: now, policies: policies, onlyConfiguredJails: true).count == 2)
        // With increments and no maxtime nothing is cut.
        let unbounded = try store.restoreBans(now: now, policies: ["a": RestorePolicy(maximumBanTime: -1, incrementEnabled: true)])
        #expect(unbounded.contains { $0.address == "10.0.0.3" && $0.isPermanent })
    }

    @Test func purgeDropsOldHistoryAndLongExpiredCurrentBans() throws {
        let path = Self.temporaryPath("purge")
        defer { Self.remove(path) }
        let store = try BanStore(path: path)
        let day = 86400.0, now = 10 * day
        try store.record([
            StoredBan(jail: "j", address: "old", timeOfBan: now - 3 * day, banTime: 600),
            StoredBan(jail: "j", address: "forever", timeOfBan: now - 3 * day, banTime: -1),
            StoredBan(jail: "j", address: "recent", timeOfBan: now - 3600, banTime: 600),
            StoredBan(jail: "j", address: "long", timeOfBan: now - 2 * day, banTime: Int64(7 * day)),
        ])
        try store.purge(age: day, now: now)
        #expect(Set(try store.history().map(\.address)) == ["recent"])
        // Current entries stay while they may still count for bantime.increment.
        #expect(try store.banCount(address: "old", jail: "j") == nil)
        #expect(try store.banCount(address: "forever", jail: "j") != nil)
        #expect(try store.banCount(address: "long", jail: "j") != nil)
        #expect(try store.banCount(address: "recent", jail: "j") != nil)
    }

    @Test func importsAFail2banDatabaseWrittenByFail2ban() throws {
        let source = Self.temporaryPath("fail2ban")
        let path = Self.temporaryPath("imported")
        defer { Self.remove(source); Self.remove(path) }
        let script = """
            import json, sys, time
            from fail2ban.server.database import Fail2BanDb
            from fail2ban.server.ticket import FailTicket
            class Actions:
                def getBanTime(self): return 600
            class Jail:
                def __init__(self, name): self.name, self.actions, self.idle = name, Actions(), False
            class Container:
                def __init__(self, name, pos, md5): self.name, self.pos, self.md5 = name, pos, md5
                def getFileName(self): return self.name
                def getPos(self): return self.pos
                def getHash(self): return self.md5
            path, now = sys.argv[1], float(sys.argv[2])
            db = Fail2BanDb(path)
            jails = {name: Jail(name) for name in ('sshd', 'recidive')}
            for jail in jails.values(): db.addJail(jail)
            for index in range(40):
                ticket = FailTicket('192.0.2.%d' % (index % 25), now - index * 97, ['line %d' % index])
                ticket.setBanTime(-1 if index % 13 == 0 else 600 * (1 + index % 4))
                ticket.setBanCount(1 + index % 3)
                db.addBan(jails['sshd' if index % 5 else 'recidive'], ticket)
            db.addLog(jails['sshd'], Container('/var/log/auth.log', 4242, 'd41d8cd98f00b204e9800998ecf8427e'))
            current = sorted([j, str(t.getID()), int(t.getTime()), int(t.getBanTime()), t.getBanCount()]
                             for j in jails for t in db.getCurrentBans(jail=jails[j], fromtime=now, correctBanTime=False))
            bans = len(db.getBans())
            # fail2ban's restoreCurrentBans for two jail settings: without increments
            # (bantime 1200: forbantime and cap 1200) and with (maxtime 3000, no forbantime).
            def restored(jail, forbantime, cap):
                out = []
                for t in db.getCurrentBans(jail=jails[jail], forbantime=forbantime, fromtime=now, correctBanTime=cap):
                    btm = t.getBanTime(forbantime)
                    if btm != -1 and now - t.getTime() > 0: btm -= now - t.getTime()
                    if btm != -1 and btm <= 0: continue
                    out.append([jail, str(t.getID()), int(t.getTime()), int(t.getBanTime())])
                return out
            policies = sorted(restored('sshd', 1200, 1200) + restored('recidive', None, 3000))
            db.close()
            print(json.dumps({'current': current, 'bans': bans, 'policies': policies}))
            """
        let now = 1_700_000_000.0
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, source, String(now)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let oracle = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let expectedCurrent = try #require(oracle["current"] as? [[Any]])

        let store = try BanStore(path: path)
        let summary = try store.importFail2banDatabase(path: source)
        #expect(summary.history == oracle["bans"] as? Int)
        #expect(summary.history == 40)
        #expect(summary.positions == 1)
        let restored = try store.restoreBans(now: now).map { ban in
            "\(ban.jail) \(ban.address) \(Int(ban.timeOfBan)) \(ban.banTime) \(ban.banCount)"
        }.sorted()
        let expected = expectedCurrent.map { row in row.map { "\($0)" }.joined(separator: " ") }.sorted()
        #expect(!expected.isEmpty)
        #expect(restored == expected)
        let expectedPolicies = try #require(oracle["policies"] as? [[Any]]).map { row in
            row.map { "\($0)" }.joined(separator: " ")
        }.sorted()
        let withPolicies = try store.restoreBans(now: now, policies: [
            "sshd": RestorePolicy(maximumBanTime: 1200, incrementEnabled: false),
            "recidive": RestorePolicy(maximumBanTime: 3000, incrementEnabled: true),
        ]).map { "\($0.jail) \($0.address) \(Int($0.timeOfBan)) \($0.banTime)" }.sorted()
        #expect(!expectedPolicies.isEmpty && expectedPolicies != expected.map { $0 })
        #expect(withPolicies == expectedPolicies)
        #expect(try store.positions() == [LogPosition(path: "/var/log/auth.log", inode: 0, offset: 4242,
                                                      firstLineHash: "d41d8cd98f00b204e9800998ecf8427e")])
        // Increments continue from fail2ban's counts.
        #expect(try store.banCount(address: "192.0.2.0", jail: "recidive") != nil)
    }

    @Test func refusesOtherFail2banSchemas() throws {
        let source = Self.temporaryPath("v2")
        let path = Self.temporaryPath("target")
        defer { Self.remove(source); Self.remove(path) }
        let scratch = try SQLiteConnection(path: source)
        try scratch.execute("CREATE TABLE fail2banDb(version INTEGER); INSERT INTO fail2banDb VALUES(2);")
        #expect(throws: StoreError.self) { try BanStore(path: path).importFail2banDatabase(path: source) }
        #expect(throws: StoreError.self) { try BanStore(path: path).importFail2banDatabase(path: path + ".missing") }
    }
}
