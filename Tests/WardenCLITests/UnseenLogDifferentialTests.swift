import Foundation
import Testing

/// The acceptance check for `warden regex --json`: on logs no other test has seen, it
/// reports the same failures as `fail2ban-regex -o row`, in the same order, with the same
/// id, time, user(s) and ip4/ip6 groups, for every stock filter and every option set its
/// sample file uses. Needs `/usr/bin/python3` and the Debian fail2ban package.
///
/// The logs come from `UnseenLogs/unseen_logs.py` (fail2ban's sample logs with addresses,
/// pids and dates rewritten, three copies interleaved, noise lines added). The seed is
/// fixed so a failure reproduces; `WARDEN_UNSEEN_SEED=N swift test --filter
/// UnseenLogDifferential` tries another one.
@Suite struct UnseenLogDifferentialTests {
    static let defaultSeed = 20_261_122
    static let fail2banConfig = "/etc/fail2ban"
    static let samples = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs"
    static let helper = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("UnseenLogs/unseen_logs.py").path

    /// The `warden` executable SwiftPM built next to this test binary.
    static func wardenBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["WARDEN_BINARY"] { return path }
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let candidate = URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("warden").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw ChildProcess.LaunchFailed(command: [candidate], reason: "warden is not built next to the test binary; run `swift build` first or set WARDEN_BINARY")
        }
        return candidate
    }

    @Test func wardenRegexJSONReproducesFail2banRegexRowsOnUnseenLogs() async throws {
        let seed = ProcessInfo.processInfo.environment["WARDEN_UNSEEN_SEED"].flatMap(Int.init) ?? Self.defaultSeed
        let warden = try Self.wardenBinary()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("warden-unseen-\(getpid())-\(seed)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)

        let generated = try ChildProcess.run(
            ["/usr/bin/python3", Self.helper, "generate", "--seed", "\(seed)", "--out", work.path,
             "--samples", Self.samples, "--filters", Self.fail2banConfig + "/filter.d"],
            scratch: work.appendingPathComponent("generate"))
        try #require(generated.status == 0, "generator failed: \(generated.standardError)")
        let manifest = try JSONDecoder().decode(UnseenLogManifest.self, from: generated.standardOutput)
        #expect(manifest.filters == 89, "Debian's fail2ban 1.0.2 ships 89 stock filters")
        #expect(manifest.missingSamples.isEmpty, "stock filters without a sample log: \(manifest.missingSamples)")
        #expect(Set(manifest.cases.map(\.filter)).count == manifest.filters, "every stock filter has a case")

        let runner = DifferentialRunner(
            helper: Self.helper, warden: warden, fail2banFilters: Self.fail2banConfig + "/filter.d",
            fail2banConfig: Self.fail2banConfig, scratch: work)
        let width = max(2, ProcessInfo.processInfo.activeProcessorCount + 1)
        let outcomes = await ProcessPool.map(manifest.cases, width: width) { runner.run($0) }

        var failing = 0
        for outcome in outcomes {
            if let error = outcome.error {
                failing += 1
                Issue.record("\(outcome.name) (seed \(seed)): \(error)")
            } else if !outcome.differences.isEmpty {
                failing += 1
                Issue.record("""
                    \(outcome.name) (seed \(seed), log \(work.path)/\(outcome.name.prefix { $0 != "[" }).log): \
                    \(outcome.differences.count) difference(s)
                    \(outcome.differences.joined(separator: "\n"))
                    """)
            }
        }
        let compared = outcomes.reduce(0) { $0 + $1.compared }
        let casesWithFailures = outcomes.filter { $0.compared > 0 }.count
        // Guards against a generator that silently stops producing failures.
        #expect(compared > 2_000, "only \(compared) failures compared")
        #expect(casesWithFailures * 10 >= manifest.cases.count * 9, "only \(casesWithFailures) of \(manifest.cases.count) cases had failures")

        let hostNames = outcomes.reduce((0, 0)) { ($0.0 + $1.hostNameRows.fail2ban, $0.1 + $1.hostNameRows.warden) }
        let wallClock = outcomes.reduce(0) { $0 + $1.wallClockRows }
        print("""
            unseen-log differential, seed \(seed): \(manifest.cases.count) cases (\(manifest.filters) filters), \
            \(compared) failures agree, \(failing) case(s) differ; set apart: host-name ids \
            \(hostNames.0) fail2ban / \(hostNames.1) warden; wall-clock times \(wallClock)
            """)
        if failing == 0 { try? FileManager.default.removeItem(at: work) }
    }

    /// The comparison itself must be able to fail: a shifted time, a different id, a
    /// missing user and a missing row are each reported.
    @Test func comparisonReportsEachKindOfDisagreement() throws {
        let rows = Data(#"""
            [{"id": "192.0.2.1", "time": 100.0, "groups": {"ip4": "192.0.2.1", "ip6": null, "user": "root", "users": ["root"]}},
             {"id": "192.0.2.2", "time": 200.0, "groups": {"ip4": "192.0.2.2", "user": "admin"}},
             {"id": "192.0.2.3", "time": 300.0, "groups": {"ip4": "192.0.2.3"}},
             {"id": "192.0.2.9", "time": 900.0, "groups": {"ip4": null, "dns": "example.com"}},
             {"id": "192.0.2.4", "time": 400.0, "groups": {"ip4": "192.0.2.4"}}]
            """#.utf8)
        let lines = Data(#"""
            {"line": 1, "id": "192.0.2.1", "time": 101.0, "regex": 0, "ip4": "192.0.2.1", "user": "root", "users": ["root"]}
            {"line": 2, "id": "192.0.2.2", "time": 200.0, "regex": 0, "ip4": "192.0.2.2"}
            {"line": 3, "id": "example.com", "time": 300.0, "regex": 0, "dns": "example.com"}
            {"line": 4, "id": "192.0.2.30", "time": 300.0, "regex": 0, "ip4": "192.0.2.30"}
            {"summary": {"lines": 4}}
            """#.utf8)
        let runner = DifferentialRunner(helper: "", warden: "", fail2banFilters: "", fail2banConfig: "", scratch: URL(fileURLWithPath: "/"))
        var outcome = DifferentialOutcome(name: "test")
        runner.compare(expected: try ReportedFailure.fail2banRows(rows), actual: try ReportedFailure.wardenLines(lines),
                       now: 1_000...2_000, into: &outcome)
        #expect(outcome.hostNameRows == (1, 1))
        #expect(outcome.compared == 0)
        #expect(outcome.differences.count == 4)
        #expect(outcome.differences[0].contains("time 100.0") && outcome.differences[0].contains("time 101.0"))
        #expect(outcome.differences[1].contains("user admin"))
        #expect(outcome.differences[2].contains("192.0.2.30"))
        #expect(outcome.differences[3].contains("warden has no more failures"))
    }

    @Test func wallClockTimesAgreeOnlyInsideTheRunWindow() throws {
        let rows = Data(#"[{"id": "192.0.2.1", "time": 1500.25, "groups": {"ip4": "192.0.2.1"}}, {"id": "192.0.2.1", "time": 2500.0, "groups": {"ip4": "192.0.2.1"}}]"#.utf8)
        let lines = Data(#"""
            {"line": 1, "id": "192.0.2.1", "time": 1500.75, "regex": 0, "ip4": "192.0.2.1"}
            {"line": 2, "id": "192.0.2.1", "time": 2500.5, "regex": 0, "ip4": "192.0.2.1"}
            """#.utf8)
        let runner = DifferentialRunner(helper: "", warden: "", fail2banFilters: "", fail2banConfig: "", scratch: URL(fileURLWithPath: "/"))
        var outcome = DifferentialOutcome(name: "test")
        runner.compare(expected: try ReportedFailure.fail2banRows(rows), actual: try ReportedFailure.wardenLines(lines),
                       now: 1_000...2_000, into: &outcome)
        #expect(outcome.compared == 1)
        #expect(outcome.wallClockRows == 1)
        #expect(outcome.differences.count == 1)
    }
}
