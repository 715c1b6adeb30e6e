import ArgumentParser
import Histogram
import WardenIPC
#if canImport(Glibc)
import Glibc
#endif

/// `warden ipc-bench-worker`: one writer or reader process of `warden ipc-bench` (hidden).
///
/// Bench payloads start with the publish time (CLOCK_MONOTONIC ns), the writer id and
/// the sequence number; the rest is filler up to `--size`.
struct IpcBenchWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ipc-bench-worker", shouldDisplay: false)

    @Option var role: String
    @Option var adapter: ChannelConfiguration.Adapter
    @Option var path: String
    @Option var policy: ChannelConfiguration.Policy = .backpressure
    @Option var readers = 1
    @Option var id = 0
    @Option var messages = 0
    @Option var expected = 0
    @Option var size = 100
    @Option var batch = 64
    /// File adapter: spool size in bytes that triggers rotation (`ipc.rotate`).
    @Option var rotate = 64 << 20
    /// Reader name; default `bench<id>`. Tests restart a killed reader under its name.
    @Option var name: String?
    /// Reader: print the running message count after every batch, so a test can kill the
    /// reader at a known point.
    @Flag var progress = false

    func run() throws {
        let channel = ChannelConfiguration(adapter: adapter, path: path, readers: readers, policy: policy, rotateBytes: rotate)
        if role == "writer" {
            try IpcBenchWorkerCommand.write(channel, id: id, messages: messages, size: size, batch: batch)
        } else {
            let result = try IpcBenchWorkerCommand.read(channel, name: name ?? "bench\(id)", expected: expected, progress: progress) {
                print("ready")
                fflush(nil)
            }
            print(result.line)
        }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    static func write(_ channel: ChannelConfiguration, id: Int, messages: Int, size: Int, batch: Int) throws {
        let writer = try Channel.makeWriter(channel)
        var payload = [UInt8](repeating: 0x2e, count: max(size, 24))
        try payload.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(id), toByteOffset: 8, as: UInt64.self)
            for sequence in 0..<messages {
                raw.storeBytes(of: monotonicNanoseconds(), toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: UInt64(sequence), toByteOffset: 16, as: UInt64.self)
                try writer.publish(.logLine, payload: UnsafeRawBufferPointer(raw))
                if (sequence + 1) % batch == 0 { try writer.flush() }
            }
        }
        try writer.close()
    }

    struct ReaderResult: Sendable {
        var received = 0
        var lost: UInt64 = 0
        var seconds = 0.0
        var p50: UInt64 = 0
        var p99: UInt64 = 0
        var p999: UInt64 = 0

        var line: String { "\(received) \(lost) \(seconds) \(p50) \(p99) \(p999)" }

        init(received: Int = 0, lost: UInt64 = 0, seconds: Double = 0, p50: UInt64 = 0, p99: UInt64 = 0, p999: UInt64 = 0) {
            (self.received, self.lost, self.seconds, self.p50, self.p99, self.p999) = (received, lost, seconds, p50, p99, p999)
        }

        /// Parses `line`.
        init?(line: String) {
            let fields = line.split(separator: " ")
            guard fields.count == 6, let received = Int(fields[0]), let lost = UInt64(fields[1]), let seconds = Double(fields[2]),
                  let p50 = UInt64(fields[3]), let p99 = UInt64(fields[4]), let p999 = UInt64(fields[5]) else { return nil }
            self.init(received: received, lost: lost, seconds: seconds, p50: p50, p99: p99, p999: p999)
        }
    }

    /// Reads until `expected` messages were received or counted lost. Latency is taken
    /// once per batch: that is when its messages became available to this reader.
    static func read(_ channel: ChannelConfiguration, name: String, expected: Int, progress: Bool = false, ready: () -> Void) throws -> ReaderResult {
        let reader = try Channel.makeReader(channel, name: name)
        defer { reader.close() }
        ready()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var result = ReaderResult()
        var latency = Histogram<UInt64>(highestTrackableValue: 120_000_000_000)
        var firstPublished = UInt64.max
        var lastReceived: UInt64 = 0
        while result.received + Int(reader.lost) < expected {
            let batch = try reader.read(into: buffer)
            if batch.isStopped { break }
            let now = monotonicNanoseconds()
            var frames = FrameIterator(UnsafeRawBufferPointer(rebasing: buffer[0..<batch.byteCount]))
            while let frame = try frames.next() {
                let published = frame.payload.loadUnaligned(as: UInt64.self)
                firstPublished = min(firstPublished, published)
                _ = latency.record(now &- published)
            }
            result.received += batch.messageCount
            lastReceived = now
            if progress {
                print(result.received)
                fflush(nil)
            }
        }
        result.lost = reader.lost
        (result.p50, result.p99, result.p999) = (latency.valueAtPercentile(50), latency.valueAtPercentile(99), latency.valueAtPercentile(99.9))
        result.seconds = Double(lastReceived &- firstPublished) / 1e9
        return result
    }
}

extension ChannelConfiguration.Adapter: ExpressibleByArgument {}
extension ChannelConfiguration.Policy: ExpressibleByArgument {}
