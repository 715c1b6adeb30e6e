#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// A client's command: `["status", "sshd"]`, `["ban", "sshd", "192.0.2.7"]`, ...
public struct ControlRequest: Codable, Sendable, Equatable {
    public var command: [String]
    public init(command: [String]) { self.command = command }
}

/// The daemon's answer: `text` as fail2ban-client would print it, `json` the same answer
/// as a JSON document for scripts, `status` the exit status the client should return.
public struct ControlResponse: Codable, Sendable, Equatable {
    public var status: Int32
    public var text: String
    public var json: String

    public init(status: Int32 = 0, text: String, json: String) {
        self.status = status
        self.text = text
        self.json = json
    }

    public static func error(_ message: String) -> ControlResponse {
        ControlResponse(status: 255, text: "ERROR  " + message, json: (["error": .string(message)] as ControlJSON).text)
    }
}

/// Framing on the control socket: a 4-byte big-endian length, then that many bytes of
/// JSON. One request and one response per connection. Lengths above 1 MiB are refused so
/// a hostile peer cannot make the daemon allocate without bound.
enum ControlFraming {
    static let maximumLength = 1 << 20

    static func send<T: Encodable>(_ value: T, on descriptor: Int32) throws {
        let body = [UInt8](try JSONEncoder().encode(value))
        let length = UInt32(body.count)
        var frame: [UInt8] = [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        frame += body
        var offset = 0
        while offset < frame.count {
            let written = frame.withUnsafeBytes { send_shim(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw DaemonError.system(call: "send", path: nil, errno: errno) }
            offset += written
        }
    }

    static func receive<T: Decodable>(_ type: T.Type, from descriptor: Int32) throws -> T {
        let header = try readExactly(4, from: descriptor)
        let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        guard length <= maximumLength else { throw DaemonError.protocolViolation("message of \(length) bytes exceeds 1 MiB") }
        let body = try readExactly(length, from: descriptor)
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw DaemonError.protocolViolation("malformed message: \(error)")
        }
    }

    private static func readExactly(_ count: Int, from descriptor: Int32) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + offset, count - offset) }
            if got < 0 && errno == EINTR { continue }
            if got < 0 { throw DaemonError.system(call: "read", path: nil, errno: errno) }
            guard got > 0 else { throw DaemonError.protocolViolation("connection closed after \(offset) of \(count) bytes") }
            offset += got
        }
        return bytes
    }

    /// send(2) without SIGPIPE when the peer went away.
    private static func send_shim(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        Glibc.send(descriptor, buffer, count, Int32(MSG_NOSIGNAL))
    }
}
