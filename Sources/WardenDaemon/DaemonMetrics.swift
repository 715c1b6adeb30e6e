import Synchronization
import WardenIPC

/// Counters of one jail, updated from the jail's threads without locks.
public final class JailMetrics: Sendable {
    public let linesRead = Atomic<Int>(0)
    public let failures = Atomic<Int>(0)
    public let bans = Atomic<Int>(0)
    public let unbans = Atomic<Int>(0)
    /// Decisions published and not yet applied by a ban worker of this process.
    public let channelDepth = Atomic<Int>(0)
    /// Messages the jail's channel readers reported as lost.
    public let channelLost = Atomic<Int>(0)
    /// Bans currently believed active (from the store at start, then decisions).
    public let currentlyFailed = Atomic<Int>(0)

    init() {}
}

/// Ban latency histogram: from the moment the tailer handed over the line that completed
/// a ban to the moment the nftables transaction holding it committed. Only bans applied by
/// a ban worker in the same process are observed (the decision record carries no
/// monotonic time across processes).
public final class LatencyHistogram: Sendable {
    /// Upper bounds in seconds (Prometheus `le`).
    public static let bounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    private let buckets: [BucketCounter]
    private let count = Atomic<Int>(0)
    private let sumNanoseconds = Atomic<Int>(0)
    private let samples = Mutex<[UInt64]>([])

    init() {
        buckets = Self.bounds.map { _ in BucketCounter() }
    }

    func observe(nanoseconds: UInt64) {
        let seconds = Double(nanoseconds) / 1e9
        for (index, bound) in Self.bounds.enumerated() where seconds <= bound {
            buckets[index].value.add(1, ordering: .relaxed)
        }
        count.add(1, ordering: .relaxed)
        sumNanoseconds.add(Int(nanoseconds), ordering: .relaxed)
        samples.withLock { if $0.count < 1 << 16 { $0.append(nanoseconds) } }
    }

    /// Median and 99th percentile in nanoseconds of the first 65,536 observations.
    public func percentiles() -> (median: UInt64, p99: UInt64, count: Int)? {
        let sorted = samples.withLock { $0 }.sorted()
        guard !sorted.isEmpty else { return nil }
        return (sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 99 / 100)], sorted.count)
    }

    func render(name: String) -> String {
        var text = "# HELP \(name) Seconds from reading the line that completed a ban to its nftables commit.\n# TYPE \(name) histogram\n"
        for (index, bound) in Self.bounds.enumerated() {
            text += "\(name)_bucket{le=\"\(bound)\"} \(buckets[index].value.load(ordering: .relaxed))\n"
        }
        text += "\(name)_bucket{le=\"+Inf\"} \(count.load(ordering: .relaxed))\n"
        text += "\(name)_sum \(Double(sumNanoseconds.load(ordering: .relaxed)) / 1e9)\n"
        text += "\(name)_count \(count.load(ordering: .relaxed))\n"
        return text
    }
}

/// The daemon's metrics, rendered in Prometheus' text format.
public final class DaemonMetrics: Sendable {
    private let jails = Mutex<[(String, JailMetrics)]>([])
    public let banLatency = LatencyHistogram()
    /// When a ban decision was made, by (jail, address), until a local worker applies it.
    private let pendingBans = Mutex<[BanKey: UInt64]>([:])

    public init() {}

    public func jail(_ name: String) -> JailMetrics {
        jails.withLock { list in
            if let found = list.first(where: { $0.0 == name }) { return found.1 }
            let created = JailMetrics()
            list.append((name, created))
            return created
        }
    }

    func banDecided(jail: String, address: NetworkAddress, readAt: UInt64) {
        pendingBans.withLock { pending in
            if pending.count < 1 << 20 { pending[BanKey(jail: jail, address: address)] = readAt }
        }
    }

    func banApplied(jail: String, address: NetworkAddress, at now: UInt64) {
        guard let start = pendingBans.withLock({ $0.removeValue(forKey: BanKey(jail: jail, address: address)) }) else { return }
        banLatency.observe(nanoseconds: now > start ? now - start : 0)
    }

    public func render() -> String {
        let list = jails.withLock { $0 }
        var text = ""
        let families: [(String, String, String, (JailMetrics) -> Int)] = [
            ("warden_lines_read_total", "counter", "Log lines read by the jail.", { $0.linesRead.load(ordering: .relaxed) }),
            ("warden_failures_total", "counter", "Failures the jail's filter found.", { $0.failures.load(ordering: .relaxed) }),
            ("warden_bans_total", "counter", "Ban decisions.", { $0.bans.load(ordering: .relaxed) }),
            ("warden_unbans_total", "counter", "Unban decisions (client unban).", { $0.unbans.load(ordering: .relaxed) }),
            ("warden_channel_depth", "gauge", "Decisions published and not yet applied.", { $0.channelDepth.load(ordering: .relaxed) }),
            ("warden_channel_lost_total", "counter", "Decisions the ban workers' channel lost.", { $0.channelLost.load(ordering: .relaxed) }),
        ]
        for (name, type, help, read) in families {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (jail, metrics) in list { text += "\(name){jail=\"\(Self.escaped(jail))\"} \(read(metrics))\n" }
        }
        text += banLatency.render(name: "warden_ban_latency_seconds")
        return text
    }

    private static func escaped(_ label: String) -> String {
        label.reduce(into: "") { text, character in
            if character == "\\" || character == "\"" { text.append("\\") }
            text.append(character)
        }
    }
}

struct BanKey: Hashable, Sendable {
    var jail: String
    var address: NetworkAddress

    /// The address alone: hashing the jail name too would cost more than the rare address
    /// pending in two jails at once (equality still compares the jail).
    func hash(into hasher: inout Hasher) {
        hasher.combine(address)
    }
}

/// One histogram bucket (an array cannot hold the non-copyable `Atomic` directly).
private final class BucketCounter: Sendable {
    let value = Atomic<Int>(0)
}
