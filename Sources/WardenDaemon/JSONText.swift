/// JSON written directly as UTF-8 bytes. The daemon does not link Foundation (its shared
/// libraries and ICU were most of the daemon's resident memory), so its few JSON answers
/// and the ban `data` column are written here, as are the cold-path objects of the
/// `warden` commands (the `warden regex` summary).
public enum JSONText {
    /// A JSON string literal: quote, backslash and control characters escaped (RFC 8259);
    /// other UTF-8 passes through unchanged. Runs without escapes are copied whole (each
    /// ban's data is a few log lines, written in a burst thousands of times). `warden
    /// regex --json` writes into its own buffer with the same `nextEscape` and `escape`.
    public static func appendString(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendString(utf8: $0, to: &bytes) }
    }

    /// The same for UTF-8 bytes: each run without escapes is copied in one append.
    static func appendString(utf8: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        if let base = utf8.baseAddress {
            var runStart = 0
            while true {
                let special = nextEscape(in: base, from: runStart, count: utf8.count)
                bytes.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: special - runStart))
                guard special < utf8.count else { break }
                var escaped: UInt64 = 0
                withUnsafeMutableBytes(of: &escaped) { scratch in
                    let length = escape(base[special], into: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    bytes.append(contentsOf: scratch.prefix(length))
                }
                runStart = special + 1
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// The index of the first byte from `start` on that a JSON string must escape (quote,
    /// backslash, control character), or `count`. It tests eight bytes at a time: ban data
    /// and `warden regex --json` are long runs of log text that need no escape.
    @inlinable
    public static func nextEscape(in base: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        var index = start
        while index + 8 <= count {
            if needsEscape(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)) { break }
            index += 8
        }
        while index < count {
            let byte = base[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return index }
            index += 1
        }
        return count
    }

    /// Writes the escape of a byte `nextEscape` stopped at (RFC 8259: `\n`, `\r`, `\t`,
    /// `\"`, `\\`, else `\u00XX`) into `out`, which has room for 6; returns its length.
    @inlinable
    public static func escape(_ byte: UInt8, into out: UnsafeMutablePointer<UInt8>) -> Int {
        out[0] = UInt8(ascii: "\\")
        switch byte {
        case UInt8(ascii: "\n"): out[1] = UInt8(ascii: "n")
        case UInt8(ascii: "\r"): out[1] = UInt8(ascii: "r")
        case UInt8(ascii: "\t"): out[1] = UInt8(ascii: "t")
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out[1] = byte
        default:
            let hex: StaticString = "0123456789abcdef"
            out[1] = UInt8(ascii: "u")
            out[2] = UInt8(ascii: "0")
            out[3] = UInt8(ascii: "0")
            out[4] = hex.utf8Start[Int(byte >> 4)]
            out[5] = hex.utf8Start[Int(byte & 0xF)]
            return 6
        }
        return 2
    }
}

/// The `, "name": ` text before each group value of a JSON object, escaped once per
/// name instead of once per failure, in one flat buffer; numbered as the matcher's
/// `groupNameTable` (`Failure.forEachGroupNumber`). Used by `warden regex --json` and the
/// ban data JSON. A key is a pointer and a length into memory the table owns: read for
/// every group of every failure, it unwraps nothing and retains nothing.
public final class JSONGroupKeys: @unchecked Sendable {
    // Written only in `init`; afterwards only read, from any thread.
    @usableFromInline let bytes: UnsafeMutableBufferPointer<UInt8>
    /// Key `n` is `bytes[starts[n] ..< starts[n + 1]]`: empty for a skipped name (a
    /// key is never empty otherwise: it holds at least `, "": `).
    @usableFromInline let starts: UnsafeMutableBufferPointer<Int>

    /// - Parameter skipped: names whose groups are left out (their keys are empty).
    public init(_ names: [String], skipping skipped: Set<String> = []) {
        var text: [UInt8] = []
        var offsets = [0]
        for name in names {
            if !skipped.contains(name) {
                text.append(literal: ", ")
                JSONText.appendString(name, to: &text)
                text.append(literal: ": ")
            }
            offsets.append(text.count)
        }
        bytes = .allocate(capacity: max(text.count, 1))
        _ = bytes.initialize(from: text)
        starts = .allocate(capacity: offsets.count)
        _ = starts.initialize(from: offsets)
    }

    deinit {
        bytes.deallocate()
        starts.deallocate()
    }

    /// The key of group `number`, valid while the table lives; empty when its name is
    /// skipped. Inlinable: `warden regex --json` reads it for every group of every failure.
    @inlinable
    public subscript(number: Int) -> UnsafeBufferPointer<UInt8> {
        // Wrapping arithmetic: offsets into one small allocation cannot overflow, and
        // the checks were a third of the per-group code.
        UnsafeBufferPointer(start: bytes.baseAddress.unsafelyUnwrapped + starts[number],
                            count: starts[number &+ 1] &- starts[number])
    }
}
