#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// Socket adapter, writer side: connects to every reader socket in `<ipc.path>/` and sends
/// each batch to each of them as one SEQPACKET packet (so N readers cost N sends per batch,
/// never a send per message).
///
/// Readers that appear later are found through inotify on the directory, checked once per
/// flush without blocking. Under back-pressure a send blocks until the reader has room;
/// under drop (and overwrite, which a socket cannot do) a full reader is skipped and the
/// count of skipped messages travels in the header of the next packet it does get. A
/// reader that went away (EPIPE, ECONNRESET) is forgotten.
///
/// Authorisation runs both ways: the reader checks the writer's SO_PEERCRED, and the writer
/// checks the credentials of the process that listens on a socket before sending it
/// anything, so a socket planted in the directory by an unauthorised user gets no data.
public final class SocketChannelWriter: BatchingChannelWriter {
    private struct Peer {
        let fd: Int32
        var dropped: UInt64
    }

    /// IN_CREATE | IN_MOVED_TO (sys/inotify.h is not importable next to Glibc).
    static let directoryEvents: UInt32 = 0x100 | 0x80

    private let configuration: ChannelConfiguration
    let batch = FrameBatch(headroom: SocketChannelReader.packetHeaderSize)
    private let directoryWatch: Int32
    private var peers: [String: Peer] = [:]
    private(set) var closed = false
    private var refusedReaders: UInt64 = 0

    public init(_ configuration: ChannelConfiguration) throws {
        self.configuration = configuration
        try makeChannelDirectory(configuration.path, configuration: configuration)
        directoryWatch = try systemCall("inotify_init1") { warden_inotify_init() }
        let watchFD = directoryWatch
        do {
            try systemCall("inotify_add_watch", path: configuration.path) {
                warden_inotify_add_watch(watchFD, configuration.path, Self.directoryEvents)
            }
        } catch {
            Glibc.close(watchFD)
            throw error
        }
        connectNewReaders()
    }

    /// Readers this writer currently sends to.
    public var readerCount: Int { peers.count }
    /// Connections this writer closed because the listening process failed `ipc.allow`.
    public var refused: UInt64 { refusedReaders }

    public func flush() throws {
        guard !closed else { throw ChannelError.closed }
        guard batch.messageCount > 0 else { return }
        if directoryChanged() { connectNewReaders() }
        let packet = batch.packet
        let flags = Int32(MSG_NOSIGNAL) | (configuration.policy == .backpressure ? 0 : Int32(MSG_DONTWAIT))
        for (name, peer) in peers {
            packet.storeBytes(of: peer.dropped.littleEndian, toByteOffset: 0, as: UInt64.self)
            var sent: Int
            repeat { sent = send(peer.fd, packet.baseAddress, packet.count, flags) } while sent == -1 && errno == EINTR
            if sent == packet.count {
                peers[name]?.dropped = 0
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS {
                peers[name]?.dropped += UInt64(batch.messageCount)
            } else {
                Glibc.close(peer.fd)
                peers[name] = nil
            }
        }
        batch.reset()
    }

    public func close() throws {
        guard !closed else { return }
        defer {
            for peer in peers.values { Glibc.close(peer.fd) }
            peers.removeAll()
            Glibc.close(directoryWatch)
            closed = true
        }
        try flush()
    }

    /// Drains pending inotify events; true when any arrived.
    private func directoryChanged() -> Bool {
        var events = [UInt8](repeating: 0, count: 4096)
        var changed = false
        while events.withUnsafeMutableBytes({ Glibc.read(directoryWatch, $0.baseAddress, $0.count) }) > 0 { changed = true }
        return changed
    }

    /// Connects to every `*.sock` in the directory not connected yet. Stale sockets of dead
    /// readers refuse the connection and are skipped.
    private func connectNewReaders() {
        guard let directory = opendir(configuration.path) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".sock") else { continue }
            if let existing = peers[name] {
                // A restarted reader replaced its socket: keep the old connection only while it is alive.
                guard !isHungUp(existing.fd) else {
                    Glibc.close(existing.fd)
                    peers[name] = nil
                    if let fd = connect(to: configuration.path + "/" + name) { peers[name] = Peer(fd: fd, dropped: 0) }
                    continue
                }
                continue
            }
            if let fd = connect(to: configuration.path + "/" + name) { peers[name] = Peer(fd: fd, dropped: 0) }
        }
    }

    private func isHungUp(_ fd: Int32) -> Bool {
        var probe = pollfd(fd: fd, events: 0, revents: 0)
        return poll(&probe, 1, 0) > 0 && probe.revents & Int16(POLLHUP | POLLERR) != 0
    }

    private func connect(to path: String) -> Int32? {
        guard var address = try? unixAddress(path) else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            return nil
        }
        // SO_PEERCRED on a connected socket names the process that called listen().
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        guard warden_peer_credentials(fd, &pid, &uid, &gid) == 0, configuration.allows(uid: uid, gid: gid) else {
            refusedReaders += 1
            Glibc.close(fd)
            return nil
        }
        // Large send buffers let a batch or two queue per reader without blocking.
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }
}
