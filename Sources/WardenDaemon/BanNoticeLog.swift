import Logging
import Synchronization
import WardenJail

/// The `Ban <address>` NOTICE lines, one per ban as fail2ban logs them, written for a
/// whole chunk of bans at once: the lines are formatted as bytes into a buffer kept
/// between chunks and leave in one `write`. The layout is `DaemonLogHandler`'s:
///
///     2024-05-01 12:00:00,123 warden [4242]: NOTICE   [sshd] Ban 192.0.2.7 bancount=1 bantime=600 failures=3
///
/// Through swift-log each line cost a metadata dictionary, its sort and a write; that was
/// 9% of the jail thread's CPU in a 5,000-ban burst.
public final class BanNoticeLog: Sendable {
    private let output: LogOutput
    private let enabled: Bool
    /// " label [pid]: NOTICE   " after the timestamp.
    private let prefix: [UInt8]
    /// Kept between chunks so that a chunk allocates nothing once the buffer has grown.
    private let buffer = Mutex<[UInt8]>([])

    /// - Parameter level: the daemon's log level; below NOTICE (warning, error, ...) no line is written.
    public init(label: String, output: LogOutput, level: Logger.Level) {
        self.output = output
        enabled = level <= .notice
        prefix = DaemonLogHandler.recordPrefix(label: label) + DaemonLogHandler.levelColumn(.notice)
    }

    /// - Parameter addresses: each ban's address as text (formatted once for the store).
    func write(_ bans: [JailBan], addresses: [String]) {
        guard enabled, !bans.isEmpty else { return }
        // The lines are written together, so they carry the same time.
        var timestamp: [UInt8] = []
        LogTimestamp.append(to: &timestamp)
        buffer.withLock { line in
            line.removeAll(keepingCapacity: true)
            for (ban, address) in zip(bans, addresses) {
                line += timestamp
                line += prefix
                line.append(UInt8(ascii: "["))
                line.append(text: ban.jail)
                line.append(literal: "] Ban ")
                line.append(text: address)
                line.append(literal: " bancount=")
                line.append(text: String(ban.banCount))  // short numbers: no allocation
                line.append(literal: " bantime=")
                line.append(text: String(ban.banTime))
                line.append(literal: " failures=")
                line.append(text: String(ban.failures))
                line.append(UInt8(ascii: "\n"))
            }
            output.write(line)
        }
    }
}
