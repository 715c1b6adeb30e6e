#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization

/// How a shared-memory ring is shaped and who may open it. Every process attaching to the
/// same name should pass the same options; the process that creates the segment fixes
/// them, and later ones adopt the geometry they find.
public struct ShmRingOptions: Equatable, Sendable {
    /// POSIX shared-memory name: a leading '/', no other '/'.
    public var name: String
    /// Bytes per slot, a power of two from 64; a message holds at most `slotSize - 8` bytes.
    public var slotSize: Int
    /// Slots per writer region, a power of two.
    public var capacity: Int
    /// Writer regions: at most this many writers publish at once.
    public var writers: Int
    /// Named readers (or work-stealing pools) the segment keeps cursors for, at most 16.
    public var consumers: Int
    /// Writers never wait and readers count what they missed, instead of back-pressure.
    public var overwrite: Bool
    /// Permission bits of a created segment (0600 or 0660), applied regardless of umask.
    public var mode: mode_t
    /// Group a created segment is handed to (with mode 0660, the group that may attach).
    public var group: gid_t?

    public init(
        name: String, slotSize: Int = 512, capacity: Int = 8192, writers: Int = 4, consumers: Int = 16,
        overwrite: Bool = false, mode: mode_t = 0o600, group: gid_t? = nil
    ) {
        self.name = name
        self.slotSize = slotSize
        self.capacity = capacity
        self.writers = writers
        self.consumers = consumers
        self.overwrite = overwrite
        self.mode = mode
        self.group = group
    }
}

public enum ShmRingError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidOption(String)
    case system(call: String, name: String, errno: Int32)
    /// The object exists but is not a ring this code can use (another format, or a size
    /// that does not match its header).
    case incompatible(name: String, reason: String)
    case noFreeWriterRegion(name: String)
    case noFreeConsumer(name: String)
    case readerNameInUse(String)
    case messageTooLarge(size: Int, maximum: Int)
    case closed

    public var description: String {
        switch self {
        case .invalidOption(let reason): return "shm ring: \(reason)"
        case .system(let call, let name, let code): return "\(call) \(name): \(String(cString: strerror(code)))"
        case .incompatible(let name, let reason): return "shm ring \(name): \(reason)"
        case .noFreeWriterRegion(let name): return "shm ring \(name): every writer region is held by a live writer"
        case .noFreeConsumer(let name): return "shm ring \(name): every reader entry is held by a live reader"
        case .readerNameInUse(let name): return "shm ring reader '\(name)' is attached by a live process"
        case .messageTooLarge(let size, let maximum): return "message of \(size) bytes exceeds the ring's slot (\(maximum) bytes)"
        case .closed: return "shm ring handle is closed"
        }
    }
}

/// One mapping of a ring segment: creates or opens the POSIX shared-memory object, checks
/// its header against its size, and serialises the rare registry changes (attach,
/// detach, eviction) with a lock that a dead holder cannot keep.
final class ShmSegment: @unchecked Sendable {
    // @unchecked: immutable after init; the mapping is shared memory reached only through atomics
    // and the single-owner protocols documented on the ring types.
    let name: String
    let layout: ShmLayout
    let fields: ShmFields
    private let mappedSize: Int

    private init(name: String, layout: ShmLayout, base: UnsafeMutableRawPointer, mappedSize: Int) {
        self.name = name
        self.layout = layout
        self.fields = ShmFields(base: base)
        self.mappedSize = mappedSize
    }

    deinit { munmap(fields.base, mappedSize) }

    /// Removes the name; processes that mapped the segment keep using it.
    static func unlink(_ name: String) { shm_unlink(name) }

    /// Opens the ring named in `options`, creating it if it does not exist yet.
    static func openOrCreate(_ options: ShmRingOptions) throws -> ShmSegment {
        let layout = try validatedLayout(options)
        // A segment whose creator died before finishing is unlinked and created again;
        // two rounds cover that and a race with another process doing the same.
        for _ in 0..<3 {
            let fd = shm_open(options.name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, options.mode)
            if fd >= 0 { return try create(options, layout: layout, fd: fd) }
            guard errno == EEXIST else { throw ShmRingError.system(call: "shm_open", name: options.name, errno: errno) }
            if let segment = try open(options.name) { return segment }
        }
        throw ShmRingError.incompatible(name: options.name, reason: "creation keeps failing half way")
    }

    private static func validatedLayout(_ options: ShmRingOptions) throws -> ShmLayout {
        let name = options.name
        guard name.hasPrefix("/"), name.count > 1, name.count < 255, !name.dropFirst().contains("/") else {
            throw ShmRingError.invalidOption("name '\(name)' must be '/' followed by up to 254 characters without '/'")
        }
        func powerOfTwo(_ value: Int) -> Bool { value > 0 && value & (value - 1) == 0 }
        guard powerOfTwo(options.slotSize), options.slotSize >= 64, options.slotSize <= 1 << 20 else {
            throw ShmRingError.invalidOption("slot size \(options.slotSize) must be a power of two from 64 to 1 MiB")
        }
        guard powerOfTwo(options.capacity), options.capacity >= 2, options.capacity <= 1 << 26 else {
            throw ShmRingError.invalidOption("capacity \(options.capacity) must be a power of two from 2 to 2^26 slots")
        }
        guard (1...256).contains(options.writers) else { throw ShmRingError.invalidOption("writers must be 1...256") }
        guard (1...ShmLayout.maximumConsumers).contains(options.consumers) else {
            throw ShmRingError.invalidOption("readers must be 1...\(ShmLayout.maximumConsumers)")
        }
        guard options.mode & ~0o660 == 0, options.mode & 0o600 == 0o600 else {
            throw ShmRingError.invalidOption("mode \(String(options.mode, radix: 8)) must be 0600 or 0660")
        }
        return ShmLayout(
            slotSize: options.slotSize, capacity: options.capacity, regions: options.writers,
            consumers: options.consumers, overwrite: options.overwrite)
    }

    private static func create(_ options: ShmRingOptions, layout: ShmLayout, fd: Int32) throws -> ShmSegment {
        defer { close(fd) }
        func fail(_ call: String) -> ShmRingError {
            let error = ShmRingError.system(call: call, name: options.name, errno: errno)
            shm_unlink(options.name)
            return error
        }
        // shm_open applied the umask; the configured mode is what the operator asked for.
        guard fchmod(fd, options.mode) == 0 else { throw fail("fchmod") }
        if let group = options.group, fchown(fd, uid_t.max, group) != 0 { throw fail("fchown") }
        guard ftruncate(fd, off_t(layout.totalSize)) == 0 else { throw fail("ftruncate") }
        guard let base = map(fd, size: layout.totalSize) else { throw fail("mmap") }
        let segment = ShmSegment(name: options.name, layout: layout, base: base, mappedSize: layout.totalSize)
        // Geometry first, magic and the ready flag last: a process that sees `ready`
        // sees a complete header. Every other field starts as ftruncate's zeros.
        let f = segment.fields
        f.atomic64(ShmLayout.creatorOffset).pointee.store(ShmProcessIdentity.current().rawValue, ordering: .relaxed)
        base.storeBytes(of: ShmLayout.version, toByteOffset: ShmLayout.versionOffset, as: UInt32.self)
        base.storeBytes(of: UInt32(layout.slotSize), toByteOffset: ShmLayout.slotSizeOffset, as: UInt32.self)
        base.storeBytes(of: UInt32(layout.capacity), toByteOffset: ShmLayout.capacityOffset, as: UInt32.self)
        base.storeBytes(of: UInt32(layout.regions), toByteOffset: ShmLayout.regionsOffset, as: UInt32.self)
        base.storeBytes(of: UInt32(layout.consumers), toByteOffset: ShmLayout.consumersOffset, as: UInt32.self)
        base.storeBytes(of: layout.overwrite ? UInt32(1) : 0, toByteOffset: ShmLayout.policyOffset, as: UInt32.self)
        base.storeBytes(of: UInt64(layout.totalSize), toByteOffset: ShmLayout.totalSizeOffset, as: UInt64.self)
        f.atomic64(ShmLayout.magicOffset).pointee.store(ShmLayout.magic, ordering: .releasing)
        f.atomic32(ShmLayout.readyOffset).pointee.store(1, ordering: .releasing)
        ShmFutex.wakeAll(f.futexWord(ShmLayout.readyOffset))
        return segment
    }

    /// Maps an existing segment once its creator finished; nil if the creator died half way
    /// (the name is then unlinked so the caller can create it afresh).
    private static func open(_ name: String) throws -> ShmSegment? {
        let fd = shm_open(name, O_RDWR | O_CLOEXEC, 0)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw ShmRingError.system(call: "shm_open", name: name, errno: errno)
        }
        defer { close(fd) }
        // The creator sizes the object right after creating it; this short wait covers
        // only that window (it is not how readers wait for messages).
        var size = 0
        for _ in 0..<2000 {
            var status = stat()
            guard fstat(fd, &status) == 0 else { throw ShmRingError.system(call: "fstat", name: name, errno: errno) }
            size = Int(status.st_size)
            if size >= ShmLayout.page { break }
            usleep(1000)
        }
        guard size >= ShmLayout.page, let header = map(fd, size: ShmLayout.page) else {
            shm_unlink(name)
            return nil
        }
        defer { munmap(header, ShmLayout.page) }
        let f = ShmFields(base: header)
        var waits = 0
        while f.atomic32(ShmLayout.readyOffset).pointee.load(ordering: .acquiring) == 0 {
            let creator = ShmProcessIdentity(rawValue: f.atomic64(ShmLayout.creatorOffset).pointee.load(ordering: .relaxed))
            waits += 1
            // A creator that died between ftruncate and recording itself leaves no identity to check.
            if creator.rawValue == 0 ? waits > 200 : !creator.isAlive {
                shm_unlink(name)
                return nil
            }
            ShmFutex.wait(f.futexWord(ShmLayout.readyOffset), expected: 0, timeoutNanoseconds: 10_000_000)
        }
        guard f.atomic64(ShmLayout.magicOffset).pointee.load(ordering: .acquiring) == ShmLayout.magic,
              header.load(fromByteOffset: ShmLayout.versionOffset, as: UInt32.self) == ShmLayout.version
        else { throw ShmRingError.incompatible(name: name, reason: "not a warden ring of version \(ShmLayout.version)") }
        func field(_ offset: Int) -> Int { Int(header.load(fromByteOffset: offset, as: UInt32.self)) }
        let layout = ShmLayout(
            slotSize: field(ShmLayout.slotSizeOffset), capacity: field(ShmLayout.capacityOffset),
            regions: field(ShmLayout.regionsOffset), consumers: field(ShmLayout.consumersOffset),
            overwrite: field(ShmLayout.policyOffset) != 0)
        let declared = Int(header.load(fromByteOffset: ShmLayout.totalSizeOffset, as: UInt64.self))
        guard layout.slotSize >= 64, layout.slotSize & (layout.slotSize - 1) == 0,
              layout.capacity >= 2, layout.capacity & (layout.capacity - 1) == 0,
              (1...256).contains(layout.regions), (1...ShmLayout.maximumConsumers).contains(layout.consumers),
              declared == layout.totalSize, size >= declared
        else { throw ShmRingError.incompatible(name: name, reason: "header geometry does not match the object's \(size) bytes") }
        guard let base = map(fd, size: declared) else { throw ShmRingError.system(call: "mmap", name: name, errno: errno) }
        return ShmSegment(name: name, layout: layout, base: base, mappedSize: declared)
    }

    private static func map(_ fd: Int32, size: Int) -> UnsafeMutableRawPointer? {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else { return nil }
        return address
    }

    // MARK: Regions

    func regionFields(_ region: Int) -> ShmRegionFields {
        ShmRegionFields(base: fields.base + layout.regionOffset(region), layout: layout)
    }

    // MARK: Registry lock

    /// Runs `body` holding the registry lock. The lock word holds the owner's identity; a
    /// process that finds it held by a dead process takes it over, so a crash inside
    /// `body` cannot block anyone. `body` must leave the registry consistent at every
    /// store (it may be cut short and then redone by the next holder).
    func withRegistryLock<Result>(_ me: ShmProcessIdentity, _ body: () throws -> Result) rethrows -> Result {
        let lock = fields.atomic64(ShmLayout.registryLockOffset)
        while true {
            let (taken, owner) = lock.pointee.compareExchange(expected: 0, desired: me.rawValue, ordering: .acquiringAndReleasing)
            if taken { break }
            if !ShmProcessIdentity(rawValue: owner).isAlive,
               lock.pointee.compareExchange(expected: owner, desired: me.rawValue, ordering: .acquiringAndReleasing).exchanged {
                break
            }
            sched_yield()
        }
        defer { lock.pointee.store(0, ordering: .releasing) }
        return try body()
    }
}

/// Typed access to one writer region.
struct ShmRegionFields: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let layout: ShmLayout

    private var fields: ShmFields { ShmFields(base: base) }
    var head: UnsafeMutablePointer<Atomic<UInt64>> { fields.atomic64(ShmLayout.headOffset) }
    var reserve: UnsafeMutablePointer<Atomic<UInt64>> { fields.atomic64(ShmLayout.reserveOffset) }
    var writer: UnsafeMutablePointer<Atomic<UInt64>> { fields.atomic64(ShmLayout.writerOffset) }
    var writerSleeping: UnsafeMutablePointer<Atomic<UInt32>> { fields.atomic32(ShmLayout.writerSleepingOffset) }
    var spaceSignal: UnsafeMutablePointer<Atomic<UInt32>> { fields.atomic32(ShmLayout.spaceSignalOffset) }
    var spaceSignalWord: UnsafeMutablePointer<UInt32> { fields.futexWord(ShmLayout.spaceSignalOffset) }
    var slots: UnsafeMutableRawPointer { base + layout.slotsOffsetInRegion }

    func cursor(_ consumer: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        fields.atomic64(ShmLayout.cursorTableOffset + consumer * ShmLayout.line)
    }
}
