#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization
import WardenThreads

/// The daemon's control socket: a Unix stream socket created 0600, whose peers are checked
/// with SO_PEERCRED (root or the daemon's own uid; anyone else gets a refusal and is
/// counted). One thread accepts and answers, one request per connection; a client that
/// stalls is cut off by a receive timeout, so it cannot block the others for long.
public final class ControlServer: Sendable {
    public let path: String
    private let listener: Int32
    private let stopSignal: WakeSignal
    private let thread = Mutex<DedicatedThread?>(nil)
    /// Connections refused for their credentials.
    public let refused = Atomic<Int>(0)

    public init(path: String) throws(DaemonError) {
        self.path = path
        try Self.makeParentDirectory(of: path)
        if ControlClient.isListening(path) {
            throw .refused("another daemon answers on \(path)")
        }
        unlink(path)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system(call: "socket", path: path, errno: errno) }
        var address = try Self.address(path)
        // Created without group/other bits from the start: no window in which another
        // user could connect before the chmod.
        let previousMask = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previousMask)
        guard bound == 0, chmod(path, 0o600) == 0, listen(descriptor, 64) == 0 else {
            let code = errno
            close(descriptor)
            throw .system(call: "bind", path: path, errno: code)
        }
        listener = descriptor
        stopSignal = try WakeSignal()
    }

    deinit {
        close(listener)
    }

    /// Answers requests on a dedicated thread until `stop()`.
    public func start(handler: @escaping @Sendable (ControlRequest) -> ControlResponse) throws(DaemonError) {
        let running = try startDaemonThread { [self] in
            acceptConnections(on: listener, until: stopSignal) { connection in
                serve(connection, handler)
                close(connection)
            }
        }
        thread.withLock { $0 = running }
    }

    /// Stops accepting, joins the thread and removes the socket file.
    public func stop() {
        if let running = thread.withLock({ thread in defer { thread = nil }; return thread }) {
            stopSignal.signal()
            running.join()
        }
        unlink(path)
    }

    private func serve(_ connection: Int32, _ handler: (ControlRequest) -> ControlResponse) {
        var pid: Int32 = 0, uid: UInt32 = 0, gid: UInt32 = 0
        guard warden_peer_credentials(connection, &pid, &uid, &gid) == 0 else { return }
        guard uid == 0 || uid == geteuid() else {
            refused.add(1, ordering: .relaxed)
            try? ControlFraming.send(ControlResponse.error("permission denied: uid \(uid) may not control warden"), on: connection)
            return
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let response: ControlResponse
        do {
            response = handler(try ControlFraming.receive(ControlRequest.self, from: connection))
        } catch {
            response = .error("\(error)")
        }
        try? ControlFraming.send(response, on: connection)
    }

    static func address(_ path: String) throws(DaemonError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw .configuration("socket path \(path) is longer than \(capacity - 1) bytes") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    private static func makeParentDirectory(of path: String) throws(DaemonError) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let parent = String(path[..<slash])
        var components = ""
        for part in parent.split(separator: "/") {
            components += "/" + part
            if mkdir(components, 0o755) != 0 && errno != EEXIST {
                throw .system(call: "mkdir", path: components, errno: errno)
            }
        }
    }
}

/// The client side: one connection per request.
public enum ControlClient {
    public static func send(_ request: ControlRequest, to path: String) throws -> ControlResponse {
        let descriptor = try connect(path)
        defer { close(descriptor) }
        try ControlFraming.send(request, on: descriptor)
        return try ControlFraming.receive(ControlResponse.self, from: descriptor)
    }

    static func isListening(_ path: String) -> Bool {
        guard let descriptor = try? connect(path) else { return false }
        close(descriptor)
        return true
    }

    private static func connect(_ path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw DaemonError.system(call: "socket", path: path, errno: errno) }
        var address = try ControlServer.address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(descriptor)
            throw DaemonError.system(call: "connect", path: path, errno: code)
        }
        return descriptor
    }
}
