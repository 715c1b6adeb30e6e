#if canImport(Glibc)
import Glibc
#endif
import CLinux
import WardenThreads
import Synchronization

/// Follows log files like a `tail -F` that loses nothing, on its own thread, and hands
/// their lines in batches to a consumer on that thread.
///
/// The consumer sees every line once, in file order, with the file's identity and the
/// offset after each line: storing that offset together with the result of handling the
/// line makes processing exactly-once across crashes. The tailer itself saves positions
/// (after the consumer returned) every `positionSaveInterval` and on `stop()`, so a clean
/// restart neither repeats nor skips a line.
///
/// One thread waits in `epoll_wait` on: the inotify descriptor (or a polling timer), an
/// eventfd for `stop()`, and a timerfd for position saves and releasing rotated files.
public final class LogTailer: Sendable {
    public let configuration: LogTailerConfiguration
    public let statistics = SourceStatistics()
    private let thread: SourceThread
    private let consumer: @Sendable (LogBatch) -> Void
    private let diagnostics: @Sendable (String) -> Void

    /// - Parameters:
    ///   - consumer: called on the tailer's thread; the batch's bytes are valid only
    ///     during the call.
    ///   - diagnostics: warnings such as a missing file or a detected truncation.
    public init(
        configuration: LogTailerConfiguration,
        diagnostics: @escaping @Sendable (String) -> Void = { message in
            var standardError = FileDescriptorOutput(descriptor: 2)
            print("warden: \(message)", to: &standardError)
        },
        consumer: @escaping @Sendable (LogBatch) -> Void
    ) throws {
        self.configuration = configuration
        self.consumer = consumer
        self.diagnostics = diagnostics
        thread = try SourceThread()
    }

    /// Opens the files (resuming saved positions) and starts following them. The files
    /// are open and watched when this returns; lines arrive on the tailer's thread.
    public func start() throws {
        let saved = try configuration.positionStore?.loadPositions() ?? []
        let loop = try TailLoop(
            configuration: configuration, statistics: statistics, stopSignal: thread.stopSignal,
            diagnostics: diagnostics, consumer: consumer
        )
        loop.open(saved: saved)
        try thread.start { loop.run() }
    }

    /// Stops after the batch being delivered, saves positions and joins the thread.
    public func stop() {
        thread.stop()
    }
}

/// The tailer thread's state; created on the caller's thread, then owned by the loop.
private final class TailLoop: @unchecked Sendable {
    private let configuration: LogTailerConfiguration
    private let fileSet: LogFileSet
    private let inotify: InotifyWatcher?
    private let epoll: Int32
    private let stopSignal: Int32
    private let maintenanceTimer: Int32
    private let pollTimer: Int32
    private let diagnostics: @Sendable (String) -> Void
    private var lastSave: UInt64 = 0

    init(
        configuration: LogTailerConfiguration, statistics: SourceStatistics, stopSignal: Int32,
        diagnostics: @escaping @Sendable (String) -> Void, consumer: @escaping @Sendable (LogBatch) -> Void
    ) throws {
        self.configuration = configuration
        self.stopSignal = stopSignal
        self.diagnostics = diagnostics
        fileSet = LogFileSet(configuration: configuration, statistics: statistics, diagnostics: diagnostics, consumer: consumer)
        epoll = warden_epoll_create()
        guard epoll >= 0 else { throw LogSourceError.system(call: "epoll_create1", reason: systemErrorText()) }
        var watcher: InotifyWatcher?
        if configuration.backend != .polling {
            do {
                watcher = try InotifyWatcher(fileSet: fileSet, diagnostics: diagnostics)
            } catch where configuration.backend == .auto {
                diagnostics("inotify unavailable (\(error)); polling instead")
            }
        }
        inotify = watcher
        let maintenanceInterval = min(configuration.positionSaveIntervalNanoseconds, configuration.drainGraceNanoseconds / 2)
        maintenanceTimer = warden_periodic_timer(max(maintenanceInterval, 10_000_000))
        pollTimer = watcher == nil ? warden_periodic_timer(configuration.pollIntervalNanoseconds) : -1
        for descriptor in [stopSignal, maintenanceTimer, pollTimer, watcher?.descriptor ?? -1] where descriptor >= 0 {
            warden_epoll_add(epoll, descriptor)
        }
    }

    deinit {
        close(epoll)
        close(maintenanceTimer)
        if pollTimer >= 0 { close(pollTimer) }
    }

    func open(saved: [SavedPosition]) {
        inotify?.watchDirectories()
        fileSet.start(saved: saved)
    }

    func run() {
        fileSet.pumpAll()
        var ready = [Int32](repeating: -1, count: 8)
        running: while true {
            let count = warden_epoll_wait(epoll, &ready, Int32(ready.count), -1)
            if count < 0 {
                if errno == EINTR { continue }
                diagnostics("epoll_wait failed: \(systemErrorText()); tailing stops")
                break
            }
            for descriptor in ready.prefix(Int(count)) {
                if descriptor == stopSignal { break running }
                if descriptor == inotify?.descriptor {
                    inotify?.handleEvents()
                } else if descriptor == pollTimer {
                    consumeTimer(pollTimer)
                    fileSet.rescan()
                } else if descriptor == maintenanceTimer {
                    consumeTimer(maintenanceTimer)
                    maintain()
                }
            }
        }
        fileSet.pumpAll()
        savePositions()
    }

    private func consumeTimer(_ timer: Int32) {
        var expirations: UInt64 = 0
        _ = read(timer, &expirations, 8)
    }

    private func maintain() {
        let now = monotonicNanoseconds()
        if fileSet.hasRotatedFiles { fileSet.releaseQuietRotatedFiles(now: now) }
        if now >= lastSave + configuration.positionSaveIntervalNanoseconds {
            savePositions()
            lastSave = now
        }
    }

    private func savePositions() {
        guard let store = configuration.positionStore else { return }
        do { try store.savePositions(fileSet.positions()) } catch { diagnostics("\(error)") }
    }
}

/// `print(_:to:)` target for a raw descriptor (standard error), without Foundation.
public struct FileDescriptorOutput: TextOutputStream {
    public let descriptor: Int32
    public init(descriptor: Int32) { self.descriptor = descriptor }
    public mutating func write(_ string: String) {
        var text = string
        text.withUTF8 { bytes in _ = Glibc.write(descriptor, bytes.baseAddress, bytes.count) }
    }
}
