import WardenConfig
import WardenJail
import WardenSource

/// Where a jail's lines come from, decided from its `backend` and `logpath`: the file
/// tailer with a watcher, or the systemd journal (`backend = systemd`, or `auto` when none
/// of the log paths exists and the machine has a journal, as on a fresh Debian 12 without
/// auth.log).
enum JailLogSource: Equatable {
    case files(LogBackend)
    case journal(JournalReaderConfiguration.Journal)

    /// `backend` may carry fail2ban's systemd options: `systemd[journalpath=DIR]` reads the
    /// journal files of one directory, `systemd[journalfiles=A B]` (words separated by
    /// spaces or commas, each a glob) only those files; without them the machine's journal.
    init(definition: JailDefinition, journalAvailable: Bool = JournalReaderConfiguration.systemJournalExists()) throws {
        let backend: FilterReference
        do {
            backend = try FilterReference(parsing: definition.backend)
        } catch {
            throw DaemonError.configuration("jail \(definition.name): backend '\(definition.backend)': \(error)")
        }
        let selection = LogSourceSelection.select(
            backend: backend.name, paths: definition.logPaths.map(\.pattern), journalAvailable: journalAvailable)
        switch selection {
        case .files(let watcher)?:
            self = .files(watcher)
        case .journal?:
            self = .journal(try Self.journal(backend.options, jail: definition.name))
        case nil:
            throw DaemonError.configuration("jail \(definition.name): unknown backend '\(backend.name)'")
        }
    }

    private static func journal(_ options: [(key: String, value: String)], jail: String) throws -> JournalReaderConfiguration.Journal {
        if let files = options.last(where: { $0.key == "journalfiles" })?.value {
            let words = files.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
            // fail2ban globs each word and opens what exists; none at all is a configuration error.
            let paths = words.flatMap { LogPathPattern($0).existingPaths() }
            guard !paths.isEmpty else {
                throw DaemonError.configuration("jail \(jail): journalfiles '\(files)' names no existing file")
            }
            return .files(paths)
        }
        if let path = options.last(where: { $0.key == "journalpath" })?.value {
            return .directory(path)
        }
        return .system
    }
}
