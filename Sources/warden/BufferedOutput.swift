#if canImport(Glibc)
import Glibc
#endif

/// Collects output bytes and writes them to a file descriptor in large chunks, so a
/// command printing one JSON object per failure makes few system calls.
final class BufferedOutput {
    private let descriptor: Int32
    // Appended to once per JSON token; one writer, no overlapping accesses, so the
    // dynamic exclusivity check per append is skipped.
    @exclusivity(unchecked) fileprivate var bytes: [UInt8] = []
    fileprivate let flushThreshold: Int

    init(descriptor: Int32 = STDOUT_FILENO, flushThreshold: Int = 1 << 16) {
        self.descriptor = descriptor
        self.flushThreshold = flushThreshold
        bytes.reserveCapacity(flushThreshold + 4096)
    }

    deinit { flush() }

    func write(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        if bytes.count >= flushThreshold { flush() }
    }

    func writeLine(_ text: String) {
        write(text)
        write("\n")
    }

    func flush() {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                break  // a closed pipe (e.g. `| head`) ends output, not the program
            }
            offset += written
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

/// JSON written straight into an output buffer: warden's JSON lines are flat, their key
/// order is part of the contract (which `JSONEncoder` does not keep), and building a
/// `String` per failure cost more than matching the line.
extension BufferedOutput {
    func appendByte(_ byte: UInt8) {
        bytes.append(byte)
    }

    func appendRaw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    func appendJSONString(_ value: String) {
        var value = value
        value.withUTF8 { appendJSONString($0) }
    }

    /// A JSON string from UTF-8 bytes: runs that need no escape are copied in one go.
    func appendJSONString(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            default:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        bytes.append(UInt8(ascii: "\""))
    }

    func appendInteger(_ value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { digitBytes in
            repeat {
                digitBytes[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(digitBytes[index]) }
        }
    }

    /// Seconds as JSON: integral values keep a `.0`, like Python's float repr.
    func appendSeconds(_ value: Double) {
        if value.rounded() == value, abs(value) < 1e15 {
            appendInteger(Int(value))
            appendRaw(".0")
        } else {
            bytes.append(contentsOf: "\(value)".utf8)
        }
    }

    func endLine() {
        bytes.append(0x0A)
        if bytes.count >= flushThreshold { flush() }
    }
}

/// JSON for the few cold-path objects (the summary) that are built as text.
enum JSON {
    static func string(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }

    static func array(_ elements: [String]) -> String {
        "[" + elements.joined(separator: ", ") + "]"
    }
}
