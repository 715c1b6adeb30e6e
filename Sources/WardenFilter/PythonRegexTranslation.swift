/// Rewrites a Python `re` pattern (fail2ban's dialect) into one PCRE2 reads the same way.
///
/// Replaying fail2ban's test corpus through PCRE2 10.42 showed only these differences:
/// `(?iu)`-style flag groups (PCRE2 has no `u`; UTF/UCP are compile options here),
/// `{,n}` (PCRE2 10.42 reads it literally, Python as `{0,n}`) and `\Z` (Python's
/// end of subject is PCRE2's `\z`). Character classes and escapes are skipped over so
/// that a literal `{,` or `u` inside them is left alone.
public enum PythonRegexTranslation {
    public static func translate(_ pattern: String) -> String {
        let source = Array(pattern.utf8)
        // Written straight into the string's storage: appending to an array checked its
        // uniqueness and capacity for every byte. Only `{,` grows (by one byte), so twice
        // the input is always room enough.
        return String(unsafeUninitializedCapacity: source.count * 2) { buffer in
            var output = Output(buffer: buffer)
            var index = 0
            var inClass = false
            while index < source.count {
                let byte = source[index]
                if byte == UInt8(ascii: "\\"), index + 1 < source.count {
                    let next = source[index + 1]
                    output.append(byte)
                    output.append(next == UInt8(ascii: "Z") && !inClass ? UInt8(ascii: "z") : next)
                    index += 2
                    continue
                }
                if inClass {
                    if byte == UInt8(ascii: "]") { inClass = false }
                    output.append(byte)
                    index += 1
                    continue
                }
                switch byte {
                case UInt8(ascii: "["):
                    inClass = true
                    output.append(byte)
                    index += 1
                    // A `]` right after `[` or `[^` is a literal member, not the end.
                    if index < source.count, source[index] == UInt8(ascii: "^") { output.append(source[index]); index += 1 }
                    if index < source.count, source[index] == UInt8(ascii: "]") { output.append(source[index]); index += 1 }
                case UInt8(ascii: "(") where index + 2 < source.count && source[index + 1] == UInt8(ascii: "?"):
                    index = copyFlagGroup(source, from: index, into: &output)
                case UInt8(ascii: "{") where index + 1 < source.count && source[index + 1] == UInt8(ascii: ","):
                    // `{,n}` -> `{0,n}` only when it really is a quantifier: digits then `}`.
                    var end = index + 2
                    while end < source.count, source[end] >= UInt8(ascii: "0"), source[end] <= UInt8(ascii: "9") { end += 1 }
                    output.append(byte)
                    if end > index + 2, end < source.count, source[end] == UInt8(ascii: "}") {
                        output.append(UInt8(ascii: "0"))
                    }
                    index += 1
                default:
                    output.append(byte)
                    index += 1
                }
            }
            return output.count
        }
    }

    /// The translation's output, written into a buffer known to be large enough.
    private struct Output {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        private(set) var count = 0

        init(buffer: UnsafeMutableBufferPointer<UInt8>) {
            self.buffer = buffer
        }

        mutating func append(_ byte: UInt8) {
            buffer[count] = byte
            count += 1
        }

        mutating func append(contentsOf bytes: some Collection<UInt8>) {
            for byte in bytes { append(byte) }
        }
    }

    /// Copies `(?flags)` or `(?flags:` dropping Python-only flags (`u`, `L`, `a`).
    /// Other `(?` constructs (named groups, lookarounds) are copied unchanged.
    private static func copyFlagGroup(_ source: [UInt8], from start: Int, into output: inout Output) -> Int {
        var end = start + 2
        while end < source.count, isFlagLetter(source[end]) { end += 1 }
        guard end > start + 2, end < source.count,
              source[end] == UInt8(ascii: ")") || source[end] == UInt8(ascii: ":")
        else {
            output.append(source[start])
            output.append(source[start + 1])
            return start + 2
        }
        let kept = source[(start + 2)..<end].filter { $0 != UInt8(ascii: "u") && $0 != UInt8(ascii: "L") && $0 != UInt8(ascii: "a") }
        if kept.isEmpty || kept == [UInt8(ascii: "-")] {
            // `(?u)` alone becomes nothing; `(?u:...)` becomes a plain non-capturing group.
            if source[end] == UInt8(ascii: ":") { output.append(contentsOf: "(?:".utf8) }
            return end + 1
        }
        output.append(UInt8(ascii: "("))
        output.append(UInt8(ascii: "?"))
        output.append(contentsOf: kept)
        output.append(source[end])
        return end + 1
    }

    /// `aiLmsux-`, the letters of a Python flag group.
    private static func isFlagLetter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a"), UInt8(ascii: "i"), UInt8(ascii: "L"), UInt8(ascii: "m"), UInt8(ascii: "s"),
             UInt8(ascii: "u"), UInt8(ascii: "x"), UInt8(ascii: "-"): return true
        default: return false
        }
    }
}
