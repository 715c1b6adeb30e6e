/// The checks that rule failregexes out before PCRE2 runs: the first byte of a
/// pattern anchored at the subject start, then the literal every match contains.
///
/// Runs once per subject for every failregex, so its tables are flat buffers read
/// through pointers: one row per first byte says which regexes may start with it,
/// and the verdicts go to `candidates` without array copy-on-write checks.
final class FailregexPrefilter {
    private let count: Int
    /// Row `b * count + i`: whether regex `i` can match a subject starting with byte `b`.
    private let firstByteTable: UnsafeMutableBufferPointer<Bool>
    private let literalBytes: UnsafeMutableBufferPointer<UInt8>
    /// Regex `i`'s literal is `literalBytes[literalStarts[i] ..< literalStarts[i + 1]]`.
    private let literalStarts: UnsafeMutableBufferPointer<Int>
    /// After `select`: whether regex `i` is worth running on the subject.
    let candidates: UnsafeMutableBufferPointer<Bool>

    init(_ regexes: [FilterRegex]) {
        count = regexes.count
        firstByteTable = .allocate(capacity: 256 * max(count, 1))
        for (index, regex) in regexes.enumerated() {
            let first = regex.compiled.anchoredFirstBytes ?? .all
            for byte in 0..<256 { firstByteTable[byte * count + index] = first.contains(UInt8(byte)) }
        }
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
        firstByteTable.deallocate()
        literalBytes.deallocate()
        literalStarts.deallocate()
        candidates.deallocate()
    }

    /// Sets `candidates[i]` for every regex from `start` on: false when it cannot match.
    func select(_ subject: UnsafeBufferPointer<UInt8>, from start: Int) {
        guard let first = subject.first else {
            for index in start..<count { candidates[index] = true }
            return
        }
        let row = Int(first) * count
        for index in start..<count {
            guard firstByteTable[row + index] else {
                candidates[index] = false
                continue
            }
            let literal = UnsafeBufferPointer(rebasing: literalBytes[literalStarts[index]..<literalStarts[index + 1]])
            candidates[index] = literal.isEmpty || ByteSearch.contains(subject, literal)
        }
    }
}
