import Testing
@testable import WardenFilter

/// `SyslogDateReader` must give PCRE2's answer on every line it reads: the same groups as
/// the template's regex and the same time as the general conversion. Lines are built from
/// fragments around the syslog shape, most of them near misses, so both the reads and the
/// give-ups (where PCRE2 would backtrack) are exercised. Seeded, so a failure reproduces.
@Suite(.serialized)
struct SyslogDateReaderTests {
    init() { #expect(DateTestEnvironment.timeZoneReady) }

    private static let templateName = #"{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\.Microseconds)?(?: ExYear)?"#

    private static func compiled(_ name: String) throws -> DateTemplateRegex.Compiled {
        let template = try #require(DateTemplateCatalog.defaultsWithLineStartCopies.first { $0.name == name })
        return try template.regex.compiled().get()
    }

    @Test func readsOnlyTheLineStartSyslogTemplate() throws {
        #expect(try Self.compiled(Self.templateName).isSyslogTemplate)
        let unanchored = String(Self.templateName.dropFirst("{^LN-BEG}".count))
        #expect(try !Self.compiled(unanchored).isSyslogTemplate)
        let others = DateTemplateCatalog.defaultsWithLineStartCopies.filter { $0.name != Self.templateName }
        #expect(try others.allSatisfy { try !$0.regex.compiled().get().isSyslogTemplate })
    }

    /// Per field, fragments that fit the template and near misses; a line takes a near
    /// miss for a field one time in twelve, so many lines read and many do not.
    private typealias Fragments = (fitting: [String], missing: [String])
    private static let prefixes: Fragments = (["", "", "<", "<<"], ["<<<", "_", " x", "x", "[1", "<1>"])
    private static let weekdays: Fragments = (["", "", "Mon ", "sun ", "THU "], ["Mox ", "Mon", "Mon  ", "Sat\t"])
    private static let months: Fragments = (["Jan ", "feb ", "MAR ", "Dec ", "Sep "], ["Jax ", "Ja ", "Jan", "Jan  ", "Mon "])
    private static let days: Fragments = (["1", "01", " 1", "9", "10", "19", "29", "3", "30", "31"], ["32", "39", "0", "00", "  1", "1a", ""])
    private static let gaps: Fragments = ([" ", "  "], ["   ", "", ":"])
    private static let hours: Fragments = (["0", "00", "9", "19", "23", "24", "29", "3"], ["30", "", "123"])
    private static let minutes: Fragments = (["0", "05", "59", "60", "7", "69"], ["", "123"])
    private static let seconds: Fragments = (["0", "08", "59", "6", "60", "61", "7"], ["62", "69", "", "599"])
    private static let fractions: Fragments = (["", "", "", ".1", ".123456"], [".", ".1234567", ".x", ",5"])
    private static let years: Fragments = (["", "", "", " x"], [" 2024", " 2026", " 2035", " 1999", " 20", " 2024x", "  2024"])
    private static let suffixes: Fragments = (["", " host sshd[1]: x", ".", " ", ":", "-", "\n"], ["x", "_", "1", "é"])

    private static func pick(_ fragments: Fragments, _ random: inout MatcherFuzzTests.SplitMix) -> String {
        let list = Int.random(in: 0..<12, using: &random) == 0 ? fragments.missing : fragments.fitting
        return list[Int.random(in: 0..<list.count, using: &random)]
    }

    @Test func agreesWithPCRE2AndTheGeneralConversion() throws {
        let compiled = try Self.compiled(Self.templateName)
        guard case .fields(let reading) = compiled.value else { Issue.record("not a field template"); return }
        let plan = try #require(reading.plan)
        let readerData = PCREMatchData(capacity: 10), regexData = PCREMatchData(capacity: 10)
        var random = MatcherFuzzTests.SplitMix(state: 0x5157_106D)
        var read = 0, asciiLines = 0
        let now = 1_769_904_000.0  // 2026-02-01 00:00 UTC
        for _ in 0..<40_000 {
            var line = Self.pick(Self.prefixes, &random) + Self.pick(Self.weekdays, &random) + Self.pick(Self.months, &random)
            line += Self.pick(Self.days, &random) + Self.pick(Self.gaps, &random) + Self.pick(Self.hours, &random)
            line += ":" + Self.pick(Self.minutes, &random) + ":" + Self.pick(Self.seconds, &random)
            line += Self.pick(Self.fractions, &random) + Self.pick(Self.years, &random) + Self.pick(Self.suffixes, &random)
            let bytes = Array(line.utf8)
            guard bytes.allSatisfy({ $0 < 0x80 }) else { continue }
            asciiLines += 1
            bytes.withUnsafeBufferPointer { line in
                guard let fields = SyslogDateReader.read(line, into: readerData) else { return }
                read += 1
                let described = String(reflecting: String(decoding: line, as: UTF8.self))
                guard compiled.regex.match(line, isASCII: true, into: regexData) == .match else {
                    Issue.record("the reader read \(described), PCRE2 finds no date")
                    return
                }
                for group in 0..<10 {
                    #expect(readerData.range(of: group) == regexData.range(of: group), "group \(group) of \(described)")
                }
                var clock = LocalTimeConverter(), otherClock = LocalTimeConverter()
                let general = DateFieldParser(line: line, match: regexData).convert(plan, zone: .local, now: now, clock: &clock)
                let fast = DateFieldParser.finish(
                    year: nil, month: fields.month, day: fields.day, hour: fields.hour, minute: fields.minute,
                    second: fields.second, weekday: nil, julian: nil, weekOfYear: nil, weekStartsMonday: false,
                    offsetSeconds: nil, zone: .local, now: now, clock: &otherClock)
                // The plan gives up (nil) only on fields that do not read cleanly, which the
                // reader never hands over.
                #expect(general == fast, "conversion of \(described)")
            }
        }
        // Not vacuous: a good share of the lines are read by hand, and many are left to PCRE2.
        #expect(read > asciiLines / 10, "read \(read) of \(asciiLines)")
        #expect(read < asciiLines * 9 / 10, "read \(read) of \(asciiLines)")
    }

    /// `read(_:)` reuses the last line's head (its bytes before the seconds) when the
    /// next line starts with the same bytes: on lines sharing heads, with every kind of
    /// tail, and near misses in the head, it must read what a reading from scratch reads.
    @Test func readingFromTheLastHeadAgreesWithAFreshReading() {
        var reader = SyslogDateReader()
        var random = MatcherFuzzTests.SplitMix(state: 0x4EAD_5EED)
        var previous = "", previousRead: [UInt8] = [], reused = 0, read = 0
        for _ in 0..<40_000 {
            var line: String
            let head = previous.prefix { $0 != ":" } + (previous.contains(":") ? ":" : "")
            let minute = previous.dropFirst(head.count).prefix { $0 != ":" }
            if !minute.isEmpty && Int.random(in: 0..<3, using: &random) != 0 {
                // The same head up to the minute's colon, or one byte of it changed, then
                // another minute, seconds and tail.
                var headBytes = Array(head.utf8)
                if Int.random(in: 0..<4, using: &random) == 0 {
                    headBytes[Int.random(in: 0..<headBytes.count, using: &random)] = Array("0123 :aJx".utf8).randomElement(using: &random)!
                }
                line = String(decoding: headBytes, as: UTF8.self)
                line += Int.random(in: 0..<4, using: &random) == 0 ? Self.pick(Self.minutes, &random) : String(minute)
                line += ":" + Self.pick(Self.seconds, &random) + Self.pick(Self.fractions, &random)
                line += Self.pick(Self.years, &random) + Self.pick(Self.suffixes, &random)
            } else {
                line = Self.pick(Self.prefixes, &random) + Self.pick(Self.weekdays, &random) + Self.pick(Self.months, &random)
                line += Self.pick(Self.days, &random) + Self.pick(Self.gaps, &random) + Self.pick(Self.hours, &random)
                line += ":" + Self.pick(Self.minutes, &random) + ":" + Self.pick(Self.seconds, &random)
                line += Self.pick(Self.fractions, &random) + Self.pick(Self.years, &random) + Self.pick(Self.suffixes, &random)
            }
            // Long lines take the reuse; some short ones check that it stands aside.
            if Int.random(in: 0..<8, using: &random) != 0 { line += " host sshd[20001]: Failed password for root" }
            previous = line
            let bytes = Array(line.utf8)
            guard bytes.allSatisfy({ $0 < 0x80 }) else { continue }
            bytes.withUnsafeBufferPointer { buffer in
                var fresh = SyslogDateReader.Match()
                let expected = SyslogDateReader.match(buffer, into: &fresh)
                let head = reader.match.secondStart
                if !previousRead.isEmpty && buffer.count >= 32 && buffer.prefix(head).elementsEqual(previousRead.prefix(head)) {
                    reused += 1
                }
                let got = reader.read(buffer)
                #expect(got == expected, "\(String(reflecting: line))")
                previousRead = got ? bytes : []
                if got && expected {
                    #expect(reader.match == fresh, "\(String(reflecting: line))")
                    read += 1
                }
            }
        }
        #expect(read > 5_000 && reused > 2_000, "read \(read), \(reused) lines after the same head")
    }

    @Test func givesUpWherePCRE2MustBacktrack() {
        // Each is a date PCRE2 matches only after backtracking, or with a year.
        for text in ["Jan 31 10:00:60x", "Jan  1 1:2:3.1234567 x", "Jan 1 10:00:00 2024 host", "Jan 11 10:00:00x"] {
            let bytes = Array(text.utf8)
            let data = PCREMatchData(capacity: 10)
            #expect(bytes.withUnsafeBufferPointer { SyslogDateReader.read($0, into: data) } == nil, "\(text)")
        }
    }

    @Test func readsCommonSyslogDates() {
        let data = PCREMatchData(capacity: 10)
        let cases: [(String, [Int])] = [
            ("Feb  1 00:00:08 web1 sshd[20001]: x", [2, 1, 0, 0, 8]),
            ("Sun Jan 23 21:59:59.011 host", [1, 23, 21, 59, 59]),
            ("<<dec 31 23:59:60: y", [12, 31, 23, 59, 60]),
        ]
        for (text, expected) in cases {
            let fields = Array(text.utf8).withUnsafeBufferPointer { SyslogDateReader.read($0, into: data) }
            #expect(fields.map { [$0.month, $0.day, $0.hour, $0.minute, $0.second] } == expected, "\(text)")
        }
    }
}
