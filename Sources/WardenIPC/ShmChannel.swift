#if canImport(Glibc)
import Glibc
#endif

/// `ipc = shm`: the Channel API over a shared-memory ring. Each frame occupies one slot,
/// so readers copy whole frames straight out of the ring into their buffer; nothing is
/// allocated and no system call is made per message.
public enum ShmChannel {
    /// Bytes per slot: a frame (8-byte header and payload) plus the slot's 8-byte length
    /// word must fit, so payloads are limited to 496 bytes, enough for any log line a
    /// filter reads and for every ban decision.
    public static let slotSize = 512
    /// Writer regions per segment: at most this many writers publish at once.
    public static let writerRegions = 8

    /// The ring options for a channel. `ipc.path` is the shared-memory name; a path with
    /// directories is flattened ("/run/warden/sshd.shm" becomes "/run.warden.sshd.shm",
    /// visible as /dev/shm/run.warden.sshd.shm).
    public static func options(_ configuration: ChannelConfiguration) throws -> ShmRingOptions {
        guard configuration.policy != .drop else {
            throw ChannelError.invalidOption(name: "ipc.policy", value: "drop", reason: "shm supports backpressure or overwrite")
        }
        let trimmed = configuration.path.drop(while: { $0 == "/" })
        guard !trimmed.isEmpty else {
            throw ChannelError.invalidOption(name: "ipc.path", value: configuration.path, reason: "empty shared-memory name")
        }
        var capacity = 2
        while capacity * 2 * slotSize <= configuration.capacity, capacity < 1 << 26 { capacity *= 2 }
        return ShmRingOptions(
            name: "/" + trimmed.split(separator: "/").joined(separator: "."), slotSize: slotSize, capacity: capacity,
            writers: writerRegions, consumers: min(ShmLayout.maximumConsumers, max(configuration.readers, 4)),
            overwrite: configuration.policy == .overwrite, mode: configuration.mode, group: configuration.group)
    }

    public static func makeWriter(_ configuration: ChannelConfiguration) throws -> any ChannelWriter {
        ShmChannelWriter(ring: try channelError { try ShmRingWriter(options(configuration)) })
    }

    /// A reader under `name`. With `pool`, every reader attached under the same name
    /// shares one cursor and each message goes to exactly one of them (work stealing for
    /// a pool of ban workers).
    public static func makeReader(_ configuration: ChannelConfiguration, name: String, pool: Bool = false) throws -> any ChannelReader {
        ShmChannelReader(ring: try channelError { try ShmRingReader(options(configuration), name: name, shared: pool) })
    }

    /// Removes the channel's segment name (the daemon does this on shutdown).
    public static func unlink(_ configuration: ChannelConfiguration) throws {
        ShmSegment.unlink(try options(configuration).name)
    }

    /// Ring failures in the Channel API's terms where one fits.
    static func channelError<Result>(_ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch ShmRingError.system(let call, let name, let code) {
            throw ChannelError.system(call: call, path: name, errno: code)
        } catch ShmRingError.closed {
            throw ChannelError.closed
        } catch ShmRingError.messageTooLarge(let size, _) {
            throw MessageFormatError.payloadTooLarge(size - MessageFrame.headerSize)
        }
    }
}

final class ShmChannelWriter: ChannelWriter {
    private let ring: ShmRingWriter

    init(ring: ShmRingWriter) { self.ring = ring }

    func publish(_ type: MessageType, payload: UnsafeRawBufferPointer) throws {
        try ShmChannel.channelError {
            try ring.append(byteCount: MessageFrame.size(payloadLength: payload.count)) { slot in
                MessageFrame.writeHeader(type: type, payloadLength: payload.count, to: slot)
                if payload.count > 0 { (slot + MessageFrame.headerSize).copyMemory(from: payload.baseAddress!, byteCount: payload.count) }
            }
        }
    }

    func publish(frames: UnsafeRawBufferPointer) throws {
        var check = FrameIterator(frames)
        while let frame = try check.next() {
            guard MessageFrame.size(payloadLength: frame.payload.count) <= ring.maximumMessageSize else {
                throw MessageFormatError.payloadTooLarge(frame.payload.count)
            }
        }
        var offset = 0
        var walk = FrameIterator(frames)
        while let frame = try walk.next() {
            let size = MessageFrame.size(payloadLength: frame.payload.count)
            try ShmChannel.channelError { try ring.append(UnsafeRawBufferPointer(rebasing: frames[offset..<(offset + size)])) }
            offset += size
        }
    }

    func flush() throws {
        guard !ring.isClosed else { throw ChannelError.closed }
        ring.publish()
    }

    func close() throws { ring.close() }
}

final class ShmChannelReader: ChannelReader, @unchecked Sendable {
    // @unchecked: `lengths` is used only by the thread calling `read`, as the protocol requires.
    private let ring: ShmRingReader
    /// Where the ring reports message lengths; frames carry their own, so they go unused.
    private let lengths = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: ChannelConfiguration.minimumReadBufferSize / MessageFrame.headerSize)

    init(ring: ShmRingReader) { self.ring = ring }

    deinit { lengths.deallocate() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadBatch {
        guard buffer.count >= ChannelConfiguration.minimumReadBufferSize else {
            throw ChannelError.bufferTooSmall(needed: ChannelConfiguration.minimumReadBufferSize)
        }
        let count = ring.read(into: buffer, lengths: lengths)
        guard count > 0 else { return .stopped }
        var bytes = 0
        for index in 0..<count { bytes += Int(lengths[index]) }
        return ReadBatch(byteCount: bytes, messageCount: count)
    }

    func stop() { ring.stop() }
    var lost: UInt64 { ring.lost }
    func close() { ring.close() }
}
