/// One failure found by a `Matcher`: what fail2ban's filter hands to its fail manager.
public struct Failure: Sendable, Equatable {
    /// The failure id (address, or raw id); nil for a pending multi-line failure whose
    /// host is not known yet (reported only with `checkAllRegex` or `ignorePending` off).
    public var id: FailureID?
    /// The host address when the id is a separate `<F-ID>` value (fail2ban's `ip` field).
    public var address: FailureID?
    /// Epoch seconds; nil only when time checks are off and the line had no usable date.
    public var time: Double?
    /// Index of the failregex that matched.
    public var regexIndex: Int
    /// Named groups that took part in the match (prefregex groups merged in, and for
    /// multi-line ids the groups accumulated over the connection): `ip4`, `ip6`, `dns`,
    /// `fid`, `user`, any `F-*` name.
    public var groups: [String: String]
    /// Every `user` seen on a multi-line connection, sorted; nil for single-line failures
    /// (fail2ban only keeps this set for `<F-MLFID>` filters).
    public var users: [String]?
    /// Number of log lines this failure accumulated (fail2ban's `len(matches)`).
    public var attempts: Int
    /// A `<F-NOFAIL>` match: seen, but not a failure by itself.
    public var isNoFail: Bool
    public var lineNumber: Int?
    /// The log lines the failure is made of, with their dates.
    public var matchedLines: [String]

    public var isPending: Bool { id == nil }
}

/// Counts for a fail2ban-regex-like summary and for spotting misbehaving filters.
public struct MatcherStatistics: Sendable, Equatable {
    public var lines = 0
    /// Lines that produced at least one failure (pending and no-fail ones included).
    public var matched = 0
    /// Lines that hit an ignoreregex and produced no failure.
    public var ignored = 0
    public var missed: Int { lines - matched - ignored - tooOld }
    /// Lines dropped during the initial read because they are older than findtime.
    public var tooOld = 0
    /// Lines whose invalid UTF-8 was replaced by U+FFFD before matching.
    public var repairedUTF8 = 0
    /// Searches stopped by PCRE2's match or depth limit (treated as no match).
    public var limitExceeded = 0
    /// Other PCRE2 match errors (treated as no match).
    public var matchErrors = 0
    /// Matches that yielded no failure id (a regex whose id groups are all optional).
    public var matchesWithoutID = 0
    public var failregexHits: [Int]
    public var ignoreregexHits: [Int]

    init(failregexCount: Int, ignoreregexCount: Int) {
        failregexHits = Array(repeating: 0, count: failregexCount)
        ignoreregexHits = Array(repeating: 0, count: ignoreregexCount)
    }
}
