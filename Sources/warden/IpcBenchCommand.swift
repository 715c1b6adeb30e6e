import ArgumentParser
import WardenIPC
#if canImport(Glibc)
import Glibc
#endif

/// `warden ipc-bench`: N writer and M reader processes over one channel.
struct IpcBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipc-bench",
        abstract: "Measure a channel adapter with N writer and M reader processes.",
        discussion: """
            Each reader must receive every message. Reports messages/s per reader (from the \
            first publish to its last receipt), latency percentiles from publish to receipt, \
            CPU time of all processes per message, and messages lost. The memory adapter runs \
            its writers and readers as threads of one process.
            """
    )

    @Option(help: "memory, file, shm or socket.") var adapter: ChannelConfiguration.Adapter
    @Option(help: "Writer processes.") var writers = 1
    @Option(help: "Reader processes.") var readers = 1
    @Option(help: "Messages per writer.") var messages = 1_000_000
    @Option(help: "Payload bytes per message (at least 24).") var size = 100
    @Option(help: "Messages per flush.") var batch = 256
    @Option(help: "backpressure, overwrite or drop.") var policy: ChannelConfiguration.Policy = .backpressure
    @Option(help: "Channel path (default: a fresh one under /tmp).") var path: String?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let base = path ?? "/tmp/warden-ipc-bench-\(getpid())"
        let channelPath: String
        switch adapter {
        case .file:
            mkdir(base, 0o700)
            channelPath = base + "/spool"
        case .shm: channelPath = "/warden-bench-\(getpid())"
        default: channelPath = base
        }
        let expected = writers * messages
        var results: [IpcBenchWorkerCommand.ReaderResult] = []
        var usage = rusage()
        if adapter == .memory {
            results = try runThreads(ChannelConfiguration(adapter: .memory, path: channelPath, readers: readers, policy: policy), expected: expected)
            getrusage(RUSAGE_SELF.rawValue, &usage)
        } else {
            results = try runProcesses(path: channelPath, expected: expected)
            getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        }
        if adapter == .file { _ = ["spool", "spool.1", "spool.lock"].map { unlink(base + "/" + $0) }; rmdir(base) }
        if adapter == .socket { rmdir(base) }
        report(results, usage: usage, expected: expected)
    }

    private func workerArguments(role: String, path: String, id: Int, expected: Int) -> [String] {
        ["ipc-bench-worker", "--role", role, "--adapter", adapter.rawValue, "--path", path, "--policy", policy.rawValue,
         "--readers", "\(readers)", "--id", "\(id)", "--messages", "\(messages)", "--expected", "\(expected)",
         "--size", "\(size)", "--batch", "\(batch)"]
    }

    private func runProcesses(path: String, expected: Int) throws -> [IpcBenchWorkerCommand.ReaderResult] {
        let readerProcesses = try (0..<readers).map { try ChildProcess(workerArguments(role: "reader", path: path, id: $0, expected: expected)) }
        for reader in readerProcesses {
            guard reader.readLine() == "ready" else { throw ValidationError("a reader failed to attach") }
        }
        let writerProcesses = try (0..<writers).map { try ChildProcess(workerArguments(role: "writer", path: path, id: $0, expected: expected)) }
        for writer in writerProcesses {
            guard writer.wait() == 0 else { throw ValidationError("a writer failed") }
        }
        return try readerProcesses.map { reader in
            let line = reader.readLine() ?? ""
            guard reader.wait() == 0, let result = IpcBenchWorkerCommand.ReaderResult(line: line) else { throw ValidationError("a reader failed: \(line)") }
            return result
        }
    }

    private func runThreads(_ channel: ChannelConfiguration, expected: Int) throws -> [IpcBenchWorkerCommand.ReaderResult] {
        let attached = (0..<readers).map { _ in Semaphore() }
        let outcomes = ResultSlots(count: readers)
        let readerThreads = (0..<readers).map { index in
            BenchThread {
                outcomes.store(index, Result { try IpcBenchWorkerCommand.read(channel, name: "bench\(index)", expected: expected) { attached[index].signal() } })
            }
        }
        for semaphore in attached { semaphore.wait() }
        let (writerCount, perWriter, payloadSize, flushEvery) = (writers, messages, size, batch)
        let writerThreads = (0..<writerCount).map { id in
            BenchThread { try? IpcBenchWorkerCommand.write(channel, id: id, messages: perWriter, size: payloadSize, batch: flushEvery) }
        }
        for thread in writerThreads { thread.join() }
        for thread in readerThreads { thread.join() }
        return try outcomes.all()
    }

    private func report(_ results: [IpcBenchWorkerCommand.ReaderResult], usage: rusage, expected: Int) {
        let rates = results.map { $0.seconds > 0 ? Double($0.received) / $0.seconds : 0 }
        let slowest = rates.min() ?? 0
        let lost = results.reduce(UInt64(0)) { $0 + $1.lost }
        // The worst reader's percentiles: what a consumer of this channel can count on.
        let p50 = results.map(\.p50).max() ?? 0, p99 = results.map(\.p99).max() ?? 0, p999 = results.map(\.p999).max() ?? 0
        let cpuSeconds = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        let cpuPerMessage = expected > 0 ? cpuSeconds * 1e9 / Double(expected) : 0
        if json {
            let perReader = rates.map { String(Int($0)) }.joined(separator: ",")
            print("""
                {"adapter":"\(adapter.rawValue)","writers":\(writers),"readers":\(readers),"messages":\(expected),"size":\(size),\
                "policy":"\(policy.rawValue)","messages_per_second":\(Int(slowest)),"per_reader":[\(perReader)],"lost":\(lost),\
                "p50_ns":\(p50),"p99_ns":\(p99),"p999_ns":\(p999),"cpu_ns_per_message":\(Int(cpuPerMessage))}
                """)
        } else {
            print("adapter \(adapter.rawValue): \(writers) writer(s) x \(readers) reader(s), \(expected) messages of \(size) B, \(policy.rawValue)")
            for (index, rate) in rates.enumerated() {
                print("  reader \(index): \(Int(rate)) msg/s, received \(results[index].received), lost \(results[index].lost)")
            }
            print("  slowest reader: \(Int(slowest)) msg/s; latency p50 \(p50) ns, p99 \(p99) ns, p99.9 \(p999) ns")
            print("  CPU \(Int(cpuPerMessage.rounded())) ns per message (all processes); lost \(lost)")
        }
    }
}
