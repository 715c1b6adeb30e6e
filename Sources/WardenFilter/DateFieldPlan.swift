/// How a strptime-style template's groups become a time: the groups in order for the
/// general walk, and the plan when the template allows one. A class, so the per-line
/// switch over a template's reading copies one reference.
final class DateFieldReading: Sendable {
    let groups: [DateField.Group]
    let plan: DateFieldPlan?

    init(_ groups: [DateField.Group]) {
        self.groups = groups
        plan = DateFieldPlan(groups)
    }
}

/// A template's strptime fields read straight from fixed group numbers, for templates
/// where each value has one source (every default template but the 12-hour Tomcat one).
/// The year may have two, `%Y` and `%y` (`%d/%m/(%Y|%y)`): the later group that took
/// part wins, as in the walk.
///
/// The general walk (`DateFieldParser.convert(_ groups:)`) visits the groups in order
/// because a later group overrides an earlier one and the first failing group decides
/// between `.invalid` and `.lineError`. With one source per value no group overrides
/// another, so when every field reads cleanly the order cannot matter; when one fails,
/// the plan gives up and the walk decides. The result is the walk's, at less cost.
struct DateFieldPlan: Sendable {
    /// Group numbers; 0 when the template has no such group (group 0 is the whole match).
    let year4: Int, year2: Int, month: Int, monthName: Int, day: Int
    let hour: Int, minute: Int, second: Int, weekdayName: Int, zone: Int
    let monthNameIsFull: Bool, weekdayNameIsFull: Bool

    /// nil when a value has two sources, or a field needs the walk (12-hour clock with
    /// AM/PM, day of year, week numbers, numeric weekday).
    init?(_ groups: [DateField.Group]) {
        var year4 = 0, year2 = 0, month = 0, monthName = 0, day = 0
        var hour = 0, minute = 0, second = 0, weekdayName = 0, zone = 0
        var monthNameIsFull = false, weekdayNameIsFull = false
        for group in groups {
            let claimed: Bool
            switch group.field {
            case .year4: claimed = Self.claim(&year4, group.number)
            case .year2: claimed = Self.claim(&year2, group.number)
            case .month: claimed = monthName == 0 && Self.claim(&month, group.number)
            case .monthAbbreviation, .monthName:
                claimed = month == 0 && Self.claim(&monthName, group.number)
                monthNameIsFull = group.field == .monthName
            case .day: claimed = Self.claim(&day, group.number)
            case .hour24: claimed = Self.claim(&hour, group.number)
            case .minute: claimed = Self.claim(&minute, group.number)
            case .second: claimed = Self.claim(&second, group.number)
            case .weekdayAbbreviation, .weekdayName:
                claimed = Self.claim(&weekdayName, group.number)
                weekdayNameIsFull = group.field == .weekdayName
            case .zoneOffset, .zoneName: claimed = Self.claim(&zone, group.number)
            case .hour12, .amPm, .yearDay, .weekOfYearSunday, .weekOfYearMonday, .weekdayNumber: claimed = false
            }
            guard claimed else { return nil }
        }
        (self.year4, self.year2, self.month, self.monthName, self.day) = (year4, year2, month, monthName, day)
        (self.hour, self.minute, self.second, self.weekdayName, self.zone) = (hour, minute, second, weekdayName, zone)
        (self.monthNameIsFull, self.weekdayNameIsFull) = (monthNameIsFull, weekdayNameIsFull)
    }

    private static func claim(_ slot: inout Int, _ number: Int) -> Bool {
        guard slot == 0 else { return false }
        slot = number
        return true
    }
}

extension DateFieldParser {
    /// The time of a match of a template with `plan`; nil when a field does not read
    /// cleanly (then `convert(_ groups:)` finds the error fail2ban reports first).
    func convert(_ plan: DateFieldPlan, zone: LogTimeZone, now: Double, clock: inout LocalTimeConverter) -> DateConversion? {
        var year4: Int?, year2: Int?, month: Int?, day: Int?, hour: Int?, minute: Int?, second: Int?
        guard number(plan.year4, &year4), number(plan.year2, &year2), number(plan.month, &month),
              number(plan.day, &day), number(plan.hour, &hour), number(plan.minute, &minute),
              number(plan.second, &second)
        else { return nil }
        if let short = year2 { year2 = short <= 2000 ? short + 2000 : short }
        // With both year groups, the later one that took part wins, as in the walk.
        let year = plan.year4 > plan.year2 ? year4 ?? year2 : year2 ?? year4
        if let range = group(plan.monthName) {
            guard let index = EnglishNames.month(text(range), full: plan.monthNameIsFull) else { return nil }
            month = index
        }
        var weekday: Int?
        if let range = group(plan.weekdayName) {
            guard let index = EnglishNames.weekday(text(range), full: plan.weekdayNameIsFull) else { return nil }
            weekday = index
        }
        var offsetSeconds: Int?
        if let range = group(plan.zone) {
            guard case .minutes(let minutes) = TimeZoneText.offsetMinutes(text(range)) else { return nil }
            offsetSeconds = minutes * 60
        }
        return Self.finish(year: year, month: month, day: day, hour: hour ?? 0, minute: minute ?? 0, second: second ?? 0,
                           weekday: weekday, julian: nil, weekOfYear: nil, weekStartsMonday: false,
                           offsetSeconds: offsetSeconds, zone: zone, now: now, clock: &clock)
    }

    /// The span of `number` when the template has that group and it took part.
    @inline(__always) private func group(_ number: Int) -> Range<Int>? {
        number == 0 ? nil : range(of: number)
    }

    @inline(__always) private func text(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: line[range])
    }

    /// Reads group `number` as Python's `int()` into `value` if it took part; false when
    /// it is no number or too large for fail2ban.
    @inline(__always) private func number(_ number: Int, _ value: inout Int?) -> Bool {
        guard let range = group(number) else { return true }
        guard let parsed = PythonNumber.int(text(range)), abs(parsed) <= PythonNumber.limit else { return false }
        value = parsed
        return true
    }
}
