#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where one attached reader sits in the consumer table.
struct ShmMembership: Equatable {
    let consumer: Int
    let member: Int
    /// Members of a shared consumer (a work-stealing pool) claim messages by CAS.
    let shared: Bool

    /// This reader's bit in the doorbell line's sleeping mask.
    var sleepBit: UInt64 { 1 << UInt64(consumer * ShmLayout.membersPerConsumer + member) }
}

/// Attaching, detaching and evicting readers. All of it runs under the registry lock and
/// is written so that a holder killed at any store leaves entries a later holder can
/// finish: an entry turns `active` only after its name, cursors and member are written,
/// and turns `detached` before its members are cleared.
extension ShmSegment {
    private func consumerBase(_ consumer: Int) -> UnsafeMutableRawPointer { fields.base + layout.consumerOffset(consumer) }

    private func state(_ consumer: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        fields.atomic64(layout.consumerOffset(consumer) + ShmLayout.consumerStateOffset)
    }

    func memberWord(_ consumer: Int, _ member: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        fields.atomic64(layout.consumerOffset(consumer) + ShmLayout.consumerMembersOffset + member * 8)
    }

    /// Whether the writer must respect this consumer's cursors.
    func isActive(_ consumer: Int) -> Bool {
        state(consumer).pointee.load(ordering: .sequentiallyConsistent) == ShmConsumerState.active.rawValue
    }

    private func hasName(_ consumer: Int, _ name: [UInt8]) -> Bool {
        let base = consumerBase(consumer)
        guard Int(base.load(fromByteOffset: ShmLayout.consumerNameLengthOffset, as: UInt32.self)) == name.count else { return false }
        return name.withUnsafeBytes { memcmp(base + ShmLayout.consumerNameOffset, $0.baseAddress!, name.count) == 0 }
    }

    private var sleepMask: UnsafeMutablePointer<Atomic<UInt64>> { fields.atomic64(ShmLayout.sleepMaskOffset) }

    /// Attaches a reader under `name`. A name seen before resumes at its saved cursors; a
    /// new name starts at each region's current head (messages published from now on).
    func attachConsumer(name: String, shared: Bool, me: ShmProcessIdentity) throws -> ShmMembership {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= ShmLayout.maximumNameLength else {
            throw ShmRingError.invalidOption("reader name '\(name)' must be 1 to \(ShmLayout.maximumNameLength) bytes")
        }
        return try withRegistryLock(me) {
            for consumer in 0..<layout.consumers where isActive(consumer) { evictIfAllMembersDead(consumer) }
            let states = (0..<layout.consumers).map { state($0).pointee.load(ordering: .relaxed) }
            if let consumer = (0..<layout.consumers).first(where: { states[$0] != ShmConsumerState.free.rawValue && hasName($0, bytes) }) {
                let wasShared = consumerBase(consumer).load(fromByteOffset: ShmLayout.consumerKindOffset, as: UInt32.self) == 1
                if states[consumer] == ShmConsumerState.active.rawValue {
                    guard shared, wasShared else { throw ShmRingError.readerNameInUse(name) }
                    guard let member = (0..<ShmLayout.membersPerConsumer).first(where: {
                        let identity = memberWord(consumer, $0).pointee.load(ordering: .relaxed)
                        return identity == 0 || !ShmProcessIdentity(rawValue: identity).isAlive
                    }) else { throw ShmRingError.noFreeConsumer(name: self.name) }
                    memberWord(consumer, member).pointee.store(me.rawValue, ordering: .sequentiallyConsistent)
                    return ShmMembership(consumer: consumer, member: member, shared: true)
                }
                activate(consumer, shared: shared, me: me)
                return ShmMembership(consumer: consumer, member: 0, shared: shared)
            }
            guard let consumer = states.firstIndex(of: ShmConsumerState.free.rawValue)
                ?? states.firstIndex(of: ShmConsumerState.detached.rawValue)
            else { throw ShmRingError.noFreeConsumer(name: self.name) }
            // Mark the entry detached while it is rewritten, so a crash here leaves a
            // reusable entry rather than a free one with a half-written name.
            state(consumer).pointee.store(ShmConsumerState.detached.rawValue, ordering: .sequentiallyConsistent)
            let base = consumerBase(consumer)
            bytes.withUnsafeBytes { (base + ShmLayout.consumerNameOffset).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            base.storeBytes(of: UInt32(bytes.count), toByteOffset: ShmLayout.consumerNameLengthOffset, as: UInt32.self)
            for region in 0..<layout.regions {
                let fields = regionFields(region)
                fields.cursor(consumer).pointee.store(fields.head.pointee.load(ordering: .acquiring), ordering: .relaxed)
            }
            activate(consumer, shared: shared, me: me)
            return ShmMembership(consumer: consumer, member: 0, shared: shared)
        }
    }

    private func activate(_ consumer: Int, shared: Bool, me: ShmProcessIdentity) {
        consumerBase(consumer).storeBytes(of: shared ? UInt32(1) : 0, toByteOffset: ShmLayout.consumerKindOffset, as: UInt32.self)
        for member in 1..<ShmLayout.membersPerConsumer { memberWord(consumer, member).pointee.store(0, ordering: .relaxed) }
        memberWord(consumer, 0).pointee.store(me.rawValue, ordering: .relaxed)
        state(consumer).pointee.store(ShmConsumerState.active.rawValue, ordering: .sequentiallyConsistent)
    }

    /// An orderly detach: the entry keeps its name and cursors for a later reattach.
    func detachConsumer(_ membership: ShmMembership, me: ShmProcessIdentity) {
        withRegistryLock(me) {
            let word = memberWord(membership.consumer, membership.member)
            guard word.pointee.load(ordering: .relaxed) == me.rawValue else { return }
            let others = (0..<ShmLayout.membersPerConsumer).contains {
                $0 != membership.member && memberWord(membership.consumer, $0).pointee.load(ordering: .relaxed) != 0
            }
            if !others { state(membership.consumer).pointee.store(ShmConsumerState.detached.rawValue, ordering: .sequentiallyConsistent) }
            word.pointee.store(0, ordering: .sequentiallyConsistent)
            sleepMask.pointee.bitwiseAnd(~membership.sleepBit, ordering: .sequentiallyConsistent)
        }
    }

    /// Detaches `consumer` if every member process is gone; returns whether it did.
    @discardableResult
    func evictIfDead(_ consumer: Int, me: ShmProcessIdentity) -> Bool {
        withRegistryLock(me) { evictIfAllMembersDead(consumer) }
    }

    @discardableResult
    private func evictIfAllMembersDead(_ consumer: Int) -> Bool {
        guard isActive(consumer) else { return false }
        var deadBits: UInt64 = 0
        for member in 0..<ShmLayout.membersPerConsumer {
            let identity = memberWord(consumer, member).pointee.load(ordering: .relaxed)
            if identity == 0 { continue }
            if ShmProcessIdentity(rawValue: identity).isAlive { return false }
            deadBits |= ShmMembership(consumer: consumer, member: member, shared: false).sleepBit
        }
        state(consumer).pointee.store(ShmConsumerState.detached.rawValue, ordering: .sequentiallyConsistent)
        for member in 0..<ShmLayout.membersPerConsumer { memberWord(consumer, member).pointee.store(0, ordering: .relaxed) }
        sleepMask.pointee.bitwiseAnd(~deadBits, ordering: .sequentiallyConsistent)
        return true
    }
}
