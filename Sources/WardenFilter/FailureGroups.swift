#if canImport(Glibc)
import Glibc
#endif

/// The group names one matcher can report, numbered in sorted order: walking the
/// numbers walks the names as `sorted()` would, so output needs no sort per failure.
final class GroupNames: Sendable {
    let names: [String]

    /// Names every matcher knows even when no regex captures them (`nofail` can be set
    /// from `mlfgained`, for instance).
    static let special = ["fid", "ip4", "ip6", "dns", "cidr", "user", "mlfid", "nofail", "mlfforget", "mlfgained", "content"]

    init(_ names: some Sequence<String>) {
        var all = Array(names) + GroupNames.special
        all.sort()
        var unique: [String] = []
        unique.reserveCapacity(all.count)
        for name in all where name != unique.last { unique.append(name) }
        self.names = unique
    }

    /// A binary search of the sorted names, not a dictionary: a matcher has a few dozen
    /// names at most, too few for hashing to pay, and a dictionary type of its own is one
    /// more the runtime builds on first use.
    func number(_ name: String) -> Int? {
        var low = 0, high = names.count
        while low < high {
            let middle = (low + high) / 2
            if names[middle] < name { low = middle + 1 } else { high = middle }
        }
        return low < names.count && names[low] == name ? low : nil
    }
}

/// Per group slot, whether a regex names it: all ones for a named slot, else 0, so
/// that `GroupValues.assign(_:updatedWith:clearing:)` clears a span (to absent, all
/// ones) with an OR instead of a branch.
struct SlotMask: Sendable {
    let bits: [UInt64]

    init(count: Int, slots: some Sequence<Int>) {
        var bits = [UInt64](repeating: 0, count: count)
        for slot in slots { bits[slot] = ~0 }
        self.bits = bits
    }
}

/// Group values as bytes: slot `n` holds the value of name `n` as a span of `bytes`,
/// or nothing (fail2ban's None). Values are appended, never edited in place, so a
/// record that merges many lines only grows `bytes` until `compact()` runs.
///
/// Only `bytes[0 ..< used]` holds values; clearing resets `used` and later values are
/// written over the old bytes, because `Array`'s own clearing keeps its capacity only
/// through a generic range replacement that cost more than the values it removed.
struct GroupValues: Sendable {
    /// Where a value sits in `bytes`; both ends -1 when absent. One word, the start in
    /// its low half and the end in its high half, so that the loops over every slot in
    /// `assign` and `merge` move and select whole spans with a few word operations
    /// (which the compiler also vectorises) rather than each half on its own.
    struct Span: Sendable {
        private var bits: UInt64
        static let absent = Span(bits: ~0)

        private init(bits: UInt64) {
            self.bits = bits
        }

        init(start: Int32, end: Int32) {
            bits = UInt64(UInt32(bitPattern: start)) | UInt64(UInt32(bitPattern: end)) << 32
        }

        init(_ range: Range<Int>) {
            self.init(start: Int32(range.lowerBound), end: Int32(range.upperBound))
        }

        var start: Int32 { Int32(truncatingIfNeeded: bits) }
        var end: Int32 { Int32(truncatingIfNeeded: bits >> 32) }
        var isPresent: Bool { start >= 0 }
        /// Python truthiness: present and not empty.
        var isSet: Bool { end > start }

        /// `self` moved by `offset` (not negative) when present, else `other`. Without a
        /// branch: whether a group took part follows no pattern a predictor learns, and
        /// the merges of every line mispredicted on it.
        @inline(__always)
        func shifted(by offset: Int32, orElse other: Span) -> Span {
            // Both halves move at once: a present span's halves are below 2^31, so
            // no carry crosses from the start into the end.
            let moved = bits &+ UInt64(UInt32(bitPattern: offset)) &* 0x1_0000_0001
            return Span(bits: moved & ~absentMask | other.bits & absentMask)
        }

        /// `self` when present, else `other`. The compiler makes this select a branch
        /// that loads `other` only for an absent span; in `Matcher.capture` that branch
        /// mispredicts about 0.6 times per line, and forcing a true select (`self` ANDed
        /// with `other` or all ones) cost 27 more instructions per line than it saved.
        @inline(__always)
        func orElse(_ other: Span) -> Span {
            Span(bits: bits & ~absentMask | other.bits & absentMask)
        }

        /// All ones when absent (the start's sign bit set), zero when present: selects
        /// between two spans without a branch.
        @inline(__always)
        private var absentMask: UInt64 { 0 &- (bits >> 31 & 1) }

        /// Absent where `mask` is all ones, else `self`.
        @inline(__always)
        func cleared(where mask: UInt64) -> Span {
            Span(bits: bits | mask)
        }
    }

    private var bytes: [UInt8] = []
    private var used = 0
    private var spans: [Span]

    init(count: Int) {
        spans = Array(repeating: .absent, count: count)
        bytes.reserveCapacity(128)
    }

    /// fail2ban's failure dict for a failregex match: the prefregex's values, minus
    /// those the failregex names but did not capture (`dict.update` with None removes
    /// the key), updated with the failregex's values. In one pass, reusing the storage.
    mutating func assign(_ prefregex: CapturedGroups, updatedWith match: CapturedGroups, clearing named: SlotMask) {
        // Both tables' bytes, back to back, with one check of room and uniqueness.
        let first = prefregex.bytes.bytes, second = match.bytes.bytes
        let offset = Int32(first.count)
        used = 0
        makeRoom(first.count + second.count)
        bytes.withUnsafeMutableBufferPointer { all in
            if let source = first.baseAddress, !first.isEmpty { all.baseAddress!.update(from: source, count: first.count) }
            if let source = second.baseAddress, !second.isEmpty { (all.baseAddress! + first.count).update(from: source, count: second.count) }
        }
        used = first.count + second.count
        let base = prefregex.spans, theirs = match.spans
        spans.withUnsafeMutableBufferPointer { all in
            named.bits.withUnsafeBufferPointer { cleared in
                for index in all.indices {
                    all[index] = theirs[index].shifted(by: offset, orElse: base[index].cleared(where: cleared[index]))
                }
            }
        }
    }

    /// How many values are present.
    var presentCount: Int { spans.reduce(0) { $0 + ($1.start >= 0 ? 1 : 0) } }

    @inline(__always)
    func isPresent(_ number: Int) -> Bool { spans[number].isPresent }

    /// Python truthiness: present and not empty.
    @inline(__always)
    func isSet(_ number: Int) -> Bool { spans[number].isSet }

    func withValue<R>(_ number: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        let span = spans[number]
        guard span.start >= 0 else { return body(nil) }
        return bytes.withUnsafeBufferPointer { all in
            body(UnsafeBufferPointer(rebasing: all[Int(span.start)..<Int(span.end)]))
        }
    }

    /// Replaces the contents of `output` with the value of group `number` (present).
    /// Mutating although it only reads, so that a record's groups are passed by address:
    /// called on a copy, both arrays were retained and released around the append.
    mutating func copyValue(_ number: Int, to output: ScratchBytes) {
        let span = spans[number]
        output.removeAll()
        bytes.withUnsafeBufferPointer { all in
            output.append(UnsafeBufferPointer(rebasing: all[Int(span.start)..<Int(span.end)]))
        }
    }

    func string(_ number: Int) -> String? {
        withValue(number) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    func equals(_ number: Int, _ other: GroupValues, _ otherNumber: Int) -> Bool {
        withValue(number) { mine in
            other.withValue(otherNumber) { theirs in
                guard let mine, let theirs else { return mine == nil && theirs == nil }
                return mine.elementsEqual(theirs)
            }
        }
    }

    /// Writes `value` at `used`.
    private mutating func append(_ value: UnsafeBufferPointer<UInt8>) {
        makeRoom(value.count)
        if let source = value.baseAddress, !value.isEmpty {
            let start = used
            bytes.withUnsafeMutableBufferPointer { ($0.baseAddress! + start).update(from: source, count: value.count) }
        }
        used += value.count
    }

    /// Makes `bytes` long enough for `count` more bytes at `used`, growing the array only
    /// past its high-water mark, and then at least doubling it: a connection record
    /// grows by a line's values per merge until it is compacted, and growing by exactly
    /// the shortfall paid the generic append on a third of all merges.
    private mutating func makeRoom(_ count: Int) {
        let needed = used + count
        if needed > bytes.count { grow(to: needed) }
    }

    /// A new array with the live bytes copied in (`memcpy`, then `memset` for the rest):
    /// `append(contentsOf: repeatElement(...))` and `initialize(repeating:)` went byte
    /// by byte.
    @inline(never)
    private mutating func grow(to needed: Int) {
        let size = max(needed, 2 * bytes.count, 128)
        let live = used
        bytes = bytes.withUnsafeBufferPointer { old in
            [UInt8](unsafeUninitializedCapacity: size) { new, initialized in
                if live > 0 { memcpy(new.baseAddress!, old.baseAddress!, live) }
                memset(new.baseAddress! + live, 0, size - live)
                initialized = size
            }
        }
    }

    /// Gives `target` the value of `source` (both in this table).
    mutating func copy(_ source: Int, to target: Int) {
        spans[target] = spans[source]
    }

    /// Written only when present: most removals find nothing, and a write made the
    /// array check its uniqueness.
    mutating func remove(_ number: Int) {
        if spans[number].isPresent { spans[number] = .absent }
    }

    /// Python's `dict.update`: every value present in `other` replaces ours. All of
    /// `other`'s bytes are appended in one copy (its dead bytes too, which compaction
    /// drops later), then each slot takes `other`'s span or keeps its own without a
    /// branch: a connection record merges every line of its connection. `other` is
    /// `inout` though only read: a record's groups passed by value were copied, a retain
    /// and release of both arrays per merged line.
    mutating func merge(_ other: inout GroupValues) {
        let offset = Int32(used)
        other.bytes.withUnsafeBufferPointer { append(UnsafeBufferPointer(rebasing: $0[0..<other.used])) }
        spans.withUnsafeMutableBufferPointer { mine in
            other.spans.withUnsafeBufferPointer { theirs in
                for index in mine.indices { mine[index] = theirs[index].shifted(by: offset, orElse: mine[index]) }
            }
        }
        compactIfWasteful()
    }

    /// Calls `body` with each present value, in name order.
    func forEach(_ body: (Int, UnsafeBufferPointer<UInt8>) -> Void) {
        bytes.withUnsafeBufferPointer { all in
            for number in spans.indices where spans[number].start >= 0 {
                body(number, UnsafeBufferPointer(rebasing: all[Int(spans[number].start)..<Int(spans[number].end)]))
            }
        }
    }

    /// A record on a long connection merges a line's values at a time; drop the
    /// overwritten bytes once they dominate.
    private mutating func compactIfWasteful() {
        guard used > 1024 else { return }
        var live = 0
        for span in spans where span.start >= 0 { live += Int(span.end - span.start) }
        guard used > 2 * live else { return }
        // Moved to the front through a scratch copy: the array keeps its size, so later
        // merges write over it instead of growing it again.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: live) { scratch in
            var end = 0
            bytes.withUnsafeMutableBufferPointer { all in
                spans.withUnsafeMutableBufferPointer { mySpans in
                    for number in mySpans.indices where mySpans[number].start >= 0 {
                        let span = mySpans[number], length = Int(span.end - span.start)
                        if length > 0 { (scratch.baseAddress! + end).update(from: all.baseAddress! + Int(span.start), count: length) }
                        mySpans[number] = Span(start: Int32(end), end: Int32(end + length))
                        end += length
                    }
                }
                if end > 0 { all.baseAddress!.update(from: scratch.baseAddress!, count: end) }
            }
            used = end
        }
    }
}

/// A regex match's group values, the matcher's per-line scratch that
/// `GroupValues.assign(_:updatedWith:clearing:)` reads: a fixed span table and a reused
/// byte buffer, not arrays, so that capturing and reading them takes no reference
/// counting or uniqueness checks (as `GroupValues`, the matcher retained and released
/// four arrays per matched line to pass two of them).
final class CapturedGroups {
    /// One span per group slot, counted in `bytes`; absent when the group did not take part.
    let spans: UnsafeMutableBufferPointer<GroupValues.Span>
    let bytes = ScratchBytes(capacity: 128)

    init(count: Int) {
        spans = .allocate(capacity: count)
        spans.initialize(repeating: .absent)
    }

    deinit { spans.deallocate() }

    /// Replaces every value by spans of `text`: `body` gets the span table with every
    /// slot absent, sets the spans of the values, counted in `text`, and returns the
    /// last value's end. The bytes of `text` up to there are then copied in one go, so
    /// the spans stay as they are: one copy instead of one per group, and no pass to
    /// rebase them.
    @inline(__always)
    func replaceAll(copying text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeMutableBufferPointer<GroupValues.Span>) -> Int32) {
        for index in spans.indices { spans[index] = .absent }
        let end = body(spans)
        bytes.removeAll()
        bytes.append(UnsafeBufferPointer(rebasing: text[0..<Int(end)]))
    }
}
