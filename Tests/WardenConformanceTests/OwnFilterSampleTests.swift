import Testing
import WardenConformance

/// warden's own filters (`filters/`) against their annotated samples
/// (`filters/samples/`), with the same runner and rules as fail2ban's suite.
@Suite struct OwnFilterSampleTests {
    /// `<checkout>/Tests/WardenConformanceTests/OwnFilterSampleTests.swift` → `<checkout>`.
    static let checkout: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static let requiredFilters: Set<String> = [
        "sshd", "nginx-http-auth", "nginx-botsearch", "nginx-limit-req", "apache-auth",
        "postfix", "dovecot", "vsftpd", "simplefail2ban",
    ]

    @Test func everyOwnFilterPassesItsSamples() {
        let suite = SampleSuite(configDirectory: Self.checkout, samplesDirectory: Self.checkout + "/filters/samples")
        #expect(Set(suite.tests().map(\.name)).isSuperset(of: Self.requiredFilters))
        var failures: [String] = []
        var evaluated: [String: Int] = [:]
        let totals = suite.run { record in
            if record.kind == .line { evaluated[record.test, default: 0] += 1 }
            if !record.passed {
                failures.append("\(record.file):\(record.line ?? 0) [\(record.filterInstance)] \(record.differences.joined(separator: "; "))")
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
        #expect(totals.failed == 0)
        for filter in Self.requiredFilters {
            #expect((evaluated[filter] ?? 0) > 0, "no sample lines evaluated for \(filter)")
        }
    }
}
