#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization

/// A named reader of every writer region of a shared-memory ring.
///
/// Reads copy messages out of the slots first and check afterwards (an acquire fence,
/// then the region's `reserve`) that the writer had not started overwriting them; copies
/// that may be torn are dropped and counted in `lost`. A reader of a shared consumer (a
/// work-stealing pool) claims the messages it copied by a CAS on the pool's cursor, so
/// each message goes to exactly one member. Idle readers spin about 2 µs, then announce
/// themselves in the sleeping mask and sleep on the doorbell futex.
///
/// `read` is called by one thread at a time; `stop` and `lost` from any thread.
public final class ShmRingReader: @unchecked Sendable {
    // @unchecked: `cursors` and `nextRegion` belong to the reading thread; everything
    // shared with other threads is atomic.
    private let segment: ShmSegment
    private let membership: ShmMembership
    private let me: ShmProcessIdentity
    private let regions: [ShmRegionFields]
    private let capacity: UInt64
    private let mask: UInt64
    private let slotSize: Int
    private let maximumMessageSize: Int
    /// An exclusive reader's own cursors, mirrored into the segment after each batch.
    private var cursors: [UInt64]
    /// Where the next read starts looking, so one busy writer cannot starve the others.
    private var nextRegion = 0
    private let stopped = Atomic<Bool>(false)
    private let missed = Atomic<UInt64>(0)
    private let detached = Atomic<Bool>(false)

    /// Messages this reader skipped because a writer overwrote them first.
    public var lost: UInt64 { missed.load(ordering: .relaxed) }
    /// Largest message a slot holds: a read buffer must have room for at least one.
    public let maximumMessageByteCount: Int

    /// Attaches under `name`, creating the ring if needed. With `shared`, readers attached
    /// under the same name form a pool that divides the messages between them.
    public init(_ options: ShmRingOptions, name: String, shared: Bool = false) throws {
        let segment = try ShmSegment.openOrCreate(options)
        let me = ShmProcessIdentity.current()
        let membership = try segment.attachConsumer(name: name, shared: shared, me: me)
        let layout = segment.layout
        let regions = (0..<layout.regions).map { segment.regionFields($0) }
        self.segment = segment
        self.me = me
        self.membership = membership
        self.regions = regions
        capacity = UInt64(layout.capacity)
        mask = capacity - 1
        slotSize = layout.slotSize
        maximumMessageSize = layout.maximumMessageSize
        maximumMessageByteCount = layout.maximumMessageSize
        cursors = regions.map { $0.cursor(membership.consumer).pointee.load(ordering: .acquiring) }
    }

    deinit { close() }

    /// Copies messages back to back into `buffer` and their lengths into `lengths`,
    /// blocking until there is at least one. Returns the number of messages, or 0 once
    /// `stop()` was called.
    public func read(into buffer: UnsafeMutableRawBufferPointer, lengths: UnsafeMutableBufferPointer<UInt32>) -> Int {
        precondition(buffer.count >= maximumMessageSize && lengths.count > 0, "read buffer smaller than one slot")
        let doorbell = segment.fields.atomic32(ShmLayout.doorbellOffset)
        let sleepMask = segment.fields.atomic64(ShmLayout.sleepMaskOffset)
        while !stopped.load(ordering: .relaxed) {
            let count = tryRead(into: buffer, lengths: lengths)
            if count > 0 { return count }
            if spinUntilData() { continue }
            let observed = doorbell.pointee.load(ordering: .acquiring)
            sleepMask.pointee.bitwiseOr(membership.sleepBit, ordering: .sequentiallyConsistent)
            // Pairs with the writer's fence after publishing: either it sees this bit or
            // this re-check sees its head.
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            if !hasData() && !stopped.load(ordering: .relaxed) {
                ShmFutex.wait(segment.fields.futexWord(ShmLayout.doorbellOffset), expected: observed)
            }
            sleepMask.pointee.bitwiseAnd(~membership.sleepBit, ordering: .relaxed)
        }
        return 0
    }

    /// Copies what is available without blocking; returns the number of messages.
    public func tryRead(into buffer: UnsafeMutableRawBufferPointer, lengths: UnsafeMutableBufferPointer<UInt32>) -> Int {
        var batch = Batch(buffer: buffer, lengths: lengths)
        for step in 0..<regions.count {
            let index = (nextRegion + step) % regions.count
            if membership.shared { drainShared(index, into: &batch) } else { drainExclusive(index, into: &batch) }
            if batch.isFull { break }
        }
        nextRegion = (nextRegion + 1) % regions.count
        return batch.count
    }

    /// Makes a blocked `read` return 0, now and from then on.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
        segment.fields.atomic32(ShmLayout.doorbellOffset).pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        ShmFutex.wakeAll(segment.fields.futexWord(ShmLayout.doorbellOffset))
    }

    /// Leaves the ring; the name keeps its cursors, so attaching again resumes here.
    public func close() {
        guard !detached.exchange(true, ordering: .relaxed) else { return }
        segment.detachConsumer(membership, me: me)
    }

    // MARK: Copying

    /// The caller's buffers and how much of them is filled.
    private struct Batch {
        let buffer: UnsafeMutableRawBufferPointer
        let lengths: UnsafeMutableBufferPointer<UInt32>
        var byteCount = 0
        var count = 0
        var isFull: Bool { count == lengths.count || buffer.count - byteCount < 8 }
    }

    /// Copies slots `from..<head` while they fit; returns the sequence after the last copied.
    private func copy(_ region: ShmRegionFields, from start: UInt64, head: UInt64, into batch: inout Batch) -> UInt64 {
        var sequence = start
        while sequence < head, batch.count < batch.lengths.count {
            let slot = region.slots + Int(sequence & mask) * slotSize
            // The length may be torn too: clamp it so the copy stays inside the slot.
            let length = min(Int(slot.load(as: UInt32.self)), maximumMessageSize)
            guard batch.byteCount + length <= batch.buffer.count else { break }
            if length > 0 { (batch.buffer.baseAddress! + batch.byteCount).copyMemory(from: slot + ShmLayout.slotHeader, byteCount: length) }
            batch.lengths[batch.count] = UInt32(length)
            batch.byteCount += length
            batch.count += 1
            sequence += 1
        }
        return sequence
    }

    /// The oldest sequence number whose slot the writer has not begun to overwrite.
    private func firstIntact(_ region: ShmRegionFields) -> UInt64 {
        let reserve = region.reserve.pointee.load(ordering: .acquiring)
        return reserve > capacity ? reserve - capacity : 0
    }

    /// Removes the first `dropped` messages copied since `mark` (they may be torn).
    private func discard(_ dropped: Int, since mark: (bytes: Int, count: Int), in batch: inout Batch) {
        guard dropped > 0 else { return }
        var droppedBytes = 0
        for index in mark.count..<(mark.count + dropped) { droppedBytes += Int(batch.lengths[index]) }
        let keptBytes = batch.byteCount - mark.bytes - droppedBytes
        if keptBytes > 0 {
            let base = batch.buffer.baseAddress! + mark.bytes
            base.copyMemory(from: base + droppedBytes, byteCount: keptBytes)
        }
        let kept = batch.count - mark.count - dropped
        for index in 0..<kept { batch.lengths[mark.count + index] = batch.lengths[mark.count + dropped + index] }
        batch.byteCount -= droppedBytes
        batch.count -= dropped
    }

    /// Copies, then validates: returns the sequence after the copied run and how many of
    /// the messages before it were lost (skipped before copying or dropped as torn).
    private func copyValidated(_ region: ShmRegionFields, from cursor: UInt64, head: UInt64, into batch: inout Batch) -> (end: UInt64, lost: UInt64) {
        var start = cursor
        let intact = firstIntact(region)
        if start < intact { start = min(intact, head) }
        let mark = (bytes: batch.byteCount, count: batch.count)
        let end = copy(region, from: start, head: head, into: &batch)
        // The copies above must be complete before `reserve` is looked at again.
        atomicMemoryFence(ordering: .acquiring)
        let stillIntact = firstIntact(region)
        let dropped = stillIntact > start ? min(stillIntact, end) - start : 0
        discard(Int(dropped), since: mark, in: &batch)
        return (end, start - cursor + dropped)
    }

    private func drainExclusive(_ index: Int, into batch: inout Batch) {
        let region = regions[index]
        let cursor = cursors[index]
        let head = region.head.pointee.load(ordering: .acquiring)
        guard head > cursor, !batch.isFull else { return }
        let (end, lost) = copyValidated(region, from: cursor, head: head, into: &batch)
        guard end > cursor else { return }
        cursors[index] = end
        region.cursor(membership.consumer).pointee.store(end, ordering: .releasing)
        if lost > 0 { missed.add(lost, ordering: .relaxed) }
        wakeWriterIfWaiting(region)
    }

    private func drainShared(_ index: Int, into batch: inout Batch) {
        let region = regions[index]
        let shared = region.cursor(membership.consumer)
        while !batch.isFull {
            let cursor = shared.pointee.load(ordering: .acquiring)
            let head = region.head.pointee.load(ordering: .acquiring)
            guard head > cursor else { return }
            let mark = (bytes: batch.byteCount, count: batch.count)
            let (end, lost) = copyValidated(region, from: cursor, head: head, into: &batch)
            guard end > cursor else { return }
            // The copies count only if no other member claimed them meanwhile; the cursor
            // only grows, so a successful exchange means nobody did.
            if shared.pointee.compareExchange(expected: cursor, desired: end, ordering: .acquiringAndReleasing).exchanged {
                if lost > 0 { missed.add(lost, ordering: .relaxed) }
                wakeWriterIfWaiting(region)
            } else {
                batch.byteCount = mark.bytes
                batch.count = mark.count
            }
        }
    }

    private func wakeWriterIfWaiting(_ region: ShmRegionFields) {
        // Pairs with the writer's fence after raising `writerSleeping`.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if region.writerSleeping.pointee.load(ordering: .relaxed) != 0 {
            region.spaceSignal.pointee.wrappingAdd(1, ordering: .relaxed)
            ShmFutex.wakeOne(region.spaceSignalWord)
        }
    }

    // MARK: Waiting

    private func hasData() -> Bool {
        for index in regions.indices {
            let cursor = membership.shared ? regions[index].cursor(membership.consumer).pointee.load(ordering: .relaxed) : cursors[index]
            if regions[index].head.pointee.load(ordering: .relaxed) > cursor { return true }
        }
        return false
    }

    /// Spins about 2 µs (a message usually arrives sooner than a futex round trip would
    /// take); returns whether data turned up.
    private func spinUntilData() -> Bool {
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        while true {
            for _ in 0..<32 {
                if hasData() { return true }
                warden_cpu_relax()
            }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if (now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec) > 2_000 { return false }
        }
    }
}
