/// Which source follows a jail's logs, from its `backend` and `logpath`: the file tailer
/// with a given watcher, or the systemd journal.
public enum LogSourceSelection: Equatable, Sendable {
    case files(LogBackend)
    case journal

    /// `backend = systemd` reads the journal. `auto` tails the files, unless none of the
    /// jail's log paths exist and a journal is there to read: a fresh Debian 12 logs sshd
    /// only to the journal, and fail2ban then refuses to start (fail2ban #3292, #3567).
    /// Returns nil for an unknown backend name.
    public static func select(
        backend: String, paths: [String], journalAvailable: Bool = JournalReaderConfiguration.systemJournalExists()
    ) -> LogSourceSelection? {
        if backend.lowercased() == "systemd" { return .journal }
        guard let watcher = LogBackend(fail2banName: backend) else { return nil }
        if watcher == .auto, journalAvailable, !paths.contains(where: { !LogPathPattern($0).existingPaths().isEmpty }) {
            return .journal
        }
        return .files(watcher)
    }
}
