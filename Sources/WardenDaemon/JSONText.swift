/// JSON written directly as UTF-8 bytes. The daemon does not link Foundation (its shared
/// libraries and ICU were most of the daemon's resident memory), so its few JSON answers
/// and the ban `data` column are written here, as are the cold-path objects of the
/// `warden` commands (the `warden regex` summary).
public enum JSONText {
    /// A JSON string literal: quote, backslash and control characters escaped (RFC 8259);
    /// other UTF-8 passes through unchanged. Runs without escapes are copied whole (each
    /// ban's data is a few log lines, written in a burst thousands of times).
    public static func appendString(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendString(utf8: $0, to: &bytes) }
    }

    /// The same for UTF-8 bytes; scans with a pointer, copying each run without escapes
    /// in one append.
    static func appendString(utf8: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        if let base = utf8.baseAddress {
            var runStart = 0
            var index = 0
            while index < utf8.count {
                let byte = base[index]
                if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                    bytes.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: index - runStart))
                    appendEscaped(byte, to: &bytes)
                    runStart = index + 1
                }
                index += 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: utf8.count - runStart))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ byte: UInt8, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "r"))
        case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "t"))
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        default:
            bytes.append(contentsOf: "u00".utf8)
            bytes.append(hexDigit(byte >> 4))
            bytes.append(hexDigit(byte & 0xF))
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
