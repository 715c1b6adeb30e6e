import Testing
@testable import WardenFilter

/// Random input must never crash the detector: lines of random text or random date
/// fragments, and random datepatterns (which either build or throw DateTemplateError).
/// Seeded, so a failure reproduces.
@Suite(.serialized)
struct DateFuzzTests {
    init() { #expect(DateTestEnvironment.timeZoneReady) }

    private static let lineFragments = [
        "Jan", "Feb", "feb", "Aug", "Sun ", "Monday", "30", "29", "31", "32", "00", "2005", "2004", "1999", "2031", "05",
        "-", "/", ".", ",", ":", " ", "  ", "T", "Z", "23", "24", "59", "60", "61", "12", "PM", "am", "+02:00", "-0530",
        "+1", "CEST", "ABCD", "UTC", "GMT", "@4000000042fee5a0", "00000000", "1124013600", ".123", ".123456", "123",
        "[", "]", "(", ")", "<", ">", "@", "audit(", "é", "€", "日本", "\t", "x", "host", "sshd[1]:", "\u{FFFD}",
    ]

    private static let patternFragments = [
        "%Y", "%y", "%m", "%d", "%H", "%M", "%S", "%k", "%l", "%I", "%p", "%a", "%A", "%b", "%B", "%z", "%Z", "%f", "%j",
        "%U", "%W", "%w", "%c", "%x", "%X", "%Ex", "%ExY", "%Exy", "%Exz", "%ExZ", "%", "%%", "{DATE}", "{NONE}", "{UNB}",
        "{^LN-BEG}", "{DEFAULT}", "EPOCH", "LEPOCH", "{EPOCH}", "{LEPOCH}", "TAI64N", "**", "^", "$", "(", ")", "(?P<Y>",
        "(?i)", "(?:", "[", "]", "\\", "\\d", "|", "?", "*", "+", "{", "}", " ", ":", "-", "\n", "x", "é",
    ]

    private func checkInvariants(_ detector: DateDetector, _ line: String, now: Double) {
        var bytes = Array(line.utf8)
        let count = bytes.count
        let match = bytes.withUnsafeMutableBufferPointer { detector.findDate(in: UnsafeBufferPointer($0), now: now) }
        guard let match else { return }
        #expect(match.range.lowerBound >= 0 && match.range.upperBound <= count, "range \(match.range) outside \(String(reflecting: line))")
        #expect(match.templateIndex >= 0 && match.templateIndex < detector.templateNames.count)
        if match.status == .parsed { #expect(match.epoch.isFinite) }
    }

    @Test func randomText() throws {
        var random = MatcherFuzzTests.SplitMix(state: 0xDA7E)
        let detectors = try [nil, "{^LN-BEG}", "EPOCH", "%Y-%m-%d %H:%M:%S"].map { try DateDetector(datepattern: $0) }
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...80, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            // Detector input is valid UTF-8 (the line reader repairs it), as fail2ban decodes with replacement.
            let line = String(decoding: bytes, as: UTF8.self)
            for detector in detectors { checkInvariants(detector, line, now: 1_124_013_600) }
        }
    }

    @Test func randomPartialDates() throws {
        var random = MatcherFuzzTests.SplitMix(state: 0x5EED)
        let detectors = try [nil, "{^LN-BEG}", "LEPOCH", "TAI64N", "%d/%b/%Y:%H:%M:%S %z", "{NONE}"].map { try DateDetector(datepattern: $0) }
        for _ in 0..<30_000 {
            let line = (0..<Int.random(in: 0...12, using: &random)).map { _ in Self.lineFragments.randomElement(using: &random)! }.joined()
            let now = Double.random(in: 0...4_102_444_800, using: &random)
            for detector in detectors { checkInvariants(detector, line, now: now) }
        }
        // Odd "now" values must not trap either.
        for now in [Double.nan, .infinity, -.infinity, -1e300, 1e300] {
            checkInvariants(detectors[0], "Aug 14 10:00:00 x", now: now)
        }
    }

    @Test func randomDatePatterns() {
        var random = MatcherFuzzTests.SplitMix(state: 0xF00D)
        var built = 0, rejected = 0
        let lines = ["Aug 14 10:00:00 x", "2005-08-14 10:00:00", "1124013600 x", "@400000004300f6b02c2fc3d4", "", "é 10:00"]
        for _ in 0..<5_000 {
            let pattern = (0..<Int.random(in: 1...8, using: &random)).map { _ in Self.patternFragments.randomElement(using: &random)! }.joined()
            do {
                let detector = try DateDetector(datepattern: pattern)
                built += 1
                for line in lines { checkInvariants(detector, line, now: 1_124_013_600) }
            } catch {
                rejected += 1
                #expect(!error.template.isEmpty)
            }
        }
        // Both outcomes must really occur, or the generator tests nothing.
        #expect(built > 100 && rejected > 100)
    }
}
