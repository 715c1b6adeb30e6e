#if canImport(Glibc)
import Glibc
#endif
import WardenConfig

/// Why a filter cannot be turned into a matcher.
public enum MatcherError: Error, CustomStringConvertible, Sendable {
    case regex(FilterRegexError)
    case invalidMaxLines(Int)
    case datePattern(pattern: String, message: String)

    public var description: String {
        switch self {
        case .regex(let error): return error.description
        case .invalidMaxLines(let value): return "maxlines must be an integer greater than zero, got \(value)"
        case .datePattern(let pattern, let message): return "datepattern '\(pattern)': \(message)"
        }
    }
}

/// Settings that fail2ban keeps on its Filter object rather than in the filter file.
public struct MatcherOptions: Sendable {
    /// Report every id as written, never as an address to resolve (fail2ban-regex `--raw`,
    /// and the sample suite). `usedns = raw` implies it.
    public var returnRawHost = false
    /// Try every failregex on a line instead of stopping at the first hit (sample suite).
    public var checkAllRegex = false
    /// Apply the time rules: no-date lines, the 60 s clamp in operation, and dropping
    /// lines older than `findTime` during the initial read. Off in the sample suite.
    public var checkFindTime = true
    public var findTime: Double = 600
    /// Swallow failures whose host is not known yet (multi-line `mlfid` filters).
    public var ignorePending = true
    /// Time zone for dates without one (jail option `logtimezone`).
    public var timeZone: LogTimeZone = .local

    public init() {}
}

/// A filter instance: fed one log line at a time, it returns the failures fail2ban's
/// filter would find on it, keeping the state that spans lines (the maxlines buffer,
/// the last date, the `mlfid` connection cache).
///
/// The pipeline is fail2ban 1.0.2's `processLine`/`findFailure` (see
/// docs/filter-engine.md). Not thread-safe: one instance per log source and thread.
public final class Matcher {
    public let filter: FilterDefinition
    public let options: MatcherOptions
    public let failRegexes: [FilterRegex]
    public let ignoreRegexes: [FilterRegex]
    public let prefRegex: FilterRegex?
    public let dateDetector: DateDetector
    /// True while following new lines (fail2ban's `inOperation`); false during the
    /// initial read of an existing log, where old lines are dropped instead of re-dated.
    public var inOperation = true
    /// The clock used for "now" (time rules, the connection cache); injectable for tests.
    public var now: () -> Double
    public private(set) var statistics: MatcherStatistics

    private let maxLines: Int
    private let rawHosts: Bool
    private var buffer: LineBuffer
    private var ignoreSubject: [UInt8] = []
    private let matchData: PCREMatchData
    private var utf8 = UTF8Repair()
    private var lastDate: Double?
    private var lastTimeText: [UInt8] = []
    private var connections = ExpiringCache<FailureRecord>(maxCount: 100, maxTime: 300)

    public init(
        filter: FilterDefinition,
        options: MatcherOptions = MatcherOptions(),
        now: @escaping () -> Double = { Matcher.wallClock() }
    ) throws(MatcherError) {
        guard filter.maxlines > 0 else { throw .invalidMaxLines(filter.maxlines) }
        self.filter = filter
        self.options = options
        self.now = now
        maxLines = filter.maxlines
        let usedns = (filter.usedns ?? "warn").lowercased()
        // fail2ban treats an unknown usedns value as `no`.
        let useDNS = ["yes", "warn", "raw"].contains(usedns)
        rawHosts = options.returnRawHost || usedns == "raw"
        do throws(FilterRegexError) {
            let pref = try filter.prefregex.map { source throws(FilterRegexError) in
                try FilterRegex(source, role: .prefregex, index: 0, useDNS: useDNS, multiline: false)
            }
            prefRegex = pref
            var fails: [FilterRegex] = []
            for (index, source) in filter.failregex.enumerated() {
                let regex = try FilterRegex(source, role: .failregex, index: index, useDNS: useDNS, multiline: filter.maxlines > 1)
                guard regex.special.hasFailureID || pref?.special.hasFailureID == true else {
                    throw FilterRegexError(kind: .noFailureID, role: .failregex, index: index, regex: source)
                }
                fails.append(regex)
            }
            failRegexes = fails
            var ignores: [FilterRegex] = []
            for (index, source) in filter.ignoreregex.enumerated() {
                ignores.append(try FilterRegex(source, role: .ignoreregex, index: index, useDNS: useDNS, multiline: false))
            }
            ignoreRegexes = ignores
        } catch {
            throw .regex(error)
        }
        do {
            dateDetector = try DateDetector(datepattern: filter.datepattern, timeZone: options.timeZone)
        } catch {
            throw .datePattern(pattern: filter.datepattern ?? "", message: "\(error)")
        }
        let groupCount = ([prefRegex].compactMap { $0 } + failRegexes + ignoreRegexes).map(\.compiled.captureCount).max() ?? 0
        matchData = PCREMatchData(capacity: groupCount + 1)
        buffer = LineBuffer(maxLines: filter.maxlines)
        statistics = MatcherStatistics(failregexCount: failRegexes.count, ignoreregexCount: ignoreRegexes.count)
    }

    public static func wallClock() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Matches one line (without its newline). `time` is the entry's known time, as for
    /// journal entries: the date detector is skipped and the whole line is matched.
    public func process(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int? = nil, time: Double? = nil) -> [Failure] {
        statistics.lines += 1
        let currentTime = now()
        return utf8.withValidUTF8(line) { valid, repaired in
            if repaired { statistics.repairedUTF8 += 1 }
            return processValid(valid, lineNumber: lineNumber, knownTime: time, now: currentTime)
        }
    }

    /// Convenience for tests and cold paths.
    public func process(_ line: String, lineNumber: Int? = nil, time: Double? = nil) -> [Failure] {
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBufferPointer { process(UnsafeBufferPointer($0), lineNumber: lineNumber, time: time) }
    }

    // MARK: - Dates and time rules (fail2ban's processLine)

    private func processValid(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int?, knownTime: Double?, now: Double) -> [Failure] {
        var cut = 0..<0
        var reuseLastTimeText = false
        var date: Double?
        var noDate = false
        if let knownTime {
            date = knownTime
            lastDate = knownTime
            lastTimeText.removeAll(keepingCapacity: true)
        } else {
            let found = dateDetector.findDate(in: line, now: now)
            if let found, !found.range.isEmpty {
                date = found.epoch
                cut = found.range
                lastDate = found.epoch
                lastTimeText.removeAll(keepingCapacity: true)
                lastTimeText.append(contentsOf: line[found.range])
            } else if found != nil || dateDetector.usesNoDate {
                // A template that matched nothing ({NONE}, or an optional date): the
                // recent last date if any, else now, in every mode.
                if let lastDate, lastDate > now - 60 {
                    reuseLastTimeText = true
                    date = lastDate
                } else {
                    date = now
                }
            }
            if date == nil {
                noDate = true
                if let lastDate, lastDate > now - 60 {
                    reuseLastTimeText = true
                    date = lastDate
                } else if options.checkFindTime && inOperation {
                    date = now
                }
            }
        }
        if options.checkFindTime, let found = date {
            if inOperation {
                // Python's int() truncates toward zero.
                let delta = (found - now).rounded(.towardZero)
                if abs(delta) > 60 {
                    date = now
                    lastDate = now
                }
            } else if found < now - options.findTime {
                statistics.tooOld += 1
                return []
            }
        }
        if reuseLastTimeText {
            buffer.append(prefix: lastTimeText, line: line, cut: 0..<lastTimeText.count)
        } else {
            buffer.append(prefix: [], line: line, cut: cut)
        }
        return findFailures(date: date, noDate: noDate, lineNumber: lineNumber, now: now)
    }

    // MARK: - Regexes (fail2ban's findFailure)

    private func findFailures(date: Double?, noDate: Bool, lineNumber: Int?, now: Double) -> [Failure] {
        let original = buffer.lines
        buffer.rebuildSubject()
        var subjectIsCurrent = true
        var ignored = false
        defer {
            if ignored { statistics.ignored += 1 }
        }

        // Before anything else only when there are few ignoreregexes (fail2ban's rule).
        if !ignoreRegexes.isEmpty, ignoreRegexes.count < failRegexes.count - 2 {
            if matchIgnoreRegex(after: nil) {
                ignored = true
                return []
            }
        }

        var prefGroups: [String: String] = [:]
        if let prefRegex {
            guard search(prefRegex, in: buffer.subject) else { return [] }
            prefGroups = groups(of: prefRegex, in: buffer.subject)
            if let content = prefGroups.removeValue(forKey: "content"), !content.isEmpty {
                buffer.replace(with: [BufferedLine(bytes: Array(content.utf8), cut: 0..<0)])
                subjectIsCurrent = false
            }
        }

        var failures: [Failure] = []
        for (index, regex) in failRegexes.enumerated() {
            if !subjectIsCurrent {
                buffer.rebuildSubject()
                subjectIsCurrent = true
            }
            guard search(regex, in: buffer.subject) else { continue }
            var matchGroups = groups(of: regex, in: buffer.subject)
            let split = splitLines(original, regex: regex, subject: buffer.subject)

            if !ignoreRegexes.isEmpty, matchIgnoreRegex(after: split) {
                ignored = true
                subjectIsCurrent = false
                if !options.checkAllRegex { break }
                continue
            }
            if noDate, date == nil, options.checkFindTime { continue }
            if !options.checkAllRegex || maxLines > 1 {
                buffer.replace(with: split.unmatched)
                subjectIsCurrent = false
            }
            if !prefGroups.isEmpty {
                var merged = prefGroups
                for group in regex.namedGroups where matchGroups[group.name] == nil { merged.removeValue(forKey: group.name) }
                merged.merge(matchGroups) { _, new in new }
                matchGroups = merged
            }

            let matchedText = split.matched.map(\.displayText)
            var record = FailureRecord(groups: matchGroups)
            let connectionID = record.groups["mlfid"]
            if let connectionID {
                record = mergeConnection(connectionID, record, matchedLines: matchedText, now: now)
                if record.isSet("nofail"), !options.checkAllRegex { return failures }
            } else {
                record.matches = (record.matches ?? []) + matchedText
            }

            guard let ids = failureIDs(record, connectionID: connectionID) else {
                statistics.matchesWithoutID += 1
                continue
            }
            if ids.isEmpty { return failures }
            var time = date
            if options.checkFindTime, let found = time, found > now { time = now }
            for id in ids {
                failures.append(Failure(
                    id: id, address: record.address, time: time, regexIndex: index,
                    groups: record.groups, users: record.users?.sorted(),
                    attempts: record.matches?.count ?? 0, isNoFail: record.isSet("nofail"),
                    lineNumber: lineNumber, matchedLines: record.matches ?? []
                ))
            }
            statistics.failregexHits[index] += 1
            if !options.checkAllRegex { break }
        }
        if !failures.isEmpty {
            statistics.matched += 1
            ignored = false
        }
        return failures
    }

    /// The ids a match reports: one, or `[nil]` for a pending connection failure; an
    /// empty list when a pending failure is swallowed; nil when the match has no id at all.
    private func failureIDs(_ record: FailureRecord, connectionID: String?) -> [FailureID?]? {
        let groups = record.groups
        let fid = groups["fid"]
        let host: FailureID
        let hostText: String
        if let ip4 = groups["ip4"] {
            hostText = ip4
            host = FailureID.address(ip4, family: prefixLength(groups) == nil ? .ipv4 : .any, prefixLength: prefixLength(groups))
        } else if let ip6 = groups["ip6"] {
            hostText = ip6
            host = FailureID.address(ip6, family: prefixLength(groups) == nil ? .ipv6 : .any, prefixLength: prefixLength(groups))
        } else if let dns = groups["dns"] {
            hostText = dns
            if rawHosts {
                host = FailureID(text: dns, kind: .raw)
            } else {
                // Left for the caller to resolve, unless it is an address already.
                let parsed = FailureID.address(dns, family: .any)
                host = parsed.kind == .invalid ? FailureID(text: dns, kind: .hostname) : parsed
            }
        } else if let fid {
            hostText = fid
            host = plainID(fid)
        } else {
            guard connectionID != nil else { return nil }
            record.isPending = true
            return options.checkAllRegex || !options.ignorePending ? [nil] : []
        }
        if let fid, fid != hostText {
            record.address = host
            return [plainID(fid)]
        }
        return [host]
    }

    private func prefixLength(_ groups: [String: String]) -> Int? {
        guard let text = groups["cidr"], !text.isEmpty else { return nil }
        return Int(text)
    }

    /// An id of unknown shape: verbatim in raw mode, else parsed like an address.
    private func plainID(_ text: String) -> FailureID {
        rawHosts ? FailureID(text: text, kind: .raw) : FailureID.address(text, family: .any)
    }

    // MARK: - Multi-line connections (fail2ban's _mergeFailure)

    private struct MergeFlags: OptionSet {
        let rawValue: Int
        static let noFail = MergeFlags(rawValue: 1)
        static let forget = MergeFlags(rawValue: 2)
        static let cachedState = MergeFlags(rawValue: 4)
        static let gained = MergeFlags(rawValue: 8)
    }

    private func mergeConnection(_ connectionID: String, _ failure: FailureRecord, matchedLines: [String], now: Double) -> FailureRecord {
        let cached = connections.isEmpty ? nil : connections.get(connectionID, now: now)
        var users: [String]?
        var flags: MergeFlags = []
        if failure.isSet("mlfgained") {
            flags.formUnion([.gained, .noFail])
            if !failure.isSet("nofail") { failure.groups["nofail"] = failure.groups["mlfgained"] }
        } else if failure.isSet("nofail") {
            flags.insert(.noFail)
        }
        if let forget = failure.groups.removeValue(forKey: "mlfforget"), !forget.isEmpty { flags.insert(.forget) }

        var merged = failure
        if let cached {
            users = cached.addUser(failure.groups["user"])
            // Only the latest line's no-fail/gained state counts.
            if let value = cached.groups.removeValue(forKey: "nofail"), !value.isEmpty { flags.insert(.cachedState) }
            if let value = cached.groups.removeValue(forKey: "mlfgained"), !value.isEmpty { flags.insert(.cachedState) }
            if flags.contains(.gained) { cached.isPending = false }
            // Without pending failures, earlier lines were already reported.
            if !flags.contains(.cachedState), !cached.isPending { cached.matches = nil }
            cached.groups.merge(failure.groups) { _, new in new }
            merged = cached
            if flags.contains(.forget) { connections.remove(connectionID) }
        } else if !flags.contains(.forget) {
            users = failure.addUser(failure.groups["user"])
            connections.set(connectionID, failure, now: now)
        }
        // Pending failures, or several users on one connection, override a no-fail.
        let wasPending = merged.isPending
        merged.isPending = false
        if wasPending || (users?.count ?? 0) > 1 {
            merged.groups["nofail"] = nil
            merged.groups["mlfgained"] = nil
            flags.subtract([.noFail, .gained])
        }
        if !flags.contains(.noFail) {
            var lines = merged.noFailMatches ?? []
            merged.noFailMatches = nil
            lines += merged.matches ?? []
            if !flags.contains(.gained) { lines += matchedLines }
            merged.matches = lines
        } else if !flags.contains(.forget) {
            merged.noFailMatches = (merged.noFailMatches ?? []) + matchedLines
        }
        return merged
    }

    // MARK: - Searching

    /// Runs `regex` on `subject` after its cheap literal check; limit hits count as misses.
    private func search(_ regex: FilterRegex, in subject: [UInt8]) -> Bool {
        subject.withUnsafeBufferPointer { bytes in
            if let literal = regex.requiredLiteral, !ByteSearch.contains(bytes, literal) { return false }
            switch regex.compiled.match(bytes, into: matchData) {
            case .match: return true
            case .noMatch: return false
            case .limitExceeded:
                statistics.limitExceeded += 1
                return false
            case .error:
                statistics.matchErrors += 1
                return false
            }
        }
    }

    /// The named groups of the last match, with `alt_` groups filling in their target.
    private func groups(of regex: FilterRegex, in subject: [UInt8]) -> [String: String] {
        var result: [String: String] = [:]
        subject.withUnsafeBufferPointer { bytes in
            for group in regex.namedGroups {
                if let range = matchData.range(of: group.number) {
                    result[group.name] = String(decoding: bytes[range], as: UTF8.self)
                }
            }
            for alternate in regex.alternateGroups where result[alternate.target]?.isEmpty ?? true {
                if let range = matchData.range(of: alternate.number), !range.isEmpty {
                    result[alternate.target] = String(decoding: bytes[range], as: UTF8.self)
                }
            }
        }
        return result
    }

    /// The lines of `original` the last match covers, minus `<SKIPLINES>` lines, and
    /// the rest (which stay buffered). Line numbers are counted in `subject`, as
    /// fail2ban does even when a prefregex `content` replaced it.
    private func splitLines(_ original: [BufferedLine], regex: FilterRegex, subject: [UInt8]) -> (matched: [BufferedLine], unmatched: [BufferedLine]) {
        guard original.count > 1, let whole = matchData.range(of: 0) else { return (original, []) }
        let newline: UInt8 = 0x0A
        let count = subject.count
        var lineStart = 0
        var position = min(whole.lowerBound + 1, count) - 1
        while position >= 0 {
            if subject[position] == newline { lineStart = position + 1; break }
            position -= 1
        }
        var lineEnd = count
        position = whole.upperBound == 0 ? count - 1 : whole.upperBound - 1
        while position < count {
            if subject[position] == newline { lineEnd = position + 1; break }
            position += 1
        }
        let firstLine = min(subject[0..<lineStart].reduce(0) { $0 + ($1 == newline ? 1 : 0) }, original.count)
        let endLine = max(firstLine, min(subject[0..<lineEnd].reduce(0) { $0 + ($1 == newline ? 1 : 0) }, original.count))
        var matched = Array(original[firstLine..<endLine])
        var unmatched = Array(original[0..<firstLine])
        var searchFrom = 0
        for skipped in skippedLines(regex, subject: subject) {
            guard searchFrom <= matched.count else { break }
            if let offset = matched[searchFrom...].firstIndex(where: { $0.textEquals(skipped) }) {
                unmatched.append(matched.remove(at: offset))
                searchFrom = offset
            }
        }
        unmatched += original[endLine...]
        return (matched, unmatched)
    }

    /// The lines captured by `<SKIPLINES>` groups, concatenated then split.
    private func skippedLines(_ regex: FilterRegex, subject: [UInt8]) -> [ArraySlice<UInt8>] {
        guard !regex.special.skipLines.isEmpty else { return [] }
        var text: [UInt8] = []
        for number in regex.special.skipLines {
            if let range = matchData.range(of: number) { text += subject[range] }
        }
        var lines = text.split(separator: 0x0A, omittingEmptySubsequences: false)
        if text.last == 0x0A { lines.removeLast() }
        return lines
    }

    /// fail2ban's `_ignoreLine`: searches the ignoreregexes on the matched lines of
    /// `split` (multi-line) or the current subject; on a hit the matched lines leave
    /// the buffer. Returns whether any ignoreregex matched.
    private func matchIgnoreRegex(after split: (matched: [BufferedLine], unmatched: [BufferedLine])?) -> Bool {
        let useMatchedLines = split != nil && maxLines > 1
        if useMatchedLines, let split { LineBuffer.buildSubject(split.matched, into: &ignoreSubject) }
        var found = false
        for (index, regex) in ignoreRegexes.enumerated() {
            guard search(regex, in: useMatchedLines ? ignoreSubject : buffer.subject) else { continue }
            found = true
            statistics.ignoreregexHits[index] += 1
            if let split, !options.checkAllRegex || maxLines > 1 { buffer.replace(with: split.unmatched) }
            if !options.checkAllRegex { break }
        }
        return found
    }
}
