#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import WardenStore

/// A child process records bans and reports each one after `record` returned; it is
/// killed with SIGKILL at a random point. Every reported ban must be in the database
/// afterwards, and the database must open and accept more bans.
struct CrashSafetyTests {
    @Test(arguments: [1, 2, 3, 4, 5, 6])
    func everyCommittedBanSurvivesKill9(round: Int) throws {
        let path = BanStoreTests.temporaryPath("kill9-\(round)")
        defer { BanStoreTests.remove(path) }
        _ = try BanStore(path: path)
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        let pid = fork()
        if pid == 0 {
            close(pipeEnds[0])
            guard let store = try? BanStore(path: path) else { _exit(2) }
            var sequence: UInt64 = 0
            while true {
                // Batches of 1 to 8, as a ban worker commits a tick's decisions.
                let batch = Int(sequence % 8) + 1
                let bans = (0..<batch).map { offset in
                    StoredBan(jail: "crash", address: "id-\(sequence + UInt64(offset))", timeOfBan: Double(sequence), banTime: 600)
                }
                guard (try? store.record(bans)) != nil else { _exit(3) }
                sequence += UInt64(batch)
                var reported = sequence
                guard write(pipeEnds[1], &reported, 8) == 8 else { _exit(4) }
            }
        }
        close(pipeEnds[1])
        var generator = SystemRandomNumberGenerator()
        let killAfter = Int.random(in: 5...400, using: &generator)
        var committed: UInt64 = 0
        var reports = 0
        while reports < killAfter {
            var value: UInt64 = 0
            guard read(pipeEnds[0], &value, 8) == 8 else { break }
            committed = value
            reports += 1
        }
        // Let it run a little further so the kill lands at an arbitrary instruction.
        usleep(UInt32.random(in: 0...3000, using: &generator))
        kill(pid, SIGKILL)
        // Reports written before the kill are commits too.
        while true {
            var value: UInt64 = 0
            guard read(pipeEnds[0], &value, 8) == 8 else { break }
            committed = value
        }
        close(pipeEnds[0])
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(status & 0x7F == SIGKILL)
        #expect(committed > 0)

        let store = try BanStore(path: path)
        let history = try store.history(jail: "crash")
        let present = Set(history.map(\.address))
        let missing = (0..<committed).filter { !present.contains("id-\($0)") }
        #expect(missing.isEmpty, "\(missing.count) of \(committed) committed bans lost")
        // Nothing is half-written: every row is a whole batch's row, and current matches history.
        #expect(history.count >= Int(committed))
        #expect(try store.restoreBans(now: 0).count == present.count)
        try store.record([StoredBan(jail: "crash", address: "after", timeOfBan: 1, banTime: 600)])
        #expect(try store.banCount(address: "after", jail: "crash")?.count == 1)
    }
}
