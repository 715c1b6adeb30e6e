/// Reads the date of the template most logs carry, fail2ban's line-start syslog template
/// `{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\.Microseconds)?(?: ExYear)?`
/// (`Jan 23 21:59:59 host sshd[1]: ...`), by hand instead of through PCRE2.
///
/// It gives PCRE2's answer or none. PCRE2 searches depth-first, trying alternatives and
/// quantifiers in order; the reader takes the same first choice at each, skipping a choice
/// only where the very next character makes it fail, as PCRE2 would. Wherever PCRE2 would
/// have to backtrack further, the year's alternatives would have to be tried, or the line
/// is not ASCII (where the regex runs in Unicode mode), it gives up, and PCRE2 decides.
/// It hands over the numbers, so the conversion skips the text-to-number walk too, and
/// `read(_:into:)` records the groups PCRE2 would have set. `SyslogDateReaderTests`
/// checks both against PCRE2 and the general conversion.
///
/// It runs on nearly every line of a syslog file, so it is written for a small, branchy
/// but straight code path: no bounds checks (a line shorter than the furthest byte it may
/// look at is read from a zero-padded copy), characters classified by bit masks, month
/// names compared as one 32-bit load. And consecutive lines mostly share their date up to
/// the seconds: `read(_:)` reads that part again only when the bytes differ.
struct SyslogDateReader {
    /// The template's fields as the conversion needs them (fail2ban drops the fraction).
    struct Fields {
        let month: Int, day: Int, hour: Int, minute: Int, second: Int
    }

    /// A read: the values, and where the groups are (the rest follows from the template:
    /// the weekday, if any, is three letters at `dateStart`, the day follows the month,
    /// the minute and second follow the hour, each after its colon, and a fraction fills
    /// the rest up to `end`). Written field by field into the caller's memory, which costs
    /// fewer instructions than packing a result into registers.
    struct Match: Equatable {
        fileprivate(set) var dateStart = 0, monthStart = 0, dayLength = 0, hourStart = 0
        fileprivate(set) var hourLength = 0, minuteLength = 0, secondStart = 0, secondLength = 0, end = 0
        fileprivate(set) var month = 0, day = 0, hour = 0, minute = 0, second = 0

        /// Group 1, the date fail2ban cuts out; group 0 runs from the line start to its end.
        var date: Range<Int> { dateStart..<end }
        var fields: Fields { Fields(month: month, day: day, hour: hour, minute: minute, second: second) }
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

    /// The reader looks at no byte past index 30 (two prefix characters, weekday, month,
    /// two-digit day, two spaces, two-digit hour, minute and second, six fraction digits,
    /// then a space and a digit that may start a year).
    private static let reach = 32

    private static let space: UInt8 = 0x20, colon: UInt8 = 0x3A, dot: UInt8 = 0x2E

    /// The last line `read(_:)` read.
    private(set) var match = Match()
    /// That line's head, its bytes before the seconds (`match.secondStart` of them, 10 to
    /// 20), as words loaded at offsets 0, min(8, length − 8) and length − 8: together they
    /// cover the head and nothing past it.
    private var head = noHead
    /// No line read: bytes 0xFF, which no ASCII line starts with.
    private static let noHead = (length: 10, words: (UInt64.max, UInt64.max, UInt64.max))

    /// `match(_:into:)` on the ASCII `line` into `match`, reading only the seconds and
    /// what follows when the line starts with the last read line's head. That is exact:
    /// every step before the seconds looks only at bytes of the head (the lookahead after
    /// a one-digit minute stops at its colon), so on the same bytes it takes the same path
    /// to the same values.
    mutating func read(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        if line.count >= Self.reach {
            // A line that long has a base address.
            let bytes = line.baseAddress.unsafelyUnwrapped
            if Self.differences(bytes, head) == 0 { return Self.readFromSecond(bytes, into: &match) }
        }
        return readAfresh(line)
    }

    /// `read(_:)` without a head to reuse. Out of line, so that the reading from the
    /// seconds on stays in few cache lines.
    @inline(never)
    private mutating func readAfresh(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard Self.match(line, into: &match) else {
            head = Self.noHead
            return false
        }
        head.length = match.secondStart
        head.words = Self.words(line.baseAddress.unsafelyUnwrapped, head.length)
        return true
    }

    @inline(__always)
    private static func words(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> (UInt64, UInt64, UInt64) {
        let raw = UnsafeRawPointer(bytes)
        return (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: min(8, length &- 8), as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: length &- 8, as: UInt64.self))
    }

    /// The bits in which `bytes` differ from `head` (one test instead of three).
    @inline(__always)
    private static func differences(_ bytes: UnsafePointer<UInt8>, _ head: (length: Int, words: (UInt64, UInt64, UInt64))) -> UInt64 {
        let words = words(bytes, head.length)
        return (words.0 ^ head.words.0) | (words.1 ^ head.words.1) | (words.2 ^ head.words.2)
    }

    /// PCRE2's match of `pattern` on the ASCII `line`, its groups recorded in `data`; nil
    /// when the line needs PCRE2 to decide (no match, a year, a path that backtracks).
    static func read(_ line: UnsafeBufferPointer<UInt8>, into data: PCREMatchData) -> Fields? {
        var match = Match()
        guard data.capacity > Group.year, Self.match(line, into: &match) else { return nil }
        let monthStart = match.monthStart, day = monthStart + 4, hour = match.hourStart
        let minute = hour + match.hourLength + 1, second = minute + match.minuteLength + 1
        let secondEnd = second + match.secondLength, end = match.end
        data.record(0, 0..<end)
        data.record(Group.date, match.date)
        data.record(Group.weekday, monthStart > match.dateStart ? match.dateStart..<match.dateStart + 3 : nil)
        data.record(Group.month, monthStart..<monthStart + 3)
        data.record(Group.day, day..<day + match.dayLength)
        data.record(Group.hour, hour..<minute - 1)
        data.record(Group.minute, minute..<second - 1)
        data.record(Group.second, second..<secondEnd)
        data.record(Group.fraction, end > secondEnd ? secondEnd + 1..<end : nil)
        data.record(Group.year, nil)
        return match.fields
    }

    /// PCRE2's match of `pattern` on the ASCII `line` into `match`; false when PCRE2 must
    /// decide (then `match` holds no meaning).
    @inline(never)
    static func match(_ line: UnsafeBufferPointer<UInt8>, into match: inout Match) -> Bool {
        guard line.count >= reach, let bytes = line.baseAddress else { return matchPadded(line, into: &match) }
        // `(?:\W{0,2})?`: greedy, up to two non-word characters.
        var position = 0
        if !isWord(bytes[0]) { position = isWord(bytes[1]) ? 1 : 2 }
        match.dateStart = position
        // `(?:(?P<a>mon|...) )?`
        if bytes[position + 3] == space && isWeekday(name(bytes + position)) { position += 4 }
        // `(?P<b>jan|...) `
        guard bytes[position + 3] == space, let month = monthNumber(name(bytes + position)) else { return false }
        match.month = month
        match.monthStart = position
        position += 4

        // `[1-2]\d|[0 ]?[1-9]|3[0-1]`, then a space.
        let d0 = bytes[position], d1 = bytes[position + 1], twoDigitDay = bytes[position + 2] == space
        if (d0 == 0x31 || d0 == 0x32) && isDigit(d1) && twoDigitDay {
            (match.dayLength, match.day) = (2, digit(d0) * 10 + digit(d1))
        } else if (d0 == 0x30 || d0 == space) && d1 != 0x30 && isDigit(d1) && twoDigitDay {
            (match.dayLength, match.day) = (2, digit(d1))
        } else if d0 != 0x30 && isDigit(d0) && d1 == space {
            (match.dayLength, match.day) = (1, digit(d0))
        } else if d0 == 0x33 && (d1 == 0x30 || d1 == 0x31) && twoDigitDay {
            (match.dayLength, match.day) = (2, 30 + digit(d1))
        } else {
            return false
        }
        position += match.dayLength + 1
        // ` ?`
        if bytes[position] == space { position += 1 }

        // `[0-2]?\d:` and `[0-5]?\d:`
        let hour = position, hourLength = leadDigitNumber(bytes + hour, lead: 0x32) { $0 == colon }
        guard hourLength != 0 else { return false }
        (match.hourStart, match.hourLength, match.hour) = (hour, hourLength, number(bytes + hour, hourLength))
        let minute = hour + hourLength + 1, minuteLength = leadDigitNumber(bytes + minute, lead: 0x35) { $0 == colon }
        guard minuteLength != 0 else { return false }
        (match.minuteLength, match.minute) = (minuteLength, number(bytes + minute, minuteLength))
        match.secondStart = minute + minuteLength + 1
        return readFromSecond(bytes, into: &match)
    }

    /// The rest of a match from `match.secondStart`, on `reach` readable bytes.
    @inline(__always)
    private static func readFromSecond(_ bytes: UnsafePointer<UInt8>, into match: inout Match) -> Bool {
        // `[0-5]?\d|6[0-1]`: only `.`, a space or a non-word character can follow.
        let second = match.secondStart
        var secondLength = leadDigitNumber(bytes + second, lead: 0x35) { !isDigit($0) }
        if secondLength == 0 && bytes[second] == 0x36 && (bytes[second + 1] == 0x30 || bytes[second + 1] == 0x31)
            && !isDigit(bytes[second + 2]) {
            secondLength = 2
        }
        guard secondLength != 0 else { return false }
        (match.secondLength, match.second) = (secondLength, number(bytes + second, secondLength))
        var position = second + secondLength

        // `(?:\.(?P<f>[0-9]{1,6}))?`: greedy, up to six digits.
        if bytes[position] == dot && isDigit(bytes[position + 1]) {
            let start = position + 1
            position = start + 1
            while position < start + 6 && isDigit(bytes[position]) { position += 1 }
        }
        // `(?: (?P<Y>...))?`: a space and a digit may start a year; PCRE2 decides.
        if bytes[position] == space && isDigit(bytes[position + 1]) { return false }
        // `(?=\b|\W|$)` after a digit: the end of the line or a non-word character.
        if isWord(bytes[position]) { return false }
        match.end = position
        return true
    }

    /// A short line, read from a copy padded with zeros: a zero is a non-word character,
    /// which no step accepts except the final lookahead, where the end of the line counts
    /// as one too, so the copy reads as the line would.
    @inline(never)
    private static func matchPadded(_ line: UnsafeBufferPointer<UInt8>, into match: inout Match) -> Bool {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: reach) { copy in
            copy.initialize(repeating: 0)
            _ = copy.initialize(from: line)
            return Self.match(UnsafeBufferPointer(copy), into: &match)
        }
    }

    /// The length of `[0-lead]?\d` at `bytes` (0: no match), the optional digit taken
    /// first, each choice kept only if the character after it is `accepted`.
    @inline(__always)
    private static func leadDigitNumber(_ bytes: UnsafePointer<UInt8>, lead: UInt8, then accepted: (UInt8) -> Bool) -> Int {
        if bytes[0] >= 0x30 && bytes[0] <= lead && isDigit(bytes[1]) && accepted(bytes[2]) { return 2 }
        return isDigit(bytes[0]) && accepted(bytes[1]) ? 1 : 0
    }

    /// The value of the one or two digits at `bytes`.
    @inline(__always)
    private static func number(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> Int {
        length == 2 ? digit(bytes[0]) * 10 + digit(bytes[1]) : digit(bytes[0])
    }

    @inline(__always) private static func digit(_ byte: UInt8) -> Int { Int(byte &- 0x30) }

    @inline(__always) private static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

    /// `\w` in byte mode for an ASCII byte: letters, digits and `_`, as bits of two masks
    /// (bytes 0–63 and 64–127).
    @inline(__always) private static func isWord(_ byte: UInt8) -> Bool {
        let digits: UInt64 = 0x03FF_0000_0000_0000, lettersAndUnderscore: UInt64 = 0x07FF_FFFE_87FF_FFFE
        return (byte < 64 ? digits : lettersAndUnderscore) >> UInt64(byte & 63) & 1 != 0
    }

    /// The three bytes at `bytes` with bit 5 set, packed first byte highest. Setting bit 5
    /// lower-cases ASCII letters and maps no other byte onto a letter, so equality is
    /// `(?i)` equality.
    @inline(__always) private static func name(_ bytes: UnsafePointer<UInt8>) -> UInt32 {
        (UnsafeRawPointer(bytes).loadUnaligned(as: UInt32.self).bigEndian | 0x2020_2000) >> 8
    }

    @inline(__always) private static func monthNumber(_ name: UInt32) -> Int? {
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

    @inline(__always) private static func isWeekday(_ name: UInt32) -> Bool {
        switch name {
        case 0x6D6F6E, 0x747565, 0x776564, 0x746875, 0x667269, 0x736174, 0x73756E: true  // mon ... sun
        default: false
        }
    }
}
