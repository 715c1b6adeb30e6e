import Glibc

/// What a TCP connection attempt met.
public enum ConnectOutcome: Equatable, Sendable {
    case connected, refused, unreachable, timedOut, other(Int32)
}

/// Sockets for packet tests: each is created on the calling thread, so in the network
/// namespace that thread is in (`NetworkNamespace.perform`).
public enum PacketProbe {
    static func socketAddress(_ address: String, port: UInt16) -> (storage: sockaddr_storage, length: socklen_t) {
        var storage = sockaddr_storage()
        if address.contains(":") {
            withUnsafeMutableBytes(of: &storage) { raw in
                let v6 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                v6.pointee.sin6_family = sa_family_t(AF_INET6)
                v6.pointee.sin6_port = port.bigEndian
                inet_pton(AF_INET6, address, &v6.pointee.sin6_addr)
            }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
        withUnsafeMutableBytes(of: &storage) { raw in
            let v4 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
            v4.pointee.sin_family = sa_family_t(AF_INET)
            v4.pointee.sin_port = port.bigEndian
            inet_pton(AF_INET, address, &v4.pointee.sin_addr)
        }
        return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
    }

    /// A bound socket (TCP: listening; the kernel completes handshakes without accept).
    public static func bound(_ address: String, port: UInt16, type: Int32) throws -> Int32 {
        let family = address.contains(":") ? AF_INET6 : AF_INET
        let descriptor = socket(family, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var (storage, length) = socketAddress(address, port: port)
        let bound = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard descriptor >= 0, bound == 0 else { throw TestFailure("bind \(address):\(port): errno \(errno)") }
        if type == Int32(SOCK_STREAM.rawValue) { listen(descriptor, 128) }
        return descriptor
    }

    public static func tcpConnect(_ address: String, port: UInt16, timeoutMilliseconds: Int32 = 1500) -> ConnectOutcome {
        let family = address.contains(":") ? AF_INET6 : AF_INET
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(descriptor) }
        var (storage, length) = socketAddress(address, port: port)
        let started = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) } }
        if started == 0 { return .connected }
        guard errno == EINPROGRESS else { return outcome(errno) }
        var waiting = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        guard poll(&waiting, 1, timeoutMilliseconds) == 1 else { return .timedOut }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &size)
        return error == 0 ? .connected : outcome(error)
    }

    private static func outcome(_ code: Int32) -> ConnectOutcome {
        switch code {
        case ECONNREFUSED: return .refused
        case EHOSTUNREACH, ENETUNREACH, EACCES: return .unreachable
        case ETIMEDOUT: return .timedOut
        default: return .other(code)
        }
    }

    /// Sends one datagram from a fresh socket (on the calling thread's namespace).
    public static func udpSend(_ address: String, port: UInt16) {
        let family = address.contains(":") ? AF_INET6 : AF_INET
        let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(descriptor) }
        var (storage, length) = socketAddress(address, port: port)
        var byte: UInt8 = 42
        _ = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, &byte, 1, 0, $0, length) } }
    }

    /// Whether a datagram arrives on `descriptor` within the wait (drains one).
    public static func udpReceived(_ descriptor: Int32, timeoutMilliseconds: Int32 = 1000) -> Bool {
        var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&waiting, 1, timeoutMilliseconds) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, 0) == 1
    }

    /// `GET /` over HTTP/1.0; the whole response (status line, headers, body) as text.
    public static func httpGet(_ address: String, port: UInt16) throws -> String {
        let family = address.contains(":") ? AF_INET6 : AF_INET
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(descriptor) }
        var (storage, length) = socketAddress(address, port: port)
        let connected = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) } }
        guard connected == 0 else { throw TestFailure("connect \(address):\(port): errno \(errno)") }
        let request = Array("GET / HTTP/1.0\r\n\r\n".utf8)
        guard send(descriptor, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { throw TestFailure("send: errno \(errno)") }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else { break }
            response += chunk[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }

    /// Sends one ICMP echo request over a raw socket and waits for the echo reply (the
    /// image has no `ping` binary).
    public static func ping(_ address: String, timeoutMilliseconds: Int32 = 1000) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMP))
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let identifier = UInt16(truncatingIfNeeded: getpid())
        var packet: [UInt8] = [8, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xff), 0, 1] + Array("warden".utf8)
        var sum: UInt32 = 0
        for index in stride(from: 0, to: packet.count, by: 2) {
            sum += UInt32(packet[index]) << 8 | UInt32(index + 1 < packet.count ? packet[index + 1] : 0)
        }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        packet[2] = UInt8(checksum >> 8)
        packet[3] = UInt8(checksum & 0xff)
        var (storage, length) = socketAddress(address, port: 0)
        _ = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, packet, packet.count, 0, $0, length) } }
        var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        var reply = [UInt8](repeating: 0, count: 1500)
        while poll(&waiting, 1, timeoutMilliseconds) == 1 {
            let count = recv(descriptor, &reply, reply.count, 0)
            // A raw IPv4 socket returns the IP header first.
            let header = Int(reply[0] & 0x0f) * 4
            if count >= header + 8, reply[header] == 0, reply[header + 4] == UInt8(identifier >> 8),
               reply[header + 5] == UInt8(identifier & 0xff) {
                return true
            }
        }
        return false
    }
}
