/// Reads the date of the template most logs carry, fail2ban's line-start syslog template
/// `{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\.Microseconds)?(?: ExYear)?`
/// (`Jan 23 21:59:59 host sshd[1]: ...`), by hand instead of through PCRE2.
///
/// It gives PCRE2's answer or none. PCRE2 searches depth-first, trying alternatives and
/// quantifiers in order; the reader takes the same first choice at each, skipping a choice
/// only where the very next character makes it fail, as PCRE2 would. Wherever PCRE2 would
/// have to backtrack further, the year's alternatives would have to be tried, or the line
/// is not ASCII (where the regex runs in Unicode mode), it gives up, and PCRE2 decides.
/// When it reads a line it records the groups PCRE2 would have set and hands over the
/// numbers, so the conversion skips the text-to-number walk too. `SyslogDateReaderTests`
/// checks both against PCRE2 and the general conversion.
enum SyslogDateReader {
    /// The template's fields as the conversion needs them (fail2ban drops the fraction).
    struct Fields {
        let month: Int, day: Int, hour: Int, minute: Int, second: Int
    }

    /// The PCRE2 pattern this reader stands in for: attached to a template only when its
    /// pattern is exactly this text, so any change in how templates are built turns the
    /// reader off instead of making it disagree.
    static let pattern = #"(?i)^(?:\W{0,2})?((?:(?P<a>mon|tue|wed|thu|fri|sat|sun) )?"#
        + #"(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) (?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])  ?"#
        + #"(?P<H>[0-2]?\d):(?P<M>[0-5]?\d):(?P<S>[0-5]?\d|6[0-1])(?:\.(?P<f>[0-9]{1,6}))?"#
        + "(?: (?P<Y>\(DatePattern.plausibleCenturies)\\d))?)(?=\\b|\\W|$)"

    /// Group numbers in `pattern`.
    private enum Group {
        static let date = 1, weekday = 2, month = 3, day = 4, hour = 5, minute = 6, second = 7, fraction = 8, year = 9
    }

    private static let space: UInt8 = 0x20, colon: UInt8 = 0x3A, dot: UInt8 = 0x2E

    /// PCRE2's match of `pattern` on the ASCII `line`, its groups recorded in `data`; nil
    /// when the line needs PCRE2 to decide (no match, a year, a path that backtracks).
    static func read(_ line: UnsafeBufferPointer<UInt8>, into data: PCREMatchData) -> Fields? {
        guard data.capacity > Group.year, let bytes = line.baseAddress else { return nil }
        let count = line.count
        // Past the end reads as 0, which no step accepts except as a non-word character,
        // and the end of the line is one for the final lookahead too.
        func at(_ index: Int) -> UInt8 { index < count ? bytes[index] : 0 }
        func name(at index: Int) -> UInt32 {
            UInt32(at(index) | 0x20) << 16 | UInt32(at(index + 1) | 0x20) << 8 | UInt32(at(index + 2) | 0x20)
        }

        // `(?:\W{0,2})?`: greedy, up to two non-word characters.
        var position = 0
        while position < 2 && position < count && !isWord(bytes[position]) { position += 1 }
        let dateStart = position
        // `(?:(?P<a>mon|...) )?`
        var weekday: Range<Int>?
        if at(position + 3) == space && isWeekday(name(at: position)) {
            weekday = position..<position + 3
            position += 4
        }
        // `(?P<b>jan|...) `
        guard at(position + 3) == space, let monthNumber = monthNumber(name(at: position)) else { return nil }
        let month = position..<position + 3
        position += 4

        // `[1-2]\d|[0 ]?[1-9]|3[0-1]`, then a space.
        let d0 = at(position), d1 = at(position + 1), afterTwo = at(position + 2)
        let dayLength: Int
        if (0x31...0x32).contains(d0) && isDigit(d1) && afterTwo == space {
            dayLength = 2
        } else if (d0 == 0x30 || d0 == space) && (0x31...0x39).contains(d1) && afterTwo == space {
            dayLength = 2
        } else if (0x31...0x39).contains(d0) && d1 == space {
            dayLength = 1
        } else if d0 == 0x33 && (0x30...0x31).contains(d1) && afterTwo == space {
            dayLength = 2
        } else {
            return nil
        }
        let day = position..<position + dayLength
        position += dayLength + 1
        // ` ?`
        if at(position) == space { position += 1 }

        // `[0-2]?\d:` and `[0-5]?\d:`
        guard let hour = optionalLeadDigit(upTo: 0x32, at: position, then: { $0 == colon }, at) else { return nil }
        position = hour.upperBound + 1
        guard let minute = optionalLeadDigit(upTo: 0x35, at: position, then: { $0 == colon }, at) else { return nil }
        position = minute.upperBound + 1
        // `[0-5]?\d|6[0-1]`: only `.`, a space or a non-word character can follow.
        var second = optionalLeadDigit(upTo: 0x35, at: position, then: { !isDigit($0) }, at)
        if second == nil && at(position) == 0x36 && (0x30...0x31).contains(at(position + 1)) && !isDigit(at(position + 2)) {
            second = position..<position + 2
        }
        guard let second else { return nil }
        position = second.upperBound

        // `(?:\.(?P<f>[0-9]{1,6}))?`: greedy, up to six digits.
        var fraction: Range<Int>?
        if at(position) == dot && isDigit(at(position + 1)) {
            let start = position + 1
            position = start
            while position < start + 6 && isDigit(at(position)) { position += 1 }
            fraction = start..<position
        }
        // `(?: (?P<Y>...))?`: a space and a digit may start a year; PCRE2 decides.
        if at(position) == space && isDigit(at(position + 1)) { return nil }
        // `(?=\b|\W|$)` after a digit: the end of the line or a non-word character.
        if position < count && isWord(bytes[position]) { return nil }

        data.record(0, 0..<position)
        data.record(Group.date, dateStart..<position)
        data.record(Group.weekday, weekday)
        data.record(Group.month, month)
        data.record(Group.day, day)
        data.record(Group.hour, hour)
        data.record(Group.minute, minute)
        data.record(Group.second, second)
        data.record(Group.fraction, fraction)
        data.record(Group.year, nil)
        return Fields(month: monthNumber, day: number(day, at), hour: number(hour, at),
                      minute: number(minute, at), second: number(second, at))
    }

    /// `[0-lead]?\d` at `index`, the optional digit taken first, each choice kept only if
    /// the character after it is `accepted`.
    @inline(__always)
    private static func optionalLeadDigit(upTo lead: UInt8, at index: Int, then accepted: (UInt8) -> Bool,
                                          _ at: (Int) -> UInt8) -> Range<Int>? {
        let first = at(index), second = at(index + 1)
        if (0x30...lead).contains(first) && isDigit(second) && accepted(at(index + 2)) { return index..<index + 2 }
        if isDigit(first) && accepted(second) { return index..<index + 1 }
        return nil
    }

    /// The value of the digits at `range` (a leading space allowed, as Python's `int()` does).
    @inline(__always)
    private static func number(_ range: Range<Int>, _ at: (Int) -> UInt8) -> Int {
        var value = 0
        for index in range where at(index) != space { value = value * 10 + Int(at(index) &- 0x30) }
        return value
    }

    /// `\w` in byte mode: ASCII letters, digits and `_`.
    @inline(__always) private static func isWord(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x5F
    }

    @inline(__always) private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    // Names are compared as three bytes with bit 5 set: that lower-cases ASCII letters and
    // maps no other byte onto a letter, so equality is `(?i)` equality.

    private static func monthNumber(_ name: UInt32) -> Int? {
        switch name {
        case 0x6A616E: 1  // jan
        case 0x666562: 2  // feb
        case 0x6D6172: 3  // mar
        case 0x617072: 4  // apr
        case 0x6D6179: 5  // may
        case 0x6A756E: 6  // jun
        case 0x6A756C: 7  // jul
        case 0x617567: 8  // aug
        case 0x736570: 9  // sep
        case 0x6F6374: 10 // oct
        case 0x6E6F76: 11 // nov
        case 0x646563: 12 // dec
        default: nil
        }
    }

    private static func isWeekday(_ name: UInt32) -> Bool {
        switch name {
        case 0x6D6F6E, 0x747565, 0x776564, 0x746875, 0x667269, 0x736174, 0x73756E: true  // mon ... sun
        default: false
        }
    }
}
