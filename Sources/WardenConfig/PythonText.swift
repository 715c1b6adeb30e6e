/// The few pieces of Python's text semantics that fail2ban's config syntax relies on.
/// configparser strips with `str.strip()` and matches `\s`/`\w` with Unicode rules, so
/// ASCII-only helpers would disagree with fail2ban on files using e.g. NBSP.
enum PythonText {
    /// Python's `str.isspace()`.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A,
             0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Python's `\w` for str patterns: letters, digits, numbers and underscore.
    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        // ASCII's letters and numbers are exactly these; the general category lookup
        // costs ~100 instructions a scalar and option names are ASCII.
        if scalar.isASCII {
            let value = scalar.value
            return value == 0x5F || (value >= 0x30 && value <= 0x39) || (value | 0x20 >= 0x61 && value | 0x20 <= 0x7A)
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// The UTF-8 length of the `isSpace` scalar starting at `index` of valid UTF-8, nil
    /// when the scalar there is not one.
    static func spaceLength(_ bytes: [UInt8], at index: Int) -> Int? {
        let byte = bytes[index]
        if byte < 0x80 { return isSpace(Unicode.Scalar(byte)) ? 1 : nil }
        guard byte >= 0xC2, byte <= 0xE3 else { return nil }
        let length = byte < 0xE0 ? 2 : 3
        return index + length <= bytes.count && isSpace(scalar(bytes[index..<index + length])) ? length : nil
    }

    /// The UTF-8 length of the `isSpace` scalar ending at `end` of valid UTF-8, looking no
    /// further back than `start`; nil when the scalar there is not one.
    static func spaceLength(_ bytes: [UInt8], endingAt end: Int, from start: Int) -> Int? {
        let byte = bytes[end - 1]
        if byte < 0x80 { return isSpace(Unicode.Scalar(byte)) ? 1 : nil }
        // A non-ASCII space is two or three bytes long; its lead byte says which.
        for length in 2...3 where end - length >= start && bytes[end - length] & 0xC0 == 0xC0 {
            return isSpace(scalar(bytes[end - length..<end])) ? length : nil
        }
        return nil
    }

    /// Python's `str.strip()` of a range of valid UTF-8, or `rstrip()` when not `leading`.
    static func stripped(_ bytes: [UInt8], _ range: Range<Int>, leading: Bool = true) -> Range<Int> {
        var start = range.lowerBound, end = range.upperBound
        while leading, start < end, let space = spaceLength(bytes, at: start) { start += space }
        while end > start, let space = spaceLength(bytes, endingAt: end, from: start) { end -= space }
        return start..<end
    }

    private static func scalar(_ bytes: ArraySlice<UInt8>) -> Unicode.Scalar {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        guard case .scalarValue(let scalar) = decoder.decode(&iterator) else { return "\u{FFFD}" }
        return scalar
    }

    /// Python's `str.strip()`.
    static func strip(_ text: String) -> String {
        let bytes = Array(text.utf8)
        return String(decoding: bytes[stripped(bytes, bytes.indices)], as: UTF8.self)
    }

    /// Python's `int(text)` for the decimal forms a config value can hold:
    /// surrounding whitespace, an optional sign, ASCII digits with single `_` separators.
    static func parseInt(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        var digits = bytes[stripped(bytes, bytes.indices)]
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        guard let first = digits.first, isDigit(first), let last = digits.last, isDigit(last) else { return nil }
        var value = 0
        var afterSeparator = false
        for byte in digits {
            if byte == UInt8(ascii: "_") {
                if afterSeparator { return nil }
                afterSeparator = true
                continue
            }
            guard isDigit(byte) else { return nil }
            afterSeparator = false
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            if overflow || carry { return nil }
            value = sum
        }
        return negative ? -value : value
    }
}
