import Foundation
import Testing
@testable import WardenConfig

/// Compares FilterLoader with fail2ban's own FilterReader (the installed Python package)
/// on every stock filter, with and without every option set of the sample logs.
@Suite struct FilterOracleTests {
    static let python = "/usr/bin/python3"
    static let configDirectory = "/etc/fail2ban"
    static let sampleLogs = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs"

    struct Case: Decodable {
        var filter: String
        var options: [String: String]
        var result: Expected
    }

    struct Expected: Decodable, Equatable {
        var error: String?
        var prefregex: String?
        var failregex: [String]?
        var ignoreregex: [String]?
        var maxlines: Int?
        var datepattern: String?
        var journalmatch: String?
        var usedns: String?
    }

    static func oracleCases() throws -> [Case] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("oracle/dump_filters.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, configDirectory, sampleLogs]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read before waiting: the JSON is larger than a pipe buffer.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        _ = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ConfigError("oracle script failed with status \(process.terminationStatus); "
                              + "is fail2ban installed for \(python)?")
        }
        return try JSONDecoder().decode([Case].self, from: data)
    }

    @Test func everyStockFilterAndOptionSetMatchesFail2ban() throws {
        let cases = try Self.oracleCases()
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
                let differences = [
                    ("prefregex", expected.prefregex == definition.prefregex),
                    ("failregex", expected.failregex == definition.failregex),
                    ("ignoreregex", expected.ignoreregex == definition.ignoreregex),
                    ("maxlines", expected.maxlines == definition.maxlines),
                    ("datepattern", expected.datepattern == definition.datepattern),
                    ("journalmatch", expected.journalmatch == definition.journalmatch),
                    ("usedns", expected.usedns == definition.usedns),
                ].filter { !$0.1 }.map(\.0)
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
