/// Makes a log line safe for PCRE2's JIT, which assumes valid UTF-8.
///
/// fail2ban decodes each line with `errors='replace'`; this does the same on bytes:
/// every maximal ill-formed subsequence becomes U+FFFD (EF BF BD), the policy Python's
/// decoder and the Unicode standard share. Valid lines (the normal case) are detected
/// with an ASCII fast path and passed through without a copy.
public struct UTF8Repair {
    private var scratch: [UInt8] = []

    public init() {}

    /// Calls `body` with `line` if it is valid UTF-8, otherwise with a repaired copy,
    /// and whether the bytes `body` gets are all ASCII. The flag tells whether a
    /// repair happened.
    public mutating func withValidUTF8<R>(
        _ line: UnsafeBufferPointer<UInt8>,
        _ body: (_ valid: UnsafeBufferPointer<UInt8>, _ repaired: Bool, _ isASCII: Bool) -> R
    ) -> R {
        let scan = UTF8Repair.scan(line)
        guard let firstBad = scan.firstInvalid else { return body(line, false, scan.isASCII) }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: line[0..<firstBad])
        UTF8Repair.appendRepaired(line, from: firstBad, into: &scratch)
        // The repair wrote at least one U+FFFD.
        return scratch.withUnsafeBufferPointer { body($0, true, false) }
    }

    /// Offset of the first byte that starts an ill-formed sequence, or nil if `bytes` is valid.
    public static func firstInvalidOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        scan(bytes).firstInvalid
    }

    /// What one pass over a line tells: where it stops being valid UTF-8, and whether
    /// it is all ASCII (which regexes and the date search need next: a second pass cost
    /// as much as this one).
    public struct Scan: Equatable, Sendable {
        /// Offset of the first byte that starts an ill-formed sequence; nil when valid.
        public var firstInvalid: Int?
        /// No byte above 0x7F.
        public var isASCII: Bool
    }

    public static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Scan {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return Scan(firstInvalid: nil, isASCII: true) }
        var index = 0
        // ASCII fast path: eight bytes at a time while no high bit is set; the last
        // word overlaps the one before, so an ASCII line needs no byte loop.
        if count >= 8 {
            let raw = UnsafeRawPointer(base)
            let high: UInt64 = 0x8080_8080_8080_8080
            while index + 8 < count, raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & high == 0 {
                index += 8
            }
            if index + 8 >= count {
                if raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) & high == 0 {
                    return Scan(firstInvalid: nil, isASCII: true)
                }
                index = count - 8
            }
        }
        var isASCII = true
        while index < count {
            if bytes[index] < 0x80 { index += 1; continue }
            isASCII = false
            let length = validSequenceLength(bytes, at: index)
            if length == 0 { return Scan(firstInvalid: index, isASCII: false) }
            index += length
        }
        return Scan(firstInvalid: nil, isASCII: isASCII)
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
