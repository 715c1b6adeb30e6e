import Synchronization

// Byte layout of a shared-memory ring segment. Everything is addressed by offset from the
// start of the mapping (never by pointer), so each process may map it anywhere.
//
//     header line          magic, version, geometry, creator, ready (futex)
//     registry line        registry lock (owner identity)
//     doorbell line        doorbell (futex), sleeping-reader bit mask
//     consumer table       `consumers` x 128 B: state, member identities, kind, name
//     region 0..<regions   one single-producer region per writer, page aligned:
//         head line            head (published), reserve (claimed for writing)
//         writer line          writer identity, writer sleeping flag, space signal (futex)
//         cursor lines         `consumers` x 128 B: that consumer's cursor in this region
//         slots                `capacity` x `slotSize`: UInt32 length, UInt32 zero, bytes
//
// Every field a process other than its owner writes sits on its own 128 B line (two 64 B
// lines, so adjacent-line prefetch does not pair a writer's line with a reader's).

/// Geometry of one segment, fixed when it is created.
struct ShmLayout: Equatable {
    static let magic: UInt64 = 0x5744_4E52_494E_4731  // "WDNRING1"
    static let version: UInt32 = 1
    static let line = 128
    static let page = 4096
    /// Bytes in front of each slot's message: UInt32 length, UInt32 reserved.
    static let slotHeader = 8
    /// Member identities per consumer; members share the consumer's cursors (work stealing).
    static let membersPerConsumer = 4
    /// Consumers per segment: the sleeping mask has one bit per member.
    static let maximumConsumers = 64 / membersPerConsumer
    static let maximumNameLength = 80

    let slotSize: Int
    let capacity: Int
    let regions: Int
    let consumers: Int
    let overwrite: Bool

    // Header line.
    static let magicOffset = 0
    static let versionOffset = 8
    static let slotSizeOffset = 12
    static let capacityOffset = 16
    static let regionsOffset = 20
    static let consumersOffset = 24
    static let policyOffset = 28
    static let totalSizeOffset = 32
    static let creatorOffset = 40
    static let readyOffset = 48
    // Shared lines.
    static let registryLockOffset = line
    static let doorbellOffset = 2 * line
    static let sleepMaskOffset = 2 * line + 8
    static let consumerTableOffset = 3 * line
    // Within a consumer entry.
    static let consumerStateOffset = 0
    static let consumerMembersOffset = 8
    static let consumerKindOffset = 40
    static let consumerNameLengthOffset = 44
    static let consumerNameOffset = 48
    // Within a region.
    static let headOffset = 0
    static let reserveOffset = 8
    static let writerOffset = line
    static let writerSleepingOffset = line + 8
    static let spaceSignalOffset = line + 12
    static let cursorTableOffset = 2 * line

    var regionTableOffset: Int { Self.roundUp(Self.consumerTableOffset + consumers * Self.line, to: Self.page) }
    var slotsOffsetInRegion: Int { Self.cursorTableOffset + consumers * Self.line }
    var regionSize: Int { Self.roundUp(slotsOffsetInRegion + capacity * slotSize, to: Self.page) }
    var totalSize: Int { regionTableOffset + regions * regionSize }
    var maximumMessageSize: Int { slotSize - Self.slotHeader }

    func regionOffset(_ region: Int) -> Int { regionTableOffset + region * regionSize }
    func consumerOffset(_ consumer: Int) -> Int { Self.consumerTableOffset + consumer * Self.line }

    static func roundUp(_ value: Int, to alignment: Int) -> Int { (value + alignment - 1) / alignment * alignment }
}

/// States of a consumer entry. Only `active` consumers hold a writer back.
enum ShmConsumerState: UInt64 {
    case free = 0
    case active = 1
    /// Its members left or died; the name and cursors stay so a restarted reader resumes.
    case detached = 2
}

/// Typed access to the fields of a mapped segment.
struct ShmFields: @unchecked Sendable {
    let base: UnsafeMutableRawPointer

    func atomic64(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    func atomic32(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// The same word as `atomic32(offset)`, as the futex syscall wants it.
    func futexWord(_ offset: Int) -> UnsafeMutablePointer<UInt32> {
        (base + offset).assumingMemoryBound(to: UInt32.self)
    }
}
