#if canImport(Glibc)
import Glibc
#endif

/// Collects output bytes and writes them to a file descriptor in large chunks, so a
/// command printing one JSON object per failure makes few system calls.
final class BufferedOutput {
    private let descriptor: Int32
    private var bytes: [UInt8] = []
    private let flushThreshold: Int

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

/// Minimal JSON writing for hand-built objects: warden's JSON lines are flat and their
/// key order is part of the contract, which `JSONEncoder` does not keep.
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

    /// Seconds as JSON: integral values keep a `.0` like Python's float repr.
    static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? "\(Int64(value)).0" : "\(value)"
    }

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }

    static func array(_ elements: [String]) -> String {
        "[" + elements.joined(separator: ", ") + "]"
    }
}
