#if canImport(Glibc)
import Glibc
#endif

/// Which journal to read, what to select from it and where to keep the cursor.
public struct JournalReaderConfiguration: Sendable {
    public enum Journal: Sendable, Equatable {
        /// The machine's journal (local entries only, as fail2ban opens it by default).
        case system
        /// Every journal file in a directory (fail2ban's `journalpath`); files added by
        /// journal rotation are picked up.
        case directory(String)
        /// These journal files only (fail2ban's `journalfiles`).
        case files([String])
    }

    public var journal: Journal
    /// `journalmatch` words: `FIELD=value` terms, ANDed for different fields, ORed for the
    /// same field, with `+` between groups ORing them (sd_journal_add_disjunction).
    public var matches: [String]
    /// Read the journal from its start rather than from now when no cursor is saved.
    public var fromStart = false
    /// Without a saved cursor, start at the first entry at or after this wall-clock time
    /// (microseconds since the epoch) instead; a jail passes now - findtime, as fail2ban's
    /// systemd backend does, so failures of the last findtime still count. Overrides
    /// `fromStart`.
    public var startRealtimeMicroseconds: UInt64?
    /// Where the cursor is kept across restarts (`JournalCursorFile`, or the daemon's
    /// store); nil keeps it in memory only.
    public var cursorStore: (any JournalCursorStore)?
    public var cursorSaveIntervalNanoseconds: UInt64 = 1_000_000_000
    /// At most this many entries per batch, so the consumer sees bounded batches.
    public var maxEntriesPerBatch = 4096

    public init(journal: Journal = .system, matches: [String] = []) {
        self.journal = journal
        self.matches = matches
    }

    /// A `journalmatch` value split into words, as fail2ban splits it.
    public static func matchWords(_ journalmatch: String) -> [String] {
        journalmatch.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
    }
}

extension JournalReaderConfiguration {
    /// Whether this machine has a journal to read (journald's runtime or persistent
    /// directory), which is what `backend = auto` needs to fall back to it.
    public static func systemJournalExists() -> Bool {
        ["/run/log/journal", "/var/log/journal"].contains { path in fileStatus(path: path).map { ($0.st_mode & S_IFMT) == S_IFDIR } ?? false }
    }
}
