import Testing
@testable import WardenFilter

/// warden's date detector against fail2ban's, line by line (epoch, cut span, template).
@Suite(.serialized)
struct DateOracleTests {
    init() { #expect(DateTestEnvironment.timeZoneReady) }

    @Test("fail2ban's sample logs with fail2ban's test zone and now")
    func sampleLogs() throws {
        let run = try DateOracleRun.run(now: fail2banTestNow, paths: [DateTestEnvironment.samplesDirectory])
        #expect(run.patterns.count > 10)
        #expect(run.verdicts.count > 50_000)
        let problems = run.disagreements(now: fail2banTestNow, timeZone: .local)
        #expect(problems.isEmpty, "\(problems.count) disagreements, first: \(problems.prefix(25).joined(separator: "\n"))")
    }
}
