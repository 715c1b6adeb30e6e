/// The group names one matcher can report, numbered in sorted order: walking the
/// numbers walks the names as `sorted()` would, so output needs no sort per failure.
final class GroupNames: Sendable {
    let names: [String]
    private let numbers: [String: Int]

    /// Names every matcher knows even when no regex captures them (`nofail` can be set
    /// from `mlfgained`, for instance).
    static let special = ["fid", "ip4", "ip6", "dns", "cidr", "user", "mlfid", "nofail", "mlfforget", "mlfgained", "content"]

    init(_ names: some Sequence<String>) {
        self.names = Array(Set(names).union(GroupNames.special)).sorted()
        numbers = Dictionary(uniqueKeysWithValues: self.names.enumerated().map { ($1, $0) })
    }

    func number(_ name: String) -> Int? { numbers[name] }
}

/// Group values as bytes: slot `n` holds the value of name `n` as a span of `bytes`,
/// or nothing (fail2ban's None). Values are appended, never edited in place, so a
/// record that merges many lines only grows `bytes` until `compact()` runs.
///
/// Only `bytes[0 ..< used]` holds values; clearing resets `used` and later values are
/// written over the old bytes, because `Array`'s own clearing keeps its capacity only
/// through a generic range replacement that cost more than the values it removed.
struct GroupValues: Sendable {
    private struct Span: Sendable {
        var start: Int32
        var end: Int32
        static let absent = Span(start: -1, end: -1)
    }

    private var bytes: [UInt8] = []
    private var used = 0
    private var spans: [Span]

    init(count: Int) {
        spans = Array(repeating: .absent, count: count)
        bytes.reserveCapacity(128)
    }

    /// Removes every value, keeping the storage.
    mutating func removeAll() {
        used = 0
        spans.withUnsafeMutableBufferPointer { all in
            for index in all.indices { all[index] = .absent }
        }
    }

    /// Makes this table hold exactly `other`'s values, reusing the storage.
    mutating func assign(_ other: GroupValues) {
        used = 0
        other.bytes.withUnsafeBufferPointer { append(UnsafeBufferPointer(rebasing: $0[0..<other.used])) }
        spans.withUnsafeMutableBufferPointer { all in
            other.spans.withUnsafeBufferPointer { theirs in
                for index in all.indices { all[index] = theirs[index] }
            }
        }
    }

    /// How many values are present.
    var presentCount: Int { spans.reduce(0) { $0 + ($1.start >= 0 ? 1 : 0) } }

    /// Whether any value is present (fail2ban's non-empty dict).
    var hasValues: Bool { spans.contains { $0.start >= 0 } }

    @inline(__always)
    func isPresent(_ number: Int) -> Bool { spans[number].start >= 0 }

    /// Python truthiness: present and not empty.
    @inline(__always)
    func isSet(_ number: Int) -> Bool { spans[number].end > spans[number].start }

    func withValue<R>(_ number: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        let span = spans[number]
        guard span.start >= 0 else { return body(nil) }
        return bytes.withUnsafeBufferPointer { all in
            body(UnsafeBufferPointer(rebasing: all[Int(span.start)..<Int(span.end)]))
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

    mutating func set(_ number: Int, _ value: UnsafeBufferPointer<UInt8>) {
        let start = used
        append(value)
        spans[number] = Span(start: Int32(start), end: Int32(used))
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
    /// past its high-water mark.
    private mutating func makeRoom(_ count: Int) {
        if used + count > bytes.count { bytes.append(contentsOf: repeatElement(0, count: used + count - bytes.count)) }
    }

    /// Gives `target` the value of `source` (both in this table).
    mutating func copy(_ source: Int, to target: Int) {
        spans[target] = spans[source]
    }

    mutating func remove(_ number: Int) {
        spans[number] = .absent
    }

    /// Python's `dict.update`: every value present in `other` replaces ours. The room is
    /// made once and the values are copied through pointers: a connection record merges
    /// every line of its connection.
    mutating func merge(_ other: GroupValues) {
        other.bytes.withUnsafeBufferPointer { theirBytes in
            other.spans.withUnsafeBufferPointer { theirSpans in
                var needed = 0
                for span in theirSpans where span.start >= 0 { needed += Int(span.end - span.start) }
                makeRoom(needed)
                var end = used
                bytes.withUnsafeMutableBufferPointer { mine in
                    spans.withUnsafeMutableBufferPointer { mySpans in
                        for number in theirSpans.indices {
                            let span = theirSpans[number]
                            guard span.start >= 0 else { continue }
                            let length = Int(span.end - span.start)
                            if length > 0 {
                                (mine.baseAddress! + end).update(from: theirBytes.baseAddress! + Int(span.start), count: length)
                            }
                            mySpans[number] = Span(start: Int32(end), end: Int32(end + length))
                            end += length
                        }
                    }
                }
                used = end
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
