import Glibc

/// A strptime field a template's named group can carry (fail2ban reads groups by name,
/// so custom regex templates may use them too).
enum DateField: Sendable {
    case year4, year2, month, monthAbbreviation, monthName, day, hour24, hour12, minute, second
    case weekdayAbbreviation, weekdayName, weekdayNumber, yearDay, weekOfYearSunday, weekOfYearMonday
    case zoneOffset, zoneName, amPm

    struct Group: Sendable { let number: Int; let field: DateField }

    private static let byGroupName: [String: DateField] = [
        "Y": .year4, "y": .year2, "m": .month, "b": .monthAbbreviation, "B": .monthName, "d": .day,
        "H": .hour24, "I": .hour12, "M": .minute, "S": .second, "a": .weekdayAbbreviation,
        "A": .weekdayName, "w": .weekdayNumber, "j": .yearDay, "U": .weekOfYearSunday,
        "W": .weekOfYearMonday, "z": .zoneOffset, "Z": .zoneName, "p": .amPm,
    ]

    /// The template's field groups in group order: a later group overrides an earlier one,
    /// as in fail2ban's walk over `groupdict()`.
    static func groups(in regex: PCRERegex) -> [Group] {
        regex.namedGroups.compactMap { group in byGroupName[group.name].map { Group(number: group.number, field: $0) } }
            .sorted { $0.number < $1.number }
    }
}

/// What fail2ban makes of a matched date text.
enum DateConversion: Equatable {
    case time(Double)
    /// fail2ban's conversion raises ValueError (Feb 30, hour 25, unknown zone syntax):
    /// the line goes on without a date.
    case invalid
    /// fail2ban raises another exception (unknown upper-case zone abbreviation, a lone
    /// `%m` without `%d`, ...): fail2ban drops the whole line.
    case lineError
}

/// Turns the named groups of a date match into Unix time, reproducing fail2ban's
/// strptime variant: the year and date are inferred from `now` when missing, the
/// fraction of seconds is dropped, and a zone in the text beats the log's time zone.
struct DateFieldParser {
    let line: UnsafeBufferPointer<UInt8>
    /// Unretained: a parser lives for one conversion, inside the call that borrows the
    /// match data, and a counted reference cost a retain/release pair per line.
    private let match: Unmanaged<PCREMatchData>

    init(line: UnsafeBufferPointer<UInt8>, match: PCREMatchData) {
        self.line = line
        self.match = .passUnretained(match)
    }

    /// The span of group `number`, or nil if it did not take part.
    @inline(__always) func range(of number: Int) -> Range<Int>? {
        match._withUnsafeGuaranteedRef { $0.range(of: number) }
    }

    func convert(_ groups: [DateField.Group], zone: LogTimeZone, now: Double, clock: inout LocalTimeConverter) -> DateConversion {
        var year: Int?, month: Int?, day: Int?
        var hour = 0, minute = 0, second = 0
        var weekday: Int?, julian: Int?, weekOfYear: Int?, weekStartsMonday = false
        var offsetSeconds: Int?
        for group in groups {
            guard let range = range(of: group.number) else { continue }
            let text = UnsafeBufferPointer(rebasing: line[range])
            switch group.field {
            case .year4, .year2, .month, .day, .hour24, .minute, .second, .yearDay, .weekOfYearSunday,
                 .weekOfYearMonday, .weekdayNumber:
                // Python reads non-ASCII digits too; those (and other text) count as invalid here.
                guard let value = PythonNumber.int(text) else { return .invalid }
                // Beyond a C int, Python's datetime raises OverflowError, which drops the line.
                guard abs(value) <= PythonNumber.limit else { return .lineError }
                switch group.field {
                case .year4: year = value
                case .year2: year = value <= 2000 ? value + 2000 : value
                case .month: month = value
                case .day: day = value
                case .hour24: hour = value
                case .minute: minute = value
                case .second: second = value
                case .yearDay: julian = value
                case .weekdayNumber: weekday = value - 1 < 0 ? 6 : value - 1
                default:
                    weekOfYear = value
                    weekStartsMonday = group.field == .weekOfYearMonday
                }
            case .monthAbbreviation, .monthName:
                guard let index = EnglishNames.month(text, full: group.field == .monthName) else { return .invalid }
                month = index
            case .weekdayAbbreviation, .weekdayName:
                guard let index = EnglishNames.weekday(text, full: group.field == .weekdayName) else { return .invalid }
                weekday = index
            case .hour12:
                guard let value = PythonNumber.int(text) else { return .invalid }
                guard abs(value) <= PythonNumber.limit else { return .lineError }
                hour = value
                switch amPm(groups) {
                case .none: return .lineError
                case .some(.am): if hour == 12 { hour = 0 }
                case .some(.pm): if hour != 12 { hour += 12 }
                case .some(.other): break
                }
            case .zoneOffset, .zoneName:
                switch TimeZoneText.offsetMinutes(text) {
                case .minutes(let minutes): offsetSeconds = minutes * 60
                case .invalid: return .invalid
                case .unknownAbbreviation: return .lineError
                }
            case .amPm:
                break
            }
        }
        return Self.finish(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                           weekday: weekday, julian: julian, weekOfYear: weekOfYear, weekStartsMonday: weekStartsMonday,
                           offsetSeconds: offsetSeconds, zone: zone, now: now, clock: &clock)
    }

    private enum Meridiem { case am, pm, other }

    /// The `p` group as fail2ban reads it for `%I`: absent group means AM; a group that
    /// exists but did not take part makes fail2ban fail (nil here).
    private func amPm(_ groups: [DateField.Group]) -> Meridiem? {
        guard let group = groups.last(where: { $0.field == .amPm }) else { return .am }
        guard let range = range(of: group.number) else { return nil }
        let text = line[range]
        if text.isEmpty { return .am }
        guard text.count == 2, text.last! | 0x20 == UInt8(ascii: "m") else { return .other }
        switch text.first! | 0x20 {
        case UInt8(ascii: "a"): return .am
        case UInt8(ascii: "p"): return .pm
        default: return .other
        }
    }

    /// fail2ban's completion and validation of the values read (shared with `DateFieldPlan`
    /// and the syslog conversion).
    static func finish(year parsedYear: Int?, month parsedMonth: Int?, day parsedDay: Int?, hour: Int, minute: Int,
                       second: Int, weekday: Int?, julian parsedJulian: Int?, weekOfYear: Int?, weekStartsMonday: Bool,
                       offsetSeconds parsedOffset: Int?, zone: LogTimeZone, now: Double,
                       clock: inout LocalTimeConverter) -> DateConversion {
        let localNow = clock.localNow(now)
        let assumeYear = parsedYear == nil
        var year = parsedYear ?? localNow.year
        var month = parsedMonth, day = parsedDay
        if month == nil || day == nil {
            var julian = parsedJulian
            if julian == nil, let week = weekOfYear, let weekday {
                guard (CivilTime.minimumYear...CivilTime.maximumYear).contains(year) else { return .invalid }
                julian = Self.julian(year: year, week: week, weekday: weekday, weekStartsMonday: weekStartsMonday)
            }
            if let julian {
                guard (CivilTime.minimumYear...CivilTime.maximumYear).contains(year) else { return .invalid }
                let ordinal = julian - 1 + CivilTime.ordinal(year: year, month: 1, day: 1)
                guard ordinal >= 1, ordinal <= CivilTime.ordinal(year: 9999, month: 12, day: 31) else { return .invalid }
                (year, month, day) = CivilTime.date(days: ordinal - 719163)
            }
        }
        var assumeToday = false
        if month == nil && day == nil {
            month = localNow.month
            day = localNow.day
            assumeToday = true
        }
        // A month without a day (or the reverse) makes Python's datetime() raise TypeError.
        guard let month, let day else { return .lineError }
        guard (CivilTime.minimumYear...CivilTime.maximumYear).contains(year), (1...12).contains(month),
              day >= 1, day <= CivilTime.daysInMonth(year, month), (0...23).contains(hour),
              (0...59).contains(minute), (0...59).contains(second)
        else { return .invalid }

        var naive = CivilTime.naiveSeconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        var offset = parsedOffset
        if offset == nil, case .fixed(let fixed) = zone { offset = fixed }
        if let offset {
            naive -= offset
            guard Self.isRepresentable(naive) else { return .lineError }
        }
        if assumeToday && naive > localNow.naive {
            naive -= 86400 // a time after now is from yesterday
        }
        if assumeYear && naive > localNow.naive + 86400 {
            // Last year's date: fail2ban puts back the parsed month and day, keeping the
            // (possibly zone-shifted) time of day.
            let previous = year - 1
            guard previous >= CivilTime.minimumYear, day <= CivilTime.daysInMonth(previous, month) else { return .invalid }
            let secondOfDay = naive - (naive >= 0 ? naive / 86400 : (naive - 86399) / 86400) * 86400
            naive = CivilTime.days(year: previous, month: month, day: day) * 86400 + secondOfDay
        }
        if offset != nil { return .time(Double(naive)) }
        return .time(Double(clock.epoch(naive: naive)))
    }

    private static func isRepresentable(_ naive: Int) -> Bool {
        naive >= CivilTime.minimumNaive && naive <= CivilTime.maximumNaive
    }

    /// Day of the year from a week number and weekday (Python's `_calc_julian_from_U_or_W`).
    private static func julian(year: Int, week: Int, weekday: Int, weekStartsMonday: Bool) -> Int {
        // Python weekday(): Monday is 0; 1970-01-01 was a Thursday (3).
        var firstWeekday = ((CivilTime.days(year: year, month: 1, day: 1) % 7) + 7 + 3) % 7
        var dayOfWeek = weekday
        if !weekStartsMonday {
            firstWeekday = (firstWeekday + 1) % 7
            dayOfWeek = (dayOfWeek + 1) % 7
        }
        let weekZeroLength = (7 - firstWeekday) % 7
        if week == 0 { return 1 + dayOfWeek - firstWeekday }
        return 1 + weekZeroLength + 7 * (week - 1) + dayOfWeek
    }
}

/// Python's `int(text)` on ASCII text: surrounding whitespace, a sign, digits with single
/// underscores between them. Values past 32 bits make Python's datetime overflow.
enum PythonNumber {
    static let limit = Int(Int32.max)

    /// Inlined: the plain digits every default template captures, space-padded for `%e`
    /// style days (" 1"), are read in place.
    @inline(__always)
    static func int(_ text: UnsafeBufferPointer<UInt8>) -> Int? {
        var start = 0
        while start < text.count && text[start] == UInt8(ascii: " ") { start += 1 }
        if start < text.count && text.count <= 9 {
            var value = 0
            for byte in text[start...] {
                let digit = byte &- UInt8(ascii: "0")
                if digit > 9 { return generalInt(text) }
                value = value &* 10 &+ Int(digit)
            }
            return value
        }
        return generalInt(text)
    }

    private static func generalInt(_ text: UnsafeBufferPointer<UInt8>) -> Int? {
        var start = 0, end = text.count
        while start < end && isSpace(text[start]) { start += 1 }
        while end > start && isSpace(text[end - 1]) { end -= 1 }
        var negative = false
        if start < end && (text[start] == UInt8(ascii: "+") || text[start] == UInt8(ascii: "-")) {
            negative = text[start] == UInt8(ascii: "-")
            start += 1
        }
        guard start < end else { return nil }
        var value = 0
        var previousWasDigit = false
        for index in start..<end {
            let byte = text[index]
            if byte == UInt8(ascii: "_") {
                guard previousWasDigit, index + 1 < end else { return nil }
                previousWasDigit = false
                continue
            }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = min(value * 10 + Int(byte - UInt8(ascii: "0")), limit + 1)
            previousWasDigit = true
        }
        guard previousWasDigit else { return nil }
        return negative ? -value : value
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) || (byte >= 0x1C && byte <= 0x1F) }
}

/// English (C locale) month and weekday names, compared ASCII case-insensitively like
/// Python's `val.lower()` lookup. Names are matched by their first three letters packed
/// into an integer, then, for full names, by the rest.
enum EnglishNames {
    private static let months = ["january", "february", "march", "april", "may", "june", "july", "august",
                                 "september", "october", "november", "december"].map { Array($0.utf8) }
    private static let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        .map { Array($0.utf8) }
    private static let monthKeys = months.map(key)
    private static let weekdayKeys = weekdays.map(key)

    /// 1...12, or nil.
    static func month(_ text: UnsafeBufferPointer<UInt8>, full: Bool) -> Int? {
        find(text, names: months, keys: monthKeys, full: full).map { $0 + 1 }
    }

    /// Monday = 0 ... Sunday = 6, or nil.
    static func weekday(_ text: UnsafeBufferPointer<UInt8>, full: Bool) -> Int? {
        find(text, names: weekdays, keys: weekdayKeys, full: full)
    }

    private static func key(_ name: [UInt8]) -> UInt32 { UInt32(name[0]) << 16 | UInt32(name[1]) << 8 | UInt32(name[2]) }

    private static func find(_ text: UnsafeBufferPointer<UInt8>, names: [[UInt8]], keys: [UInt32], full: Bool) -> Int? {
        guard text.count >= 3, full || text.count == 3 else { return nil }
        let lowered = UInt32(text[0] | 0x20) << 16 | UInt32(text[1] | 0x20) << 8 | UInt32(text[2] | 0x20)
        // `| 0x20` maps only letters onto letters, so a key hit means the same letters.
        guard let index = keys.firstIndex(of: lowered) else { return nil }
        guard full else { return index }
        let name = names[index]
        guard name.count == text.count else { return nil }
        for position in 3..<text.count where text[position] | 0x20 != name[position] { return nil }
        return index
    }
}

/// Numeric timestamps: Unix epoch text and TAI64N labels.
enum DateNumbers {
    /// fail2ban's `float(text)`, divided for 13+ digit milli- and 16+ digit microseconds when `long`.
    static func epoch(_ text: UnsafeBufferPointer<UInt8>, long: Bool) -> DateConversion {
        guard !text.isEmpty, text.count < 64,
              text.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") })
        else { return .invalid }
        // strtod on a NUL-terminated stack copy: correctly rounded, like Python's float().
        let value = withUnsafeTemporaryAllocation(of: CChar.self, capacity: text.count + 1) { buffer -> Double in
            for index in 0..<text.count { buffer[index] = CChar(bitPattern: text[index]) }
            buffer[text.count] = 0
            return strtod(buffer.baseAddress!, nil)
        }
        guard long && text.count >= 13 else { return .time(value) }
        let hasPoint = text.contains(UInt8(ascii: "."))
        return .time(text.count >= 16 && !hasPoint ? value / 1_000_000 : value / 1000)
    }

    /// Seconds of a TAI64N label `@4000000046c1f5a0...`: hex digits 2..<17 of the text
    /// (fail2ban drops the leading `@4`).
    static func tai64n(_ text: UnsafeBufferPointer<UInt8>) -> DateConversion {
        guard text.count >= 17 else { return .invalid }
        var seconds = 0
        for index in 2..<17 {
            let byte = text[index]
            let digit: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int(byte - UInt8(ascii: "a")) + 10
            default: return .invalid
            }
            seconds = seconds << 4 | digit
        }
        return .time(Double(seconds))
    }
}
