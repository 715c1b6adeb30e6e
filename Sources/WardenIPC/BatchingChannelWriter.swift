/// A channel writer that queues messages in a `FrameBatch` and empties it with its own
/// `flush()` (the memory, file and socket adapters). Publishing is the same for all of
/// them, so it lives here once; each adapter says only how a batch leaves the process.
protocol BatchingChannelWriter: ChannelWriter {
    /// The messages queued since the last flush.
    var batch: FrameBatch { get }
    /// Set by `close()`; publishing afterwards throws `ChannelError.closed`.
    var closed: Bool { get }
}

extension BatchingChannelWriter {
    public func publish(_ type: MessageType, payload: UnsafeRawBufferPointer) throws {
        guard !closed else { throw ChannelError.closed }
        if !batch.hasRoom(forPayload: payload.count) { try flush() }
        try batch.append(type, payload: payload)
    }

    public func publish(frames: UnsafeRawBufferPointer) throws {
        guard !closed else { throw ChannelError.closed }
        try batch.appendFrames(frames) { try flush() }
    }
}
