#if canImport(Glibc)
import Glibc
#endif

/// Failures of the daemon, its workers and the control socket, with enough context to
/// act on (the path, the call, the jail).
public enum DaemonError: Error, Sendable, CustomStringConvertible {
    case system(call: String, path: String?, errno: Int32)
    case configuration(String)
    case protocolViolation(String)
    case refused(String)

    public var description: String {
        switch self {
        case .system(let call, let path, let code):
            return "\(call)\(path.map { " \($0)" } ?? ""): \(String(cString: strerror(code)))"
        case .configuration(let message): return message
        case .protocolViolation(let message): return "control protocol: \(message)"
        case .refused(let message): return message
        }
    }
}
