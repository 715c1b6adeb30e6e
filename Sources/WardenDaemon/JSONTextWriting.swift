/// JSON tokens written at a raw position, for a writer that reserved the room first
/// (`warden regex --json` writes one object per failure, ~150 bytes, and aims at a few
/// instructions per byte). Same text as `JSONText.appendString` and `String(value)`.
extension JSONText {
    /// Room `writeString` needs for `count` bytes: each could become `\u00XX`, plus quotes.
    @inlinable
    public static func stringRoom(_ count: Int) -> Int {
        // `count` is a buffer's length, far below Int.max / 6: no overflow checks.
        count &* 6 &+ 2
    }

    /// Room `writeInteger` needs: a sign and the 19 digits of `Int.min`.
    @inlinable
    public static var integerRoom: Int { 20 }

    /// Writes `utf8` as a JSON string literal at `out`, which has `stringRoom(utf8.count)`
    /// bytes; returns the length written.
    public static func writeString(_ utf8: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let count = utf8.count
        out[0] = UInt8(ascii: "\"")
        // Log text rarely needs an escape: copy it whole, and start over escaping if not.
        if let base = utf8.baseAddress, !copyIfPlain(base, count: count, to: out + 1) {
            return writeEscaped(base, count: count, to: out)
        }
        out[count + 1] = UInt8(ascii: "\"")
        return count + 2
    }

    /// Copies `count` bytes to `target` if none needs an escape, eight at a time; false
    /// (with some of them copied) otherwise.
    ///
    /// Few branches, each going the same way for most strings: a string's last bytes are
    /// read as two overlapping pieces, like `memcpy` does, rather than by a loop of single
    /// bytes whose exit is mispredicted for every length it has not seen; and the pieces
    /// are checked together.
    @inline(__always)
    static func copyIfPlain(_ source: UnsafePointer<UInt8>, count: Int, to target: UnsafeMutablePointer<UInt8>) -> Bool {
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(target)
        if count >= 8 {
            var index = 0
            while count - index > 16 {
                let word = from.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                guard escapeBits(word) == 0 else { return false }
                to.storeBytes(of: word, toByteOffset: index, as: UInt64.self)
                index += 8
            }
            // 8 to 16 bytes left: two words, the second overlapping the first.
            let head = from.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let tail = from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            guard escapeBits(head) | escapeBits(tail) == 0 else { return false }
            to.storeBytes(of: head, toByteOffset: index, as: UInt64.self)
            to.storeBytes(of: tail, toByteOffset: count - 8, as: UInt64.self)
            return true
        }
        // Fewer than eight bytes: two overlapping pieces in one word whose unused bytes
        // are spaces (which need no escape).
        let spaces: UInt64 = 0x2020_2020_2020_2020
        let word: UInt64
        if count >= 4 {
            word = UInt64(from.loadUnaligned(as: UInt32.self))
                | UInt64(from.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)) << 32
        } else if count >= 2 {
            word = UInt64(from.loadUnaligned(as: UInt16.self))
                | UInt64(from.loadUnaligned(fromByteOffset: count - 2, as: UInt16.self)) << 16 | spaces << 32
        } else if count == 1 {
            word = UInt64(source[0]) | spaces << 8
        } else {
            return true
        }
        guard escapeBits(word) == 0 else { return false }
        if count >= 4 {
            to.storeBytes(of: UInt32(truncatingIfNeeded: word), as: UInt32.self)
            to.storeBytes(of: UInt32(truncatingIfNeeded: word >> 32), toByteOffset: count - 4, as: UInt32.self)
        } else if count >= 2 {
            to.storeBytes(of: UInt16(truncatingIfNeeded: word), as: UInt16.self)
            to.storeBytes(of: UInt16(truncatingIfNeeded: word >> 16), toByteOffset: count - 2, as: UInt16.self)
        } else {
            target[0] = UInt8(truncatingIfNeeded: word)
        }
        return true
    }

    /// Whether any of the eight bytes needs an escape: below 0x20, a quote or a backslash.
    /// Bytes from 0x80 (UTF-8 beyond ASCII) pass through.
    @inlinable @inline(__always)
    static func needsEscape(_ word: UInt64) -> Bool {
        escapeBits(word) != 0
    }

    /// Non-zero exactly when some byte of `word` needs an escape (only the high bit of
    /// each byte is used), so that the bits of several words can be checked at once.
    @inlinable @inline(__always)
    static func escapeBits(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        // Non-zero exactly when some byte is below 0x20, or is a zero after the XOR.
        let control = (word &- ones &* 0x20) & ~word
        let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
        let equal = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
        return (control | equal) & highBits
    }

    /// The general case of `writeString`: runs without escapes copied, escapes written.
    private static func writeEscaped(_ base: UnsafePointer<UInt8>, count: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var written = 1
        var runStart = 0
        while true {
            let special = nextEscape(in: base, from: runStart, count: count)
            (out + written).update(from: base + runStart, count: special - runStart)
            written += special - runStart
            guard special < count else { break }
            written += escape(base[special], into: out + written)
            runStart = special + 1
        }
        out[written] = UInt8(ascii: "\"")
        return written + 1
    }

    /// Writes `String(value)` at `out`, which has `integerRoom` bytes; returns its length.
    /// Two digits at a time from a table, from the last pair back: half the divisions.
    public static func writeInteger(_ value: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var out = out
        var sign = 0
        if value < 0 {
            out[0] = UInt8(ascii: "-")
            out += 1
            sign = 1
        }
        var rest = UInt64(value.magnitude)
        let digits = decimalDigitCount(rest)
        let pairs = UnsafeRawPointer(digitPairs.utf8Start)
        var end = digits
        while rest >= 100 {
            end -= 2
            let pair = pairs.loadUnaligned(fromByteOffset: Int(rest % 100) * 2, as: UInt16.self)
            UnsafeMutableRawPointer(out).storeBytes(of: pair, toByteOffset: end, as: UInt16.self)
            rest /= 100
        }
        if rest >= 10 {
            let pair = pairs.loadUnaligned(fromByteOffset: Int(rest) * 2, as: UInt16.self)
            UnsafeMutableRawPointer(out).storeBytes(of: pair, as: UInt16.self)
        } else {
            out[0] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest)
        }
        return sign + digits
    }

    /// "00" to "99", one after the other.
    private static var digitPairs: StaticString {
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
    }

    /// Decimal digits of `value` (one for zero), without a loop: the bit length gives the
    /// count or one less (log10(2) ≈ 1233 / 4096), one comparison tells which.
    @inline(__always)
    static func decimalDigitCount(_ value: UInt64) -> Int {
        let bits = 64 - (value | 1).leadingZeroBitCount
        let guess = (bits * 1233) >> 12
        return guess + (value >= powersOfTen[guess] ? 1 : 0)
    }
}

/// 10^n for n in 1...19, and 0 for n = 0 (so that zero counts as one digit). A global of
/// literals, which the compiler lays out as constant data (no lazy initialisation).
private let powersOfTen: [UInt64] = [
    0, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
    10_000_000_000, 100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000,
    1_000_000_000_000_000, 10_000_000_000_000_000, 100_000_000_000_000_000,
    1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
]
