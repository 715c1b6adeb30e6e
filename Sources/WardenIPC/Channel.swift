#if canImport(Glibc)
import Glibc
#endif

// The one Channel API every adapter implements: writers publish framed messages, readers
// consume them, and each reader sees every message (or counts what it missed).

/// Publishes messages into a channel. One writer is used by one thread at a time.
///
/// Messages are buffered and become visible to readers on `flush()` (or earlier, when an
/// adapter's batch fills up). Under the back-pressure policy `flush()` blocks until every
/// live reader has room; under overwrite or drop it never waits.
public protocol ChannelWriter: AnyObject {
    /// Queues one message.
    func publish(_ type: MessageType, payload: UnsafeRawBufferPointer) throws
    /// Queues a batch of already framed messages (`MessageFrame` records packed back to back).
    /// The bytes are checked; a malformed batch is rejected whole.
    func publish(frames: UnsafeRawBufferPointer) throws
    /// Makes everything queued so far visible to readers.
    func flush() throws
    /// Flushes and releases the channel; further calls throw `ChannelError.closed`.
    func close() throws
}

extension ChannelWriter {
    /// Queues one log line (without its newline).
    public func publish(line: some Collection<UInt8>) throws {
        let copied: Void? = try line.withContiguousStorageIfAvailable { try publish(.logLine, payload: UnsafeRawBufferPointer($0)) }
        if copied == nil { try Array(line).withUnsafeBytes { try publish(.logLine, payload: $0) } }
    }

    /// Queues a ban or unban decision.
    public func publish(_ decision: BanDecision, as type: MessageType = .ban) throws {
        try decision.withEncoded { try publish(type, payload: $0) }
    }
}

/// What one `ChannelReader.read(into:)` call delivered.
public struct ReadBatch: Equatable, Sendable {
    /// Bytes of whole frames written at the start of the caller's buffer.
    public var byteCount: Int
    /// Number of frames in those bytes.
    public var messageCount: Int

    public init(byteCount: Int, messageCount: Int) {
        self.byteCount = byteCount
        self.messageCount = messageCount
    }

    /// A read that returned because the reader was stopped.
    public static let stopped = ReadBatch(byteCount: 0, messageCount: 0)
    public var isStopped: Bool { messageCount == 0 }
}

/// Consumes messages from a channel. `read` is called by one thread at a time; `stop` and
/// `lost` may be used from any thread.
public protocol ChannelReader: AnyObject, Sendable {
    /// Blocks (woken by the kernel, never a polling sleep) until at least one message is
    /// available, then copies as many whole frames as fit into `buffer`. Returns
    /// `ReadBatch.stopped` once `stop()` was called. `buffer` must hold at least
    /// `ChannelConfiguration.minimumReadBufferSize` bytes.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadBatch
    /// Wakes a blocked `read` and makes every later `read` return `ReadBatch.stopped`.
    func stop()
    /// Messages this reader missed (overwritten, dropped for being slow, rotated away).
    var lost: UInt64 { get }
    /// Releases the reader's resources; call after the reading thread is done.
    func close()
}

/// Failures opening or using a channel.
public enum ChannelError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsupported(String)
    case invalidOption(name: String, value: String, reason: String)
    case system(call: String, path: String?, errno: Int32)
    case closed
    case bufferTooSmall(needed: Int)
    case corrupt(path: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case .unsupported(let what): return "unsupported: \(what)"
        case .invalidOption(let name, let value, let reason): return "invalid \(name) = \(value): \(reason)"
        case .system(let call, let path, let code):
            return "\(call)\(path.map { " \($0)" } ?? ""): \(String(cString: strerror(code)))"
        case .closed: return "channel is closed"
        case .bufferTooSmall(let needed): return "read buffer must hold at least \(needed) bytes"
        case .corrupt(let path, let offset, let reason): return "\(path) at offset \(offset): \(reason)"
        }
    }
}

/// Opens writers and readers for a configuration.
public enum Channel {
    /// A writer for `configuration`.
    public static func makeWriter(_ configuration: ChannelConfiguration) throws -> any ChannelWriter {
        switch configuration.adapter {
        case .memory: return MemoryChannel.named(configuration.path, configuration: configuration).makeWriter()
        case .file: return try FileChannelWriter(configuration)
        case .socket: return try SocketChannelWriter(configuration)
        case .shm: return try ShmChannel.makeWriter(configuration)
        }
    }

    /// A reader attached under `name` (unique per channel: it names the reader's socket,
    /// saved file offset or shm cursor, so a restarted reader reattaches).
    public static func makeReader(_ configuration: ChannelConfiguration, name: String) throws -> any ChannelReader {
        switch configuration.adapter {
        case .memory: return MemoryChannel.named(configuration.path, configuration: configuration).makeReader()
        case .file: return try FileChannelReader(configuration, name: name)
        case .socket: return try SocketChannelReader(configuration, name: name)
        case .shm: return try ShmChannel.makeReader(configuration, name: name)
        }
    }
}
