import Glibc
import Testing
@testable import WardenFilter

/// The syslog lane of `DateFinder` (the last winner read again by `SyslogDateReader`, its
/// bookkeeping done directly) and its conversion (`convertSyslog`, with the day memo) must
/// give what the general selection and `DateFieldParser.finish` give. Seeded.
@Suite(.serialized)
struct SyslogLaneTests {
    init() { #expect(DateTestEnvironment.timeZoneReady) }

    private typealias Random = MatcherFuzzTests.SplitMix

    /// `text` as the local date `Mon dd HH:MM:SS` (a space-padded day).
    private static func syslogDate(_ time: Double) -> String {
        var seconds = time_t(time.rounded(.down)), fields = tm()
        localtime_r(&seconds, &fields)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let day = fields.tm_mday < 10 ? " \(fields.tm_mday)" : "\(fields.tm_mday)"
        return "\(months[Int(fields.tm_mon)]) \(day) \(two(fields.tm_hour)):\(two(fields.tm_min)):\(two(fields.tm_sec))"
    }

    /// A line near `now`: mostly syslog dates (some days behind or ahead, so that last
    /// year's dates occur), near misses the reader leaves to PCRE2, other templates'
    /// dates, non-ASCII and short lines, lines without a date.
    private static func line(near now: Double, _ random: inout Random) -> String {
        var date = syslogDate(now + Double(Int.random(in: -3 * 86400...2 * 86400, using: &random)))
        // Mostly the minute of the line before, as in a log: the reader reuses its head.
        if Int.random(in: 0..<4, using: &random) != 0 {
            date = syslogDate(now).dropLast(2) + ["00", "07", "59", "60", "61", "7", "62"].randomElement(using: &random)!
        }
        let tail = [" web1 sshd[20001]: Failed password for git from 10.0.0.1 port 42028 ssh2", " host x", ""]
            .randomElement(using: &random)!
        switch Int.random(in: 0..<44, using: &random) {
        case 0: return "Sun " + date + tail
        case 1: return "<<" + date + ".123456" + tail
        case 2: return date + " 2024" + tail                        // a year: PCRE2 decides
        case 3: return date + "x" + tail                            // no word boundary
        case 4: return String(date.dropLast(2)) + "60" + tail       // second 60: invalid
        case 5: return String(date.prefix(7)) + "24:00:00" + tail   // hour 24: invalid
        case 6: return "Feb 29 10:00:00" + tail
        case 7: return "Feb 30 10:00:00" + tail
        case 8: return "2024-03-02 10:00:00 host x"
        case 9: return "[02/Mar/2024:10:00:00 +0100] x"
        case 10: return "1709373600 x"
        case 11: return date + " é" + tail                          // not ASCII
        case 12: return "Jan 1 1:2:3"                                // short
        case 13: return "no date here"
        case 14: return ""
        case 15: return "x " + date + tail                           // not at the line start
        // Two dates at different distances: the walk's fallbacks decide.
        case 16: return "host 10:00:00 2024-03-02 x " + date
        case 17: return "[02/Mar/2024:10:00:00 +0100] " + date + tail
        case 18: return "a " + date + " b 2024-03-02T10:00:00"
        case 19: return "x 2024-03-02 10:00:00 " + date + " 02/03/2024 10:00:00"
        default: return date + tail
        }
    }

    @Test func laneAgreesWithTheSelection() throws {
        let scenarios: [(now: Double, zone: LogTimeZone)] = [
            (1_769_904_000, .local),                    // 2026-02-01
            (1_735_686_000 - 1800, .local),             // New Year 2025, 23:30 local
            (1_711_846_800, .local),                    // 2024-03-31, DST starts
            (1_729_985_400, .local),                    // 2024-10-27 01:30 CEST, an hour repeats
            (1_709_200_000, .fixed(offsetSeconds: 0)),  // 2024-02-29
            (1_735_686_000, .fixed(offsetSeconds: -19800)),
        ]
        var random = Random(state: 0x5157_1A4E)
        var laneLines = 0, declined = 0, total = 0
        for scenario in scenarios {
            let templates = try DateTemplateCatalog.templates(forDatePattern: nil)
            var lane = DateFinder(templates: templates, zone: scenario.zone)
            var general = DateFinder(templates: templates, zone: scenario.zone)
            var now = scenario.now
            for _ in 0..<8_000 {
                now += Double(Int.random(in: 0...2500, using: &random)) / 1000
                let text = Self.line(near: now, &random)
                var bytes = Array(text.utf8)
                bytes.withUnsafeMutableBufferPointer { buffer in
                    let line = UnsafeBufferPointer(buffer), isASCII = ASCIIText.isASCII(line)
                    if isASCII && lane.selection.lastWinnerIsSyslog {
                        var match = SyslogDateReader.Match()
                        if SyslogDateReader.match(line, into: &match) { laneLines += 1 } else { declined += 1 }
                    }
                    let fast = lane.findDate(in: line, isASCII: isASCII, now: now)
                    let slow = general.findDateBySelection(in: line, isASCII: isASCII, now: now)
                    #expect(fast == slow, "\(String(reflecting: text)) at \(now)")
                    #expect(lane.selection.hitsByTemplate == general.selection.hitsByTemplate, "hits after \(String(reflecting: text))")
                }
                total += 1
            }
        }
        // Not vacuous: most lines take the lane, and it declines some to the selection.
        #expect(laneLines > total / 2, "lane \(laneLines) of \(total)")
        #expect(declined > total / 20, "declined \(declined) of \(total)")
    }

    /// Whether the local wall-clock time exists exactly once. For one a DST change repeats
    /// or skips, glibc's `mktime` answers from the offset of its previous result, so a
    /// reference computed with another call history may differ.
    private static func isUniqueLocalTime(year: Int, month: Int, day: Int, hour: Int, minute: Int) -> Bool {
        var matches = 0
        for isDST: Int32 in [0, 1] {
            var fields = tm()
            (fields.tm_year, fields.tm_mon, fields.tm_mday) = (Int32(year - 1900), Int32(month - 1), Int32(day))
            (fields.tm_hour, fields.tm_min, fields.tm_isdst) = (Int32(hour), Int32(minute), isDST)
            var time = mktime(&fields), back = tm()
            localtime_r(&time, &back)
            if back.tm_mday == Int32(day) && back.tm_hour == Int32(hour) && back.tm_min == Int32(minute) { matches += 1 }
        }
        return matches == 1
    }

    @Test func conversionAgreesWithFinish() throws {
        // Around New Year (last year's dates), Feb 29 of a leap year and the year after,
        // both DST changes of the test zone, and the ends of Python's datetime range.
        let nows: [Double] = [1_735_686_000 - 30, 1_735_686_000 + 30, 1_709_200_000, 1_740_700_000,
                              1_711_846_800, 1_729_990_800, -62_135_596_800 + 3600, 253_402_300_799 - 7200,
                              253_402_300_799, .nan, .infinity]
        let zones: [LogTimeZone] = [.local, .fixed(offsetSeconds: 0), .fixed(offsetSeconds: 50400),
                                    .fixed(offsetSeconds: -43200)]
        var random = Random(state: 0xDA7E_C0DE)
        var times = 0, others = 0, repeatedOrSkipped = 0
        for zone in zones {
            var finder = DateFinder(templates: try DateTemplateCatalog.templates(forDatePattern: nil), zone: zone)
            for base in nows {
                var fields = SyslogDateReader.Fields(month: 1, day: 1, hour: 0, minute: 0, second: 0)
                for _ in 0..<3_000 {
                    let now = base.isFinite ? base + Double(Int.random(in: -90_000...90_000, using: &random)) : base
                    // Mostly the same day as the last line, so the memo is hit and missed.
                    if Int.random(in: 0..<8, using: &random) == 0 {
                        let near = now.isFinite ? Self.syslogDate(now + Double(Int.random(in: -90_000...90_000, using: &random))) : "Jan  1"
                        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                            .firstIndex(of: String(near.prefix(3)))! + 1
                        let day = Int.random(in: 0..<4, using: &random) == 0 ? Int.random(in: 1...31, using: &random)
                            : Int(near.dropFirst(4).prefix(2).trimmingPrefix(" "))!
                        fields = .init(month: Int.random(in: 0..<6, using: &random) == 0 ? 2 : month, day: day,
                                       hour: 0, minute: 0, second: 0)
                    }
                    fields = .init(month: fields.month, day: fields.day, hour: Int.random(in: 0...29, using: &random),
                                   minute: Int.random(in: 0...59, using: &random), second: Int.random(in: 0...61, using: &random))
                    // Checked first: the check calls `mktime` too.
                    var unique = true
                    if zone == .local && now.isFinite && fields.hour <= 23 {
                        var seconds = time_t(now), local = tm()
                        localtime_r(&seconds, &local)
                        let year = Int(local.tm_year) + 1900
                        unique = [year, year - 1].allSatisfy {
                            Self.isUniqueLocalTime(year: $0, month: fields.month, day: fields.day, hour: fields.hour, minute: fields.minute)
                        }
                    }
                    let fast = finder.convertSyslog(month: fields.month, day: fields.day, hour: fields.hour, minute: fields.minute,
                                                     second: fields.second, now: now)
                    var clock = LocalTimeConverter()
                    let slow = DateFieldParser.finish(
                        year: nil, month: fields.month, day: fields.day, hour: fields.hour, minute: fields.minute,
                        second: fields.second, weekday: nil, julian: nil, weekOfYear: nil, weekStartsMonday: false,
                        offsetSeconds: nil, zone: zone, now: now, clock: &clock)
                    if case .time = slow { times += 1 } else { others += 1 }
                    if case .time = slow, !unique {
                        repeatedOrSkipped += 1
                        continue
                    }
                    #expect(fast == slow, "\(fields) at \(now) in \(zone)")
                }
            }
        }
        #expect(times > others, "times \(times), invalid or errors \(others)")
        #expect(others > 1000, "times \(times), invalid or errors \(others)")
        #expect(repeatedOrSkipped < times / 20, "\(repeatedOrSkipped) repeated or skipped of \(times)")
    }

    @Test func datetimeRangeConstants() {
        #expect(CivilTime.minimumNaive == CivilTime.naiveSeconds(year: 1, month: 1, day: 1, hour: 0, minute: 0, second: 0))
        #expect(CivilTime.maximumNaive == CivilTime.naiveSeconds(year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59))
    }
}
