import ArgumentParser
import Synchronization
import WardenSource
#if canImport(Glibc)
import Glibc
#endif

/// `warden tail`: prints what the log source delivers, through the same `LogTailer` or
/// `JournalReader` the daemon uses, so users can see exactly which lines warden sees.
struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Follow log files or the systemd journal as warden does and print each line.",
        discussion: """
            With --backend auto, the journal is read when none of the paths exist (as on a \
            fresh Debian 12 without auth.log). Journal entries are printed as fail2ban's \
            systemd backend renders them.
            """
    )

    @Flag(name: .long, help: "Read files (or the journal) from their start instead of their end.")
    var fromStart = false

    @Option(name: .long, help: "auto, inotify (pyinotify), polling, systemd.")
    var backend = "auto"

    @Option(name: .long, help: "Keep read positions (files) or the cursor (journal) in this file across runs.")
    var positions: String?

    @Option(name: .long, help: "Cut lines longer than this many bytes.")
    var maxLineLength = 64 * 1024

    @Flag(name: .long, help: "Prefix each line with its file and end offset (journal: its time in µs).")
    var offsets = false

    @Option(name: .long, help: "logencoding of the files: auto or utf-8 (default), latin-1, or any iconv name.")
    var encoding = "auto"

    @Option(name: .long, help: "journalmatch, e.g. '_SYSTEMD_UNIT=ssh.service + _COMM=sshd'.")
    var match = ""

    @Option(name: .long, help: "Read this journal file instead of the system journal (repeatable).")
    var journalFile: [String] = []

    @Option(name: .long, help: "Read the journal files in this directory instead of the system journal.")
    var journalDirectory: String?

    @Argument(help: "Log files or globs on the file name.")
    var paths: [String] = []

    func run() throws {
        let journalGiven = !journalFile.isEmpty || journalDirectory != nil
        guard let selection = LogSourceSelection.select(
            backend: backend, paths: paths,
            journalAvailable: journalGiven || JournalReaderConfiguration.systemJournalExists()
        ) else {
            throw ValidationError("unknown backend '\(backend)' (auto, inotify, pyinotify, polling, systemd)")
        }
        let logEncoding: LogEncoding
        do { logEncoding = try LogEncoding(name: encoding) } catch { throw ValidationError("\(error)") }
        let output = TailOutput()
        let stop: () -> Void
        switch selection {
        case .files(let watcher):
            guard !paths.isEmpty else { throw ValidationError("give log paths, or --backend systemd") }
            var configuration = LogTailerConfiguration(paths: paths)
            configuration.backend = watcher
            configuration.fromStart = fromStart
            configuration.positionStore = positions.map(PositionFile.init(path:))
            configuration.maxLineLength = maxLineLength
            configuration.encoding = logEncoding
            let withOffsets = offsets
            let tailer = try LogTailer(configuration: configuration) { output.write(lines: $0, withOffsets: withOffsets) }
            blockTerminationSignals()
            try tailer.start()
            stop = tailer.stop
        case .journal:
            if backend.lowercased() != "systemd" { printError("warden: none of the log paths exist; reading the systemd journal") }
            var configuration = JournalReaderConfiguration(
                journal: journalDirectory.map { .directory($0) } ?? (journalFile.isEmpty ? .system : .files(journalFile)),
                matches: JournalReaderConfiguration.matchWords(match)
            )
            configuration.fromStart = fromStart
            configuration.cursorStore = positions.map(JournalCursorFile.init(path:))
            let withTimes = offsets
            let reader = try JournalReader(configuration: configuration) { output.write(entries: $0, withTimes: withTimes) }
            blockTerminationSignals()
            try reader.start()
            stop = reader.stop
        }
        var received: Int32 = 0
        var signals = Self.terminationSignals
        sigwait(&signals, &received)
        stop()
    }

    private static var terminationSignals: sigset_t {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        return signals
    }

    /// SIGINT/SIGTERM are taken by sigwait in run(), so the source stops cleanly and saves
    /// its position. Blocked before the source's thread starts, which inherits the mask.
    private func blockTerminationSignals() {
        var signals = Self.terminationSignals
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    private func printError(_ message: String) {
        var standardError = FileDescriptorOutput(descriptor: 2)
        print(message, to: &standardError)
    }
}

/// Writes batches to standard output with one write() per batch.
private final class TailOutput: Sendable {
    private let buffer = Mutex<[UInt8]>([])

    func write(lines batch: LogBatch, withOffsets: Bool) {
        buffer.withLock { bytes in
            bytes.removeAll(keepingCapacity: true)
            if withOffsets {
                for line in batch {
                    bytes.append(contentsOf: "\(batch.path):\(line.endOffset): ".utf8)
                    bytes.append(contentsOf: line.bytes)
                    bytes.append(0x0A)
                }
            } else {
                Self.appendRuns(of: batch, to: &bytes)
            }
            Self.writeAll(bytes)
        }
    }

    /// Copies the batch's lines with their newlines, one copy per run of lines that sit
    /// back to back in the read buffer separated by their own `\n` (usually the whole
    /// batch), rather than one per line: the per-line copies were most of warden tail's
    /// user time in perf. Only bytes between two lines are looked at, never past the last.
    private static func appendRuns(of batch: LogBatch, to bytes: inout [UInt8]) {
        var runStart: UnsafePointer<UInt8>?
        var runEnd = UnsafePointer<UInt8>(bitPattern: 1)!
        var previousWasCut = false
        for line in batch {
            guard let start = line.bytes.baseAddress else { continue }
            if runStart != nil, !previousWasCut, start == runEnd + 1, runEnd.pointee == 0x0A {
                runEnd = start + line.bytes.count
            } else {
                if let runStart {
                    bytes.append(contentsOf: UnsafeBufferPointer(start: runStart, count: runEnd - runStart))
                    bytes.append(0x0A)
                }
                runStart = start
                runEnd = start + line.bytes.count
            }
            previousWasCut = line.wasCut
        }
        if let runStart {
            bytes.append(contentsOf: UnsafeBufferPointer(start: runStart, count: runEnd - runStart))
            bytes.append(0x0A)
        }
    }

    func write(entries batch: JournalBatch, withTimes: Bool) {
        buffer.withLock { bytes in
            bytes.removeAll(keepingCapacity: true)
            for entry in batch {
                if withTimes { bytes.append(contentsOf: "\(entry.realtimeMicroseconds): ".utf8) }
                bytes.append(contentsOf: entry.bytes)
                bytes.append(0x0A)
            }
            Self.writeAll(bytes)
        }
    }

    private static func writeAll(_ bytes: [UInt8]) {
        var start = 0
        while start < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress! + start, $0.count - start) }
            if written <= 0 { if errno == EINTR { continue }; exit(0) }
            start += written
        }
    }
}
