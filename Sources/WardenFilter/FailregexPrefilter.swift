/// The checks that rule failregexes out before PCRE2 runs: the first byte of a
/// pattern anchored at the subject start, then the literal every match contains.
///
/// Runs once per subject for every failregex, so its tables are flat buffers read
/// through pointers: per first byte, the ascending list of regexes that may start with
/// it (most lines leave a few of a filter's twenty-odd), and the verdicts go to a bit
/// set without array copy-on-write checks: the matcher walks the set bits instead of
/// testing every regex's verdict (on the stock sshd filter, 22 tests per line).
final class FailregexPrefilter {
    private let count: Int
    /// The regexes that can match a subject starting with byte `b` are
    /// `firstByteRegexes[firstByteRows[b] ..< firstByteRows[b + 1]]`.
    private let firstByteRows: UnsafeMutableBufferPointer<Int>
    private let firstByteRegexes: UnsafeMutableBufferPointer<Int>
    private let literalBytes: UnsafeMutableBufferPointer<UInt8>
    /// Regex `i`'s literal is `literalBytes[literalStarts[i] ..< literalStarts[i + 1]]`.
    private let literalStarts: UnsafeMutableBufferPointer<Int>
    /// After `select`: bit `i % 64` of word `i / 64` tells whether regex `i` is worth
    /// running on the subject.
    private let candidates: UnsafeMutableBufferPointer<UInt64>

    init(_ regexes: [FilterRegex]) {
        count = regexes.count
        let firstBytes = regexes.map { $0.compiled.anchoredFirstBytes ?? .all }
        firstByteRows = .allocate(capacity: 257)
        var rows: [Int] = []
        for byte in 0..<256 {
            firstByteRows[byte] = rows.count
            rows += firstBytes.indices.filter { firstBytes[$0].contains(UInt8(byte)) }
        }
        firstByteRows[256] = rows.count
        firstByteRegexes = .allocate(capacity: max(rows.count, 1))
        _ = firstByteRegexes.initialize(from: rows)
        let literals = regexes.map { $0.requiredLiteral ?? [] }
        literalBytes = .allocate(capacity: max(literals.reduce(0) { $0 + $1.count }, 1))
        literalStarts = .allocate(capacity: count + 1)
        var offset = 0
        for (index, literal) in literals.enumerated() {
            literalStarts[index] = offset
            for byte in literal {
                literalBytes[offset] = byte
                offset += 1
            }
        }
        literalStarts[count] = offset
        candidates = .allocate(capacity: max((count + 63) / 64, 1))
        candidates.initialize(repeating: 0)
    }

    deinit {
        firstByteRows.deallocate()
        firstByteRegexes.deallocate()
        literalBytes.deallocate()
        literalStarts.deallocate()
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
        for row in firstByteRows[Int(first)]..<firstByteRows[Int(first) + 1] {
            let index = firstByteRegexes[row]
            guard index >= start else { continue }
            let literal = UnsafeBufferPointer(rebasing: literalBytes[literalStarts[index]..<literalStarts[index + 1]])
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
