/// A writer's pending frames (`BatchingChannelWriter`): one fixed buffer of
/// `ChannelConfiguration.batchSize` bytes, optionally preceded by `headroom` bytes an
/// adapter fills in at flush (a packet header).
final class FrameBatch {
    let headroom: Int
    let capacity: Int
    /// Headroom plus frames, contiguous, ready for one write.
    let storage: UnsafeMutableRawBufferPointer
    private(set) var byteCount = 0
    private(set) var messageCount = 0

    init(headroom: Int = 0, capacity: Int = ChannelConfiguration.batchSize) {
        self.headroom = headroom
        self.capacity = capacity
        storage = .allocate(byteCount: headroom + capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// The frames alone.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[headroom..<(headroom + byteCount)]) }
    /// Headroom and frames.
    var packet: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: storage[0..<(headroom + byteCount)]) }

    func hasRoom(forPayload length: Int) -> Bool { byteCount + MessageFrame.size(payloadLength: length) <= capacity }

    func append(_ type: MessageType, payload: UnsafeRawBufferPointer) throws {
        guard payload.count <= MessageFrame.maximumPayloadSize else { throw MessageFormatError.payloadTooLarge(payload.count) }
        let start = storage.baseAddress! + headroom + byteCount
        MessageFrame.writeHeader(type: type, payloadLength: payload.count, to: start)
        if payload.count > 0 { (start + MessageFrame.headerSize).copyMemory(from: payload.baseAddress!, byteCount: payload.count) }
        byteCount += MessageFrame.size(payloadLength: payload.count)
        messageCount += 1
    }

    /// Appends already framed messages after validating them, calling `flush` whenever the
    /// buffer is full. Rejects the batch before appending anything if a frame is malformed.
    func appendFrames(_ frames: UnsafeRawBufferPointer, flush: () throws -> Void) throws {
        var iterator = FrameIterator(frames)
        while try iterator.next() != nil {}
        var remaining = frames
        while remaining.count > 0 {
            if byteCount == capacity || !hasRoom(forPayload: 0) { try flush() }
            // Take as many whole frames as fit in the free space.
            let free = UnsafeRawBufferPointer(rebasing: remaining[0..<min(remaining.count, capacity - byteCount)])
            let (taken, count) = try FrameIterator.wholeFrames(in: free)
            if count == 0 {
                guard byteCount > 0 else { throw MessageFormatError.payloadTooLarge(remaining.count) }
                try flush()
                continue
            }
            (storage.baseAddress! + headroom + byteCount).copyMemory(from: remaining.baseAddress!, byteCount: taken)
            byteCount += taken
            messageCount += count
            remaining = UnsafeRawBufferPointer(rebasing: remaining[taken...])
        }
    }

    func reset() {
        byteCount = 0
        messageCount = 0
    }
}
