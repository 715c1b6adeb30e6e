import FoundationEssentials
import WardenFilter

/// The verdict on one evaluated (line, option set) pair, or on a file-level check
/// (regex coverage, greedy catch-all lint, a filter that does not load).
public struct SampleRecord: Codable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case line
        /// A failregex of an option set that no sample line hit.
        case coverage
        /// A failregex with a greedy `.*`/`.+` before `<HOST>` (fail2ban's RE_WRONG_GREED).
        case lint
        /// The filter or a sample file could not be read.
        case error
    }

    public var kind: Kind
    /// The test (filter) name, e.g. `sshd`.
    public var test: String
    /// The filter instance: test name plus its options, as fail2ban names it.
    public var filterInstance: String
    public var file: String
    public var line: Int?
    public var text: String?
    public var passed: Bool
    /// What differed, one entry per mismatch.
    public var differences: [String]
    /// The failures the matcher reported (ids), for the JSONL log.
    public var found: [String]
}

/// Checks a matcher's failures for one line against the line's `failJSON`, with the
/// rules of fail2ban's `samplestestcase.py`.
struct SampleVerdict {
    let expected: [String: JSONValue]

    /// Returns the differences (empty when fail2ban would pass the line).
    func differences(for failures: [Failure]) -> [String] {
        let shouldMatch = expected["match"]?.isTruthy ?? false
        guard !failures.isEmpty else {
            return shouldMatch ? ["line not matched when it should have been"] : []
        }
        guard shouldMatch else {
            return ["line matched when it should not have (regex \(failures.map(\.regexIndex)))"]
        }
        guard failures.count == 1, let failure = failures.first else {
            return ["multiple regexes matched: \(failures.map(\.regexIndex))"]
        }
        var differences: [String] = []
        for key in expected.keys.sorted() where !["time", "match", "desc", "constraint"].contains(key) {
            guard let value = expected[key] else { continue }
            if let difference = compare(key: key, expected: value, failure: failure) { differences.append(difference) }
        }
        if let time = expected["time"]?.stringValue {
            if let expectedTime = SampleTime.epoch(ofLocal: time) {
                if failure.time != expectedTime {
                    differences.append("time: expected \(time) = \(expectedTime), got \(failure.time.map { String($0) } ?? "none")")
                }
            } else {
                differences.append("time: cannot parse expected '\(time)'")
            }
        }
        return differences
    }

    private func compare(key: String, expected: JSONValue, failure: Failure) -> String? {
        switch key {
        case "host" where failure.groups["host"] == nil:
            guard let id = failure.id, case .string(let text) = expected, id.matches(expected: text) else {
                return "host: expected \(expected), got \(failure.id?.text ?? "none")"
            }
            return nil
        case "attempts" where failure.groups["attempts"] == nil:
            guard case .number(let count) = expected, Double(failure.attempts) == count else {
                return "attempts: expected \(expected), got \(failure.attempts)"
            }
            return nil
        case "users":
            guard case .array(let values) = expected, let users = failure.users,
                  values.compactMap(\.stringValue).sorted() == users.sorted(), values.allSatisfy({ $0.stringValue != nil })
            else { return "users: expected \(expected), got \(failure.users.map { "\($0)" } ?? "none")" }
            return nil
        default:
            let actual = failure.groups[key]
            if expected == .null, actual == nil { return nil }
            guard case .string(let text) = expected, actual == text else {
                return "\(key): expected \(expected), got \(actual.map { "'\($0)'" } ?? "none")"
            }
            return nil
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Converts the sample files' local timestamps the way the Python runner does:
/// `time.mktime` of `%Y-%m-%dT%H:%M:%S[.%f]` plus the microseconds.
enum SampleTime {
    static func epoch(ofLocal text: String) -> Double? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let fields = parts[0].split(whereSeparator: { $0 == "-" || $0 == "T" || $0 == ":" })
        guard fields.count == 6 else { return nil }
        let numbers = fields.compactMap { Int32($0) }
        guard numbers.count == 6 else { return nil }
        var microseconds = 0.0
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...6).contains(digits.count), let value = Int(digits) else { return nil }
            microseconds = Double(value * Int(pow10(6 - digits.count)))
        }
        var time = tm()
        time.tm_year = numbers[0] - 1900
        time.tm_mon = numbers[1] - 1
        time.tm_mday = numbers[2]
        time.tm_hour = numbers[3]
        time.tm_min = numbers[4]
        time.tm_sec = numbers[5]
        time.tm_isdst = -1
        let seconds = mktime(&time)
        guard seconds != -1 else { return nil }
        return Double(seconds) + microseconds / 1_000_000.0
    }

    private static func pow10(_ exponent: Int) -> Int {
        (0..<exponent).reduce(1) { result, _ in result * 10 }
    }
}
