/// How a `LogTailer` watches its files.
public enum LogBackend: String, Sendable, CaseIterable {
    /// inotify where the kernel offers it, else polling. (Falling back to the journal
    /// when a jail's files are missing is `LogSourceSelection`'s job.)
    case auto
    case inotify
    case polling

    /// fail2ban's names: `pyinotify` is inotify; `gamin` no longer exists and polls.
    public init?(fail2banName: String) {
        switch fail2banName.lowercased() {
        case "auto": self = .auto
        case "inotify", "pyinotify": self = .inotify
        case "polling", "gamin": self = .polling
        default: return nil
        }
    }
}

public struct LogTailerConfiguration: Sendable {
    /// `logpath` entries: files or globs on the file name.
    public var paths: [String]
    public var backend: LogBackend = .auto
    /// Read files that have no saved position from their start rather than their end
    /// (fail2ban's `logpath = FILE head`; warden's `--from-start`).
    public var fromStart = false
    /// Where positions are kept across restarts (`PositionFile`, or the daemon's store);
    /// nil keeps them in memory only.
    public var positionStore: (any LogPositionStore)?
    /// `logencoding`: lines are converted to UTF-8 before delivery unless this is UTF-8.
    public var encoding: LogEncoding = .utf8
    public var readBufferSize = 1 << 20
    /// Longer lines are cut here and counted (`SourceStatistics.cutLines`).
    public var maxLineLength = 64 * 1024
    /// A rotated file is drained until nobody has written to it for this long.
    public var drainGraceNanoseconds: UInt64 = 5_000_000_000
    public var positionSaveIntervalNanoseconds: UInt64 = 1_000_000_000
    public var pollIntervalNanoseconds: UInt64 = 1_000_000_000

    public init(paths: [String]) { self.paths = paths }
}
