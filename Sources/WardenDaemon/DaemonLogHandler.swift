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
/// A burst logs a NOTICE per ban, so a record is assembled as bytes: the timestamp text is
/// kept per second and the `label [pid]:` prefix per handler.
public struct DaemonLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let output: LogOutput
    /// " label [pid]: ", after the timestamp.
    private let prefix: [UInt8]

    public init(label: String, output: LogOutput, level: Logger.Level) {
        self.output = output
        prefix = Self.recordPrefix(label: label)
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(160)
        LogTimestamp.append(to: &line)
        line += prefix
        line += Self.levelColumn(event.level)
        var merged = metadata
        if let extra = event.metadata {
            if merged.isEmpty { merged = extra } else { merged.merge(extra) { $1 } }
        }
        if let jail = merged.removeValue(forKey: "jail") {
            line.append(UInt8(ascii: "["))
            line += "\(jail)".utf8
            line += "] ".utf8
        }
        line += "\(event.message)".utf8
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line.append(UInt8(ascii: " "))
            line += key.utf8
            line.append(UInt8(ascii: "="))
            line += "\(value)".utf8
        }
        line.append(UInt8(ascii: "\n"))
        output.write(line)
    }

    /// " label [pid]: ", what follows the timestamp.
    static func recordPrefix(label: String) -> [UInt8] {
        Array(" \(label) [\(getpid())]: ".utf8)
    }

    /// The level in upper case, padded to 8 columns, and a space.
    static func levelColumn(_ level: Logger.Level) -> [UInt8] {
        let name = level.rawValue.uppercased()
        return Array((name + String(repeating: " ", count: max(0, 8 - name.count)) + " ").utf8)
    }
}

/// Local time with milliseconds, as fail2ban's default log format
/// (`2024-05-01 12:00:00,123`). The text up to the seconds is formatted once per second
/// (strftime and the time zone lookup are most of a record's cost otherwise).
enum LogTimestamp {
    private static let cached = Mutex<(second: Int, text: [UInt8])>((-1, []))

    static func append(to line: inout [UInt8]) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let second = spec.tv_sec
        line += cached.withLock { cache in
            if cache.second != second {
                cache = (second, format(second))
            }
            return cache.text
        }
        let millis = Int(spec.tv_nsec / 1_000_000)
        line += [UInt8(ascii: ","), UInt8(48 + millis / 100), UInt8(48 + millis / 10 % 10), UInt8(48 + millis % 10)]
    }

    private static func format(_ second: Int) -> [UInt8] {
        var seconds = second
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        return buffer.prefix(length).map { UInt8(bitPattern: $0) }
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

    func write(_ bytes: [UInt8]) {
        descriptor.withLock { descriptor in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else { return }
                    offset += written
                }
            }
        }
    }
}
