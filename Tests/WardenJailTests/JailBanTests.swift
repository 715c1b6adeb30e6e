import Testing
import WardenIPC
@testable import WardenJail
import WardenLines

struct JailBanTests {
    @Test func counterBanBecomesADecisionWithIncrementedTime() throws {
        var counter = FailureCounter<String>(.init(maxRetry: 3, findTime: 600, maxMatches: 2))
        var ban: FailureCounter<String>.Ban?
        for (index, time) in [1000.0, 1010, 1020.5].enumerated() {
            ban = counter.add(id: "192.0.2.7", time: time, matches: MatchedLines(["line \(index)"]))
        }
        let calculator = try BanTimeCalculator(banTime: 600, increment: BanTimeIncrement(enabled: true, factor: "2"))
        let address = try #require(NetworkAddress("192.0.2.7"))
        let decision = try JailBan(jail: "sshd", address: address, ban: try #require(ban), calculator: calculator, previousBans: 2)
        #expect(decision.timeOfBan == 1020.5)
        // 600 * 2^2 * 2
        #expect(decision.banTime == 4800)
        #expect(decision.banCount == 3)
        #expect(decision.failures == 3)
        #expect(decision.matches.strings == ["line 1", "line 2"])
        #expect(decision.decision.time == 1_020_500_000_000)
        // The wire record round-trips through WardenIPC's encoding.
        let encoded = try decision.decision.encoded()
        let decoded = try encoded.withUnsafeBytes { try BanDecision(decoding: $0) }
        #expect(decoded == decision.decision)
        #expect(!decision.hasExpired(at: 1020.5 + 4799))
        #expect(decision.hasExpired(at: 1020.5 + 4800))
        let permanent = JailBan(jail: "sshd", address: address, timeOfBan: 0, banTime: -1, banCount: 1, failures: 1, matches: MatchedLines())
        #expect(permanent.banTime == -1)
        #expect(!permanent.hasExpired(at: .greatestFiniteMagnitude))
    }
}
