import ArgumentParser
import Synchronization
import WardenSource
#if canImport(Glibc)
import Glibc
#endif

/// `warden tail`: prints what the log source delivers, through the same `LogTailer` the
/// daemon uses, so users can see exactly which lines warden sees.
struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Follow log files as warden does (rotation-safe) and print each line."
    )

    @Flag(name: .long, help: "Read files from their start instead of their end.")
    var fromStart = false

    @Option(name: .long, help: "auto, inotify (pyinotify), polling.")
    var backend = "auto"

    @Option(name: .long, help: "Keep read positions in this file across runs.")
    var positions: String?

    @Option(name: .long, help: "Cut lines longer than this many bytes.")
    var maxLineLength = 64 * 1024

    @Flag(name: .long, help: "Prefix each line with its file and end offset.")
    var offsets = false

    @Argument(help: "Log files or globs on the file name.")
    var paths: [String]

    func run() throws {
        guard let chosen = LogBackend(fail2banName: backend) else {
            throw ValidationError("unknown backend '\(backend)' (auto, inotify, pyinotify, polling)")
        }
        var configuration = LogTailerConfiguration(paths: paths)
        configuration.backend = chosen
        configuration.fromStart = fromStart
        configuration.positionFile = positions
        configuration.maxLineLength = maxLineLength
        let output = TailOutput(withOffsets: offsets)
        let tailer = try LogTailer(configuration: configuration) { output.write($0) }
        // SIGINT/SIGTERM end the wait below; the tailer then saves positions on stop().
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        try tailer.start()
        var received: Int32 = 0
        sigwait(&signals, &received)
        tailer.stop()
    }
}

/// Writes batches to standard output with one write() per batch.
private final class TailOutput: Sendable {
    private let buffer = Mutex<[UInt8]>([])
    private let withOffsets: Bool

    init(withOffsets: Bool) { self.withOffsets = withOffsets }

    func write(_ batch: LogBatch) {
        buffer.withLock { bytes in
            bytes.removeAll(keepingCapacity: true)
            for line in batch {
                if withOffsets { bytes.append(contentsOf: "\(batch.path):\(line.endOffset): ".utf8) }
                bytes.append(contentsOf: line.bytes)
                bytes.append(0x0A)
            }
            var start = 0
            while start < bytes.count {
                let written = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress! + start, $0.count - start) }
                if written <= 0 { if errno == EINTR { continue }; exit(0) }
                start += written
            }
        }
    }
}
