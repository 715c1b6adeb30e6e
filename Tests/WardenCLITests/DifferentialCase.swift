import Foundation

/// The generator's manifest: one case per stock filter and option set.
struct UnseenLogManifest: Decodable {
    let seed: Int
    let filters: Int
    let missingSamples: [String]
    let cases: [DifferentialCase]

    enum CodingKeys: String, CodingKey {
        case seed, filters, cases
        case missingSamples = "missing_samples"
    }
}

/// One filter with one option set over one generated log.
struct DifferentialCase: Decodable, Sendable {
    let filter: String
    let options: [String: String]
    let log: String

    /// `name[k=v, ...]` (options sorted, so names are stable in reports).
    var name: String { filter + optionSuffix }

    var optionSuffix: String {
        options.isEmpty ? "" : "[" + options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "]"
    }
}

/// What running both tools on one case found.
struct DifferentialOutcome: Sendable {
    let name: String
    /// Failures both tools reported, after host-name rows are set apart.
    var compared = 0
    /// Rows whose id came from a host name (fail2ban resolves it, warden does not).
    var hostNameRows = (fail2ban: 0, warden: 0)
    /// Rows whose time was the wall clock on both sides.
    var wallClockRows = 0
    /// Every disagreement, one line each, with warden's line number where it has one.
    var differences: [String] = []
    /// The run itself failed (a tool exited non-zero or printed something unreadable).
    var error: String?

    init(name: String) { self.name = name }
}

/// Runs fail2ban-regex (through the generator's `rows` helper) and `warden regex --json`
/// back to back on one case, and compares their ordered failures.
struct DifferentialRunner: Sendable {
    let helper: String
    let warden: String
    let fail2banFilters: String
    let fail2banConfig: String
    let scratch: URL

    func run(_ testCase: DifferentialCase) -> DifferentialOutcome {
        var outcome = DifferentialOutcome(name: testCase.name)
        do {
            let scratchBase = scratch.appendingPathComponent(testCase.name.filter { $0.isLetter || $0.isNumber || $0 == "-" })
            let before = Date().timeIntervalSince1970
            let reference = try ChildProcess.run(
                ["/usr/bin/python3", helper, "rows", testCase.log,
                 "\(fail2banFilters)/\(testCase.filter).conf\(testCase.optionSuffix)"],
                scratch: scratchBase.appendingPathExtension("f2b"))
            let candidate = try ChildProcess.run(
                [warden, "regex", "--json", "--config", fail2banConfig, testCase.log, testCase.name],
                scratch: scratchBase.appendingPathExtension("warden"))
            let after = Date().timeIntervalSince1970
            guard reference.status == 0 else {
                outcome.error = "fail2ban-regex exited \(reference.status): \(reference.standardError.suffix(600))"
                return outcome
            }
            guard candidate.status == 0 else {
                outcome.error = "warden regex exited \(candidate.status): \(candidate.standardError.suffix(600))"
                return outcome
            }
            let expected = try ReportedFailure.fail2banRows(reference.standardOutput)
            let actual = try ReportedFailure.wardenLines(candidate.standardOutput)
            compare(expected: expected, actual: actual, now: (before - 1)...(after + 1), into: &outcome)
        } catch {
            outcome.error = "\(error)"
        }
        return outcome
    }

    /// Position by position, after setting host-name rows apart on both sides.
    func compare(expected: [ReportedFailure], actual: [ReportedFailure], now: ClosedRange<Double>,
                 into outcome: inout DifferentialOutcome) {
        let reference = expected.filter { !$0.cameFromHostName }
        let candidate = actual.filter { !$0.cameFromHostName }
        outcome.hostNameRows = (expected.count - reference.count, actual.count - candidate.count)
        for index in 0..<max(reference.count, candidate.count) {
            let position = "failure #\(index + 1)"
            switch (index < reference.count ? reference[index] : nil, index < candidate.count ? candidate[index] : nil) {
            case let (wanted?, got?):
                if wanted.agrees(with: got, now: now) {
                    outcome.compared += 1
                    if let time = wanted.time, now.contains(time) { outcome.wallClockRows += 1 }
                } else {
                    outcome.differences.append("\(position) (warden line \(got.line ?? 0)): fail2ban [\(wanted)] warden [\(got)]")
                }
            case let (wanted?, nil):
                outcome.differences.append("\(position): fail2ban [\(wanted)], warden has no more failures")
            case let (nil, got?):
                outcome.differences.append("\(position) (warden line \(got.line ?? 0)): warden [\(got)], fail2ban has no more failures")
            case (nil, nil):
                break
            }
        }
    }
}
