#if canImport(Glibc)
import Glibc
#endif
import CLinux
import WardenThreads
import CSystemd
import Synchronization

/// Follows the systemd journal (fail2ban's `backend = systemd`) on its own thread and
/// hands new entries, rendered as fail2ban renders them, in batches to a consumer on that
/// thread.
///
/// The thread waits in `epoll_wait` on the journal's own inotify descriptor
/// (`sd_journal_get_fd`), a stop eventfd and a timerfd for cursor saves; each wake-up runs
/// `sd_journal_process` and reads every entry that became visible. Journal rotation and
/// vacuuming are the library's business: with `.system` and `.directory` new files are
/// picked up as they appear. The cursor of the last delivered entry is saved every
/// `cursorSaveInterval` and on `stop()`, and a restart resumes after it.
public final class JournalReader: Sendable {
    public let configuration: JournalReaderConfiguration
    public let statistics = SourceStatistics()
    private let thread: SourceThread
    private let consumer: @Sendable (JournalBatch) -> Void
    private let diagnostics: @Sendable (String) -> Void

    public init(
        configuration: JournalReaderConfiguration,
        diagnostics: @escaping @Sendable (String) -> Void = { message in
            var standardError = FileDescriptorOutput(descriptor: 2)
            print("warden: \(message)", to: &standardError)
        },
        consumer: @escaping @Sendable (JournalBatch) -> Void
    ) throws {
        self.configuration = configuration
        self.consumer = consumer
        self.diagnostics = diagnostics
        thread = try SourceThread()
    }

    /// Opens the journal, applies the matches and positions it (after the saved cursor,
    /// else at the start time, the start or the end); entries arrive on the reader's thread.
    public func start() throws {
        let cursor = try configuration.cursorStore?.loadCursor() ?? nil
        let loop = try JournalLoop(
            configuration: configuration, statistics: statistics, stopSignal: thread.stopSignal,
            diagnostics: diagnostics, consumer: consumer
        )
        loop.position(cursor: cursor)
        try thread.start { loop.run() }
    }

    /// Stops after the batch being delivered, saves the cursor and joins the thread.
    public func stop() {
        thread.stop()
    }
}

public enum JournalError: Error, CustomStringConvertible {
    case call(String, target: String, code: Int32)
    case badMatch(String)
    /// libsystemd could not be loaded (or lacks a function warden calls).
    case library(String)

    public var description: String {
        switch self {
        case .call(let call, let target, let code): "\(call) (\(target)) failed: \(systemErrorText(-code))"
        case .badMatch(let word): "journalmatch term '\(word)' is not FIELD=value (or '+')"
        case .library(let reason): "the systemd journal cannot be read: \(reason)"
        }
    }
}

/// The reader thread's state: the sd_journal handle, which libsystemd requires be used
/// from one thread at a time. Created on the caller's thread, then owned by the loop.
private final class JournalLoop: @unchecked Sendable {
    private let configuration: JournalReaderConfiguration
    private let statistics: SourceStatistics
    private let systemd: SystemdJournal
    private let format: JournalEntryFormat
    private let journal: OpaquePointer
    private let epoll: Int32
    private let journalDescriptor: Int32
    private let stopSignal: Int32
    private let saveTimer: Int32
    private let diagnostics: @Sendable (String) -> Void
    private let consumer: @Sendable (JournalBatch) -> Void
    private var lines: [UInt8] = []
    private var slices: [JournalSlice] = []
    private var cursor: String?
    private var savedCursor: String?

    init(
        configuration: JournalReaderConfiguration, statistics: SourceStatistics, stopSignal: Int32,
        diagnostics: @escaping @Sendable (String) -> Void, consumer: @escaping @Sendable (JournalBatch) -> Void
    ) throws {
        self.configuration = configuration
        self.statistics = statistics
        self.stopSignal = stopSignal
        self.diagnostics = diagnostics
        self.consumer = consumer
        systemd = try SystemdJournal.shared.get()
        format = JournalEntryFormat(systemd: systemd)
        journal = try Self.open(configuration.journal, with: systemd)
        do {
            try Self.addMatches(configuration.matches, to: journal, with: systemd)
            // Must come before the first sd_journal_process: it sets up the inotify watches.
            journalDescriptor = systemd.getFD(journal)
            guard journalDescriptor >= 0 else {
                throw JournalError.call("sd_journal_get_fd", target: "\(configuration.journal)", code: journalDescriptor)
            }
        } catch {
            systemd.close(journal)
            throw error
        }
        epoll = warden_epoll_create()
        saveTimer = warden_periodic_timer(max(configuration.cursorSaveIntervalNanoseconds, 10_000_000))
        for descriptor in [stopSignal, journalDescriptor, saveTimer] { warden_epoll_add(epoll, descriptor) }
        statistics.filesOpenedCounter.wrappingAdd(1, ordering: .releasing)
    }

    deinit {
        systemd.close(journal)
        close(epoll)
        close(saveTimer)
    }

    private static func open(_ which: JournalReaderConfiguration.Journal, with systemd: SystemdJournal) throws -> OpaquePointer {
        var handle: OpaquePointer?
        let result: Int32
        switch which {
        case .system:
            result = systemd.open(&handle, Int32(SD_JOURNAL_LOCAL_ONLY))
        case .directory(let path):
            result = systemd.openDirectory(&handle, path, 0)
        case .files(let paths):
            let copies = paths.map { strdup($0) }
            defer { copies.forEach { free($0) } }
            var arguments: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
            arguments.append(nil)
            result = systemd.openFiles(&handle, &arguments, 0)
        }
        guard result >= 0, let handle else { throw JournalError.call("sd_journal_open", target: "\(which)", code: result) }
        return handle
    }

    /// fail2ban's journalmatch: words are sd_journal_add_match terms; `+` closes a group
    /// with sd_journal_add_disjunction.
    private static func addMatches(_ words: [String], to journal: OpaquePointer, with systemd: SystemdJournal) throws {
        for word in words {
            if word == "+" {
                _ = systemd.addDisjunction(journal)
                continue
            }
            guard let equals = word.utf8.firstIndex(of: UInt8(ascii: "=")), equals != word.utf8.startIndex else {
                throw JournalError.badMatch(word)
            }
            let result = word.utf8CString.withUnsafeBufferPointer { systemd.addMatch(journal, $0.baseAddress, $0.count - 1) }
            guard result >= 0 else { throw JournalError.badMatch(word) }
        }
    }

    /// Positions the journal so the next `sd_journal_next` returns the first entry to deliver.
    func position(cursor saved: String?) {
        if let saved {
            if systemd.seekCursor(journal, saved) >= 0 {
                // seek_cursor lands at or next to the entry; skip it only if it is the one
                // already delivered.
                if systemd.next(journal) > 0, systemd.testCursor(journal, saved) <= 0,
                   systemd.previous(journal) <= 0 {
                    // The saved entry was vacuumed and the one found is the oldest left.
                    _ = systemd.seekHead(journal)
                }
                cursor = saved
                savedCursor = saved
                return
            }
            diagnostics("warning: saved journal cursor is not valid; reading from \(startDescription)")
        }
        if let start = configuration.startRealtimeMicroseconds {
            // next() then returns the first entry at or after `start`; if every entry is
            // older, nothing until new ones arrive.
            _ = systemd.seekRealtime(journal, start)
        } else if configuration.fromStart {
            _ = systemd.seekHead(journal)
        } else {
            _ = systemd.seekTail(journal)
            // After seek_tail, next() would return the last entry; stepping back onto it
            // makes next() return only entries written from now on.
            _ = systemd.previous(journal)
        }
    }

    private var startDescription: String {
        if let start = configuration.startRealtimeMicroseconds { return "\(start / 1_000_000) (epoch seconds)" }
        return configuration.fromStart ? "the start" : "now"
    }

    func run() {
        readAvailable()
        var ready = [Int32](repeating: -1, count: 4)
        running: while true {
            let count = warden_epoll_wait(epoll, &ready, Int32(ready.count), waitTimeout())
            if count < 0 {
                if errno == EINTR { continue }
                diagnostics("epoll_wait failed: \(systemErrorText()); journal reading stops")
                break
            }
            if count == 0 {
                // The library asked for a timeout (journal files it cannot watch).
                _ = systemd.process(journal)
                readAvailable()
            }
            for descriptor in ready.prefix(Int(count)) {
                if descriptor == stopSignal { break running }
                if descriptor == journalDescriptor {
                    _ = systemd.process(journal)
                    readAvailable()
                } else if descriptor == saveTimer {
                    var expirations: UInt64 = 0
                    _ = read(saveTimer, &expirations, 8)
                    saveCursor()
                }
            }
        }
        _ = systemd.process(journal)
        readAvailable()
        saveCursor()
    }

    /// sd_journal_get_timeout: -1 (wait for the descriptor only) unless the library needs
    /// to look again by itself.
    private func waitTimeout() -> Int32 {
        var deadline: UInt64 = .max
        guard systemd.getTimeout(journal, &deadline) >= 0, deadline != .max else { return -1 }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nowMicroseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        guard deadline > nowMicroseconds else { return 0 }
        return Int32(min((deadline - nowMicroseconds + 999) / 1000, UInt64(Int32.max)))
    }

    private func readAvailable() {
        while true {
            let step = systemd.next(journal)
            if step < 0 {
                diagnostics("sd_journal_next failed: \(systemErrorText(-step))")
                break
            }
            if step == 0 { break }
            let start = lines.count
            let realtime = format.append(entryOf: journal, to: &lines)
            slices.append(JournalSlice(start: start, count: lines.count - start, realtime: realtime))
            if slices.count >= configuration.maxEntriesPerBatch { deliver() }
        }
        deliver()
    }

    private func deliver() {
        guard !slices.isEmpty else { return }
        var text: UnsafeMutablePointer<CChar>?
        if systemd.getCursor(journal, &text) >= 0, let text {
            cursor = String(cString: text)
            free(text)
        }
        lines.withUnsafeBufferPointer { bytes in
            consumer(JournalBatch(base: bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!, slices: slices, cursor: cursor ?? ""))
        }
        statistics.linesCounter.wrappingAdd(slices.count, ordering: .releasing)
        statistics.batchesCounter.wrappingAdd(1, ordering: .releasing)
        lines.removeAll(keepingCapacity: true)
        slices.removeAll(keepingCapacity: true)
    }

    private func saveCursor() {
        guard let store = configuration.cursorStore, let cursor, cursor != savedCursor else { return }
        do {
            try store.saveCursor(cursor)
            savedCursor = cursor
        } catch {
            diagnostics("\(error)")
        }
    }
}
