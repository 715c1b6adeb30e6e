import Testing
@testable import WardenJail

/// bantime.increment against fail2ban's own evformula (Jail.setBanTimeExtra), with
/// random.random pinned so rndtime is comparable.
struct BanTimeCalculatorTests {
    struct Case {
        var banTime: Double
        var increment: BanTimeIncrement
    }

    static let cases: [Case] = [
        Case(banTime: 600, increment: BanTimeIncrement(enabled: true)),
        Case(banTime: 600, increment: BanTimeIncrement(enabled: true, factor: "2")),
        Case(banTime: 600, increment: BanTimeIncrement(enabled: true, factor: "1.5", maxTime: 86400)),
        Case(banTime: 3600, increment: BanTimeIncrement(
            enabled: true, factor: "1", formula: "ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)")),
        Case(banTime: 600, increment: BanTimeIncrement(enabled: true, multipliers: [1, 5, 30, 60, 300, 720, 1440, 2880])),
        Case(banTime: 600, increment: BanTimeIncrement(enabled: true, factor: "2", multipliers: [1, 2, 4], maxTime: 2000)),
        Case(banTime: 600, increment: BanTimeIncrement(enabled: true, randomTime: 300)),
        Case(banTime: 5400, increment: BanTimeIncrement(enabled: true, factor: "3/2", maxTime: 604800, randomTime: 60)),
    ]

    @Test func matchesFail2bansFormula() throws {
        let script = """
            import json, sys, random
            random.random = lambda: 0.25
            from fail2ban.server.jail import Jail
            from fail2ban.server.observer import ObserverThread
            out = []
            for case in json.load(sys.stdin):
                jail = Jail('oracle', backend='polling')
                for key, value in case['extra'].items():
                    jail.setBanTimeExtra(key, value)
                formula = jail.getBanTimeExtra('evformula')
                out.append([float(formula(ObserverThread.BanTimeIncr(case['bantime'], count))) for count in range(1, 26)])
            print(json.dumps(out))
            """
        let input: [[String: Any]] = Self.cases.map { test in
            var extra: [String: String] = ["increment": "true", "factor": test.increment.factor]
            if let formula = test.increment.formula { extra["formula"] = formula }
            if !test.increment.multipliers.isEmpty { extra["multipliers"] = test.increment.multipliers.map(String.init).joined(separator: " ") }
            if let maxTime = test.increment.maxTime { extra["maxtime"] = String(Int(maxTime)) }
            if let randomTime = test.increment.randomTime { extra["rndtime"] = String(Int(randomTime)) }
            let banTime: Any = test.banTime == test.banTime.rounded() ? Int(test.banTime) : test.banTime
            return ["bantime": banTime, "extra": extra]
        }
        let expected = try #require(try PythonOracle.run(script, input: input) as? [[Double]])
        for (test, times) in zip(Self.cases, expected) {
            let calculator = try BanTimeCalculator(banTime: test.banTime, increment: test.increment)
            for (offset, time) in times.enumerated() {
                let ours = try calculator.banTime(previousBans: offset + 1, random: 0.25)
                #expect(abs(ours - time) <= 1e-9 * max(1, abs(time)), "\(test.increment) count \(offset + 1)")
            }
        }
    }

    @Test func firstBanAndDisabledIncrementUseBanTime() throws {
        let calculator = try BanTimeCalculator(banTime: 600, increment: BanTimeIncrement(enabled: true, factor: "2"))
        #expect(try calculator.banTime(previousBans: 0) == 600)
        #expect(try calculator.banTime(previousBans: 1) == 2400)
        let off = try BanTimeCalculator(banTime: 600, increment: BanTimeIncrement(enabled: false))
        #expect(try off.banTime(previousBans: 7) == 600)
        let permanent = try BanTimeCalculator(banTime: -1, increment: BanTimeIncrement(enabled: true))
        #expect(try permanent.banTime(previousBans: 3) == -1)
        #expect(try BanTimeCalculator(banTime: 600, increment: BanTimeIncrement(enabled: true, maxTime: 3600)).maximumBanTime == 3600)
    }
}
