/// The ban time for an address given how often it was banned before, with fail2ban's
/// `bantime.increment` rules (observer.py): the first ban lasts `bantime`; after `n`
/// earlier bans (counted in this jail, or in all jails with `overalljails`, from the
/// store) it lasts `bantime * factor * multipliers[min(n, last)]` when multipliers are
/// set, else `max(bantime, formula)`; then at most `maxtime`, plus a random share of
/// `rndtime` so that botnets cannot predict the unban.
public struct BanTimeCalculator: Sendable {
    public let banTime: Double
    public let increment: BanTimeIncrement
    private let factor: PythonExpression.Value
    private let formula: PythonExpression

    public static let defaultFormula = "ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor"

    public init(banTime: Double, increment: BanTimeIncrement) throws {
        self.banTime = banTime
        self.increment = increment
        factor = try PythonExpression(increment.factor).evaluate()
        formula = try PythonExpression(increment.formula ?? Self.defaultFormula)
    }

    public init(_ jail: JailDefinition) throws {
        try self.init(banTime: jail.banTime, increment: jail.banTimeIncrement)
    }

    /// Seconds to ban for, -1 (or the configured negative value) when permanent.
    /// `previousBans` is the ban count the store holds for the address; `random` is a
    /// value in 0..<1 (injectable so tests can compare with fail2ban), drawn only with
    /// `rndtime` (a draw is a getrandom call, per ban).
    public func banTime(previousBans: Int, random: @autoclosure () -> Double = Double.random(in: 0..<1)) throws -> Double {
        guard increment.enabled, banTime > 0, previousBans > 0 else { return banTime }
        var result: Double
        if !increment.multipliers.isEmpty {
            let index = min(previousBans, increment.multipliers.count - 1)
            result = banTime * factor.double * Double(increment.multipliers[index])
        } else {
            let time: PythonExpression.Value = banTime == banTime.rounded() && abs(banTime) < 9e18
                ? .int(Int(banTime)) : .float(banTime)
            let value = try formula.evaluate(["ban.Time": time, "ban.Count": .int(previousBans), "banFactor": factor])
            result = max(banTime, value.double)
        }
        if let maxTime = increment.maxTime { result = min(result, maxTime) }
        if let randomTime = increment.randomTime { result += random() * randomTime }
        return result
    }

    /// The longest ban the jail can hand out: `maxtime` with increments (unbounded, -1,
    /// when unset), else `bantime`. Restored bans are cut to it (fail2ban's getMaxBanTime).
    public var maximumBanTime: Double {
        increment.enabled ? (increment.maxTime ?? -1) : banTime
    }
}
