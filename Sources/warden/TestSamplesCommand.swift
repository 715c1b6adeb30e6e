import ArgumentParser
import FoundationEssentials
import WardenConformance
#if canImport(Glibc)
import Glibc
#endif

/// `warden test-samples`: fail2ban's annotated sample suite against warden's matcher.
struct TestSamplesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-samples",
        abstract: "Run fail2ban's annotated sample logs against warden's filter engine.",
        discussion: """
            Reproduces fail2ban's samplestestcase.py: one filter instance per sample file and \
            option set, TZ=\(SampleSuite.testTimeZone), now=\(Int(SampleSuite.testNow)). Prints each \
            disagreement, then "N passed, M failed". Exits non-zero when anything failed.
            """
    )

    @Option(name: .long, help: "fail2ban configuration directory (with filter.d/).")
    var config = "/etc/fail2ban"

    @Option(name: .long, help: "Sample log directory (default: fail2ban's tests/files/logs, found via python3).")
    var samples: String?

    @Option(name: .long, help: "Write one JSON object per evaluated record to this file.")
    var jsonl: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Run only these tests (filter names).")
    var only: [String] = []

    func run() throws {
        guard let samplesDirectory = samples ?? SampleSuite.locateSamples() else {
            throw ValidationError("fail2ban's sample logs were not found; pass --samples DIR")
        }
        var output: UnsafeMutablePointer<FILE>?
        if let jsonl {
            guard let file = fopen(jsonl, "w") else { throw ValidationError("cannot write \(jsonl)") }
            output = file
        }
        defer { if let output { fclose(output) } }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let suite = SampleSuite(configDirectory: config, samplesDirectory: samplesDirectory)
        let totals = suite.run(only: only.isEmpty ? nil : Set(only)) { record in
            if !record.passed {
                let location = record.file + (record.line.map { ":\($0)" } ?? "")
                print("FAIL [\(record.filterInstance)] \(location): \(record.differences.joined(separator: "; "))")
                if let text = record.text { print("    line: \(text)") }
            }
            if let output, let data = try? encoder.encode(record) {
                let line = Array(data) + [0x0A]
                _ = line.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, output) }
            }
        }
        print(totals.summary)
        if totals.failed > 0 { throw ExitCode(1) }
    }
}
