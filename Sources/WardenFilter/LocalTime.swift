import Glibc

/// Proleptic Gregorian calendar arithmetic on "naive" times: seconds counted as if the
/// wall-clock date and time were UTC. This is how Python's naive `datetime` compares and
/// shifts, which fail2ban's year inference relies on.
enum CivilTime {
    static let minimumYear = 1, maximumYear = 9999
    /// Naive seconds of 0001-01-01 00:00:00 and 9999-12-31 23:59:59, Python's datetime range.
    static var minimumNaive: Int { -62_135_596_800 }
    static var maximumNaive: Int { 253_402_300_799 }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }

    static func date(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let dayOfEra = z - era * 146097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func naiveSeconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int {
        days(year: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60 + second
    }

    /// Python's `datetime.toordinal()` (0001-01-01 is day 1).
    static func ordinal(year: Int, month: Int, day: Int) -> Int {
        days(year: year, month: month, day: day) + 719163
    }
}

/// Local wall-clock time to Unix time, as `time.mktime` (libc `mktime` with
/// `tm_isdst = -1`, honouring `TZ`) computes it, without a libc call for most lines.
///
/// A calendar day whose UTC offset is the same from three hours before its midnight to
/// three hours after its end has no DST change near it, so every time on it is midnight
/// plus the seconds of the day; such day starts are cached. Other days (the few around a
/// DST switch) go to `mktime` on every call, so its choice for skipped or repeated
/// times is kept. The cache assumes `TZ` does not change while a detector lives.
struct LocalTimeConverter {
    private struct CachedDay { var day: Int; var midnight: Int? }
    private var recent: (CachedDay, CachedDay) = (CachedDay(day: .min, midnight: nil), CachedDay(day: .min, midnight: nil))
    /// The values of `now` that round down to the second `nowFields` describes.
    private var nowSpan = (lower: Double.infinity, upper: -Double.infinity)
    private var nowFields = (year: 0, month: 0, day: 0, naive: 0)

    mutating func epoch(naive: Int) -> Int {
        let day = naive >= 0 ? naive / 86400 : (naive - 86399) / 86400
        return epoch(day: day, secondOfDay: naive - day * 86400)
    }

    /// `epoch(naive:)` of `secondOfDay` (0..<86400) on `day` (days since 1970-01-01).
    ///
    /// Its libc calls must stay exactly those of `epoch(naive:)`: glibc's `mktime` starts
    /// from the UTC offset of its previous result, and a local time that a DST change
    /// repeats or skips gets the answer that guess leads to, as in Python.
    @inline(__always)
    mutating func epoch(day: Int, secondOfDay: Int) -> Int {
        if recent.0.day != day { use(day) }
        if let midnight = recent.0.midnight { return midnight + secondOfDay }
        return Self.mktime(naive: day * 86400 + secondOfDay)
    }

    /// Makes `day` the first of the two cached days. Out of line: the day changes rarely.
    @inline(never)
    private mutating func use(_ day: Int) {
        if recent.1.day == day {
            swap(&recent.0, &recent.1)
        } else {
            recent.1 = recent.0
            recent.0 = CachedDay(day: day, midnight: Self.regularMidnight(day: day))
        }
    }

    /// The local date of `now` and its naive seconds (fraction dropped: it cannot change
    /// a comparison with a whole-second date).
    mutating func localNow(_ now: Double) -> (year: Int, month: Int, day: Int, naive: Int) {
        if now >= nowSpan.lower && now < nowSpan.upper { return nowFields }
        return breakDown(now)
    }

    @inline(never)
    private mutating func breakDown(_ now: Double) -> (year: Int, month: Int, day: Int, naive: Int) {
        // A "now" outside years 1...9999 (or NaN) is clamped rather than trapping; such a
        // "now" is outside `nowSpan`, so it is broken down on every call.
        let second = now.isNaN ? 0 : Int(min(max(now, Double(CivilTime.minimumNaive)), Double(CivilTime.maximumNaive)).rounded(.down))
        nowSpan = (Double(second), Double(second) + 1)
        var time = time_t(second)
        var fields = tm()
        localtime_r(&time, &fields)
        let year = Int(fields.tm_year) + 1900, month = Int(fields.tm_mon) + 1, day = Int(fields.tm_mday)
        nowFields = (year, month, day, CivilTime.naiveSeconds(
            year: year, month: month, day: day,
            hour: Int(fields.tm_hour), minute: Int(fields.tm_min), second: Int(fields.tm_sec)))
        return nowFields
    }

    static func mktime(naive: Int) -> Int {
        let day = naive >= 0 ? naive / 86400 : (naive - 86399) / 86400
        let seconds = naive - day * 86400
        let date = CivilTime.date(days: day)
        var fields = tm()
        fields.tm_year = Int32(date.year - 1900)
        fields.tm_mon = Int32(date.month - 1)
        fields.tm_mday = Int32(date.day)
        fields.tm_hour = Int32(seconds / 3600)
        fields.tm_min = Int32(seconds / 60 % 60)
        fields.tm_sec = Int32(seconds % 60)
        fields.tm_isdst = -1
        return Int(Glibc.mktime(&fields))
    }

    private static func regularMidnight(day: Int) -> Int? {
        let midnight = mktime(naive: day * 86400)
        let offset = utcOffset(at: midnight)
        // Midnight itself must exist and map back to this day at 00:00.
        guard midnight - offset == day * 86400 else { return nil }
        let margin = 3 * 3600
        for probe in [midnight - margin, midnight + 86399, midnight + 86400 + margin] where utcOffset(at: probe) != offset {
            return nil
        }
        return midnight
    }

    private static func utcOffset(at instant: Int) -> Int {
        var time = time_t(instant)
        var fields = tm()
        localtime_r(&time, &fields)
        return Int(fields.tm_gmtoff)
    }
}
