/// When a jail publishes the bans it has decided so far instead of matching on.
///
/// A ban alone (the usual case) leaves at once. In a burst, each publish costs a store
/// transaction, a channel flush and a ban worker transaction, so bans leave in chunks:
/// when `chunkSize` are pending, or when `interval` has passed since the previous
/// publish and the in-process ban worker has applied everything before (publishing to
/// a busy worker would only queue). The end of a read batch always publishes the rest.
struct BanChunkPolicy: Sendable {
    /// Bans pending before a chunk is published whatever else holds.
    static let chunkSize = 256
    /// The shortest time between two publishes of part of a chunk, in nanoseconds.
    static let interval: UInt64 = 5_000_000

    /// The jail's metrics when its ban workers run in this process: their channel depth
    /// counts decisions published and not yet applied. nil when workers run in another
    /// process, where that is not known.
    private let localWorkerMetrics: JailMetrics?

    init(localWorkerMetrics: JailMetrics?) {
        self.localWorkerMetrics = localWorkerMetrics
    }

    /// - Parameters:
    ///   - pending: bans decided and not yet published.
    ///   - lastPublish: monotonic nanoseconds of the jail's previous publish.
    func publishesNow(pending: Int, lastPublish: UInt64) -> Bool {
        guard pending > 0 else { return false }
        if pending >= Self.chunkSize { return true }
        guard monotonicNanoseconds() &- lastPublish >= Self.interval else { return false }
        return localWorkerMetrics.map { $0.channelDepth.load(ordering: .relaxed) == 0 } ?? true
    }
}
