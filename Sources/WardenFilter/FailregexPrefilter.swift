/// The checks that rule failregexes out before PCRE2 runs: the first byte of a
/// pattern anchored at the subject start, the literal bytes it starts with, then the
/// literal every match contains.
///
/// Runs once per subject for every failregex, so its tables are flat buffers read
/// through pointers: per first byte, the ascending list of regexes that may start with
/// it (most lines leave a few of a filter's twenty-odd), and the verdicts go to a bit
/// set without array copy-on-write checks: the matcher walks the set bits instead of
/// testing every regex's verdict (on the stock sshd filter, 22 tests per line).
///
/// Most failregexes start with `^` and a word or two ("Failed ", "User "): comparing
/// the subject's first bytes with those, as two masked words, rules out most of the
/// regexes a first byte leaves without a call, and when the required literal lies
/// within them there is no search left to do (a `memchr` and `memcmp` per regex cost
/// ~8 mispredicted branches per line on the sshd benchmark).
final class FailregexPrefilter {
    private let count: Int
    /// The regexes that can match a subject starting with byte `b` are
    /// `firstByteRegexes[firstByteRows[b] ..< firstByteRows[b + 1]]`.
    private let firstByteRows: UnsafeMutableBufferPointer<Int>
    private let firstByteRegexes: UnsafeMutableBufferPointer<Int>
    /// Regex `i` needs `prefixes[i]` at the subject's start and `literals[i]` (bytes in
    /// `literalBytes`) anywhere in it; the literal is empty when there is none or the
    /// prefix holds it.
    private let prefixes: UnsafeMutableBufferPointer<WordPrefix>
    private let literals: UnsafeMutableBufferPointer<UnsafeBufferPointer<UInt8>>
    private let literalBytes: UnsafeMutableBufferPointer<UInt8>
    /// After `select`: bit `i % 64` of word `i / 64` tells whether regex `i` is worth
    /// running on the subject.
    private let candidates: UnsafeMutableBufferPointer<UInt64>

    init(_ regexes: [FilterRegex]) {
        count = regexes.count
        let firstBytes = regexes.map { $0.compiled.anchoredFirstBytes ?? .all }
        firstByteRows = .allocate(capacity: 257)
        // One array grown in place (a filtered array per byte cost ~0.3 M instructions
        // of start-up for the stock sshd filter).
        var rows: [Int] = []
        rows.reserveCapacity(256 * count)
        for byte in 0..<256 {
            firstByteRows[byte] = rows.count
            for index in firstBytes.indices where firstBytes[index].contains(UInt8(byte)) { rows.append(index) }
        }
        firstByteRows[256] = rows.count
        firstByteRegexes = .allocate(capacity: max(rows.count, 1))
        _ = firstByteRegexes.initialize(from: rows)
        let starts = regexes.map { $0.anchoredPrefix ?? [] }
        let needed = regexes.indices.map { index -> [UInt8] in
            guard let literal = regexes[index].requiredLiteral else { return [] }
            let held = WordPrefix.coveredBytes(of: starts[index]).withUnsafeBufferPointer { prefix in
                literal.withUnsafeBufferPointer { ByteSearch.contains(prefix, $0) }
            }
            return held ? [] : literal
        }
        prefixes = .allocate(capacity: max(count, 1))
        _ = prefixes.initialize(from: starts.map(WordPrefix.init))
        literalBytes = .allocate(capacity: max(needed.reduce(0) { $0 + $1.count }, 1))
        literals = .allocate(capacity: max(count, 1))
        var offset = 0
        for (index, literal) in needed.enumerated() {
            let start = literalBytes.baseAddress! + offset
            start.initialize(from: literal, count: literal.count)
            offset += literal.count
            (literals.baseAddress! + index).initialize(to: UnsafeBufferPointer(start: start, count: literal.count))
        }
        candidates = .allocate(capacity: max((count + 63) / 64, 1))
        candidates.initialize(repeating: 0)
    }

    deinit {
        firstByteRows.deallocate()
        firstByteRegexes.deallocate()
        prefixes.deallocate()
        literals.deallocate()
        literalBytes.deallocate()
        candidates.deallocate()
    }

    /// Decides for every regex from `start` on whether it can match `subject`; earlier
    /// verdicts stay as they are.
    func select(_ subject: UnsafeBufferPointer<UInt8>, from start: Int) {
        guard start < count else { return }
        guard let first = subject.first else {
            fill(from: start, true)
            return
        }
        fill(from: start, false)
        // Prefixes are read in place through a pointer: copying one out of the table
        // was most of the loop's instructions.
        for row in firstByteRows[Int(first)]..<firstByteRows[Int(first) &+ 1] {
            let index = firstByteRegexes[row]
            guard index >= start, WordPrefix.starts(prefixes.baseAddress.unsafelyUnwrapped + index, subject) else { continue }
            let literal = literals[index]
            set(index, literal.isEmpty || ByteSearch.contains(subject, literal))
        }
    }

    /// The first regex from `start` on that the last `select` left as a candidate.
    @inline(__always)
    func nextCandidate(from start: Int) -> Int? {
        var word = start >> 6
        guard word < candidates.count else { return nil }
        var bits = candidates[word] & (~0 << UInt64(start & 63))
        while bits == 0 {
            word += 1
            guard word < candidates.count else { return nil }
            bits = candidates[word]
        }
        return word << 6 | bits.trailingZeroBitCount
    }

    /// Sets the verdicts of regexes `start..<count`, a word at a time.
    private func fill(from start: Int, _ isCandidate: Bool) {
        for word in (start >> 6)..<candidates.count {
            // The bits of the regexes from `start` on, and none past `count`.
            let fromStart: UInt64 = word == start >> 6 ? ~0 << UInt64(start & 63) : ~0
            let belowCount: UInt64 = word == count >> 6 ? ~(~0 << UInt64(count & 63)) : ~0
            let bits = fromStart & belowCount
            candidates[word] = candidates[word] & ~bits | (isCandidate ? bits : 0)
        }
    }

    @inline(__always)
    private func set(_ index: Int, _ isCandidate: Bool) {
        let bit = UInt64(1) << UInt64(index & 63)
        candidates[index >> 6] = candidates[index >> 6] & ~bit | (isCandidate ? bit : 0)
    }
}

/// Up to the first 16 bytes of an anchored pattern's literal start, as two words to
/// compare with the subject's first bytes under masks: no loop and no call, and the same
/// instructions for every prefix length. The words overlap for 9 to 15 bytes; below 8
/// only the masked bytes of the first word count (both words are the same), and
/// without a prefix the masks are zero and every subject passes.
struct WordPrefix {
    static let maximumLength = 16

    private var head: UInt64 = 0
    private var headMask: UInt64 = 0
    private var tail: UInt64 = 0
    private var tailMask: UInt64 = 0
    /// Where the second word starts in the subject: the last 8 bytes of the prefix, or 0.
    private var tailOffset = 0
    /// The subject length both words can be read from: `tailOffset + 8`.
    private var wordsEnd = 8
    private var length = 0

    init(_ prefix: [UInt8]) {
        length = min(prefix.count, Self.maximumLength)
        guard length > 0 else { return }
        tailOffset = max(length - 8, 0)
        wordsEnd = tailOffset + 8
        // The words are loaded from bytes, as the subject's are, so that they agree in
        // any byte order.
        var bytes = [UInt8](repeating: 0, count: 16), covered = [UInt8](repeating: 0, count: 16)
        for index in 0..<length {
            bytes[index] = prefix[index]
            covered[index] = 0xFF
        }
        func word(_ source: [UInt8], at offset: Int) -> UInt64 {
            source.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
        }
        (head, headMask) = (word(bytes, at: 0), word(covered, at: 0))
        (tail, tailMask) = (word(bytes, at: tailOffset), word(covered, at: tailOffset))
    }

    /// The bytes a prefix that `init` got `prefix` checks.
    static func coveredBytes(of prefix: [UInt8]) -> ArraySlice<UInt8> {
        prefix.prefix(maximumLength)
    }

    /// Whether `subject`, not empty, starts with the prefix at `prefix`. Static, over a
    /// pointer: as a method on a table entry, the optimizer copied the entry to the
    /// stack first.
    @inline(__always)
    static func starts(_ prefix: UnsafePointer<WordPrefix>, _ subject: UnsafeBufferPointer<UInt8>) -> Bool {
        guard subject.count >= prefix.pointee.wordsEnd else { return prefix.pointee.startsShort(subject) }
        let raw = UnsafeRawPointer(subject.baseAddress.unsafelyUnwrapped)
        let first = raw.loadUnaligned(as: UInt64.self)
        let second = raw.loadUnaligned(fromByteOffset: prefix.pointee.tailOffset, as: UInt64.self)
        return (first ^ prefix.pointee.head) & prefix.pointee.headMask | (second ^ prefix.pointee.tail) & prefix.pointee.tailMask == 0
    }

    /// A subject shorter than the words: byte by byte (rare, log lines are longer).
    @inline(never)
    private func startsShort(_ subject: UnsafeBufferPointer<UInt8>) -> Bool {
        guard subject.count >= length else { return false }
        return withUnsafeBytes(of: head) { head in
            withUnsafeBytes(of: tail) { tail in
                (0..<length).allSatisfy { subject[$0] == ($0 < 8 ? head[$0] : tail[$0 - tailOffset]) }
            }
        }
    }
}
