import WardenDaemon

/// Writes the tokens of one JSON line (`warden regex --json`: one object per failure)
/// straight into a `BufferedOutput`'s buffer.
///
/// The write position and the end of the room are the writer's own, so they stay in
/// registers across a line instead of being loaded from and stored to the buffer object
/// for every token. Each token checks its worst-case length against the room; only one
/// that does not fit calls back into the buffer (which writes out what it holds, or grows).
struct JSONLineWriter {
    private unowned(unsafe) let output: BufferedOutput
    private var position: UnsafeMutablePointer<UInt8>
    private var end: UnsafeMutablePointer<UInt8>

    init(output: BufferedOutput) {
        self.output = output
        let room = output.freeRoom
        position = room.baseAddress!
        end = position + room.count
    }

    /// Hands the bytes written so far to the buffer.
    func commit() {
        output.commit(upTo: position)
    }

    @inline(__always)
    private mutating func reserve(_ length: Int) {
        if end - position < length { makeRoom(length) }
    }

    @inline(never)
    private mutating func makeRoom(_ length: Int) {
        commit()
        let room = output.room(atLeast: length)
        position = room.baseAddress!
        end = position + room.count
    }

    mutating func byte(_ byte: UInt8) {
        reserve(1)
        position[0] = byte
        position += 1
    }

    /// Text that is already JSON; a literal's length is a constant, so its copy is a few
    /// moves rather than a `memcpy` call.
    @inline(__always)
    mutating func raw(_ text: StaticString) {
        raw(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Bytes that are already JSON (a pre-escaped key, for instance).
    @inline(__always)
    mutating func raw(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        reserve(count)
        if count >= 8, count <= 16 {
            // A key such as `, "user": `: two overlapping word moves, not a `memcpy` call.
            let from = UnsafeRawPointer(base), to = UnsafeMutableRawPointer(position)
            let head = from.loadUnaligned(as: UInt64.self)
            let tail = from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            to.storeBytes(of: head, as: UInt64.self)
            to.storeBytes(of: tail, toByteOffset: count - 8, as: UInt64.self)
        } else {
            position.update(from: base, count: count)
        }
        position += count
    }

    mutating func string(_ utf8: UnsafeBufferPointer<UInt8>) {
        reserve(JSONText.stringRoom(utf8.count))
        position += JSONText.writeString(utf8, to: position)
    }

    mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { string($0) }
    }

    mutating func integer(_ value: Int) {
        reserve(JSONText.integerRoom)
        position += JSONText.writeInteger(value, to: position)
    }

    /// Seconds as JSON: integral values keep a `.0`, like Python's float repr.
    mutating func seconds(_ value: Double) {
        // The integer conversions are two instructions; `rounded()` is a libm call.
        if abs(value) < 1e15, Double(Int(value)) == value {
            integer(Int(value))
            raw(".0")
        } else {
            fractionalSeconds(value)
        }
    }

    /// Kept out of line: Swift's shortest round-trip text, rare in logs, is a lot of code.
    @inline(never)
    private mutating func fractionalSeconds(_ value: Double) {
        var text = "\(value)"
        text.withUTF8 { raw($0) }
    }
}
