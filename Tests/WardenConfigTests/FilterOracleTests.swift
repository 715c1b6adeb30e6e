import Foundation
import Testing
@testable import WardenConfig

/// Compares FilterLoader with fail2ban's own FilterReader (the installed Python package)
/// on every stock filter, with and without every option set of the sample logs.
@Suite struct FilterOracleTests {
    static let configDirectory = "/etc/fail2ban"
    static let sampleLogs = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs"

    struct Case: Decodable {
        var filter: String
        var options: [String: String]
        var result: Fail2banOracle.Expected
    }

    @Test func everyStockFilterAndOptionSetMatchesFail2ban() throws {
        let cases = try JSONDecoder().decode(
            [Case].self, from: Fail2banOracle.run([Self.configDirectory, Self.sampleLogs]))
        let filterCount = Set(cases.map(\.filter)).count
        #expect(filterCount >= 89, "expected all stock filters, the oracle listed \(filterCount)")
        #expect(cases.count >= filterCount * 2)

        let loader = FilterLoader(configDirectory: Self.configDirectory)
        var mismatches: [String] = []
        for testCase in cases {
            let label = "\(testCase.filter) \(testCase.options)"
            do {
                let definition = try loader.load(testCase.filter, options: testCase.options)
                if let error = testCase.result.error {
                    mismatches.append("\(label): loaded, fail2ban failed with \(error)")
                    continue
                }
                let expected = testCase.result
                let differences = expected.differences(from: definition)
                if !differences.isEmpty {
                    mismatches.append("\(label): differs in \(differences)\n  fail2ban: \(expected)\n  warden:   \(definition)")
                }
            } catch {
                if testCase.result.error == nil {
                    mismatches.append("\(label): warden failed with \(error), fail2ban loaded it")
                }
            }
        }
        let report = mismatches.prefix(20).joined(separator: "\n")
        #expect(mismatches.count == 0, "\(mismatches.count) of \(cases.count) cases differ:\n\(report)")
    }
}
