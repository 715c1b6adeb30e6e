import Logging
import Synchronization
import WardenIPC
import WardenThreads

/// One jail's side of the decision channel in a ban worker: a thread blocked in the
/// channel's `read` (woken by the kernel), decoding each batch of frames and handing the
/// decisions to the `BanWorker` as one unit, so a burst becomes one nftables transaction.
final class DecisionReader: Sendable {
    let jail: String
    private let reader: any ChannelReader
    private let thread = Mutex<DedicatedThread?>(nil)

    init(jail: String, configuration: ChannelConfiguration, readerName: String) throws {
        self.jail = jail
        reader = try Channel.makeReader(configuration, name: readerName)
    }

    func start(worker: BanWorker, metrics: JailMetrics, logger: Logger) throws {
        let reader = self.reader
        let jail = self.jail
        let running = try startDaemonThread {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ChannelConfiguration.minimumReadBufferSize, alignment: 8)
            defer { buffer.deallocate() }
            var reportedLost: UInt64 = 0
            while true {
                let batch: ReadBatch
                do {
                    batch = try reader.read(into: buffer)
                } catch {
                    logger.error("channel read failed; this jail's ban worker stops", metadata: ["jail": "\(jail)", "error": "\(error)"])
                    return
                }
                if batch.isStopped { return }
                var decisions: [WorkerDecision] = []
                decisions.reserveCapacity(batch.messageCount)
                var frames = FrameIterator(UnsafeRawBufferPointer(rebasing: buffer[..<batch.byteCount]))
                do {
                    while let frame = try frames.next() {
                        guard frame.type == .ban || frame.type == .unban else { continue }
                        decisions.append(WorkerDecision(type: frame.type, decision: try BanDecision(decoding: frame.payload)))
                    }
                } catch {
                    // A malformed record is counted and skipped; the rest of the batch still applies.
                    logger.warning("malformed decision skipped", metadata: ["jail": "\(jail)", "error": "\(error)"])
                }
                let lost = reader.lost
                if lost > reportedLost {
                    metrics.channelLost.add(Int(lost - reportedLost), ordering: .relaxed)
                    logger.warning("channel lost decisions", metadata: ["jail": "\(jail)", "lost": "\(lost - reportedLost)"])
                    reportedLost = lost
                }
                worker.submit(decisions)
            }
        }
        thread.withLock { $0 = running }
    }

    /// Wakes the reader, joins its thread and releases the channel.
    func stop() {
        reader.stop()
        if let running = thread.withLock({ thread in defer { thread = nil }; return thread }) { running.join() }
        reader.close()
    }
}
