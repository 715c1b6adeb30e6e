import WardenLines

/// The data of a failure while the matcher builds it: fail2ban's `fail` dict, with
/// the values kept as bytes (see `GroupValues`).
///
/// A class on purpose: for `<F-MLFID>` filters the record stored in the connection
/// cache is the same object later lines update and report, as in fail2ban.
///
/// Only the matcher that owns a record touches it, one access at a time, so its
/// properties skip Swift's dynamic exclusivity checks (they showed in profiles).
final class FailureRecord {
    /// Groups that took part; a group that did not is absent (fail2ban's None).
    @exclusivity(unchecked) var groups: GroupValues
    /// Users seen on the connection (fail2ban's `users` set), in first-seen order.
    @exclusivity(unchecked) var users: [[UInt8]]?
    /// Lines accumulated so far (fail2ban's `matches`); nil when the key is absent.
    @exclusivity(unchecked) var matches: MatchedLines?
    /// Lines of no-fail matches held back until a real failure (`nofail-matches`).
    @exclusivity(unchecked) var noFailMatches: MatchedLines?
    /// A failure seen before the connection's host was known (`mlfpending`).
    @exclusivity(unchecked) var isPending = false
    /// Host address when the id is a separate `<F-ID>` value.
    @exclusivity(unchecked) var address: FailureID?
    /// The users array of the connection this record held before its last reset: a
    /// record of an ended connection is reused for a new one, whose first user then
    /// goes into that storage instead of two new arrays.
    @exclusivity(unchecked) private var spareUsers: [[UInt8]] = []

    init(groups: GroupValues) { self.groups = groups }

    /// Makes this record a fresh one holding a failregex match's groups combined with
    /// the prefregex's (see `GroupValues.assign`): the matcher reuses one record per
    /// line instead of allocating.
    @inline(__always)
    func reset(_ prefregex: CapturedGroups, updatedWith match: CapturedGroups, clearing named: SlotMask) {
        groups.assign(prefregex, updatedWith: match, clearing: named)
        // Mostly nil already: tested first, as storing nil called the runtime to release
        // the old value every time.
        if users != nil { keepUsersAsSpare() }
        if matches != nil { matches = nil }
        if noFailMatches != nil { noFailMatches = nil }
        isPending = false
        // Tested without binding the value, which would copy it.
        if case .some = address { address = nil }
    }

    /// The held-back no-fail lines become the first of `matches` (fail2ban's
    /// `nofail-matches + matches` when a connection reports). Out of line: rare.
    @inline(never)
    func moveNoFailMatchesFirst() {
        guard var lines = noFailMatches else { return }
        noFailMatches = nil
        if let earlier = matches { lines.append(contentsOf: earlier) }
        matches = lines
    }

    /// Adds the value of group `user` (when set) to the users set, creating it;
    /// returns how many users the set holds.
    func addUser(_ user: Int) -> Int {
        groups.withValue(user) { insertUser($0) }
        return users?.count ?? 0
    }

    /// Adds the `user` value of `other` (another record's groups, when set) to the users
    /// set, as `addUser` does. `inout` only to read another record's groups in place
    /// (see `GroupValues.merge`).
    func addUser(_ user: Int, of other: inout GroupValues) -> Int {
        other.withValue(user) { insertUser($0) }
        return users?.count ?? 0
    }

    /// Out of line, so that the reset inlined in the matcher's line loop stays small.
    @inline(never)
    private func keepUsersAsSpare() {
        swap(&spareUsers, &users!)
        users = nil
    }

    /// A users list of `value` alone, in the spare storage when there is some.
    private func reusedUsers(holding value: UnsafeBufferPointer<UInt8>) -> [[UInt8]] {
        var reused: [[UInt8]] = []
        swap(&reused, &spareUsers)
        guard !reused.isEmpty else { return [Array(value)] }
        reused.removeLast(reused.count - 1)
        reused[0].removeAll(keepingCapacity: true)
        reused[0].append(contentsOf: value)
        return reused
    }

    /// Mutates `users` in place: copying it out and back would copy the array.
    private func insertUser(_ value: UnsafeBufferPointer<UInt8>?) {
        guard let value, !value.isEmpty else { return }
        guard users != nil else {
            users = reusedUsers(holding: value)
            return
        }
        // Most lines repeat a user the connection has: found by comparing words, not
        // through `elementsEqual`'s element iterators.
        let known = users!.withUnsafeBufferPointer { all in
            all.contains { user in user.withUnsafeBufferPointer { sameBytes($0, value) } }
        }
        if !known { users!.append(Array(value)) }
    }
}

/// fail2ban's small TTL cache (`Utils.Cache`) of multi-line connections, keyed by the
/// `mlfid` bytes: insertion-ordered, at most `maxCount` entries, each valid for
/// `maxTime` seconds after it was set. When full, the oldest entries are dropped until
/// one that is still valid has gone and a slot is free.
///
/// Entries sit unordered in one array with a parallel array of key hashes; an
/// open-addressing table (linear probing, at most a quarter full) maps a hash to its
/// entry, so a lookup costs a probe or two instead of a scan of `maxCount` hashes on
/// every line of an mlfid filter. A removal swaps the last entry into the hole and
/// closes the probe chain by shifting back. Insertion order is a doubly linked list
/// through the entries, so the oldest is found without a scan (a full cache evicts on
/// every new connection).
///
/// Records and key arrays of ended connections are kept for new ones (`takeSpareRecord`):
/// starting a connection then allocates neither, and ending one frees neither.
struct ConnectionCache {
    private struct Entry {
        var key: [UInt8]
        var record: FailureRecord
        var expiry: Double
        /// The neighbours in insertion order, entry indices; -1 past either end.
        var older: Int32
        var newer: Int32
    }

    let maxCount: Int
    let maxTime: Double
    private var hashes: [UInt64] = []
    private var entries: [Entry] = []
    private var oldest: Int32 = -1
    private var newest: Int32 = -1
    /// Entry index per table slot, -1 when free.
    private var table: [Int32]
    private let tableMask: Int
    /// Of ended connections, at most `maxSpares` of each: enough for connections that
    /// end and start in turn, without holding on to a burst of expired ones.
    private var spareRecords: [FailureRecord] = []
    private var spareKeys: [[UInt8]] = []
    private static let maxSpares = 4

    init(maxCount: Int, maxTime: Double) {
        self.maxCount = maxCount
        self.maxTime = maxTime
        hashes.reserveCapacity(maxCount)
        entries.reserveCapacity(maxCount)
        spareRecords.reserveCapacity(ConnectionCache.maxSpares)
        spareKeys.reserveCapacity(ConnectionCache.maxSpares)
        var size = 8
        while size < 4 * maxCount { size *= 2 }
        table = Array(repeating: -1, count: size)
        tableMask = size - 1
    }

    /// A key's bytes and hash: a line hashes its key once for all the operations it does.
    struct Key {
        let bytes: UnsafeBufferPointer<UInt8>
        let hash: UInt64

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
            hash = ConnectionCache.hash(bytes)
        }
    }

    var isEmpty: Bool { entries.isEmpty }

    mutating func get(_ key: Key, now: Double) -> FailureRecord? {
        guard let index = find(key).entry else { return nil }
        if entries[index].expiry > now { return entries[index].record }
        remove(at: index)
        return nil
    }

    /// Caches `record` under `key`; a key already there keeps its place in the order.
    mutating func set(_ key: Key, _ record: FailureRecord, now: Double) {
        var (existing, slot) = find(key)
        if let existing {
            entries[existing].record = record
            entries[existing].expiry = now + maxTime
            return
        }
        if entries.count >= maxCount {
            evict(now: now)
            // Evictions may have moved chains: look for the free slot again.
            slot = find(key).slot
        }
        let index = Int32(entries.count)
        table[slot] = index
        hashes.append(key.hash)
        var storedKey = spareKeys.popLast() ?? []
        storedKey.removeAll(keepingCapacity: true)
        storedKey.append(contentsOf: key.bytes)
        entries.append(Entry(key: storedKey, record: record, expiry: now + maxTime, older: newest, newer: -1))
        if newest >= 0 { entries[Int(newest)].newer = index } else { oldest = index }
        newest = index
    }

    mutating func remove(_ key: Key) {
        if let index = find(key).entry { remove(at: index) }
    }

    /// A record of an ended connection that nothing else holds, for a new connection;
    /// it still holds that connection's values, which the caller resets.
    mutating func takeSpareRecord() -> FailureRecord? {
        while var record = spareRecords.popLast() {
            if isKnownUniquelyReferenced(&record) { return record }
        }
        return nil
    }

    /// Drops the oldest entries until a valid one has gone and a slot is free. Out of
    /// line: only a new connection on a full cache gets here.
    @inline(never)
    private mutating func evict(now: Double) {
        while oldest >= 0 {
            let index = Int(oldest)
            let wasValid = entries[index].expiry > now
            remove(at: index)
            if wasValid, entries.count < maxCount { break }
        }
    }

    /// The entry holding `key`, and its table slot; or nil and the free slot ending its chain.
    private func find(_ key: Key) -> (entry: Int?, slot: Int) {
        var slot = home(key.hash)
        while true {
            let index = Int(table[slot])
            if index < 0 { return (nil, slot) }
            if hashes[index] == key.hash {
                let equal = entries[index].key.withUnsafeBufferPointer { sameBytes($0, key.bytes) }
                if equal { return (index, slot) }
            }
            slot = (slot + 1) & tableMask
        }
    }

    /// The table slot that points at entry `index`.
    private func slot(of index: Int) -> Int {
        var slot = home(hashes[index])
        while table[slot] != Int32(index) { slot = (slot + 1) & tableMask }
        return slot
    }

    @inline(__always)
    private func home(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash ^ (hash >> 29)) & tableMask
    }

    private mutating func remove(at index: Int) {
        // Free the entry's slot, shifting later members of its probe chain back so
        // that every entry stays reachable from its home slot.
        var hole = slot(of: index)
        var next = (hole + 1) & tableMask
        while table[next] >= 0 {
            let displacement = (next - home(hashes[Int(table[next])])) & tableMask
            if displacement >= (next - hole) & tableMask {
                table[hole] = table[next]
                hole = next
            }
            next = (next + 1) & tableMask
        }
        table[hole] = -1
        // Unlink it from the order.
        let older = entries[index].older, newer = entries[index].newer
        if older >= 0 { entries[Int(older)].newer = newer } else { oldest = newer }
        if newer >= 0 { entries[Int(newer)].older = older } else { newest = older }
        // Then move the last entry into the freed index, and its neighbours' links with it.
        let last = entries.count - 1
        if index != last {
            table[slot(of: last)] = Int32(index)
            let movedOlder = entries[last].older, movedNewer = entries[last].newer
            if movedOlder >= 0 { entries[Int(movedOlder)].newer = Int32(index) } else { oldest = Int32(index) }
            if movedNewer >= 0 { entries[Int(movedNewer)].older = Int32(index) } else { newest = Int32(index) }
        }
        hashes.swapAt(index, last)
        hashes.removeLast()
        entries.swapAt(index, last)
        let removed = entries.removeLast()
        if spareRecords.count < ConnectionCache.maxSpares {
            spareRecords.append(removed.record)
            spareKeys.append(removed.key)
        }
    }

    /// Eight bytes per multiply-and-fold step (the key's last bytes in one word that may
    /// overlap the previous one), seeded with the length: keys are short (`mlfid` is a
    /// host and process tag, some twenty bytes), FNV-1a's byte loop cost a hundred
    /// instructions per line, and equal hashes are confirmed on the bytes anyway.
    private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        let count = key.count
        var hash = UInt64(count) &* multiplier
        guard let base = key.baseAddress, count > 0 else { return hash }
        let raw = UnsafeRawPointer(base)
        // The fold brings the product's high bits, which every input bit reaches, down
        // to the low ones `home` keeps (by another shift than `home`'s, which would
        // cancel it out).
        @inline(__always) func mix(_ word: UInt64) {
            hash = (hash ^ word) &* multiplier
            hash ^= hash >> 32
        }
        var offset = 0
        while offset + 8 <= count {
            mix(raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < count {
            if count >= 8 {
                mix(raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
            } else {
                var word: UInt64 = 0
                for index in 0..<count { word |= UInt64(base[index]) << UInt64(8 * index) }
                mix(word)
            }
        }
        return hash
    }
}

/// Whether two byte strings (connection keys, users) are the same, compared eight bytes
/// at a time in line: through `memcmp` (a call the optimiser knows nothing of) the
/// stored array was retained and released around every comparison.
@inline(__always)
private func sameBytes(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Bool {
    let count = left.count
    guard count == right.count else { return false }
    guard count > 0, let leftBase = left.baseAddress, let rightBase = right.baseAddress else { return true }
    guard count >= 8 else {
        for index in 0..<count where leftBase[index] != rightBase[index] { return false }
        return true
    }
    let a = UnsafeRawPointer(leftBase), b = UnsafeRawPointer(rightBase)
    var offset = 0
    while offset + 8 < count {
        if a.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != b.loadUnaligned(fromByteOffset: offset, as: UInt64.self) { return false }
        offset += 8
    }
    // The last eight bytes, overlapping the word before when the count is not a multiple of eight.
    return a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
}
