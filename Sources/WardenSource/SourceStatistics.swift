import Synchronization

/// Counters a source keeps while it runs, readable from any thread. Updated once per
/// batch or per event, never per line.
public final class SourceStatistics: Sendable {
    let linesCounter = Atomic<Int>(0)
    let batchesCounter = Atomic<Int>(0)
    let cutLinesCounter = Atomic<Int>(0)
    let rotationsCounter = Atomic<Int>(0)
    let truncationsCounter = Atomic<Int>(0)
    let filesOpenedCounter = Atomic<Int>(0)
    let filesReleasedCounter = Atomic<Int>(0)
    let overflowsCounter = Atomic<Int>(0)

    public init() {}

    /// Lines handed to the consumer.
    public var lines: Int { linesCounter.load(ordering: .relaxed) }
    public var batches: Int { batchesCounter.load(ordering: .relaxed) }
    /// Lines longer than the limit, delivered cut.
    public var cutLines: Int { cutLinesCounter.load(ordering: .relaxed) }
    /// Files replaced under their name (rename or delete and recreate).
    public var rotations: Int { rotationsCounter.load(ordering: .relaxed) }
    /// Files found truncated or rewritten in place, and read again from the start.
    public var truncations: Int { truncationsCounter.load(ordering: .relaxed) }
    public var filesOpened: Int { filesOpenedCounter.load(ordering: .acquiring) }
    /// Rotated files let go after their drain grace period.
    public var filesReleased: Int { filesReleasedCounter.load(ordering: .acquiring) }
    /// inotify queue overflows, each answered by a full rescan.
    public var overflows: Int { overflowsCounter.load(ordering: .relaxed) }

}
