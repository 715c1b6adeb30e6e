import Testing
import WardenConformance

@Suite struct SampleSuiteTests {
    /// fail2ban's whole annotated sample suite against the stock configuration. Fails
    /// (never skips) when the Debian fail2ban package is missing.
    @Test func stockFiltersAgreeWithFail2ban() throws {
        let samples = try #require(SampleSuite.locateSamples(), "fail2ban's sample logs not found: install the Debian fail2ban package")
        let suite = SampleSuite(configDirectory: "/etc/fail2ban", samplesDirectory: samples)
        var failures: [String] = []
        var stockEvaluations = 0
        let totals = suite.run { record in
            if record.kind == .line && !record.test.hasPrefix("zzz-") { stockEvaluations += 1 }
            if !record.passed {
                failures.append("\(record.file):\(record.line ?? 0) [\(record.filterInstance)] \(record.differences.joined(separator: "; "))")
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
        #expect(totals.failed == 0)
        #expect(stockEvaluations >= 1381)
        #expect(totals.passed >= 1381)
    }

    /// The runner must be able to fail: a wrong expectation in a private sample file is reported.
    @Test func disagreementIsReported() throws {
        let directory = try TemporarySamples(files: [
            "sshd": """
            # failJSON: { "time": "2005-08-14T11:59:59", "match": true , "host": "192.0.2.99" }
            Aug 14 11:59:59 host sshd[1]: Failed password for root from 192.0.2.7 port 22 ssh2
            # failJSON: { "match": false }
            Aug 14 11:59:59 host sshd[1]: Failed password for root from 192.0.2.8 port 22 ssh2
            """,
        ])
        let suite = SampleSuite(configDirectory: "/etc/fail2ban", samplesDirectory: directory.path)
        var lineRecords: [SampleRecord] = []
        let totals = suite.run(only: ["sshd"]) { record in
            if record.kind == .line { lineRecords.append(record) }
        }
        #expect(lineRecords.count == 2)
        #expect(lineRecords.allSatisfy { !$0.passed })
        #expect(lineRecords.first?.differences.first?.hasPrefix("host:") == true)
        #expect(lineRecords.last?.differences.first?.contains("should not") == true)
        #expect(totals.failed >= 2)
    }
}
