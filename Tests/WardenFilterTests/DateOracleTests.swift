import Testing
@testable import WardenFilter

/// warden's date detector against fail2ban's, line by line: status, epoch, cut span and
/// template name, for fail2ban's defaults, every stock datepattern and the extra
/// patterns in DateOracle/extra-patterns.txt, over the sample logs and DateOracle/edge-dates.log.
@Suite(.serialized)
struct DateOracleTests {
    init() { #expect(DateTestEnvironment.timeZoneReady) }

    private var inputs: [String] {
        [DateTestEnvironment.samplesDirectory, DateTestEnvironment.oracleDirectory.appendingPathComponent("edge-dates.log").path]
    }
    private var extraPatterns: String { DateTestEnvironment.oracleDirectory.appendingPathComponent("extra-patterns.txt").path }

    private func expectAgreement(now: Double, logtimezone: String?, minimumVerdicts: Int) throws {
        let run = try DateOracleRun.run(now: now, logtimezone: logtimezone, extraPatterns: extraPatterns, paths: inputs)
        #expect(run.patterns.count > 60)
        #expect(run.verdicts.count > minimumVerdicts)
        #expect(run.verdicts.filter { $0.kind == "parsed" }.count > minimumVerdicts / 10)
        let zone = try logtimezone.map { try DateDetector.parseTimeZone($0) } ?? .local
        let problems = run.disagreements(now: now, timeZone: zone)
        #expect(problems.isEmpty, "\(problems.count) disagreements, first:\n\(problems.prefix(25).joined(separator: "\n"))")
    }

    @Test("fail2ban's test zone and now (2005-08-14 12:00 CEST)")
    func fail2banTestSetup() throws {
        try expectAgreement(now: fail2banTestNow, logtimezone: nil, minimumVerdicts: 150_000)
    }

    @Test("New Year 2025 00:00 UTC with logtimezone UTC (year inference across the year end)")
    func newYearInUTC() throws {
        try expectAgreement(now: 1_735_689_600, logtimezone: "UTC", minimumVerdicts: 150_000)
    }

    @Test("2024-03-02 (just after a leap day), local time, then a fixed -05:30 log zone")
    func leapYear() throws {
        try expectAgreement(now: 1_709_337_600, logtimezone: nil, minimumVerdicts: 150_000)
        try expectAgreement(now: 1_709_337_600, logtimezone: "-05:30", minimumVerdicts: 150_000)
    }
}
