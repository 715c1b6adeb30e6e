/// Makes a log line safe for PCRE2's JIT, which assumes valid UTF-8.
///
/// fail2ban decodes each line with `errors='replace'`; this does the same on bytes:
/// every maximal ill-formed subsequence becomes U+FFFD (EF BF BD), the policy Python's
/// decoder and the Unicode standard share. Valid lines (the normal case) are detected
/// with an ASCII fast path and passed through without a copy.
public struct UTF8Repair {
    private var scratch: [UInt8] = []

    public init() {}

    /// Calls `body` with `line` if it is valid UTF-8, otherwise with a repaired copy.
    /// The flag tells whether a repair happened.
    public mutating func withValidUTF8<R>(
        _ line: UnsafeBufferPointer<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>, Bool) -> R
    ) -> R {
        guard let firstBad = UTF8Repair.firstInvalidOffset(line) else { return body(line, false) }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: line[0..<firstBad])
        UTF8Repair.appendRepaired(line, from: firstBad, into: &scratch)
        return scratch.withUnsafeBufferPointer { body($0, true) }
    }

    /// Offset of the first byte that starts an ill-formed sequence, or nil if `bytes` is valid.
    public static func firstInvalidOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let count = bytes.count
        var index = 0
        // ASCII fast path: eight bytes at a time while no high bit is set.
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while index + 8 <= count {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                index += 8
            }
        }
        while index < count {
            if bytes[index] < 0x80 { index += 1; continue }
            let length = validSequenceLength(bytes, at: index)
            if length == 0 { return index }
            index += length
        }
        return nil
    }

    /// Length of the well-formed sequence starting at `index` (1...4), or 0 if ill-formed.
    @inline(__always)
    private static func validSequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let lead = bytes[index]
        let (length, secondLow, secondHigh): (Int, UInt8, UInt8)
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: (length, secondLow, secondHigh) = (2, 0x80, 0xBF)
        case 0xE0: (length, secondLow, secondHigh) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (length, secondLow, secondHigh) = (3, 0x80, 0xBF)
        case 0xED: (length, secondLow, secondHigh) = (3, 0x80, 0x9F)
        case 0xF0: (length, secondLow, secondHigh) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (length, secondLow, secondHigh) = (4, 0x80, 0xBF)
        case 0xF4: (length, secondLow, secondHigh) = (4, 0x80, 0x8F)
        default: return 0
        }
        guard index + length <= bytes.count else { return 0 }
        let second = bytes[index + 1]
        guard second >= secondLow && second <= secondHigh else { return 0 }
        for offset in 2..<max(2, length) where bytes[index + offset] & 0xC0 != 0x80 { return 0 }
        return length
    }

    /// Length of the maximal subpart of an ill-formed sequence at `index`: the bytes that
    /// start a valid sequence but stop before it is complete, or 1.
    private static func maximalSubpartLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let lead = bytes[index]
        let (length, secondLow, secondHigh): (Int, UInt8, UInt8)
        switch lead {
        case 0xC2...0xDF: (length, secondLow, secondHigh) = (2, 0x80, 0xBF)
        case 0xE0: (length, secondLow, secondHigh) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (length, secondLow, secondHigh) = (3, 0x80, 0xBF)
        case 0xED: (length, secondLow, secondHigh) = (3, 0x80, 0x9F)
        case 0xF0: (length, secondLow, secondHigh) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (length, secondLow, secondHigh) = (4, 0x80, 0xBF)
        case 0xF4: (length, secondLow, secondHigh) = (4, 0x80, 0x8F)
        default: return 1
        }
        var consumed = 1
        while consumed < length, index + consumed < bytes.count {
            let byte = bytes[index + consumed]
            let fits = consumed == 1 ? (byte >= secondLow && byte <= secondHigh) : (byte & 0xC0 == 0x80)
            if !fits { break }
            consumed += 1
        }
        return consumed
    }

    private static func appendRepaired(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, into output: inout [UInt8]) {
        var index = start
        while index < bytes.count {
            let length = validSequenceLength(bytes, at: index)
            if length > 0 {
                output.append(contentsOf: bytes[index..<(index + length)])
                index += length
            } else {
                output.append(contentsOf: [0xEF, 0xBF, 0xBD])
                index += maximalSubpartLength(bytes, at: index)
            }
        }
    }
}
