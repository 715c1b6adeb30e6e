/// A detector's per-line work: choose the template (`DateTemplateSelection`), then turn
/// its date into Unix time. The detector keeps one and mutates it in place, so the
/// regexes and match data reached from here are borrowed, not retained, on every line.
struct DateFinder {
    private(set) var selection: DateTemplateSelection
    private let zone: LogTimeZone
    private var clock = LocalTimeConverter()
    /// The syslog lane's reader, which keeps the last line's head.
    private var syslog = SyslogDateReader()
    /// The last (year, month, day) the syslog conversion met, packed, and its days since
    /// 1970-01-01 (nil: no such date, which `finish` reports).
    private var syslogDay = (key: -1, days: Int?.none)

    init(templates: [DateTemplate], zone: LogTimeZone) {
        selection = DateTemplateSelection(templates: templates)
        self.zone = zone
    }

    /// `DateDetector.findDate`, with the line's ASCII-ness known.
    ///
    /// The syslog lane: when the last line's date was the syslog template's, fail2ban
    /// tries that template first, on the whole line, and keeps its match. So if
    /// `SyslogDateReader` reads the line, the general selection would pick the same
    /// template and span; only its bookkeeping is left to do. (The lane does not record
    /// the groups in the match data: nothing reads them after this line's selection.)
    ///
    /// (`_fastPath`: nearly every line of a syslog file takes the lane; the hint makes the
    /// compiler lay it out in a straight line, in fewer instruction-cache lines.)
    mutating func findDate(in line: UnsafeBufferPointer<UInt8>, isASCII: Bool, now: Double) -> DateMatch? {
        if _fastPath(isASCII && selection.lastWinnerIsSyslog && syslog.read(line)) {
            let template = selection.recordSyslogRepeat(now: now)
            let time = convertSyslog(month: syslog.match.month, day: syslog.match.day, hour: syslog.match.hour,
                                     minute: syslog.match.minute, second: syslog.match.second, now: now)
            return DateMatch(time, range: syslog.match.date, templateIndex: template)
        }
        return findDateBySelection(in: line, isASCII: isASCII, now: now)
    }

    /// The date of `line` by fail2ban's selection, without the syslog lane (internal: the
    /// tests compare the two).
    @inline(never)
    mutating func findDateBySelection(in line: UnsafeBufferPointer<UInt8>, isASCII: Bool, now: Double) -> DateMatch? {
        guard let found = selection.select(in: line, isASCII: isASCII, now: now),
              let template = selection.regexes.compiled(found.template) else { return nil }
        if found.failed { return DateMatch(.lineError, range: found.dateRange, templateIndex: found.template) }
        if found.dateRange.isEmpty {
            return DateMatch(epoch: now, range: found.dateRange, templateIndex: found.template, status: .empty)
        }
        let match = selection.regexes.data, zone = zone
        let conversion: DateConversion
        if let fields = selection.regexes.syslogFields {
            conversion = convertSyslog(month: fields.month, day: fields.day, hour: fields.hour, minute: fields.minute,
                                       second: fields.second, now: now)
        } else {
            conversion = template._withUnsafeGuaranteedRef {
                Self.convert($0.value, line: line, match: match, zone: zone, now: now, clock: &clock)
            }
        }
        return DateMatch(conversion, range: found.dateRange, templateIndex: found.template)
    }

    /// The syslog template's time: `DateFieldParser.finish` for a date without year,
    /// weekday or zone, computed here while the date is plain (a valid day of the
    /// current year, a valid time, no year rollover) and left to `finish` otherwise. The
    /// day's validation and number are kept for the last (year, month, day). The libc
    /// calls are `finish`'s, in the same order (see `LocalTimeConverter.epoch(day:secondOfDay:)`).
    mutating func convertSyslog(month: Int, day: Int, hour: Int, minute: Int, second: Int, now: Double) -> DateConversion {
        let localNow = clock.localNow(now)
        let key = localNow.year << 9 | month << 5 | day
        if key != syslogDay.key { syslogDay = Self.syslogDay(key, year: localNow.year, month: month, day: day) }
        // The values are the reader's, from one or two digits (0...99): one sign test checks
        // the time's range, and no arithmetic below can overflow. (`_fastPath`: as in `findDate`.)
        if let days = syslogDay.days, _fastPath((23 &- hour) | (59 &- minute) | (59 &- second) >= 0) {
            let secondOfDay = hour &* 3600 &+ minute &* 60 &+ second
            switch zone {
            case .local:
                // A valid date of years 1...9999 is representable.
                guard days &* 86400 &+ secondOfDay <= localNow.naive &+ 86400 else { break }
                return .time(Double(clock.epoch(day: days, secondOfDay: secondOfDay)))
            case .fixed(let offset):
                let naive = days &* 86400 &+ secondOfDay - offset
                guard naive >= CivilTime.minimumNaive && naive <= CivilTime.maximumNaive && naive <= localNow.naive + 86400
                else { break }
                return .time(Double(naive))
            }
        }
        return finishSyslog(month: month, day: day, hour: hour, minute: minute, second: second, now: now)
    }

    /// `syslogDay` for a date: nil days for a day `finish` rejects. Out of line: the day
    /// changes rarely, and inline it would sit between the hot instructions.
    @inline(never)
    private static func syslogDay(_ key: Int, year: Int, month: Int, day: Int) -> (key: Int, days: Int?) {
        guard (CivilTime.minimumYear...CivilTime.maximumYear).contains(year), day <= CivilTime.daysInMonth(year, month)
        else { return (key, nil) }
        return (key, CivilTime.days(year: year, month: month, day: day))
    }

    /// The syslog dates `convertSyslog` does not compute itself: invalid ones, last
    /// year's, the extremes of the calendar.
    @inline(never)
    private mutating func finishSyslog(month: Int, day: Int, hour: Int, minute: Int, second: Int, now: Double) -> DateConversion {
        DateFieldParser.finish(year: nil, month: month, day: day, hour: hour, minute: minute, second: second,
                               weekday: nil, julian: nil, weekOfYear: nil, weekStartsMonday: false,
                               offsetSeconds: nil, zone: zone, now: now, clock: &clock)
    }

    private static func convert(_ value: borrowing DateTemplate.Value, line: UnsafeBufferPointer<UInt8>, match: PCREMatchData,
                                zone: LogTimeZone, now: Double, clock: inout LocalTimeConverter) -> DateConversion {
        switch value {
        case .fields(let reading):
            let parser = DateFieldParser(line: line, match: match)
            if let plan = reading.plan, let time = parser.convert(plan, zone: zone, now: now, clock: &clock) { return time }
            return parser.convert(reading.groups, zone: zone, now: now, clock: &clock)
        case .epoch(let group, let long):
            guard let range = match.range(of: group) else { return .invalid }
            return DateNumbers.epoch(UnsafeBufferPointer(rebasing: line[range]), long: long)
        case .tai64n:
            guard let range = match.range(of: 1) else { return .invalid }
            return DateNumbers.tai64n(UnsafeBufferPointer(rebasing: line[range]))
        }
    }
}

extension DateMatch {
    /// A conversion's result as a match.
    fileprivate init(_ conversion: DateConversion, range: Range<Int>, templateIndex: Int) {
        switch conversion {
        case .time(let epoch): self.init(epoch: epoch, range: range, templateIndex: templateIndex, status: .parsed)
        case .invalid: self.init(epoch: 0, range: range, templateIndex: templateIndex, status: .invalid)
        case .lineError: self.init(epoch: 0, range: range, templateIndex: templateIndex, status: .lineError)
        }
    }
}
