/// When a jail publishes the bans it has decided so far instead of matching on: as soon
/// as the ban worker has applied everything published before (its queue is empty, so
/// a ban now goes straight to the kernel), or when `chunkSize` bans are pending. A burst
/// thus becomes a stream of chunks sized by how fast the worker drains them, each one
/// store transaction and one channel flush, instead of one transaction after the whole
/// read batch. The end of a read batch always publishes what is left.
struct BanChunkPolicy: Sendable {
    /// Bans pending before a chunk is published whatever the worker is doing; bounds the
    /// wait of the first ban of a chunk when the worker is busy or out of process.
    static let chunkSize = 256

    /// The jail's metrics when its ban workers run in this process: their channel depth
    /// counts decisions published and not yet applied. nil when workers run in another
    /// process, where that is not known; then only full chunks and batch ends publish.
    private let localWorkerMetrics: JailMetrics?

    init(localWorkerMetrics: JailMetrics?) {
        self.localWorkerMetrics = localWorkerMetrics
    }

    func publishesNow(pending: Int) -> Bool {
        guard pending > 0 else { return false }
        if pending >= Self.chunkSize { return true }
        return localWorkerMetrics?.channelDepth.load(ordering: .relaxed) == 0
    }
}
