#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// A swift-log handler writing one line per record to a file descriptor, in fail2ban's
/// log layout followed by the structured metadata as `key=value` pairs:
///
///     2024-05-01 12:00:00,123 warden.jail [4242]: NOTICE  [sshd] Ban 192.0.2.7 bantime=600
///
/// One `write` per record, under a lock, so lines from different threads never interleave.
public struct DaemonLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let output: LogOutput

    public init(label: String, output: LogOutput, level: Logger.Level) {
        self.label = label
        self.output = output
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = Self.timestamp() + " " + label + " [\(getpid())]: "
        line += event.level.rawValue.uppercased().padding(to: 8) + " "
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        if let jail = merged.removeValue(forKey: "jail") { line += "[\(jail)] " }
        line += "\(event.message)"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
        output.write(line + "\n")
    }

    /// Local time with milliseconds, as fail2ban's default log format.
    private static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        let text = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let millis = Int(spec.tv_nsec / 1_000_000)
        return text + "," + (millis < 10 ? "00" : millis < 100 ? "0" : "") + String(millis)
    }
}

/// Where log lines go: fail2ban's `logtarget` (`STDOUT`, `STDERR`, `SYSLOG`,
/// `SYSTEMD-JOURNAL` or a file path, appended to).
public final class LogOutput: Sendable {
    private let descriptor: Mutex<Int32>
    private let ownsDescriptor: Bool

    public init(target: String) throws(DaemonError) {
        switch target.uppercased() {
        case "STDOUT": descriptor = Mutex(1); ownsDescriptor = false
        // A service manager captures stderr into its journal, which is what fail2ban's
        // SYSLOG and SYSTEMD-JOURNAL targets end up as under systemd.
        case "STDERR", "SYSLOG", "SYSTEMD-JOURNAL": descriptor = Mutex(2); ownsDescriptor = false
        default:
            let opened = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            guard opened >= 0 else { throw .system(call: "open", path: target, errno: errno) }
            descriptor = Mutex(opened)
            ownsDescriptor = true
        }
    }

    deinit {
        if ownsDescriptor { descriptor.withLock { _ = close($0) } }
    }

    func write(_ text: String) {
        var bytes = Array(text.utf8)
        descriptor.withLock { descriptor in
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
