import WardenConfig
import WardenFilter

/// What `warden regex` reports after a run, as text laid out like fail2ban-regex's
/// results or as the closing JSON object.
struct RegexSummary {
    let filter: FilterDefinition
    let configDirectory: String
    let logPath: String
    let matcher: Matcher
    let tally: LineTally
    let seconds: Double

    private var templates: [(name: String, hits: Int, pattern: String)] {
        let detector = matcher.dateDetector
        let (names, hits) = (detector.templateNames, detector.templateHits)
        return names.indices.filter { hits[$0] > 0 }.map { (name: names[$0], hits: hits[$0], pattern: detector.templatePattern(at: $0)) }
    }

    private var linesPerSecond: Double { seconds > 0 ? Double(tally.lines) / seconds : 0 }

    /// Regexes are numbered from 1 here, as fail2ban-regex numbers them.
    func text() -> String {
        let statistics = matcher.statistics
        var out = """

            Running tests
            =============

            Use   failregex filter file : \(filter.name), basedir: \(configDirectory)
            Use         maxlines : \(filter.maxlines)
            Use      datepattern : \(filter.datepattern ?? "Default Detectors")
            Use         log file : \(logPath)


            Results
            =======


            """
        out += "Failregex: \(statistics.failregexHits.reduce(0, +)) total\n"
        out += "|-  #) [# of hits] regular expression\n"
        for (index, regex) in matcher.failRegexes.enumerated() where statistics.failregexHits[index] > 0 {
            out += "|  \(Self.padded(index + 1, to: 2))) [\(statistics.failregexHits[index])] \(regex.source)\n"
        }
        out += "`-\n\n"
        out += "Ignoreregex: \(statistics.ignoreregexHits.reduce(0, +)) total\n"
        if !matcher.ignoreRegexes.isEmpty {
            out += "|-  #) [# of hits] regular expression\n"
            for (index, regex) in matcher.ignoreRegexes.enumerated() where statistics.ignoreregexHits[index] > 0 {
                out += "|  \(Self.padded(index + 1, to: 2))) [\(statistics.ignoreregexHits[index])] \(regex.source)\n"
            }
            out += "`-\n"
        }
        out += "\nDate template hits:\n|- [# of hits] date format\n"
        for template in templates { out += "|  [\(template.hits)] \(template.name)\n" }
        out += "`-\n\n"
        out += "Lines: \(tally.lines) lines, \(tally.ignored) ignored, \(tally.matched) matched, \(tally.missed) missed\n"
        if statistics.limitExceeded > 0 {
            out += "Regex searches stopped by the match limit (counted as no match): \(statistics.limitExceeded)\n"
        }
        if statistics.repairedUTF8 > 0 {
            out += "Lines with invalid UTF-8 (replaced with U+FFFD): \(statistics.repairedUTF8)\n"
        }
        out += "[processed in \(Self.fixed(seconds, digits: 3)) sec, \(Int(linesPerSecond)) lines/s]\n"
        return out
    }

    func json() -> String {
        let statistics = matcher.statistics
        let templateObjects = templates.map {
            JSON.object([("name", JSON.string($0.name)), ("hits", "\($0.hits)"), ("regex", JSON.string($0.pattern))])
        }
        let summary = JSON.object([
            ("filter", JSON.string(filter.name)),
            ("log", JSON.string(logPath)),
            ("lines", "\(tally.lines)"),
            ("matched", "\(tally.matched)"),
            ("ignored", "\(tally.ignored)"),
            ("missed", "\(tally.missed)"),
            ("failregex_hits", JSON.array(statistics.failregexHits.map { "\($0)" })),
            ("ignoreregex_hits", JSON.array(statistics.ignoreregexHits.map { "\($0)" })),
            ("date_templates", JSON.array(templateObjects)),
            ("limit_exceeded", "\(statistics.limitExceeded)"),
            ("repaired_utf8", "\(statistics.repairedUTF8)"),
            ("seconds", "\(seconds)"),
            ("lines_per_second", "\(Int(linesPerSecond))"),
        ])
        return JSON.object([("summary", summary)])
    }

    private static func padded(_ value: Int, to width: Int) -> String {
        let text = "\(value)"
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }

    private static func fixed(_ value: Double, digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = scaled / Int(scale)
        let fraction = "\(scaled % Int(scale))"
        return "\(whole)." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
}
