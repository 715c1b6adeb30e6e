#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The single producer of one region of a shared-memory ring.
///
/// Messages go straight into slots; `publish()` makes them visible with one release store
/// of the region's head, so readers never see a slot before its bytes. Before a slot is
/// overwritten the writer release-stores `reserve` past it, which is how readers tell a
/// torn copy from a good one. Under back-pressure the writer never passes the slowest
/// active reader's cursor by more than the capacity; it sleeps on a futex until a reader
/// advances, and evicts readers whose processes are gone.
///
/// Used by one thread at a time.
public final class ShmRingWriter: @unchecked Sendable {
    // @unchecked: the mutable fields below are touched only by the owning thread; shared
    // state lives in the segment and is reached through atomics.
    private let segment: ShmSegment
    private let region: ShmRegionFields
    private let me: ShmProcessIdentity
    private let capacity: UInt64
    private let mask: UInt64
    private let slotSize: Int
    private let overwrite: Bool
    /// How far ahead of the next slot `reserve` is moved, so its line is written once per
    /// many messages rather than once per message.
    private let reserveAhead: UInt64
    /// Pending messages after which `append` publishes on its own.
    private let publishEvery: UInt64 = 64

    /// Sequence number (slot index before masking) of the next message.
    private var next: UInt64
    private var published: UInt64
    /// `append` may fill slots below this without further checks.
    private var limit: UInt64
    private var reserved: UInt64
    private var closed = false
    public var isClosed: Bool { closed }

    /// The region this writer owns.
    public let regionIndex: Int
    /// Largest message, in bytes, one slot holds.
    public let maximumMessageSize: Int

    /// Attaches to (or creates) the ring and claims a writer region that is free or whose
    /// writer died. Messages the dead writer published stay readable; the ones it had not
    /// published are overwritten.
    public init(_ options: ShmRingOptions) throws {
        segment = try ShmSegment.openOrCreate(options)
        me = ShmProcessIdentity.current()
        let layout = segment.layout
        var claimed: Int?
        for index in 0..<layout.regions where claimed == nil {
            let word = segment.regionFields(index).writer
            let owner = word.pointee.load(ordering: .acquiring)
            guard owner == 0 || !ShmProcessIdentity(rawValue: owner).isAlive else { continue }
            if word.pointee.compareExchange(expected: owner, desired: me.rawValue, ordering: .acquiringAndReleasing).exchanged {
                claimed = index
            }
        }
        guard let claimed else { throw ShmRingError.noFreeWriterRegion(name: options.name) }
        regionIndex = claimed
        region = segment.regionFields(claimed)
        capacity = UInt64(layout.capacity)
        mask = capacity - 1
        slotSize = layout.slotSize
        overwrite = layout.overwrite
        reserveAhead = max(1, min(256, capacity / 4))
        maximumMessageSize = layout.maximumMessageSize
        next = region.head.pointee.load(ordering: .acquiring)
        published = next
        reserved = region.reserve.pointee.load(ordering: .acquiring)
        limit = next
    }

    deinit { close() }

    /// Writes one message of `byteCount` bytes: `fill` receives the slot's payload address
    /// and must write exactly `byteCount` bytes there. Blocks under back-pressure while the
    /// region is full.
    @inlinable
    public func append(byteCount: Int, _ fill: (UnsafeMutableRawPointer) throws -> Void) throws {
        let slot = try claimSlot(byteCount: byteCount)
        try fill(slot)
        commitSlot()
    }

    /// Writes one message.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        try append(byteCount: bytes.count) { destination in
            if bytes.count > 0 { destination.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        }
    }

    /// The payload address of the next slot, with its length already stored.
    @usableFromInline
    func claimSlot(byteCount: Int) throws -> UnsafeMutableRawPointer {
        guard !closed else { throw ShmRingError.closed }
        guard byteCount <= maximumMessageSize else {
            throw ShmRingError.messageTooLarge(size: byteCount, maximum: maximumMessageSize)
        }
        if next >= limit { makeRoom() }
        let slot = region.slots + Int(next & mask) * slotSize
        slot.storeBytes(of: UInt32(byteCount), as: UInt32.self)
        return slot + ShmLayout.slotHeader
    }

    @usableFromInline
    func commitSlot() {
        next += 1
        if next - published >= publishEvery { publish() }
    }

    /// Makes every appended message visible and wakes readers that announced they sleep.
    public func publish() {
        guard next != published else { return }
        region.head.pointee.store(next, ordering: .releasing)
        published = next
        // Pairs with the reader's fence between setting its sleeping bit and re-checking
        // the head: either it sees the new head or this load sees its bit.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if segment.fields.atomic64(ShmLayout.sleepMaskOffset).pointee.load(ordering: .relaxed) != 0 {
            segment.fields.atomic32(ShmLayout.doorbellOffset).pointee.wrappingAdd(1, ordering: .relaxed)
            ShmFutex.wakeAll(segment.fields.futexWord(ShmLayout.doorbellOffset))
        }
    }

    /// Publishes and gives the region up for another writer.
    public func close() {
        guard !closed else { return }
        publish()
        closed = true
        _ = region.writer.pointee.compareExchange(expected: me.rawValue, desired: 0, ordering: .releasing)
    }

    /// Extends `limit`: waits for readers under back-pressure, then moves `reserve` ahead.
    private func makeRoom() {
        let bound = overwrite ? UInt64.max : waitForSpace()
        let target = min(bound, next + reserveAhead)
        if target > reserved {
            region.reserve.pointee.store(target, ordering: .relaxed)
            reserved = target
            // Orders the reserve store before the slot stores that follow it.
            atomicMemoryFence(ordering: .releasing)
        }
        limit = min(bound, reserved)
    }

    /// The first sequence number the slowest active reader does not allow yet, or nil when
    /// no reader is active.
    private func spaceBound() -> UInt64? {
        var slowest: UInt64?
        for consumer in 0..<segment.layout.consumers where segment.isActive(consumer) {
            let cursor = region.cursor(consumer).pointee.load(ordering: .acquiring)
            slowest = min(slowest ?? cursor, cursor)
        }
        return slowest.map { $0 + capacity }
    }

    private func waitForSpace() -> UInt64 {
        while true {
            guard let bound = spaceBound() else { return UInt64.max }
            if next < bound { return bound }
            publish()
            let observed = region.spaceSignal.pointee.load(ordering: .acquiring)
            region.writerSleeping.pointee.store(1, ordering: .sequentiallyConsistent)
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            if let bound = spaceBound(), next >= bound {
                // A reader that dies cannot advance or signal; the timeout is when the
                // writer looks for dead readers, not how it learns about progress.
                if !ShmFutex.wait(region.spaceSignalWord, expected: observed, timeoutNanoseconds: 20_000_000) {
                    evictDeadBlockers()
                }
            }
            region.writerSleeping.pointee.store(0, ordering: .relaxed)
        }
    }

    private func evictDeadBlockers() {
        for consumer in 0..<segment.layout.consumers where segment.isActive(consumer) {
            if region.cursor(consumer).pointee.load(ordering: .acquiring) + capacity <= next {
                segment.evictIfDead(consumer, me: me)
            }
        }
    }
}
