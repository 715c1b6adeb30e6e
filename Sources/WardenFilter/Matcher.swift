#if canImport(Glibc)
import Glibc
#endif
import WardenConfig
import WardenLines

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
    /// Keep the text of the lines each failure is made of (`Failure.matches`,
    /// fail2ban's `matches`, which actions print). Off, only their count is kept.
    public var collectMatchedLines = true

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
    /// A constant: as a `var`, each line's read of it took an access check and a retain
    /// and release of the closure's context.
    public let now: () -> Double
    @exclusivity(unchecked) public private(set) var statistics: MatcherStatistics

    private let maxLines: Int
    private let rawHosts: Bool
    // The per-line state below is touched only from `process` on one thread and never
    // through overlapping accesses; dynamic exclusivity checks on it cost a sixth of
    // the matcher's time, so they are turned off for these properties.
    private let buffer: LineBuffer
    private let ignoreSubject = ScratchBytes()
    private let matchData: PCREMatchData
    @exclusivity(unchecked) private var utf8 = UTF8Repair()
    @exclusivity(unchecked) private var lastDate: Double?
    /// The last date's text, which an undated line borrows (a reused buffer: `Array`'s
    /// clearing and slice appends showed per line).
    private let lastTimeText = ScratchBytes(capacity: 64)
    @exclusivity(unchecked) private var connections = ConnectionCache(maxCount: 100, maxTime: 300)

    /// Group names of every regex, numbered once; values travel as byte spans.
    private let groupNames: GroupNames
    /// Every group name a failure can report, sorted; `Failure.forEachGroupNumber`
    /// numbers groups by their place here.
    public var groupNameTable: [String] { groupNames.names }
    private let slots: SpecialSlots
    /// The plans and regexes are read per line through `Unmanaged`, kept alive by
    /// `planOwners`, `prefRegex` and `failRegexes` (all immutable): a plan or a regex
    /// read into a local was retained and released around every search and capture.
    private let planOwners: [GroupPlan]
    private let pref: (regex: Unmanaged<FilterRegex>, plan: Unmanaged<GroupPlan>)?
    private let failPlans: [Unmanaged<GroupPlan>]
    private let failCompiled: [Unmanaged<PCRERegex>]
    /// Per-line scratch, reused so that a line allocates only what it returns.
    private let prefValues: CapturedGroups
    private let matchValues: CapturedGroups
    /// The current match's record; it moves into the connection cache when it starts a
    /// connection, and a record of an ended connection takes its place.
    @exclusivity(unchecked) private var lineRecord: FailureRecord
    /// The current line's `mlfid` value, the connection cache key.
    private let connectionKey = ScratchBytes(capacity: 64)
    private let failPrefilter: FailregexPrefilter

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
        let reporting = [prefRegex].compactMap { $0 } + failRegexes
        let names = GroupNames(reporting.flatMap { regex in regex.namedGroups.map(\.name) + regex.alternateGroups.map(\.target) })
        groupNames = names
        slots = SpecialSlots(names)
        let prefPlan = prefRegex.map { GroupPlan($0, names) }
        let fails = failRegexes.map { GroupPlan($0, names) }
        planOwners = (prefPlan.map { [$0] } ?? []) + fails
        pref = prefRegex.flatMap { regex in prefPlan.map { (Unmanaged.passUnretained(regex), Unmanaged.passUnretained($0)) } }
        failPlans = fails.map { Unmanaged.passUnretained($0) }
        failCompiled = failRegexes.map { Unmanaged.passUnretained($0.compiled) }
        failPrefilter = FailregexPrefilter(failRegexes)
        prefValues = CapturedGroups(count: names.names.count)
        matchValues = CapturedGroups(count: names.names.count)
        lineRecord = FailureRecord(groups: GroupValues(count: names.names.count))
        matchData = PCREMatchData(capacity: groupCount + 1)
        buffer = LineBuffer(maxLines: filter.maxlines, keepsLineText: options.collectMatchedLines)
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
        var failures: [Failure] = []
        process(line, lineNumber: lineNumber, time: time) { failures.append($0) }
        return failures
    }

    /// Matches one line and hands each failure to `body`, in order. The failure is
    /// valid during the call: a caller that writes or counts failures then builds no
    /// array, and the matcher's scratch is not copied on write because a returned
    /// failure still shares it.
    public func process(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int? = nil, time: Double? = nil, each body: (Failure) -> Void) {
        statistics.lines += 1
        let currentTime = now()
        utf8.withValidUTF8(line) { valid, repaired, isASCII in
            if repaired { statistics.repairedUTF8 += 1 }
            processValid(valid, isASCII: isASCII, lineNumber: lineNumber, knownTime: time, now: currentTime, each: body)
        }
    }

    /// Convenience for tests and cold paths.
    public func process(_ line: String, lineNumber: Int? = nil, time: Double? = nil) -> [Failure] {
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBufferPointer { process(UnsafeBufferPointer($0), lineNumber: lineNumber, time: time) }
    }

    // MARK: - Dates and time rules (fail2ban's processLine)

    private func processValid(_ line: UnsafeBufferPointer<UInt8>, isASCII lineIsASCII: Bool, lineNumber: Int?, knownTime: Double?, now: Double, each body: (Failure) -> Void) {
        var cut = 0..<0
        var reuseLastTimeText = false
        var date: Double?
        var noDate = false
        if let knownTime {
            date = knownTime
            lastDate = knownTime
            lastTimeText.removeAll()
        } else {
            let found = dateDetector.findDate(in: line, isASCII: lineIsASCII, now: now)
            if let found, !found.range.isEmpty {
                date = found.epoch
                cut = found.range
                lastDate = found.epoch
                lastTimeText.removeAll()
                lastTimeText.append(UnsafeBufferPointer(rebasing: line[found.range]))
            } else {
                (date, noDate, reuseLastTimeText) = undatedLineDate(templateMatched: found != nil, now: now)
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
                return
            }
        }
        if reuseLastTimeText {
            buffer.append(prefix: lastTimeText.bytes, line: line, lineIsASCII: lineIsASCII, cut: 0..<lastTimeText.count)
        } else {
            buffer.append(prefix: UnsafeBufferPointer(start: nil, count: 0), line: line, lineIsASCII: lineIsASCII, cut: cut)
        }
        findFailures(date: date, noDate: noDate, lineNumber: lineNumber, now: now, each: body)
    }

    /// The date of a line without a date of its own, whether it counts as having none
    /// (fail2ban's `noDate`), and whether it borrows the last date's text. Out of line:
    /// most lines have a date.
    @inline(never)
    private func undatedLineDate(templateMatched: Bool, now: Double) -> (date: Double?, noDate: Bool, reuseLastTimeText: Bool) {
        let recent = lastDate.flatMap { $0 > now - 60 ? $0 : nil }
        if templateMatched || dateDetector.usesNoDate {
            // A template that matched nothing ({NONE}, or an optional date): the
            // recent last date if any, else now, in every mode.
            return (recent ?? now, false, recent != nil)
        }
        if let recent { return (recent, true, true) }
        return (options.checkFindTime && inOperation ? now : nil, true, false)
    }

    // MARK: - Regexes (fail2ban's findFailure)

    private func findFailures(date: Double?, noDate: Bool, lineNumber: Int?, now: Double, each body: (Failure) -> Void) {
        // Single-line mode keeps no lines to split: the held line is the match's.
        let original = buffer.isSingleLine ? [] : buffer.lines
        buffer.rebuildSubject()
        var subjectIsCurrent = true
        var ignored = false
        defer {
            if ignored { statistics.ignored += 1 }
        }

        // Before anything else only when there are few ignoreregexes (fail2ban's rule).
        if !ignoreRegexes.isEmpty, ignoreRegexes.count < failRegexes.count - 2 {
            if matchIgnoreRegex(afterFailregex: false, split: nil) {
                ignored = true
                return
            }
        }

        if let pref, !pref.regex._withUnsafeGuaranteedRef({ regex in pref.plan._withUnsafeGuaranteedRef { matchPrefRegex(regex, $0) } }) {
            return
        }

        var found = 0
        var next = 0
        failPrefilter.select(buffer.subject, from: 0)
        while true {
            if !subjectIsCurrent, next < failRegexes.count {
                buffer.rebuildSubject()
                subjectIsCurrent = true
                failPrefilter.select(buffer.subject, from: next)
            }
            guard let index = failPrefilter.nextCandidate(from: next) else { break }
            next = index + 1
            let subject = buffer.subject
            let matched = failCompiled[index]._withUnsafeGuaranteedRef {
                counted($0.match(subject, isASCII: buffer.subjectIsASCII, into: matchData))
            }
            guard matched else { continue }
            failPlans[index]._withUnsafeGuaranteedRef { capture($0, in: subject, into: matchValues) }
            let split = buffer.isSingleLine ? nil : splitLines(original, regex: failRegexes[index], subject: subject)
            var matchedText = MatchedLines(keepsText: options.collectMatchedLines)
            if let split {
                appendLines(split.matched, to: &matchedText)
            } else {
                buffer.appendHeldLine(to: &matchedText)
            }

            if !ignoreRegexes.isEmpty, matchIgnoreRegex(afterFailregex: true, split: split) {
                ignored = true
                subjectIsCurrent = false
                if !options.checkAllRegex { break }
                continue
            }
            if noDate, date == nil, options.checkFindTime { continue }
            if !options.checkAllRegex || maxLines > 1 {
                if let split { buffer.replace(with: split.unmatched) } else { buffer.removeAll() }
                subjectIsCurrent = false
            }
            // fail2ban: the prefregex's dict, minus the failregex's groups that did not
            // take part, updated with the failregex's groups.
            // (Without a prefregex, `prefValues` stays empty.)
            // Read once: `lineRecord` changes when the record starts a connection. Borrowed
            // without a retain: until `mergeConnection` replaces `lineRecord`, that holds
            // it, and from then on the connection cache does.
            let (record, hasConnection) = Unmanaged.passUnretained(lineRecord)._withUnsafeGuaranteedRef { line in
                failPlans[index]._withUnsafeGuaranteedRef { line.reset(prefValues, updatedWith: matchValues, clearing: $0.namedSlots) }
                guard line.groups.isPresent(slots.mlfid) else {
                    addLines(matchedText, to: line)
                    return (line, false)
                }
                line.groups.copyValue(slots.mlfid, to: connectionKey)
                return (mergeConnection(line, matchedLines: matchedText, now: now), true)
            }
            if hasConnection, record.groups.isSet(slots.nofail), !options.checkAllRegex { return }

            // One copy of the groups for the id and the failure (see `mergeConnection`).
            let groups = record.groups
            let id: FailureID?
            switch failureID(record, groups, hasConnection: hasConnection) {
            case .none:
                statistics.matchesWithoutID += 1
                continue
            case .swallowed:
                return
            case .pending:
                id = nil
            case .found(let found):
                id = found
            }
            var time = date
            if options.checkFindTime, let found = time, found > now { time = now }
            found += 1
            body(Failure(
                id: id, address: record.address, time: time, regexIndex: index,
                attempts: record.matches?.count ?? 0, isNoFail: groups.isSet(slots.nofail),
                lineNumber: lineNumber, groupNames: groupNames, groupValues: groups, matched: record.matches,
                userBytes: record.users
            ))
            statistics.failregexHits[index] += 1
            if !options.checkAllRegex { break }
        }
        if found > 0 {
            statistics.matched += 1
            ignored = false
        }
    }

    /// Searches the prefregex; on a match its groups go to `prefValues` and its
    /// `content` becomes the subject. Returns whether it matched.
    private func matchPrefRegex(_ prefRegex: FilterRegex, _ plan: GroupPlan) -> Bool {
        guard search(prefRegex, in: buffer.subject, isASCII: buffer.subjectIsASCII) else { return false }
        capture(plan, in: buffer.subject, into: prefValues, skipping: slots.content)
        if let content = contentRange(plan) { buffer.replaceWithSubject(content) }
        return true
    }

    /// A record's matched lines gain a line's (fail2ban's `matches`); for a failure
    /// outside any `mlfid` connection.
    @inline(never)
    private func addLines(_ lines: MatchedLines, to record: FailureRecord) {
        if record.matches == nil { record.matches = MatchedLines(keepsText: options.collectMatchedLines) }
        record.matches!.append(contentsOf: lines)
    }

    /// Multi-line mode: the texts of a match's lines. Out of line, as the rest of the
    /// multi-line work, to keep the single-line path compact in the instruction cache.
    @inline(never)
    private func appendLines(_ lines: [BufferedLine], to matched: inout MatchedLines) {
        for line in lines { line.bytes.withUnsafeBufferPointer { matched.append($0) } }
    }

    private enum FoundID {
        /// The match has no id group set.
        case none
        /// A pending connection failure that is not reported.
        case swallowed
        /// A pending connection failure, reported without an id.
        case pending
        case found(FailureID)
    }

    /// The id a match reports (fail2ban's choice among `ip4`, `ip6`, `dns`, `fid`).
    /// Addresses are parsed from the group's bytes; a `String` is made only for a
    /// host name or a `fid`.
    /// `groups` are the record's.
    private func failureID(_ record: FailureRecord, _ groups: GroupValues, hasConnection: Bool) -> FoundID {
        let host: FailureID
        let hostSlot: Int
        if groups.isPresent(slots.ip4) {
            hostSlot = slots.ip4
            host = addressID(groups, hostSlot, family: .ipv4)
        } else if groups.isPresent(slots.ip6) {
            hostSlot = slots.ip6
            host = addressID(groups, hostSlot, family: .ipv6)
        } else if let dns = groups.string(slots.dns) {
            hostSlot = slots.dns
            if rawHosts {
                host = FailureID(text: dns, kind: .raw)
            } else {
                // Left for the caller to resolve, unless it is an address already.
                let parsed = FailureID.address(dns, family: .any)
                host = parsed.kind == .invalid ? FailureID(text: dns, kind: .hostname) : parsed
            }
        } else if let fid = groups.string(slots.fid) {
            return .found(plainID(fid))
        } else {
            guard hasConnection else { return .none }
            record.isPending = true
            return options.checkAllRegex || !options.ignorePending ? .pending : .swallowed
        }
        // A fid other than the host's text is the id, and the host its address.
        guard groups.isPresent(slots.fid) else { return .found(host) }
        let fid = groups.string(slots.fid)!
        guard fid != groups.string(hostSlot)! else { return .found(host) }
        record.address = host
        return .found(plainID(fid))
    }

    /// The address in group `slot`, masked by a `cidr` group if there is one.
    @inline(__always)
    private func addressID(_ groups: GroupValues, _ slot: Int, family: FailureID.Family) -> FailureID {
        let prefix = groups.isPresent(slots.cidr) ? prefixLength(groups) : nil
        return groups.withValue(slot) { FailureID.address(bytes: $0!, family: prefix == nil ? family : .any, prefixLength: prefix) }
    }

    private func prefixLength(_ groups: GroupValues) -> Int? {
        guard let text = groups.string(slots.cidr), !text.isEmpty else { return nil }
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

    /// Merges the line's record into its connection (keyed by `connectionKey`), and
    /// returns the record to report: the cached one, or the line's own (which the cache
    /// now holds when it starts a connection).
    private func mergeConnection(_ failure: FailureRecord, matchedLines: MatchedLines, now: Double) -> FailureRecord {
        let key = ConnectionCache.Key(connectionKey.bytes)
        var userCount = 0
        var flags: MergeFlags = []
        if failure.groups.isSet(slots.mlfgained) {
            flags.formUnion([.gained, .noFail])
            if !failure.groups.isSet(slots.nofail) { failure.groups.copy(slots.mlfgained, to: slots.nofail) }
        } else if failure.groups.isSet(slots.nofail) {
            flags.insert(.noFail)
        }
        if failure.groups.isSet(slots.mlfforget) { flags.insert(.forget) }
        failure.groups.remove(slots.mlfforget)

        let merged: FailureRecord
        // Looked up here rather than bound first and unwrapped here: the unwrapping
        // retained and released the record once more.
        if let cached = connections.isEmpty ? nil : connections.get(key, now: now) {
            // The line's groups are read in place (see `GroupValues.merge`).
            userCount = cached.addUser(slots.user, of: &failure.groups)
            // Only the latest line's no-fail/gained state counts.
            if cached.groups.isSet(slots.nofail) { flags.insert(.cachedState) }
            cached.groups.remove(slots.nofail)
            if cached.groups.isSet(slots.mlfgained) { flags.insert(.cachedState) }
            cached.groups.remove(slots.mlfgained)
            if flags.contains(.gained) { cached.isPending = false }
            // Without pending failures, earlier lines were already reported.
            if !flags.contains(.cachedState), !cached.isPending { cached.matches = nil }
            cached.groups.merge(&failure.groups)
            if flags.contains(.forget) { connections.remove(key) }
            // Moved, not copied: a copy was retained here and released at the end of the block.
            merged = consume cached
        } else {
            merged = failure
            if !flags.contains(.forget) {
                userCount = failure.addUser(slots.user)
                // The line's record itself becomes the connection's, no copy: the matcher
                // takes another for its next line, one of an ended connection if there is one.
                connections.set(key, failure, now: now)
                lineRecord = connections.takeSpareRecord() ?? FailureRecord(groups: GroupValues(count: groupNames.names.count))
            }
        }
        // Pending failures, or several users on one connection, override a no-fail.
        let wasPending = merged.isPending
        merged.isPending = false
        if wasPending || userCount > 1 {
            merged.groups.remove(slots.nofail)
            merged.groups.remove(slots.mlfgained)
            flags.subtract([.noFail, .gained])
        }
        if !flags.contains(.noFail) {
            // Held-back no-fail lines, earlier lines, this line: edited in place, as
            // building the list in a local copied and released it on every line.
            if merged.noFailMatches != nil { merged.moveNoFailMatchesFirst() }
            if merged.matches == nil { merged.matches = MatchedLines(keepsText: options.collectMatchedLines) }
            if !flags.contains(.gained) { merged.matches!.append(contentsOf: matchedLines) }
        } else if !flags.contains(.forget) {
            if merged.noFailMatches == nil { merged.noFailMatches = MatchedLines(keepsText: options.collectMatchedLines) }
            merged.noFailMatches!.append(contentsOf: matchedLines)
        }
        return merged
    }

    // MARK: - Searching

    /// Runs `regex` on `subject` after its cheap literal check; limit hits count as misses.
    private func search(_ regex: FilterRegex, in bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool? = nil) -> Bool {
        if let literal = regex.requiredLiteral, !ByteSearch.contains(bytes, literal) { return false }
        return counted(regex.compiled.match(bytes, isASCII: isASCII, into: matchData))
    }

    /// Whether a search matched, counting limit hits and errors (as misses).
    @inline(__always)
    private func counted(_ outcome: PCRERegex.Outcome) -> Bool {
        switch outcome {
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

    /// The named groups of the last match, with `alt_` groups filling in their target;
    /// the `skipped` slot is left out (the prefregex's `content` is used in place).
    private func capture(_ plan: GroupPlan, in bytes: UnsafeBufferPointer<UInt8>, into values: CapturedGroups, skipping skipped: Int = -1) {
        values.replaceAll(copying: bytes) { spans in
            // The last value's end; an absent span's end is -1.
            var end: Int32 = 0
            for group in plan.named where group.slot != skipped {
                // An unset group's raw span is absent and keeps the slot's earlier value.
                let span = matchData.span(of: group.number).orElse(spans[group.slot])
                spans[group.slot] = span
                end = max(end, span.end)
            }
            for alternate in plan.alternates where alternate.slot != skipped && !spans[alternate.slot].isSet {
                if let range = matchData.range(of: alternate.number), !range.isEmpty {
                    spans[alternate.slot] = .init(range)
                    end = max(end, Int32(range.upperBound))
                }
            }
            return end
        }
    }

    /// The span of the last match's `content` value when it is set and not empty: the
    /// named group, or else the first set `alt_content` group, as `capture` would pick.
    private func contentRange(_ plan: GroupPlan) -> Range<Int>? {
        var range: Range<Int>?
        for number in plan.contentNamed {
            if let found = matchData.range(of: number) { range = found }
        }
        if range?.isEmpty ?? true {
            for number in plan.contentAlternates {
                if let found = matchData.range(of: number), !found.isEmpty { return found }
            }
        }
        return range?.isEmpty == false ? range : nil
    }

    /// The lines of `original` the last match covers, minus `<SKIPLINES>` lines, and
    /// the rest (which stay buffered). Line numbers are counted in `subject`, as
    /// fail2ban does even when a prefregex `content` replaced it.
    private func splitLines(_ original: [BufferedLine], regex: FilterRegex, subject: UnsafeBufferPointer<UInt8>) -> (matched: [BufferedLine], unmatched: [BufferedLine]) {
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
    private func skippedLines(_ regex: FilterRegex, subject: UnsafeBufferPointer<UInt8>) -> [ArraySlice<UInt8>] {
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
    /// `split` (multi-line) or the current subject; on a hit after a failregex matched,
    /// the matched lines leave the buffer. Returns whether any ignoreregex matched.
    private func matchIgnoreRegex(afterFailregex: Bool, split: (matched: [BufferedLine], unmatched: [BufferedLine])?) -> Bool {
        let useMatchedLines = split != nil
        if let split { LineBuffer.buildSubject(split.matched, into: ignoreSubject) }
        var found = false
        for (index, regex) in ignoreRegexes.enumerated() {
            guard search(regex, in: useMatchedLines ? ignoreSubject.bytes : buffer.subject) else { continue }
            found = true
            statistics.ignoreregexHits[index] += 1
            if afterFailregex, !options.checkAllRegex || maxLines > 1 {
                if let split { buffer.replace(with: split.unmatched) } else { buffer.removeAll() }
            }
            if !options.checkAllRegex { break }
        }
        return found
    }
}

/// A regex's groups as matcher group slots, resolved once. A class: the matcher reads a
/// plan per matched line, and as a struct its three arrays were retained and released
/// each time.
private final class GroupPlan {
    /// Named groups: the PCRE2 group number and the slot of its name.
    let named: [(number: Int, slot: Int)]
    /// `alt_` groups and the slot they fill in when it is unset, first set one wins.
    let alternates: [(number: Int, slot: Int)]
    /// The slots of `named`: a prefregex value there gives way to this regex's, even
    /// when this regex's group did not take part.
    let namedSlots: SlotMask

    /// The group numbers of `named` and `alternates` that fill in `content` (a
    /// prefregex's, which `contentRange` reads without walking the other groups).
    let contentNamed: [Int]
    let contentAlternates: [Int]

    init(_ regex: FilterRegex, _ names: GroupNames) {
        named = regex.namedGroups.map { ($0.number, names.number($0.name)!) }
        alternates = regex.alternateGroups.map { ($0.number, names.number($0.target)!) }
        namedSlots = SlotMask(count: names.names.count, slots: named.map(\.slot))
        let content = names.number("content")!
        contentNamed = named.filter { $0.slot == content }.map(\.number)
        contentAlternates = alternates.filter { $0.slot == content }.map(\.number)
    }
}

/// Slots of the group names the matcher itself reads.
private struct SpecialSlots {
    let fid, ip4, ip6, dns, cidr, user, mlfid, nofail, mlfforget, mlfgained, content: Int

    init(_ names: GroupNames) {
        fid = names.number("fid")!; ip4 = names.number("ip4")!; ip6 = names.number("ip6")!
        dns = names.number("dns")!; cidr = names.number("cidr")!; user = names.number("user")!
        mlfid = names.number("mlfid")!; nofail = names.number("nofail")!
        mlfforget = names.number("mlfforget")!; mlfgained = names.number("mlfgained")!
        content = names.number("content")!
    }
}
