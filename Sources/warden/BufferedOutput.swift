#if canImport(Glibc)
import Glibc
#endif
import WardenDaemon

/// Collects output bytes and writes them to a file descriptor in large chunks, so a
/// command printing one JSON object per failure makes few system calls.
///
/// The bytes live in a buffer this class allocates itself rather than a `[UInt8]`, so
/// that `JSONLineWriter` can write a line's tokens straight into it, without the
/// uniqueness check and generic `append(contentsOf:)` path of an array.
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

    private func appendBytes(_ source: UnsafeBufferPointer<UInt8>) {
        reserve(source.count)
        guard let base = source.baseAddress else { return }
        (storage + count).update(from: base, count: source.count)
        count += source.count
    }

    /// The free room after the buffered bytes, at least `minimum` long, for a writer
    /// that fills it directly and then calls `commit(upTo:)`.
    func room(atLeast minimum: Int) -> UnsafeMutableBufferPointer<UInt8> {
        reserve(minimum)
        return UnsafeMutableBufferPointer(start: storage + count, count: capacity - count)
    }

    /// The free room after the buffered bytes, however small.
    var freeRoom: UnsafeMutableBufferPointer<UInt8> {
        UnsafeMutableBufferPointer(start: storage + count, count: capacity - count)
    }

    /// Counts the bytes written into `room(atLeast:)` up to `end` as buffered.
    func commit(upTo end: UnsafeMutablePointer<UInt8>) {
        count = end - storage
    }

    /// Writes one line of JSON through `body`, which reserves room for its tokens, then
    /// a newline: in the closing room of the last reservation, or of the slack above
    /// `flushThreshold` that a line starts with when it reserves nothing.
    @inline(__always)
    func writeJSONLine(_ body: (inout JSONLineWriter) -> Void) {
        var writer = JSONLineWriter(output: self)
        body(&writer)
        writer.byte(0x0A)
        writer.commit()
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
        "{" + commaSeparated(members.map { string($0.0) + ": " + $0.1 }) + "}"
    }

    static func array(_ elements: [String]) -> String {
        "[" + commaSeparated(elements) + "]"
    }

    /// `elements.joined(separator: ", ")`, appended in a loop: the first call of the
    /// generic `joined(separator:)` in a process costs ~180 k instructions of runtime
    /// set-up (associated type lookups), more than the rest of the summary.
    private static func commaSeparated(_ elements: [String]) -> String {
        var text = ""
        for (index, element) in elements.enumerated() {
            if index > 0 { text += ", " }
            text += element
        }
        return text
    }
}
