import Glibc
import Testing
@testable import WardenFilter

/// Directive-by-directive and special-template checks. Expected epochs are computed
/// independently (calendar arithmetic via `timegm`, or fail2ban's test "now", which is
/// 2005-08-14 10:00:00 UTC); the line-by-line agreement with fail2ban is DateOracleTests.
@Suite(.serialized)
struct DateDetectorTests {
    init() { #expect(DateTestEnvironment.timeZoneReady) }

    private func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Double {
        var fields = tm()
        fields.tm_year = Int32(year - 1900); fields.tm_mon = Int32(month - 1); fields.tm_mday = Int32(day)
        fields.tm_hour = Int32(hour); fields.tm_min = Int32(minute); fields.tm_sec = Int32(second)
        return Double(timegm(&fields))
    }

    private func find(_ line: String, _ datepattern: String? = nil, zone: LogTimeZone = .fixed(offsetSeconds: 0),
                      now: Double = fail2banTestNow) throws -> DateMatch? {
        let detector = try DateDetector(datepattern: datepattern, timeZone: zone)
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBufferPointer { detector.findDate(in: UnsafeBufferPointer($0), now: now) }
    }

    private func epoch(_ line: String, _ datepattern: String? = nil, zone: LogTimeZone = .fixed(offsetSeconds: 0),
                       now: Double = fail2banTestNow) throws -> Double? {
        guard let match = try find(line, datepattern, zone: zone, now: now), match.status == .parsed else { return nil }
        return match.epoch
    }

    @Test func defaultTemplatesFollowFail2bansOrder() throws {
        let detector = try DateDetector()
        // 14 line-start copies, then the 17 defaults.
        #expect(detector.templateNames.count == 31)
        #expect(detector.templateNames.prefix(14).allSatisfy { $0.hasPrefix("{^LN-BEG}") })
        #expect(detector.templateNames[14].hasPrefix("ExYear(?P<_sep>[-/.])Month"))
        #expect(detector.templateNames.contains("Epoch") && detector.templateNames.contains("TAI64N"))
        #expect(detector.templateNames.last == "TAI64N")
        #expect(!detector.usesNoDate)
    }

    @Test func numericDirectives() throws {
        #expect(try epoch("2005-08-14 10:00:00 x", "%Y-%m-%d %H:%M:%S") == utc(2005, 8, 14, 10))
        #expect(try epoch("05-08-14 x", "%y-%m-%d") == utc(2005, 8, 14))
        #expect(try epoch("14.8.2005 7:05:09", "%d.%m.%Y %H:%M:%S") == utc(2005, 8, 14, 7, 5, 9))
        // The fraction is matched but dropped, as fail2ban does.
        #expect(try epoch("2005-08-14 10:00:00.999", "%Y-%m-%d %H:%M:%S.%f") == utc(2005, 8, 14, 10))
        // Day 226 of 2005 is August 14.
        #expect(try epoch("2005 226", "%Y %j") == utc(2005, 8, 14))
        #expect(try epoch("2005-08-14  7:00:00", "%Y-%m-%d %k:%M:%S") == utc(2005, 8, 14, 7))
    }

    @Test func namesAndTwelveHourClock() throws {
        #expect(try epoch("Sun Aug 14 2005", "%a %b %d %Y") == utc(2005, 8, 14))
        #expect(try epoch("sunday AUGUST 14 2005", "%A %B %d %Y") == utc(2005, 8, 14))
        #expect(try epoch("08/14/2005 10:00:00 PM", "%m/%d/%Y %I:%M:%S %p") == utc(2005, 8, 14, 22))
        #expect(try epoch("08/14/2005 12:00:00 AM", "%m/%d/%Y %I:%M:%S %p") == utc(2005, 8, 14, 0))
        #expect(try epoch("08/14/2005 12:30:00 PM", "%m/%d/%Y %I:%M:%S %p") == utc(2005, 8, 14, 12, 30))
        #expect(try epoch("08/14/2005  9:00:00 pm", "%m/%d/%Y %l:%M:%S %p") == utc(2005, 8, 14, 21))
    }

    @Test func zonesInTheLine() throws {
        let pattern = "%Y-%m-%dT%H:%M:%S%z"
        #expect(try epoch("2005-08-14T12:00:00+0200", pattern) == fail2banTestNow)
        #expect(try epoch("2005-08-14T04:30:00-05:30", pattern) == fail2banTestNow)
        #expect(try epoch("2005-08-14T10:00:00Z", pattern) == fail2banTestNow)
        #expect(try epoch("2005-08-14T10:00:00UTC", pattern) == fail2banTestNow)
        #expect(try epoch("2005-08-14 12:00:00 CEST", "%Y-%m-%d %H:%M:%S %Z") == fail2banTestNow)
        // A zone in the line beats the local zone.
        #expect(try epoch("2005-08-14T12:00:00+0200", pattern, zone: .local) == fail2banTestNow)
        // An unknown upper-case abbreviation makes fail2ban drop the line.
        #expect(try find("2005-08-14 12:00:00 ABCD", "%Y-%m-%d %H:%M:%S %Z")?.status == .lineError)
    }

    @Test func logTimeZones() throws {
        #expect(try DateDetector.parseTimeZone("UTC") == .fixed(offsetSeconds: 0))
        #expect(try DateDetector.parseTimeZone("UTC+0200") == .fixed(offsetSeconds: 7200))
        #expect(try DateDetector.parseTimeZone("-05:30") == .fixed(offsetSeconds: -19800))
        #expect(try DateDetector.parseTimeZone("CET") == .fixed(offsetSeconds: 3600))
        #expect(try DateDetector.parseTimeZone("EST-0130") == .fixed(offsetSeconds: -(5 * 3600 + 90 * 60)))
        #expect(throws: DateTemplateError.self) { try DateDetector.parseTimeZone("Europe/Paris") }
        #expect(throws: DateTemplateError.self) { try DateDetector.parseTimeZone("XYZQ") }
        #expect(try epoch("2005-08-14 12:00:00", "%Y-%m-%d %H:%M:%S", zone: .fixed(offsetSeconds: 7200)) == fail2banTestNow)
        // Local time is fail2ban's test zone: CEST in August.
        #expect(try epoch("2005-08-14 12:00:00", "%Y-%m-%d %H:%M:%S", zone: .local) == fail2banTestNow)
    }

    @Test func exactWidthDirectives() throws {
        #expect(try epoch("20050814", "%ExY%Exm%Exd") == utc(2005, 8, 14))
        #expect(try find("1999-08-14", "%ExY-%m-%d") == nil)
        #expect(try find("2005-8-14", "%ExY-%Exm-%Exd") == nil)
    }

    @Test func boundariesAndAnchors() throws {
        // Word boundaries by default.
        #expect(try find("a10:00:00", "%H:%M:%S") == nil)
        // `**` drops them.
        #expect(try find("a10:00:00b", "**%H:%M:%S**")?.range == 1..<9)
        #expect(try find("a10:00:00b", "{UNB}%H:%M:%S")?.range == 1..<9)
        #expect(try find("x 10:00:00", "^%H:%M:%S") == nil)
        #expect(try find("10:00:00 x", "%H:%M:%S$") == nil)
        // `{^LN-BEG}`: line start plus at most two non-word characters.
        #expect(try find("[[10:00:00", "{^LN-BEG}%H:%M:%S")?.range == 2..<10)
        #expect(try find("[[[10:00:00", "{^LN-BEG}%H:%M:%S") == nil)
    }

    @Test func dateInsideATemplate() throws {
        let match = try find("prefix [2005-08-14 10:00:00] rest", #"^prefix \[({DATE})\]"#)
        #expect(match?.status == .parsed)
        #expect(match?.epoch == utc(2005, 8, 14, 10))
        // The cut span is the template's first group: here the date text only...
        #expect(match?.range == 8..<27)
        // ...and without a capturing group, the whole template text.
        #expect(try find("prefix [2005-08-14 10:00:00] rest", #"^prefix \[{DATE}\]"#)?.range == 0..<28)
    }

    /// The defaults are compiled on first use, so a broken one would only show as a
    /// template that never matches: compile them all here.
    @Test func everyDefaultTemplateCompiles() throws {
        let templates = DateTemplateCatalog.defaultsWithLineStartCopies
        #expect(templates.count == 31)
        for template in templates {
            #expect(throws: Never.self, "\(template.name)") { try template.regex.compiled().get() }
        }
        // Plain templates read their fields through a plan; the 12-hour Tomcat one (and its
        // line-start copy) walks.
        let plans = templates.compactMap { template -> Bool? in
            guard case .success(let compiled) = template.regex.compiled(), case .fields(let reading) = compiled.value else { return nil }
            return reading.plan != nil
        }
        #expect(plans.filter { !$0 }.count == 2)
    }

    /// The line-start lists are picked by pattern text; they must be what deriving them
    /// from the built templates gives: a `{^LN-BEG}` copy (re-made from the template's
    /// pattern, or name for EPOCH and TAI64N) of each default whose name is not
    /// line-anchored, when the copy's name differs, then the defaults; and for a
    /// `{^LN-BEG}` datepattern, those of them flagged line-begin.
    @Test func lineStartListsMatchTheTemplates() throws {
        let defaults = DateTemplateCatalog.defaults
        #expect(defaults.map(\.pattern) == DateTemplateCatalog.defaultPatterns.map { $0 == "EPOCH" || $0 == "TAI64N" ? nil : $0 })
        var derived: [DateTemplate] = []
        for template in defaults where !template.name.hasPrefix("{^LN-BEG}") && !template.name.hasPrefix("^") {
            let copy = try DateTemplateCatalog.template(for: "{^LN-BEG}" + (template.pattern ?? template.name),
                                                        compilation: .onFirstUse)
            if copy.name != template.name { derived.append(copy.weighted(100)) }
        }
        derived += defaults
        func summary(_ list: [DateTemplate]) -> [String] {
            list.map { "\($0.name) \($0.weight) \($0.flags.rawValue) \($0.regex.pcre2Pattern)" }
        }
        #expect(summary(DateTemplateCatalog.defaultsWithLineStartCopies) == summary(derived))
        #expect(summary(DateTemplateCatalog.lineBeginTemplates) == summary(derived.filter { $0.flags.contains(.lineBegin) }))
        #expect(try DateDetector(datepattern: "{^LN-BEG}").templateNames
                == derived.filter { $0.flags.contains(.lineBegin) }.map(\.name))
    }

    @Test func noDateTemplate() throws {
        let detector = try DateDetector(datepattern: "{NONE}")
        #expect(detector.usesNoDate)
        var bytes = Array("Aug 14 10:00:00 message".utf8)
        let match = bytes.withUnsafeMutableBufferPointer { detector.findDate(in: UnsafeBufferPointer($0), now: 42) }
        #expect(match?.status == .empty)
        #expect(match?.range.isEmpty == true)
        #expect(match?.epoch == 42)
    }

    @Test func numericTimestamps() throws {
        #expect(try epoch("1124013600 message") == fail2banTestNow)
        #expect(try epoch("[1124013600] nsd") == fail2banTestNow)
        #expect(try epoch("msg=audit(1124013600.500:12): x") == fail2banTestNow + 0.5)
        // A fraction needs 3 to 6 digits; a shorter one is left out of the date.
        #expect(try find("msg=audit(1124013600.5:12): x")?.range == 10..<20)
        #expect(try epoch("1124013600123 x", "LEPOCH") == 1124013600.123)
        #expect(try epoch("1124013600123456 x", "LEPOCH") == 1124013600.123456)
        #expect(try epoch("@400000004300f6b02c2fc3d4 x", "TAI64N") == Double(0x4300_f6b0))
        #expect(try epoch("[1124013600] x", #"^\[{EPOCH}\]"#) == fail2banTestNow)
    }

    @Test func invalidDatesAreCutButNotParsed() throws {
        let match = try find("Feb 30 10:00:00 host msg")
        #expect(match?.status == .invalid)
        #expect(match?.range == 0..<15)
        #expect(try find("2005-02-29 10:00:00 x")?.status == .invalid)
        #expect(try epoch("2004-02-29 10:00:00 x") == utc(2004, 2, 29, 10))
    }

    @Test func missingYearAndDate() throws {
        // now = 2005-08-14 12:00 local. Up to a day ahead stays this year, beyond is last year.
        #expect(try epoch("Aug 15 11:00:00 x", zone: .local) == epoch("2005-08-15 11:00:00 x", zone: .local))
        #expect(try epoch("Aug 15 12:00:01 x", zone: .local) == epoch("2004-08-15 12:00:01 x", zone: .local))
        // A time of day alone is today, or yesterday when it would be ahead of now.
        #expect(try epoch("11:00:00 x", zone: .local) == epoch("2005-08-14 11:00:00 x", zone: .local))
        #expect(try epoch("13:00:00 x", zone: .local) == epoch("2005-08-13 13:00:00 x", zone: .local))
    }

    @Test func localTimeAcrossDaylightSavingChanges() throws {
        // CET/CEST: 2005-03-27 01:59:59 CET is 00:59:59 UTC; 03:00:00 CEST is 01:00:00 UTC.
        #expect(try epoch("2005-03-27 01:59:59", zone: .local) == utc(2005, 3, 27, 0, 59, 59))
        #expect(try epoch("2005-03-27 03:00:00", zone: .local) == utc(2005, 3, 27, 1))
        #expect(try epoch("2005-10-30 03:00:00", zone: .local) == utc(2005, 10, 30, 2))
        #expect(try epoch("2005-12-30 03:00:00", zone: .local) == utc(2005, 12, 30, 2))
        #expect(try epoch("2005-06-30 03:00:00", zone: .local) == utc(2005, 6, 30, 1))
    }

    @Test func badTemplatesThrowNamingTheTemplate() {
        for bad in ["%q", "100%", "%Y-(%m", "%Y-%m-%d\n%Y-%m-%d", "^(?i)%b %d"] {
            #expect(throws: DateTemplateError.self) { try DateDetector(datepattern: bad) }
        }
        do {
            _ = try DateDetector(datepattern: "%H:%M\n%Q")
            Issue.record("accepted %Q")
        } catch {
            #expect(error.template == "%Q")
        }
    }

    @Test func hitsAreCountedPerTemplate() throws {
        let detector = try DateDetector()
        for line in ["Aug 14 10:00:00 a", "Aug 14 10:00:01 b", "2005-08-14 10:00:02 c"] {
            var bytes = Array(line.utf8)
            _ = bytes.withUnsafeMutableBufferPointer { detector.findDate(in: UnsafeBufferPointer($0), now: fail2banTestNow) }
        }
        #expect(detector.templateHits.reduce(0, +) == 3)
        let syslog = try #require(detector.templateNames.firstIndex { $0.hasPrefix("{^LN-BEG}(?:DAY )?MON Day %k") })
        #expect(detector.templateHits[syslog] == 2)
    }

    /// `templatePattern(at:)` is what the regex benchmark's C loop compiles to cut the
    /// date: each pattern's group 1 must be the span the detector itself cuts.
    @Test func templatePatternsCutTheDetectedDate() throws {
        let detector = try DateDetector()
        for line in ["Aug 14 10:00:00 web1 sshd[1]: x", "2005-08-14 10:00:02 c", "  [Aug 14 10:00:00 2005] y"] {
            var bytes = Array(line.utf8)
            try bytes.withUnsafeMutableBufferPointer { mutable in
                let text = UnsafeBufferPointer(mutable)
                let found = try #require(detector.findDate(in: text, now: fail2banTestNow))
                let regex = try PCRERegex(detector.templatePattern(at: found.templateIndex))
                let data = PCREMatchData(capacity: regex.captureCount + 1)
                #expect(regex.match(text, into: data) == .match, "\(line)")
                #expect(data.range(of: 1) == found.range, "\(line)")
            }
        }
    }
}
