#if canImport(Glibc)
import Glibc
#endif

/// The files behind one `logpath` name: the one the name refers to now, and the ones
/// rotated away from it that are still being drained (oldest first).
final class WatchedLog {
    let path: String
    var current: TailedFile?
    var rotated: [TailedFile] = []

    init(path: String) { self.path = path }
}

/// Keeps track of a change notifier's watches on files; inotify implements it, the
/// polling backend needs none.
protocol FileWatchRegistry: AnyObject {
    func watch(_ file: TailedFile)
    func unwatch(_ file: TailedFile)
}

/// The tailing state machine shared by every backend: which files are open for which
/// path, where each was read to, and what to do when a name changes. Backends only tell
/// it what changed (or, when polling, to look at everything); it is used from the
/// tailer's thread only.
final class LogFileSet {
    let configuration: LogTailerConfiguration
    let statistics: SourceStatistics
    private let consumer: (LogBatch) -> Void
    private let diagnostics: @Sendable (String) -> Void
    weak var registry: FileWatchRegistry?
    private(set) var logs: [String: WatchedLog] = [:]

    init(
        configuration: LogTailerConfiguration,
        statistics: SourceStatistics,
        diagnostics: @escaping @Sendable (String) -> Void,
        consumer: @escaping (LogBatch) -> Void
    ) {
        self.configuration = configuration
        self.statistics = statistics
        self.diagnostics = diagnostics
        let transcoder = LineTranscoder(encoding: configuration.encoding)
        self.consumer = { batch in
            transcoder.transcode(batch, to: consumer)
            statistics.linesCounter.wrappingAdd(batch.count, ordering: .releasing)
            statistics.batchesCounter.wrappingAdd(1, ordering: .releasing)
        }
    }

    var patterns: [LogPathPattern] { configuration.paths.map(LogPathPattern.init) }

    private func pattern(for path: String) -> LogPathPattern? {
        let candidate = LogPathPattern(path)
        return patterns.first { $0.directory == candidate.directory && $0.matches(entry: candidate.name) }
    }

    private func isTracked(_ identity: FileIdentity) -> Bool {
        logs.values.contains { log in
            log.current?.identity == identity || log.rotated.contains { $0.identity == identity }
        }
    }

    /// Opens `path` for the log named `logPath` (a rotated file keeps its log's name).
    private func openFile(path: String, for logPath: String? = nil, offset: (stat) -> UInt64) -> TailedFile? {
        guard let (descriptor, info) = TailedFile.open(path: path) else { return nil }
        let file = TailedFile(
            path: logPath ?? path, descriptor: descriptor, identity: FileIdentity(info), offset: offset(info),
            readSize: configuration.readBufferSize, maxLineLength: configuration.maxLineLength, statistics: statistics
        )
        statistics.filesOpenedCounter.wrappingAdd(1, ordering: .releasing)
        registry?.watch(file)
        return file
    }

    // MARK: start

    /// Opens every file the patterns match now, resuming saved positions.
    func start(saved: [SavedPosition]) {
        for pattern in patterns {
            let paths = pattern.existingPaths()
            if paths.isEmpty {
                let what = pattern.isGlob ? "no file matches \(pattern.path(of: pattern.name)) yet" : "\(pattern.path(of: pattern.name)) does not exist yet"
                diagnostics("warning: \(what); waiting for it to appear")
            }
            for path in paths { startTailing(path: path, saved: saved.filter { $0.path == path }) }
        }
    }

    private func startTailing(path: String, saved: [SavedPosition]) {
        let log = WatchedLog(path: path)
        logs[path] = log
        // Rotated files that were still being drained when warden stopped come first.
        for position in saved where position.rotated { resumeRotated(position, into: log) }
        let last = saved.first { !$0.rotated }
        var rotatedWhileStopped = false
        log.current = openFile(path: path) { info in
            let size = UInt64(info.st_size)
            guard let last else { return configuration.fromStart ? 0 : size }
            let file = FileIdentity(info)
            if size >= last.offset, (file == last.file || !last.prefix.isEmpty), prefixMatches(path: path, last) {
                return last.offset
            }
            rotatedWhileStopped = true
            return 0
        }
        if rotatedWhileStopped, let last, log.current?.identity != last.file {
            resumeRotated(last, into: log)
        }
    }

    private func prefixMatches(path: String, _ position: SavedPosition) -> Bool {
        let expected = position.prefixBytes
        guard let (descriptor, _) = TailedFile.open(path: path) else { return false }
        defer { close(descriptor) }
        var actual = [UInt8](repeating: 0, count: expected.count)
        let count = expected.isEmpty ? 0 : pread(descriptor, &actual, expected.count, 0)
        return count == expected.count && actual == expected
    }

    /// Finds a file that was rotated away while warden was stopped (by its inode, in the
    /// log's directory) and drains it from where it was read to.
    private func resumeRotated(_ position: SavedPosition, into log: WatchedLog) {
        let directory = LogPathPattern(position.path).directory
        guard let found = findEntry(in: directory, identity: position.file), prefixMatches(path: found, position) else {
            diagnostics("warning: \(position.path) was rotated while warden was stopped and its old file (\(position.file)) is gone; lines written to it after \(position.offset) are lost")
            return
        }
        if let file = openFile(path: found, for: position.path, offset: { _ in position.offset }) {
            log.rotated.append(file)
        }
    }

    // MARK: changes

    private func watchedLog(_ path: String) -> WatchedLog {
        if let log = logs[path] { return log }
        let log = WatchedLog(path: path)
        logs[path] = log
        return log
    }

    /// A name that may match a pattern was created or moved into a watched directory.
    /// Like the other name changes, this only opens and retires files; the caller pumps
    /// once all changes it knows of are applied, so a file learned of late (renamed away
    /// before it was seen) is still read before its successor.
    func pathAppeared(_ path: String) {
        guard pattern(for: path) != nil, let info = fileStatus(path: path), isRegularFile(info) else { return }
        let identity = FileIdentity(info)
        let log = watchedLog(path)
        if let current = log.current {
            guard current.identity != identity else { return }
            log.current = nil
            retire(current, from: log)
        }
        // A file this set already drains (renamed back, or a glob that matches rotated
        // names) keeps its one reader.
        guard !isTracked(identity) else { return }
        log.current = openFile(path: path) { _ in 0 }
    }

    /// The name no longer refers to the current file (deleted or renamed away).
    func pathVanished(_ path: String) {
        guard let log = logs[path], let current = log.current else { return }
        if let info = fileStatus(path: path), FileIdentity(info) == current.identity { return }
        log.current = nil
        retire(current, from: log)
    }

    /// A rename from `oldPath` to `newPath` (both in watched directories). The file is
    /// identified by its new name: if it is a log's current file, that file is retired
    /// and drained; if warden never opened it (it lived and was rotated between two
    /// looks), it is opened now under its new name and drained from the start, so its
    /// lines are not lost. Retiring by identity, not by what the old name points at now,
    /// keeps rotated files in rename order however far behind the events are read.
    func renamed(from oldPath: String, to newPath: String) {
        guard pattern(for: oldPath) != nil, let info = fileStatus(path: newPath), isRegularFile(info) else { return }
        let identity = FileIdentity(info)
        let log = watchedLog(oldPath)
        if let current = log.current, current.identity == identity {
            log.current = nil
            retire(current, from: log)
            return
        }
        guard !isTracked(identity) else { return }
        if let file = openFile(path: newPath, for: oldPath, offset: { _ in 0 }) {
            log.rotated.append(file)
            statistics.rotationsCounter.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// Opens the file now behind each name in `paths` that matches a pattern and has no
    /// current file. Returns whether any was opened.
    func openMissingCurrentFiles(among paths: Set<String>) -> Bool {
        var opened = false
        for path in paths where logs[path]?.current == nil && pattern(for: path) != nil {
            pathAppeared(path)
            opened = opened || logs[path]?.current != nil
        }
        return opened
    }

    private func retire(_ file: TailedFile, from log: WatchedLog) {
        statistics.rotationsCounter.wrappingAdd(1, ordering: .releasing)
        log.rotated.append(file)
    }

    /// Reads everything new for one log, in write order for a single writer: rotated
    /// files are re-read after each read of the current file and before its lines are
    /// delivered, so a late write to the old file is never delivered after a newer line
    /// from the new one.
    ///
    /// The rewrite check runs after every read of the current file and before its lines
    /// are delivered: a truncate followed by regrowth past the read offset is caught
    /// before bytes from the middle of the new content go out, and a read that found
    /// nothing is how a truncation below the offset shows. A short read ends the pump:
    /// anything written after it comes with its own inotify event (or polling tick).
    func pump(_ log: WatchedLog) {
        while true {
            let count = log.current?.fill() ?? 0
            for file in log.rotated { file.drain(to: consumer) }
            guard let current = log.current else { break }
            if restartIfRewritten(current, of: log) { continue }
            guard count > 0 else { break }
            current.deliver(to: consumer)
            if current.reachedEnd { break }
        }
    }

    @discardableResult
    private func restartIfRewritten(_ file: TailedFile, of log: WatchedLog) -> Bool {
        guard !file.isUnchangedBeforeOffset() else { return false }
        diagnostics("\(log.path) was truncated or rewritten in place; reading it from the start")
        statistics.truncationsCounter.wrappingAdd(1, ordering: .releasing)
        file.restartFromBeginning()
        return true
    }

    func pumpAll() {
        for log in logs.values { pump(log) }
    }

    /// Looks at every pattern and path afresh: the whole of the polling backend, and
    /// inotify's answer to a queue overflow.
    func rescan() {
        for pattern in patterns {
            for path in pattern.existingPaths() where logs[path]?.current == nil || fileStatus(path: path).map(FileIdentity.init) != logs[path]?.current?.identity {
                pathVanished(path)
                pathAppeared(path)
            }
        }
        for log in logs.values where log.current != nil && fileStatus(path: log.path) == nil {
            pathVanished(log.path)
        }
        pumpAll()
    }

    /// Lets go of rotated files nobody has written to for the drain grace period.
    func releaseQuietRotatedFiles(now: UInt64) {
        let grace = configuration.drainGraceNanoseconds
        for log in logs.values where !log.rotated.isEmpty {
            pump(log)
            log.rotated.removeAll { file in
                guard now >= file.lastActivity + grace else { return false }
                registry?.unwatch(file)
                statistics.filesReleasedCounter.wrappingAdd(1, ordering: .releasing)
                return true
            }
        }
    }

    var hasRotatedFiles: Bool { logs.values.contains { !$0.rotated.isEmpty } }

    func positions() -> [SavedPosition] {
        logs.values.sorted { $0.path < $1.path }.flatMap { log in
            var files = log.rotated.map { ($0, true) }
            if let current = log.current { files.append((current, false)) }
            return files.map { file, rotated in
                SavedPosition(path: log.path, file: file.identity, offset: file.committedOffset, prefix: SavedPosition.hex(file.prefix), rotated: rotated)
            }
        }
    }
}
