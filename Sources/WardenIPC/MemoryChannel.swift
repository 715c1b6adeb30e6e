/// An in-process channel: the default jail wiring and the adapter tests build on.
///
/// Every attached reader owns a queue of whole batches bounded by `capacity` bytes. A
/// writer's flush appends its batch to every queue; a full queue makes the writer wait
/// (back-pressure), evicts the oldest batches (overwrite) or skips that reader (drop), and
/// the reader counts what it missed. Readers see messages published after they attach.
///
/// A flush copies the batch once into an array all queues share; each reader's `read` then
/// copies it into that reader's own buffer, so a message is copied once per reader — cheap
/// next to the lock and wake-up, and it leaves every reader free to keep its buffer.
public final class MemoryChannel: @unchecked Sendable {
    // All mutable state below is guarded by `lock`.
    private let lock = ConditionLock()
    private let configuration: ChannelConfiguration
    private var queues: [ObjectIdentifier: MemoryReaderQueue] = [:]

    private static let registry = ConditionLock()
    nonisolated(unsafe) private static var channels: [String: MemoryChannel] = [:]

    public init(configuration: ChannelConfiguration) { self.configuration = configuration }

    /// The process-wide channel called `name`, created on first use.
    public static func named(_ name: String, configuration: ChannelConfiguration) -> MemoryChannel {
        registry.withLock {
            if let existing = channels[name] { return existing }
            let channel = MemoryChannel(configuration: configuration)
            channels[name] = channel
            return channel
        }
    }

    public func makeWriter() -> any ChannelWriter { MemoryChannelWriter(channel: self) }

    public func makeReader() -> any ChannelReader {
        let reader = MemoryChannelReader(channel: self)
        lock.withLock { queues[ObjectIdentifier(reader)] = MemoryReaderQueue() }
        return reader
    }

    func deliver(_ batch: [UInt8], messages: Int) {
        lock.withLock {
            while configuration.policy == .backpressure,
                  queues.values.contains(where: { !$0.stopped && $0.byteCount + batch.count > configuration.capacity && !$0.batches.isEmpty }) {
                lock.wait()
            }
            for queue in queues.values where !queue.stopped {
                if queue.byteCount + batch.count > configuration.capacity && !queue.batches.isEmpty {
                    switch configuration.policy {
                    case .backpressure: break
                    case .drop:
                        queue.lost += UInt64(messages)
                        continue
                    case .overwrite:
                        while queue.byteCount + batch.count > configuration.capacity, let oldest = queue.batches.first {
                            queue.batches.removeFirst()
                            queue.byteCount -= oldest.bytes.count
                            queue.lost += UInt64(oldest.messages)
                        }
                    }
                }
                queue.batches.append((batch, messages))
                queue.byteCount += batch.count
            }
            lock.broadcast()
        }
    }

    func take(for reader: MemoryChannelReader, into buffer: UnsafeMutableRawBufferPointer) -> ReadBatch {
        lock.withLock {
            guard let queue = queues[ObjectIdentifier(reader)] else { return .stopped }
            while queue.batches.isEmpty && !queue.stopped { lock.wait() }
            var result = ReadBatch(byteCount: 0, messageCount: 0)
            if queue.stopped { return result }
            while let next = queue.batches.first, result.byteCount + next.bytes.count <= buffer.count {
                queue.batches.removeFirst()
                queue.byteCount -= next.bytes.count
                UnsafeMutableRawBufferPointer(rebasing: buffer[result.byteCount...]).copyBytes(from: next.bytes)
                result.byteCount += next.bytes.count
                result.messageCount += next.messages
            }
            lock.broadcast()
            return result
        }
    }

    func stop(_ reader: MemoryChannelReader) {
        lock.withLock {
            queues[ObjectIdentifier(reader)]?.stopped = true
            lock.broadcast()
        }
    }

    func lost(for reader: MemoryChannelReader) -> UInt64 {
        lock.withLock { queues[ObjectIdentifier(reader)]?.lost ?? 0 }
    }

    func detach(_ reader: MemoryChannelReader) {
        lock.withLock {
            queues[ObjectIdentifier(reader)] = nil
            lock.broadcast()
        }
    }
}

/// One reader's pending batches; guarded by its channel's lock.
final class MemoryReaderQueue {
    var batches: [(bytes: [UInt8], messages: Int)] = []
    var byteCount = 0
    var lost: UInt64 = 0
    var stopped = false
}

final class MemoryChannelWriter: BatchingChannelWriter {
    private let channel: MemoryChannel
    let batch = FrameBatch()
    private(set) var closed = false

    init(channel: MemoryChannel) { self.channel = channel }

    func flush() throws {
        guard !closed else { throw ChannelError.closed }
        guard batch.messageCount > 0 else { return }
        channel.deliver(Array(batch.bytes), messages: batch.messageCount)
        batch.reset()
    }

    func close() throws {
        guard !closed else { return }
        try flush()
        closed = true
    }
}

final class MemoryChannelReader: ChannelReader, @unchecked Sendable {
    private let channel: MemoryChannel

    init(channel: MemoryChannel) { self.channel = channel }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadBatch {
        guard buffer.count >= ChannelConfiguration.minimumReadBufferSize else {
            throw ChannelError.bufferTooSmall(needed: ChannelConfiguration.minimumReadBufferSize)
        }
        return channel.take(for: self, into: buffer)
    }

    func stop() { channel.stop(self) }
    var lost: UInt64 { channel.lost(for: self) }
    func close() { channel.detach(self) }
}
