/// The checks that rule failregexes out before PCRE2 runs: the first byte of a
/// pattern anchored at the subject start, then the literal every match contains.
///
/// Runs once per subject for every failregex, so its tables are flat buffers read
/// through pointers: per first byte, the ascending list of regexes that may start with
/// it (most lines leave a few of a filter's twenty-odd), and the verdicts go to
/// `candidates` without array copy-on-write checks.
final class FailregexPrefilter {
    private let count: Int
    /// The regexes that can match a subject starting with byte `b` are
    /// `firstByteRegexes[firstByteRows[b] ..< firstByteRows[b + 1]]`.
    private let firstByteRows: UnsafeMutableBufferPointer<Int>
    private let firstByteRegexes: UnsafeMutableBufferPointer<Int>
    private let literalBytes: UnsafeMutableBufferPointer<UInt8>
    /// Regex `i`'s literal is `literalBytes[literalStarts[i] ..< literalStarts[i + 1]]`.
    private let literalStarts: UnsafeMutableBufferPointer<Int>
    /// After `select`: whether regex `i` is worth running on the subject.
    let candidates: UnsafeMutableBufferPointer<Bool>

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
        candidates = .allocate(capacity: max(count, 1))
        candidates.initialize(repeating: true)
    }

    deinit {
        firstByteRows.deallocate()
        firstByteRegexes.deallocate()
        literalBytes.deallocate()
        literalStarts.deallocate()
        candidates.deallocate()
    }

    /// Sets `candidates[i]` for every regex from `start` on: false when it cannot match.
    func select(_ subject: UnsafeBufferPointer<UInt8>, from start: Int) {
        guard start < count else { return }
        guard let first = subject.first else {
            for index in start..<count { candidates[index] = true }
            return
        }
        for index in start..<count { candidates[index] = false }
        for row in firstByteRows[Int(first)]..<firstByteRows[Int(first) + 1] {
            let index = firstByteRegexes[row]
            guard index >= start else { continue }
            let literal = UnsafeBufferPointer(rebasing: literalBytes[literalStarts[index]..<literalStarts[index + 1]])
            candidates[index] = literal.isEmpty || ByteSearch.contains(subject, literal)
        }
    }
}
