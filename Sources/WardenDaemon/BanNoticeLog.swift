import Logging
import Synchronization
import WardenJail
import WardenStore

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

    /// - Parameter rows: the bans' store rows, whose address texts the lines reuse.
    func write(_ bans: [JailBan], rows: BanRows) {
        guard enabled, !bans.isEmpty else { return }
        // The lines are written together, so they carry the same time: the timestamp and
        // the prefix after it are formatted once per chunk.
        var head: [UInt8] = []
        LogTimestamp.append(to: &head)
        head += prefix
        buffer.withLock { line in
            line.removeAll(keepingCapacity: true)
            for (index, ban) in bans.enumerated() {
                line += head
                line.append(UInt8(ascii: "["))
                line.append(text: ban.jail)
                line.append(literal: "] Ban ")
                line += rows.address(at: index)
                line.append(literal: " bancount=")
                line.append(decimal: ban.banCount)
                line.append(literal: " bantime=")
                line.append(decimal: Int(ban.banTime))
                line.append(literal: " failures=")
                line.append(decimal: ban.failures)
                line.append(UInt8(ascii: "\n"))
            }
            output.write(line)
        }
    }
}
