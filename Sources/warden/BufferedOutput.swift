#if canImport(Glibc)
import Glibc
#endif
import WardenDaemon

/// Collects output bytes and writes them to a file descriptor in large chunks, so a
/// command printing one JSON object per failure makes few system calls.
///
/// The bytes live in a buffer this class allocates itself rather than a `[UInt8]`:
/// an append is then a bounds check and a `memcpy`, without the uniqueness check and
/// generic `append(contentsOf:)` path that cost ~100 instructions per JSON token.
final class BufferedOutput {
    private let descriptor: Int32
    private let flushThreshold: Int
    // One writer, no overlapping accesses: no dynamic exclusivity checks per append.
    @exclusivity(unchecked) private var storage: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private var count = 0

    init(descriptor: Int32 = STDOUT_FILENO, flushThreshold: Int = 1 << 16) {
        self.descriptor = descriptor
        self.flushThreshold = flushThreshold
        capacity = flushThreshold + 4096
        storage = .allocate(capacity: capacity)
    }

    deinit {
        flush()
        storage.deallocate()
    }

    func write(_ text: String) {
        var text = text
        text.withUTF8 { appendBytes($0) }
        if count >= flushThreshold { flush() }
    }

    func writeLine(_ text: String) {
        write(text)
        write("\n")
    }

    func flush() {
        var offset = 0
        while offset < count {
            let written = Glibc.write(descriptor, storage + offset, count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                break  // a closed pipe (e.g. `| head`) ends output, not the program
            }
            offset += written
        }
        count = 0
    }

    /// Room for `extra` more bytes: buffered bytes are written out first, and the
    /// buffer grows only for a single value larger than it.
    private func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        flush()
        guard extra > capacity else { return }
        storage.deallocate()
        capacity = extra
        storage = .allocate(capacity: capacity)
    }

    @inline(__always)
    fileprivate func appendBytes(_ source: UnsafeBufferPointer<UInt8>) {
        reserve(source.count)
        appendReserved(source)
    }

    /// Appends without a capacity check: the caller reserved the room.
    fileprivate func appendReserved(_ source: UnsafeBufferPointer<UInt8>) {
        guard let base = source.baseAddress else { return }
        (storage + count).update(from: base, count: source.count)
        count += source.count
    }

    fileprivate func appendReserved(_ byte: UInt8) {
        storage[count] = byte
        count += 1
    }

    /// Writes `byte` at `offset` past the end without counting it (see `advance`).
    fileprivate func appendReservedAt(_ offset: Int, _ byte: UInt8) {
        storage[count + offset] = byte
    }

    fileprivate func advance(_ written: Int) {
        count += written
    }
}

/// JSON written straight into an output buffer: warden's JSON lines are flat, their key
/// order is part of the contract (which `JSONEncoder` does not keep), and building a
/// `String` per failure cost more than matching the line.
extension BufferedOutput {
    func appendByte(_ byte: UInt8) {
        reserve(1)
        appendReserved(byte)
    }

    @inline(__always)
    func appendRaw(_ text: StaticString) {
        text.withUTF8Buffer { appendBytes($0) }
    }

    /// Bytes that are already JSON (a pre-escaped key, for instance).
    func appendRaw(_ bytes: UnsafeBufferPointer<UInt8>) {
        appendBytes(bytes)
    }

    func appendJSONString(_ value: String) {
        var value = value
        value.withUTF8 { appendJSONString($0) }
    }

    /// A JSON string from UTF-8 bytes: runs that need no escape are copied in one go.
    func appendJSONString(_ utf8: UnsafeBufferPointer<UInt8>) {
        // The longest escape, \u00XX, is 6 bytes per input byte, plus the quotes.
        reserve(utf8.count * 6 + 2)
        appendReserved(UInt8(ascii: "\""))
        guard let base = utf8.baseAddress else {
            appendReserved(UInt8(ascii: "\""))
            return
        }
        var runStart = 0
        while true {
            let special = JSONText.nextEscape(in: base, from: runStart, count: utf8.count)
            appendReserved(UnsafeBufferPointer(start: base + runStart, count: special - runStart))
            guard special < utf8.count else { break }
            advance(JSONText.escape(base[special], into: storage + count))
            runStart = special + 1
        }
        appendReserved(UInt8(ascii: "\""))
    }

    func appendInteger(_ value: Int) {
        // Sign and the 20 digits of the largest magnitude.
        reserve(21)
        if value < 0 { appendReserved(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = 1
        var rest = magnitude / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        // Written from the last digit back: division by the constant 10 is a multiply.
        var position = digits
        repeat {
            position -= 1
            appendReservedAt(position, UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
        } while position > 0
        advance(digits)
    }

    /// Seconds as JSON: integral values keep a `.0`, like Python's float repr.
    func appendSeconds(_ value: Double) {
        // The integer conversions are two instructions; `rounded()` is a libm call.
        if abs(value) < 1e15, Double(Int(value)) == value {
            appendInteger(Int(value))
            appendRaw(".0")
        } else {
            var text = "\(value)"
            text.withUTF8 { appendBytes($0) }
        }
    }

    func endLine() {
        appendByte(0x0A)
        if count >= flushThreshold { flush() }
    }
}

/// JSON for the few cold-path objects (the summary) that are built as text.
enum JSON {
    static func string(_ value: String) -> String {
        var bytes: [UInt8] = []
        JSONText.appendString(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }

    static func array(_ elements: [String]) -> String {
        "[" + elements.joined(separator: ", ") + "]"
    }
}
