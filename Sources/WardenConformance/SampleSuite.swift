#if canImport(Glibc)
import Glibc
#endif
import WardenConfig
import WardenFilter

/// fail2ban's annotated sample-log suite (`tests/samplestestcase.py`), run against
/// warden's config loader and matcher.
///
/// One test per filter in `<config>/filter.d/*.conf` (except `*common.conf`), plus the
/// `zzz-*` test filters shipped next to the samples; each reads `logs/<name>` and the
/// files it adds. See docs/filter-engine.md for the rules reproduced here.
public struct SampleSuite {
    /// fail2ban's test "now": 2005-08-14 12:00:00 CEST.
    public static let testNow: Double = 1_124_013_600
    /// The zone the sample timestamps are written in.
    public static let testTimeZone = "CET-01CEST-02,M3.5.0,M10.5.0"

    public let configDirectory: String
    public let samplesDirectory: String
    /// Folder with fail2ban's `zzz-*` test filters, if present.
    public let testFiltersDirectory: String?

    public init(configDirectory: String, samplesDirectory: String, testFiltersDirectory: String? = nil) {
        self.configDirectory = configDirectory
        self.samplesDirectory = samplesDirectory
        self.testFiltersDirectory = testFiltersDirectory
            ?? SampleFiles.directory(SampleFiles.join(samplesDirectory, "../../config/filter.d"))
    }

    /// The Debian package's samples: asks python3 where fail2ban lives, then tries known paths.
    public static func locateSamples() -> String? {
        var candidates: [String] = []
        if let output = SampleFiles.run("python3", ["-c", "import fail2ban, os; print(os.path.dirname(fail2ban.__file__))"]) {
            let path = output.split(separator: "\n").first.map(String.init) ?? ""
            if !path.isEmpty { candidates.append(path + "/tests/files/logs") }
        }
        candidates += [
            "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs",
            "/usr/local/lib/python3/dist-packages/fail2ban/tests/files/logs",
        ]
        return candidates.first { SampleFiles.directory($0) != nil }
    }

    /// The tests to run: (test name, filter reference for the loader).
    public func tests() -> [(name: String, reference: String, configDirectory: String)] {
        var result: [(String, String, String)] = []
        // fail2ban keeps filters in filter.d/, warden's own configuration in filters/.
        let fail2banLayout = SampleFiles.join(configDirectory, "filter.d")
        let filterDirectory = SampleFiles.directory(fail2banLayout) != nil ? fail2banLayout : SampleFiles.join(configDirectory, "filters")
        for file in SampleFiles.list(filterDirectory) where file.hasSuffix(".conf") && !file.hasSuffix("common.conf") && !file.hasPrefix(".") {
            let name = String(file.dropLast(5))
            result.append((name, name, configDirectory))
        }
        if let testFiltersDirectory {
            for file in SampleFiles.list(testFiltersDirectory) where file.hasPrefix("zzz-") && file.hasSuffix(".conf") {
                result.append((String(file.dropLast(5)), SampleFiles.join(testFiltersDirectory, file), configDirectory))
            }
        }
        return result
    }

    /// Runs every test; `report` sees each record as it is decided.
    /// Sets the process time zone (TZ) to the samples' zone first: date parsing reads it.
    public func run(only names: Set<String>? = nil, report: (SampleRecord) -> Void) -> SampleTotals {
        setenv("TZ", SampleSuite.testTimeZone, 1)
        tzset()
        var totals = SampleTotals()
        let includes = IncludeRepair(configDirectory: configDirectory)
        defer { includes.cleanUp() }
        for test in tests() where names?.contains(test.name) ?? true {
            let reference = test.reference.hasPrefix("/") ? includes.repaired(test.reference) : test.reference
            var runner = SampleTestRun(name: test.name, reference: reference, suite: self)
            runner.run { record in
                totals.add(record)
                report(record)
            }
        }
        return totals
    }
}

public struct SampleTotals: Sendable, Equatable {
    public var passed = 0
    public var failed = 0
    /// Line records only (the "evaluations"), passed or failed.
    public var evaluatedLines = 0

    mutating func add(_ record: SampleRecord) {
        if record.kind == .line { evaluatedLines += 1 }
        if record.passed { passed += 1 } else { failed += 1 }
    }

    public var summary: String { "\(passed) passed, \(failed) failed" }
}

/// One test method of the Python runner: a sample file (and the files it adds) with
/// the filter instances its option sets create.
struct SampleTestRun {
    final class Instance {
        let name: String
        let matcher: Matcher?
        let loadError: String?
        var usedRegexes: Set<Int> = []
        init(name: String, matcher: Matcher?, loadError: String?) {
            self.name = name
            self.matcher = matcher
            self.loadError = loadError
        }
    }

    let name: String
    let reference: String
    let suite: SampleSuite
    private var instances: [String: Instance] = [:]
    private var instanceOrder: [String] = []
    private var usedRegexSources: Set<String> = []

    init(name: String, reference: String, suite: SampleSuite) {
        self.name = name
        self.reference = reference
        self.suite = suite
    }

    mutating func run(report: (SampleRecord) -> Void) {
        var files = [name]
        var current: [(instance: Instance, options: [String: String])]? = nil
        var commonOptions: [String: String] = [:]
        var fileIndex = 0
        while fileIndex < files.count {
            let fileName = files[fileIndex]
            fileIndex += 1
            let path = SampleFiles.join(suite.samplesDirectory, fileName)
            guard let bytes = SampleFiles.read(path) else {
                report(errorRecord(file: path, line: nil, "no sample log file for '\(name)'"))
                continue
            }
            var lines = SampleFiles.lines(bytes)[...]
            var lineNumber = 0
            var ignoreBlock = false
            while let raw = lines.popFirst() {
                lineNumber += 1
                var logLine = raw
                var logLineNumber = lineNumber
                var expected: [String: JSONValue] = [:]
                let text = String(decoding: raw, as: UTF8.self)
                let annotation: SampleAnnotation?
                do { annotation = try SampleAnnotation.parse(Substring(text), file: path, lineNumber: lineNumber) } catch {
                    report(errorRecord(file: path, line: lineNumber, error.message))
                    continue
                }
                switch annotation {
                case .fileOptions(let options):
                    commonOptions = options
                    continue
                case .filterOptions(let sets):
                    current = []
                    ignoreBlock = false
                    for set in sets {
                        let options = commonOptions.merging(set) { _, new in new }
                        if let condition = options["test.condition"], !condition.isEmpty {
                            do { ignoreBlock = try !SampleCondition(expression: condition).evaluate(name: name, options: options) } catch {
                                report(errorRecord(file: path, line: lineNumber, error.message))
                                ignoreBlock = true
                            }
                        }
                        if !ignoreBlock { current?.append((instance(options: options), options)) }
                    }
                    continue
                case .addFile(let file):
                    files.append(file)
                    continue
                case .failJSON(let fields):
                    expected = fields
                    // The expectation applies to the next line, whatever it is.
                    guard let next = lines.popFirst() else { continue }
                    logLine = next
                    logLineNumber = lineNumber + 1
                    lineNumber += 1
                case nil:
                    if ignoreBlock || raw.first == UInt8(ascii: "#") || raw.allSatisfy(SampleFiles.isPythonWhitespace) { continue }
                }
                if ignoreBlock { continue }
                if current?.isEmpty ?? true { current = [(instance(options: [:]), [:])] }
                for (instance, options) in current ?? [] {
                    if let constraint = expected["constraint"]?.stringValue, !constraint.isEmpty {
                        do {
                            guard try SampleCondition(expression: constraint).evaluate(name: name, options: options) else { continue }
                        } catch {
                            report(errorRecord(file: path, line: logLineNumber, error.message))
                            continue
                        }
                    }
                    report(evaluate(logLine, lineNumber: logLineNumber, file: path, expected: expected, instance: instance, options: options))
                }
            }
        }
        reportCoverage(report)
    }

    private mutating func evaluate(_ line: ArraySlice<UInt8>, lineNumber: Int, file: String, expected: [String: JSONValue],
                                   instance: Instance, options: [String: String]) -> SampleRecord {
        var record = SampleRecord(kind: .line, test: name, filterInstance: instance.name, file: file, line: lineNumber,
                                  text: String(decoding: line, as: UTF8.self), passed: false, differences: [], found: [])
        guard let matcher = instance.matcher else {
            record.differences = ["filter did not load: \(instance.loadError ?? "unknown error")"]
            return record
        }
        var subject = Array(line)
        var knownTime: Double?
        if options["logtype"] == "journal" {
            // A journal backend knows the time; the message is matched as is, after the prefix it builds.
            knownTime = SampleSuite.testNow
            if let prefix = options["test.prefix-line"] { subject = Array(prefix.utf8) + subject }
        }
        let failures = subject.withUnsafeBufferPointer { matcher.process($0, lineNumber: lineNumber, time: knownTime) }
        var reported: [Failure] = []
        for failure in failures {
            // Pending and no-fail results only count as regex use.
            if failure.isPending || failure.isNoFail {
                markUsed(failure.regexIndex, instance: instance)
            } else {
                reported.append(failure)
            }
        }
        record.found = reported.map { $0.id?.text ?? "" }
        record.differences = SampleVerdict(expected: expected).differences(for: reported)
        record.passed = record.differences.isEmpty
        if record.passed { for failure in reported { markUsed(failure.regexIndex, instance: instance) } }
        return record
    }

    private mutating func markUsed(_ index: Int, instance: Instance) {
        instance.usedRegexes.insert(index)
        if let matcher = instance.matcher, index < matcher.failRegexes.count {
            usedRegexSources.insert(matcher.failRegexes[index].expanded)
        }
    }

    /// The filter instance for an option set, created on first use (fail2ban names it
    /// by test name plus the options without `test.*` keys).
    private mutating func instance(options: [String: String]) -> Instance {
        let filterOptions = options.filter { !$0.key.hasPrefix("test.") }
        let suffix = options["test.filter-name"]
            ?? (filterOptions.isEmpty ? "" : JSONValue.object(filterOptions.mapValues { .string($0) }).description)
        let instanceName = name + suffix
        if let existing = instances[instanceName] { return existing }
        let created: Instance
        do {
            var definition = try FilterLoader(configDirectory: suite.configDirectory).load(reference, options: filterOptions)
            // The Python runner never applies the filter's usedns: fail2ban's default `warn` holds.
            definition.usedns = nil
            var matcherOptions = MatcherOptions()
            matcherOptions.returnRawHost = true
            matcherOptions.checkAllRegex = true
            matcherOptions.checkFindTime = false
            let matcher = try Matcher(filter: definition, options: matcherOptions, now: { SampleSuite.testNow })
            created = Instance(name: instanceName, matcher: matcher, loadError: nil)
        } catch {
            created = Instance(name: instanceName, matcher: nil, loadError: "\(error)")
        }
        instances[instanceName] = created
        instanceOrder.append(instanceName)
        return created
    }

    private func reportCoverage(_ report: (SampleRecord) -> Void) {
        let lint = GreedyCatchAllLint()
        for instanceName in instanceOrder {
            guard let instance = instances[instanceName] else { continue }
            guard let matcher = instance.matcher else {
                report(errorRecord(file: reference, line: nil, "\(instanceName): filter did not load: \(instance.loadError ?? "")"))
                continue
            }
            for (index, regex) in matcher.failRegexes.enumerated() {
                if lint.flags(regex.expanded) {
                    var record = errorRecord(file: reference, line: nil,
                                             "\(instanceName): failregex \(index) has a greedy catch-all before <HOST>: \(regex.source)")
                    record.kind = .lint
                    report(record)
                }
                if !instance.usedRegexes.contains(index) && !usedRegexSources.contains(regex.expanded) {
                    var record = errorRecord(file: reference, line: nil, "\(instanceName): regex has no samples: \(index): \(regex.source)")
                    record.kind = .coverage
                    report(record)
                }
            }
        }
    }

    private func errorRecord(file: String, line: Int?, _ message: String) -> SampleRecord {
        SampleRecord(kind: .error, test: name, filterInstance: name, file: file, line: line, text: nil,
                     passed: false, differences: [message], found: [])
    }
}

/// fail2ban's RE_WRONG_GREED: a greedy `.*` or `.+` before `<HOST>` that is neither
/// anchored at the end nor followed by another catch-all.
struct GreedyCatchAllLint {
    private let regex: PCRERegex?

    init() {
        let host = RegexTags.hostExpansion()
        regex = try? PCRERegex(#"\.[+*](?!\?)[^$^]*\Q"# + host + #"\E.*(?:\.[+*].*|[^$])$"#)
    }

    func flags(_ expanded: String) -> Bool {
        regex?.firstMatch(in: expanded) != nil
    }
}
