import WardenLines

/// Counts failures per id for one jail with fail2ban's `FailManager` semantics.
///
/// This is not a sliding window. Each id keeps a retry count, the time of its first
/// counted failure and of its last one. When a failure arrives at `t` later than the
/// last one and the first lies more than `findTime` before `t`, the retry count is
/// rescaled to the rate seen so far — `round(retry / (t - first) * findTime)`, Python's
/// round half to even — and the first time moves to `t - findTime`. The id is banned as
/// soon as its retry count reaches `maxRetry`; the ban starts at its last failure time.
/// `purge(now:)` drops ids whose last failure is `findTime` old.
///
/// Memory is bounded twice: at most `maxMatches` lines are kept per id (fail2ban's
/// memory growth in #2843/#2900 came from unbounded matches), and at most `maxTrackedIDs`
/// ids are tracked — past that the ids with the oldest last failure are evicted, and
/// counted, in batches of an eighth so that a flood of new ids costs O(log n) each.
///
/// Not thread-safe: one matcher thread owns a jail's counter.
public struct FailureCounter<ID: Hashable & Sendable>: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var maxRetry: Int
        public var findTime: Double
        /// Lines kept per id; 0 keeps none.
        public var maxMatches: Int
        public var maxTrackedIDs: Int

        public init(maxRetry: Int = 5, findTime: Double = 600, maxMatches: Int? = nil, maxTrackedIDs: Int = 1 << 20) {
            self.maxRetry = maxRetry
            self.findTime = findTime
            self.maxMatches = maxMatches ?? maxRetry
            self.maxTrackedIDs = max(1, maxTrackedIDs)
        }

        public init(_ jail: JailDefinition, maxTrackedIDs: Int = 1 << 20) {
            self.init(maxRetry: jail.maxRetry, findTime: jail.findTime, maxMatches: jail.maxMatches,
                      maxTrackedIDs: maxTrackedIDs)
        }
    }

    /// What is known about one id that has failed but is not banned.
    public struct Record: Sendable, Equatable {
        /// fail2ban's retry: the count compared with maxretry (rescaled over time).
        public var retry: Int
        /// Failures seen in total (never rescaled; fail2ban's `failures`).
        public var failures: Int
        public var firstTime: Double
        /// Time of the last failure, which is also when a ban starts.
        public var lastTime: Double
        public var matches: MatchedLines

        /// fail2ban's FailManager.addFailure for a known id: the retry count rescaled to
        /// the rate seen when the first failure lies more than findtime back.
        mutating func add(time: Double, matches added: MatchedLines, count: Int, _ configuration: Configuration) {
            if time > lastTime {
                if firstTime < time - configuration.findTime {
                    let rate = Double(retry) / (time - firstTime) * configuration.findTime
                    retry = Int(rate.rounded(.toNearestOrEven))
                    firstTime = time - configuration.findTime
                }
                lastTime = time
            }
            retry += count
            failures += 1
            if configuration.maxMatches > 0 {
                matches.append(contentsOf: added)
                if matches.count > configuration.maxMatches {
                    matches.removeFirst(matches.count - configuration.maxMatches)
                }
            } else {
                matches.removeAll()
            }
        }
    }

    /// An id that reached maxretry, removed from the counter.
    public struct Ban: Sendable, Equatable {
        public var id: ID
        public var record: Record
        /// When the ban starts: the time of the last failure.
        public var time: Double { record.lastTime }
    }

    public var configuration: Configuration
    private var records: [ID: Record] = [:]
    /// Failures added since creation (fail2ban's "Total failed").
    public private(set) var totalFailures = 0
    /// Ids dropped because `maxTrackedIDs` was reached.
    public private(set) var evictions = 0

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Ids currently tracked (fail2ban's "Currently failed").
    public var count: Int { records.count }

    public func record(for id: ID) -> Record? { records[id] }

    /// Counts a failure of `id` at `time` (epoch seconds) carrying `matches` (the log
    /// lines). `count` adds more than one retry at once, as fail2ban's observer does for
    /// known offenders. Returns the ban when the id reached maxretry.
    ///
    /// Exported pre-specialised for `String` ids (the daemon's): called unspecialised
    /// from another module, every call looked up the generic metadata of `Record` and
    /// `Ban` and hashed through witness tables, a third of the call's cost in a burst.
    @discardableResult
    @_specialize(exported: true, where ID == String)
    public mutating func add(id: ID, time: Double, matches: MatchedLines = MatchedLines(), count: Int = 1) -> Ban? {
        totalFailures += 1
        guard let index = records.index(forKey: id) else {
            if records.count >= configuration.maxTrackedIDs { evictOldest() }
            let record = Record(retry: max(1, count), failures: 1, firstTime: time, lastTime: time, matches: matches)
            guard record.retry < configuration.maxRetry else { return Ban(id: id, record: record) }
            records[id] = record
            return nil
        }
        // Updated in place: a copy taken out of the dictionary would also copy its matches
        // on the first append, and storing it back would hash the id again.
        records.values[index].add(time: time, matches: matches, count: count, configuration)
        guard records.values[index].retry >= configuration.maxRetry else { return nil }
        return Ban(id: id, record: records.remove(at: index).value)
    }

    /// Forgets ids whose last failure is at or before `now - findTime`.
    public mutating func purge(now: Double) {
        let limit = now - configuration.findTime
        records = records.filter { $0.value.lastTime > limit }
    }

    /// Forgets one id (after a manual ban or unban).
    public mutating func remove(_ id: ID) {
        records[id] = nil
    }

    private mutating func evictOldest() {
        let excess = max(1, configuration.maxTrackedIDs / 8)
        let oldest = records.sorted { $0.value.lastTime < $1.value.lastTime }.prefix(excess)
        for (id, _) in oldest { records[id] = nil }
        evictions += oldest.count
    }
}
