#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import WardenThreads

/// A minimal HTTP/1.0 responder for Prometheus on 127.0.0.1:`port`: every request gets
/// the current metrics and the connection is closed. One thread, woken by poll on the
/// listener and a stop eventfd; a client that sends nothing is cut off after 2 s.
public final class MetricsServer: Sendable {
    private let listener: Int32
    private let stopSignal: WakeSignal
    private let thread = Mutex<DedicatedThread?>(nil)

    public init(port: UInt16) throws(DaemonError) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system(call: "socket", path: nil, errno: errno) }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            let code = errno
            close(descriptor)
            throw .system(call: "bind", path: "127.0.0.1:\(port)", errno: code)
        }
        listener = descriptor
        stopSignal = try WakeSignal()
    }

    deinit { close(listener) }

    public func start(render: @escaping @Sendable () -> String) throws(DaemonError) {
        let running = try startDaemonThread { [self] in
            var request = [UInt8](repeating: 0, count: 4096)
            acceptConnections(on: listener, until: stopSignal) { connection in
                var timeout = timeval(tv_sec: 2, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                // The request line and headers are read and ignored: there is one resource.
                _ = read(connection, &request, request.count)
                let body = Array(render().utf8)
                let response = Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
                var offset = 0
                while offset < response.count {
                    let written = response.withUnsafeBytes { send(connection, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
                    guard written > 0 else { break }
                    offset += written
                }
                close(connection)
            }
        }
        thread.withLock { $0 = running }
    }

    public func stop() {
        guard let running = thread.withLock({ thread in defer { thread = nil }; return thread }) else { return }
        stopSignal.signal()
        running.join()
    }
}
