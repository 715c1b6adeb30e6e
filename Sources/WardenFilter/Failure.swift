import WardenLines

/// One failure found by a `Matcher`: what fail2ban's filter hands to its fail manager.
///
/// The captured groups and matched lines stay bytes until asked for: a caller that
/// only counts failures never pays for a dictionary or a `String` per line.
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
    /// Every `user` seen on a multi-line connection, sorted; nil for single-line failures
    /// (fail2ban only keeps this set for `<F-MLFID>` filters).
    public var users: [String]? {
        userBytes.map { sortedUsers($0).map { String(decoding: $0, as: UTF8.self) } }
    }
    /// Number of log lines this failure accumulated (fail2ban's `len(matches)`).
    public var attempts: Int
    /// A `<F-NOFAIL>` match: seen, but not a failure by itself.
    public var isNoFail: Bool
    public var lineNumber: Int?

    let groupNames: GroupNames
    let groupValues: GroupValues
    let matched: MatchedLines?
    /// The users as bytes, in first-seen order: sorted only when asked for.
    let userBytes: [[UInt8]]?

    // No explicit initializer: with one, the optimizer built the failure in a stack
    // slot, loaded it twice and copied and destroyed the whole struct around the
    // matcher's callback (outlined copy and destroy of every reference, ~550
    // instructions per failure); the memberwise one builds it as one value.

    /// Inlinable: out of line it copied and destroyed the optional id to compare it
    /// with nil (~75 instructions per failure `warden regex` checks).
    @inlinable
    public var isPending: Bool {
        if case .none = id { return true }
        return false
    }

    /// Named groups that took part in the match (prefregex groups merged in, and for
    /// multi-line ids the groups accumulated over the connection): `ip4`, `ip6`, `dns`,
    /// `fid`, `user`, any `F-*` name.
    public var groups: [String: String] {
        var result: [String: String] = Dictionary(minimumCapacity: groupValues.presentCount)
        groupValues.forEach { number, value in
            result[groupNames.names[number]] = String(decoding: value, as: UTF8.self)
        }
        return result
    }

    /// The groups in name order, as bytes, without building `groups`.
    public func forEachGroup(_ body: (String, UnsafeBufferPointer<UInt8>) -> Void) {
        groupValues.forEach { number, value in body(groupNames.names[number], value) }
    }

    /// The groups in name order as numbers into `Matcher.groupNameTable`, for callers
    /// that prepare something per name once (warden regex's pre-escaped JSON keys).
    public func forEachGroupNumber(_ body: (Int, UnsafeBufferPointer<UInt8>) -> Void) {
        groupValues.forEach(body)
    }

    /// Calls `body` with the id's text as UTF-8, empty for a pending failure: `id?.text`
    /// in the caller copied the whole optional id through its type's metadata, ~120
    /// instructions per failure written by `warden regex --json`.
    public func withIDText(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard let id else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        id.withUTF8(body)
    }

    /// Calls `body` with each user in sorted order, as bytes; false when there is no
    /// users set (a single-line failure).
    @discardableResult
    public func forEachUser(_ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
        guard let userBytes else { return false }
        // One user (most connections) needs no sorted copy. Its bytes are taken out of
        // the closures and used after them, which is sound here: `self` is borrowed for
        // the whole call, holds the outer array, and that holds the inner one. Calling
        // `body` inside made the compiler retain and release the inner array around it.
        if userBytes.count == 1 {
            let user = userBytes.withUnsafeBufferPointer { $0[0].withUnsafeBufferPointer { $0 } }
            body(user)
        } else {
            for user in sortedUsers(userBytes) { user.withUnsafeBufferPointer(body) }
        }
        return true
    }

    /// Python sorts strings by code point, which is the byte order of their UTF-8.
    private func sortedUsers(_ users: [[UInt8]]) -> [[UInt8]] {
        users.count < 2 ? users : users.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// The log lines the failure is made of, with their dates, as bytes (what the failure
    /// counter keeps); no texts unless the matcher was built with
    /// `MatcherOptions.collectMatchedLines`.
    public var matches: MatchedLines { matched ?? MatchedLines() }

    public static func == (lhs: Failure, rhs: Failure) -> Bool {
        lhs.id == rhs.id && lhs.address == rhs.address && lhs.time == rhs.time
            && lhs.regexIndex == rhs.regexIndex && lhs.users == rhs.users && lhs.attempts == rhs.attempts
            && lhs.isNoFail == rhs.isNoFail && lhs.lineNumber == rhs.lineNumber
            && lhs.groups == rhs.groups && lhs.matches.strings == rhs.matches.strings
    }
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
