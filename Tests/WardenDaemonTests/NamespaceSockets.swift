import CLinux
import Foundation
import Glibc

/// TCP probes made from inside a named network namespace: a pthread enters it with
/// setns (the change stays on that thread), creates the socket, and leaves. A socket
/// belongs to the namespace it was created in, so a listener stays in the server's.
enum NamespaceSockets {
    /// A listening TCP socket on `address:port` in `namespace`; the caller closes it.
    static func listen(in namespace: String, address: String, port: UInt16) throws -> Int32 {
        try inNamespace(namespace) {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var yes: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
            var target = try socketAddress(address, port)
            let bound = withUnsafePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard bound == 0, Glibc.listen(descriptor, 16) == 0 else { throw HarnessError("listen: errno \(errno)") }
            return descriptor
        }
    }

    /// Whether a TCP connect from `namespace` to `address:port` completes within 1 s.
    static func canConnect(from namespace: String, to address: String, port: UInt16) throws -> Bool {
        try inNamespace(namespace) {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            defer { close(descriptor) }
            var target = try socketAddress(address, port)
            let started = withUnsafePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if started == 0 { return true }
            guard errno == EINPROGRESS else { return false }
            var descriptors = [pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)]
            guard poll(&descriptors, 1, 1000) == 1 else { return false }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
            return error == 0
        }
    }

    /// `GET /` over HTTP/1.0 to `address:port` from inside `namespace`; the whole
    /// response (status line, headers, body) as text.
    static func httpGet(in namespace: String, address: String, port: UInt16) throws -> String {
        try inNamespace(namespace) {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(descriptor) }
            var target = try socketAddress(address, port)
            let connected = withUnsafePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard connected == 0 else { throw HarnessError("connect \(address):\(port): errno \(errno)") }
            let request = Array("GET / HTTP/1.0\r\n\r\n".utf8)
            guard send(descriptor, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { throw HarnessError("send: errno \(errno)") }
            var response: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(descriptor, &chunk, chunk.count)
                guard count > 0 else { break }
                response += chunk[0..<count]
            }
            return String(decoding: response, as: UTF8.self)
        }
    }

    private static func socketAddress(_ address: String, _ port: UInt16) throws -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &result.sin_addr) == 1 else { throw HarnessError("bad address \(address)") }
        return result
    }

    private static func inNamespace<T: Sendable>(_ namespace: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let thread = Thread {
            box.result = Result {
                let descriptor = open("/var/run/netns/\(namespace)", O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else { throw HarnessError("open netns \(namespace): errno \(errno)") }
                defer { close(descriptor) }
                guard warden_enter_network_namespace(descriptor) == 0 else { throw HarnessError("setns: errno \(errno)") }
                return try body()
            }
            box.done.signal()
        }
        thread.start()
        box.done.wait()
        return try box.result!.get()
    }
}

/// Written by the probe thread before it signals, read after the wait.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
    let done = DispatchSemaphore(value: 0)
}
