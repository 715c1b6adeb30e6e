import ArgumentParser
import WardenConfig
import WardenDaemon
import WardenFilter
#if canImport(Glibc)
import Glibc
#endif

/// `warden regex`: runs a filter over a log file, like fail2ban-regex.
struct RegexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regex",
        abstract: "Test a filter against a log file, like fail2ban-regex.",
        discussion: """
            FILTER is a filter name looked up in the configuration directory (filter.d/ \
            in a fail2ban directory, filters/ in warden's own), a path to a filter file, \
            or either with options in brackets:

              warden regex /var/log/auth.log sshd
              warden regex --config /etc/fail2ban /var/log/auth.log 'sshd[mode=aggressive]'
              warden regex --json access.log ./my-filter.conf

            The summary counts lines as fail2ban-regex does: every failregex is tried on \
            every line, a line caught only by a no-fail pattern or by an ignoreregex is \
            "ignored", and lines starting with '#' are skipped. With --json each failure \
            is one object, in order ("line", "id", "time", "regex" and the captured \
            groups): the first matching failregex wins, as when warden bans.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Configuration directory: warden's own (default) or a fail2ban one such as /etc/fail2ban.", valueName: "dir"))
    var config: String?

    @Flag(name: .long, help: "Print one JSON object per failure, then {\"summary\": {...}}.")
    var json = false

    @Flag(name: [.short, .long], help: "List every failure found (address, time, line, regex) before the summary.")
    var verbose = false

    @Flag(name: .long, help: "Report ids as written, without normalising addresses.")
    var raw = false

    @Flag(name: .long, help: "Print the filter's compiled PCRE2 patterns (prefregex, then failregexes), one per line, and exit.")
    var printRegexes = false

    @Argument(help: ArgumentHelp("The log file to read.", valueName: "log"))
    var log: String

    @Argument(help: ArgumentHelp("Filter name, path, or name[option=value, ...].", valueName: "filter"))
    var filter: String

    func run() throws {
        let configDirectory = ConfigDirectory.resolve(config)
        let definition: FilterDefinition
        do {
            definition = try FilterLoader(configDirectory: configDirectory).load(filter)
        } catch {
            throw ValidationError("filter \(filter): \(error)")
        }
        var options = MatcherOptions()
        options.checkFindTime = false
        options.returnRawHost = raw
        // fail2ban-regex's two modes: statistics try every regex and keep pending
        // multi-line failures; per-failure output stops at the first hit, as a ban does.
        options.checkAllRegex = !json
        options.ignorePending = json
        // Nothing here prints a failure's lines; counting them is enough.
        options.collectMatchedLines = false
        let matcher: Matcher
        do {
            matcher = try Matcher(filter: definition, options: options)
        } catch {
            throw ValidationError("filter \(filter): \(error)")
        }
        if printRegexes {
            let patterns = (matcher.prefRegex.map { [$0] } ?? []) + matcher.failRegexes
            for regex in patterns { print(PythonRegexTranslation.translate(regex.expanded)) }
            return
        }

        let lines = try LogFileLines(path: log)
        let output = BufferedOutput()
        // Read once: each read of an ArgumentParser property wrapper costs hundreds of
        // instructions, which showed in the per-failure profile.
        let (json, verbose) = (self.json, self.verbose)
        let keys = JSONGroupKeys(matcher.groupNameTable)
        var tally = LineTally()
        var progress = ProgressBar(total: lines.size)
        // The bytes read change once per block: the bar is redrawn only then, by a call
        // kept out of the line loop's code.
        var progressDone = -1
        let started = Self.monotonicSeconds()
        try lines.forEach { line, number, bytesRead in
            if bytesRead != progressDone {
                progressDone = bytesRead
                Self.update(&progress, done: bytesRead)
            }
            // fail2ban-regex skips comments and blank lines before the filter sees them.
            guard let first = line.first, first != UInt8(ascii: "#") else { return }
            let ignoredBefore = matcher.statistics.ignored
            var verdict = LineTally.Verdict()
            matcher.process(line, lineNumber: number) { failure in
                verdict.add(failure)
                guard !failure.isNoFail, !failure.isPending else { return }
                if json {
                    Self.writeJSONLine(for: failure, lineNumber: number, keys: keys, to: output)
                } else if verbose {
                    output.writeLine(Self.verboseLine(for: failure, lineNumber: number))
                }
            }
            tally.count(verdict, hitIgnoreRegex: matcher.statistics.ignored != ignoredBefore)
        }
        progress.finish()
        let elapsed = Self.monotonicSeconds() - started
        let summary = RegexSummary(
            filter: definition, configDirectory: configDirectory, logPath: log,
            matcher: matcher, tally: tally, seconds: elapsed
        )
        if json {
            output.writeLine(summary.json())
        } else {
            if verbose { output.writeLine("") }
            output.write(summary.text())
        }
        output.flush()
    }

    @inline(never)
    static func update(_ progress: inout ProgressBar, done: Int) {
        progress.update(done: done)
    }

    static func writeJSONLine(for failure: Failure, lineNumber: Int, keys: JSONGroupKeys, to output: BufferedOutput) {
        output.writeJSONLine { json in
            // One room check for everything up to the groups, one per group and per user.
            failure.withIDText { id in
                json.reserve(fixedRoom + JSONText.stringRoom(id.count))
                json.raw("{\"line\": ")
                json.integer(lineNumber)
                json.raw(", \"id\": ")
                json.string(id)
            }
            json.raw(", \"time\": ")
            if let time = failure.time { json.seconds(time) } else { json.raw("null") }
            json.raw(", \"regex\": ")
            json.integer(failure.regexIndex)
            failure.forEachGroupNumber { number, value in
                let key = keys[number]
                json.reserve(key.count &+ JSONText.stringRoom(value.count))
                json.raw(key)
                json.string(value)
            }
            var firstUser = true
            let hasUsers = failure.forEachUser { user in
                json.reserve(usersKey.utf8CodeUnitCount &+ JSONText.stringRoom(user.count))
                json.raw(firstUser ? usersKey : ", ")
                firstUser = false
                json.string(user)
            }
            // The rest is closing text, which every reservation leaves room for.
            if hasUsers {
                if firstUser {
                    json.reserve(usersKey.utf8CodeUnitCount)
                    json.raw(usersKey)
                }
                json.byte(UInt8(ascii: "]"))
            }
            json.byte(UInt8(ascii: "}"))
        }
    }

    private static var usersKey: StaticString { ", \"users\": [" }

    /// The longest text of a failure's object up to its groups, but for the id's value:
    /// the keys (`{"line": `, `, "id": `, `, "time": `, `, "regex": `), two integers and
    /// the time. Literal lengths, so that the sum is a constant.
    private static var fixedRoom: Int { 9 + 8 + 10 + 11 + 2 * JSONLineWriter.integerRoom + JSONLineWriter.secondsRoom }

    static func verboseLine(for failure: Failure, lineNumber: Int) -> String {
        let time = failure.time.map(LocalTimeText.format) ?? "-"
        let user = failure.groups["user"].map { " user \($0)" } ?? ""
        return "line \(lineNumber): \(failure.id?.text ?? "?") at \(time)\(user) (failregex \(failure.regexIndex + 1))"
    }

    static func monotonicSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// fail2ban-regex's line classes: a line with a no-fail match or an ignoreregex hit is
/// ignored; otherwise a line with a failure is matched; the rest are missed.
struct LineTally {
    var lines = 0
    var matched = 0
    var ignored = 0
    var missed = 0

    /// What one line's failures amount to.
    struct Verdict {
        var failures = 0
        var hasNoFail = false

        mutating func add(_ failure: Failure) {
            failures += 1
            hasNoFail = hasNoFail || failure.isNoFail
        }
    }

    mutating func count(_ verdict: Verdict, hitIgnoreRegex: Bool) {
        lines += 1
        if hitIgnoreRegex || verdict.hasNoFail {
            ignored += 1
        } else if verdict.failures > 0 {
            matched += 1
        } else {
            missed += 1
        }
    }
}

/// Local time as `YYYY-MM-DD HH:MM:SS`, for humans.
enum LocalTimeText {
    static func format(_ epoch: Double) -> String {
        var seconds = time_t(epoch.rounded(.down))
        var parts = tm()
        localtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}
