import Foundation
import Glibc
import Testing
@testable import WardenFilter

/// The time zone fail2ban's own tests use (CET with EU daylight saving rules).
let fail2banTestTimeZone = "CET-01CEST-02,M3.5.0,M10.5.0"
/// fail2ban's test "now": 2005-08-14 12:00:00 CEST.
let fail2banTestNow = 1124013600.0

/// The date tests need local time to be fail2ban's test zone. `TZ` is process-wide, and
/// Swift Testing runs suites in parallel, so it is set once, before the first detector is
/// made, to the same value every date test expects, and never changed afterwards; other
/// zones are exercised through the python oracle's environment and `logtimezone`.
/// Running `TZ=CET-01CEST-02,M3.5.0,M10.5.0 swift test` skips the `setenv` entirely.
enum DateTestEnvironment {
    static let timeZoneReady: Bool = {
        if String(cString: getenv("TZ") ?? strdup("")) != fail2banTestTimeZone {
            setenv("TZ", fail2banTestTimeZone, 1)
        }
        tzset()
        return true
    }()

    static var oracleDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("DateOracle")
    }

    static let samplesDirectory = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs"
}

/// fail2ban's verdict for every line of every file under every datepattern of interest.
struct DateOracleRun {
    struct Pattern { let index: Int; let datepattern: String?; let error: String? }
    struct Verdict { let pattern: Int; let file: String; let line: Int; let kind: String; let epoch: Double?; let span: Range<Int>?; let template: String? }

    var patterns: [Pattern] = []
    var files: [String: [String]] = [:]
    var fileOrder: [String] = []
    var verdicts: [Verdict] = []

    enum Failure: Error, CustomStringConvertible {
        case python(status: Int32, stderr: String)
        case output(String)
        var description: String {
            switch self {
            case .python(let status, let stderr): "python oracle exited \(status): \(stderr.suffix(2000))"
            case .output(let line): "unreadable oracle output: \(line.prefix(200))"
            }
        }
    }

    /// Runs `date_oracle.py` with `/usr/bin/python3` (fails if python3 or fail2ban is missing).
    static func run(now: Double, timeZone: String = fail2banTestTimeZone, logtimezone: String? = nil,
                    extraPatterns: String? = nil, paths: [String]) throws -> DateOracleRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        var arguments = [DateTestEnvironment.oracleDirectory.appendingPathComponent("date_oracle.py").path, "--now", String(now)]
        if let logtimezone { arguments.append("--logtimezone=" + logtimezone) }
        if let extraPatterns { arguments.append("--extra-patterns=" + extraPatterns) }
        process.arguments = arguments + paths
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = timeZone
        process.environment = environment
        let stdout = Pipe(), stderr = FileHandle(forWritingAtPath: "/dev/null")
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure.python(status: process.terminationStatus, stderr: "") }
        return try parse(data)
    }

    private static func parse(_ data: Data) throws -> DateOracleRun {
        var run = DateOracleRun()
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw Failure.output(String(decoding: line, as: UTF8.self))
            }
            if let index = object["pattern"] as? Int {
                run.patterns.append(Pattern(index: index, datepattern: object["datepattern"] as? String, error: object["error"] as? String))
            } else if let file = object["file"] as? String, let lines = object["lines"] as? [String] {
                run.files[file] = lines
                run.fileOrder.append(file)
            } else if let pattern = object["p"] as? Int, let file = object["f"] as? String, let number = object["n"] as? Int,
                      let kind = object["k"] as? String {
                var span: Range<Int>?
                if let bounds = object["s"] as? [Int], bounds.count == 2 { span = bounds[0]..<bounds[1] }
                run.verdicts.append(Verdict(pattern: pattern, file: file, line: number, kind: kind,
                                            epoch: (object["e"] as? NSNumber)?.doubleValue, span: span,
                                            template: object["t"] as? String))
            } else {
                throw Failure.output(String(decoding: line, as: UTF8.self))
            }
        }
        return run
    }

    /// Replays every verdict through warden's detector; returns the disagreements.
    func disagreements(now: Double, timeZone: LogTimeZone) -> [String] {
        var problems: [String] = []
        var byPatternAndFile: [Int: [String: [Verdict]]] = [:]
        for verdict in verdicts { byPatternAndFile[verdict.pattern, default: [:]][verdict.file, default: []].append(verdict) }
        for pattern in patterns {
            let detectorOrError = Result { try DateDetector(datepattern: pattern.datepattern, timeZone: timeZone) }
            if pattern.error != nil {
                if case .success = detectorOrError { problems.append("pattern \(pattern.index) \(String(reflecting: pattern.datepattern)): fail2ban rejects it (\(pattern.error!)), warden accepts it") }
                continue
            }
            if case .failure(let error) = detectorOrError {
                problems.append("pattern \(pattern.index) \(String(reflecting: pattern.datepattern)): warden rejects it: \(error)")
                continue
            }
            for file in fileOrder {
                // A fresh detector per file, as the oracle does.
                guard let detector = try? DateDetector(datepattern: pattern.datepattern, timeZone: timeZone),
                      let lines = files[file] else { continue }
                for verdict in byPatternAndFile[pattern.index]?[file] ?? [] {
                    var bytes = Array(lines[verdict.line].utf8)
                    let found = bytes.withUnsafeMutableBufferPointer { detector.findDate(in: UnsafeBufferPointer($0), now: now) }
                    if let problem = Self.compare(verdict, found, detector) {
                        problems.append("pattern \(pattern.index) \(String(reflecting: pattern.datepattern)) \(file):\(verdict.line + 1) \(String(reflecting: lines[verdict.line].prefix(120))): \(problem)")
                    }
                }
            }
        }
        return problems
    }

    private static func compare(_ verdict: Verdict, _ found: DateMatch?, _ detector: DateDetector) -> String? {
        let expectedStatus: DateMatch.Status?
        switch verdict.kind {
        case "none": expectedStatus = nil
        case "parsed": expectedStatus = .parsed
        case "empty": expectedStatus = .empty
        case "invalid": expectedStatus = .invalid
        default: expectedStatus = .lineError
        }
        let describe = { (match: DateMatch?) -> String in
            guard let match else { return "no date" }
            return "\(match.status) \(match.epoch) span \(match.range) via \(detector.templateNames[match.templateIndex])"
        }
        let expected = "\(verdict.kind) \(verdict.epoch.map { String($0) } ?? "-") span \(verdict.span.map { "\($0)" } ?? "-") via \(verdict.template ?? "-")"
        guard found?.status == expectedStatus else { return "fail2ban: \(expected); warden: \(describe(found))" }
        guard let found else { return nil }
        if let span = verdict.span, span != found.range { return "fail2ban: \(expected); warden: \(describe(found))" }
        if let template = verdict.template, template != detector.templateNames[found.templateIndex] {
            return "fail2ban: \(expected); warden: \(describe(found))"
        }
        if verdict.kind == "parsed", verdict.epoch != found.epoch { return "fail2ban: \(expected); warden: \(describe(found))" }
        return nil
    }
}
