#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization

/// Socket adapter, reader side: listens on `<ipc.path>/<name>.sock` (SOCK_SEQPACKET) and
/// receives from every writer that connects.
///
/// Each SEQPACKET packet is one writer batch: an 8-byte little-endian count of messages the
/// writer dropped for this reader since its previous packet (drop policy), then whole
/// frames. One `recvmsg` therefore moves up to `ChannelConfiguration.batchSize` bytes of
/// messages. Peers are checked with SO_PEERCRED against `ipc.allow`; refused peers are
/// closed and counted, and so are connections that send malformed packets.
public final class SocketChannelReader: ChannelReader, @unchecked Sendable {
    // Invariant: `read` runs on one thread at a time; only the atomics and `stopSignal`
    // (an eventfd, whose write is thread-safe) are touched by `stop` and `lost` callers.
    static let packetHeaderSize = 8

    public let socketPath: String
    private let configuration: ChannelConfiguration
    private let listener: Int32
    private let poller: Int32
    private let stopSignal: Int32
    private let stopped = Atomic<Bool>(false)
    private let lostMessages = Atomic<UInt64>(0)
    private let refusedPeers = Atomic<UInt64>(0)
    private let malformedPackets = Atomic<UInt64>(0)
    /// Connections whose last receive filled the buffer, so they may hold more packets.
    private var pending: [Int32] = []
    private var connections: Set<Int32> = []

    public init(_ configuration: ChannelConfiguration, name: String) throws {
        self.configuration = configuration
        try makeChannelDirectory(configuration.path, configuration: configuration)
        socketPath = configuration.path + "/" + name + ".sock"
        var address = try unixAddress(socketPath)
        listener = try systemCall("socket") { socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
        // A reader restarted after kill -9 finds its old socket file; nothing listens on it.
        unlink(socketPath)
        let path = socketPath
        let listenFD = listener
        do {
            try systemCall("bind", path: path) {
                withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            }
            try applyOwnership(socketPath, configuration: configuration)
            try systemCall("listen", path: path) { listen(listenFD, 128) }
            poller = try systemCall("epoll_create1") { warden_epoll_create() }
            stopSignal = try systemCall("eventfd") { warden_eventfd() }
        } catch {
            Glibc.close(listenFD)
            unlink(path)
            throw error
        }
        try watch(listener)
        try watch(stopSignal)
    }

    /// Peers refused by the credential check.
    public var refused: UInt64 { refusedPeers.load(ordering: .relaxed) }
    /// Connections closed for sending a packet that is not a header plus whole frames.
    public var malformed: UInt64 { malformedPackets.load(ordering: .relaxed) }
    public var lost: UInt64 { lostMessages.load(ordering: .relaxed) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadBatch {
        let packetCapacity = ChannelConfiguration.batchSize
        guard buffer.count >= packetCapacity else { throw ChannelError.bufferTooSmall(needed: packetCapacity) }
        var batch = ReadBatch(byteCount: 0, messageCount: 0)
        var events = [Int32](repeating: 0, count: 64)
        while true {
            if stopped.load(ordering: .acquiring) { return .stopped }
            // First drain connections known to hold more, then ask the kernel (blocking only
            // when nothing was received yet).
            var ready = pending
            if ready.isEmpty || batch.messageCount == 0 {
                let timeout: Int32 = (batch.messageCount > 0 || !ready.isEmpty) ? 0 : -1
                let count = warden_epoll_wait(poller, &events, Int32(events.count), timeout)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw ChannelError.system(call: "epoll_wait", path: socketPath, errno: errno)
                }
                for fd in events.prefix(Int(count)) {
                    switch fd {
                    case stopSignal: return .stopped
                    case listener: try acceptPeers()
                    default: if !ready.contains(fd) { ready.append(fd) }
                    }
                }
            }
            // Connections the buffer had no room for go first next time, ahead of those it
            // was filled from: otherwise one writer that always has a buffer's worth queued
            // is read first on every call and starves the others.
            var unreached: [Int32] = []
            var filledFrom: [Int32] = []
            for fd in ready {
                guard buffer.count - batch.byteCount >= packetCapacity else {
                    unreached.append(fd)
                    continue
                }
                while buffer.count - batch.byteCount >= packetCapacity {
                    guard let received = receive(from: fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[batch.byteCount...])) else { break }
                    batch.byteCount += received.bytes
                    batch.messageCount += received.messages
                }
                if buffer.count - batch.byteCount < packetCapacity, connections.contains(fd) { filledFrom.append(fd) }
            }
            pending = unreached + filledFrom
            if batch.messageCount > 0 { return batch }
        }
    }

    /// One packet from `fd` into `destination`: its frames' size and count, or nil when the
    /// connection has nothing more now (or was closed).
    private func receive(from fd: Int32, into destination: UnsafeMutableRawBufferPointer) -> (bytes: Int, messages: Int)? {
        var header: UInt64 = 0
        let received: Int = withUnsafeMutableBytes(of: &header) { headerBytes in
            var vectors = [
                iovec(iov_base: headerBytes.baseAddress, iov_len: Self.packetHeaderSize),
                iovec(iov_base: destination.baseAddress, iov_len: ChannelConfiguration.batchSize),
            ]
            return vectors.withUnsafeMutableBufferPointer { vectorBuffer in
                var message = msghdr()
                message.msg_iov = vectorBuffer.baseAddress
                message.msg_iovlen = 2
                while true {
                    let result = recvmsg(fd, &message, Int32(MSG_DONTWAIT))
                    if result >= 0, message.msg_flags & Int32(MSG_TRUNC) != 0 { return -2 }
                    if result == -1 && errno == EINTR { continue }
                    return result
                }
            }
        }
        if received == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) { return nil }
        if received <= 0 {
            // End of stream, reset, or a truncated (oversized) packet.
            if received == -2 { malformedPackets.add(1, ordering: .relaxed) }
            disconnect(fd)
            return nil
        }
        guard received >= Self.packetHeaderSize else {
            malformedPackets.add(1, ordering: .relaxed)
            disconnect(fd)
            return nil
        }
        let frameBytes = received - Self.packetHeaderSize
        let frames = UnsafeRawBufferPointer(rebasing: destination[0..<frameBytes])
        guard let whole = try? FrameIterator.wholeFrames(in: frames), whole.bytes == frameBytes, whole.count > 0 else {
            malformedPackets.add(1, ordering: .relaxed)
            disconnect(fd)
            return nil
        }
        let dropped = UInt64(littleEndian: header)
        if dropped > 0 { lostMessages.add(dropped, ordering: .relaxed) }
        return (frameBytes, whole.count)
    }

    private func acceptPeers() throws {
        while true {
            let fd = warden_accept_nonblocking(listener)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                throw ChannelError.system(call: "accept4", path: socketPath, errno: errno)
            }
            var pid: Int32 = 0
            var uid: UInt32 = 0
            var gid: UInt32 = 0
            guard warden_peer_credentials(fd, &pid, &uid, &gid) == 0, configuration.allows(uid: uid, gid: gid) else {
                refusedPeers.add(1, ordering: .relaxed)
                Glibc.close(fd)
                continue
            }
            try watch(fd)
            connections.insert(fd)
        }
    }

    private func watch(_ fd: Int32) throws {
        try systemCall("epoll_ctl", path: socketPath) { warden_epoll_add(poller, fd) }
    }

    private func disconnect(_ fd: Int32) {
        // Closing the only descriptor also removes it from the epoll set.
        guard connections.remove(fd) != nil else { return }
        Glibc.close(fd)
    }

    public func stop() {
        stopped.store(true, ordering: .releasing)
        var one: UInt64 = 1
        _ = write(stopSignal, &one, 8)
    }

    public func close() {
        for fd in connections { Glibc.close(fd) }
        connections.removeAll()
        Glibc.close(listener)
        Glibc.close(poller)
        Glibc.close(stopSignal)
        unlink(socketPath)
    }
}
