import WardenDaemon

/// Writes the tokens of one JSON line (`warden regex --json`: one object per failure)
/// straight into a `BufferedOutput`'s buffer.
///
/// The write position and the end of the room are the writer's own, so they stay in
/// registers across a line instead of being loaded from and stored to the buffer object
/// for every token. The caller reserves room for a run of tokens at once (`reserve`,
/// with a bound for the run's longest text) and the tokens write without checks: one
/// room check per run instead of one per token, each of which inlined a call of the
/// slow path and grew the per-failure code past what the instruction cache holds.
struct JSONLineWriter {
    private unowned(unsafe) let output: BufferedOutput
    private var position: UnsafeMutablePointer<UInt8>
    private var end: UnsafeMutablePointer<UInt8>

    /// Bytes every `reserve` adds for the line's closing text (`]`, `}` and the newline),
    /// so that it is written without a check of its own whatever came last.
    static var closingRoom: Int { 3 }

    /// Room `integer` needs.
    static var integerRoom: Int { JSONText.integerRoom }

    /// Room `seconds` needs: an integer and `.0`, or Swift's shortest round-trip text of
    /// a Double, 24 bytes at most (`-2.2250738585072014e-308`).
    static var secondsRoom: Int { 32 }

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

    /// Makes room for the next `length` bytes of tokens plus `closingRoom`; the buffer
    /// writes out what it holds, or grows, only when they do not fit.
    @inline(__always)
    mutating func reserve(_ length: Int) {
        if end - position < length &+ Self.closingRoom { makeRoom(length &+ Self.closingRoom) }
    }

    @inline(never)
    private mutating func makeRoom(_ length: Int) {
        commit()
        let room = output.room(atLeast: length)
        position = room.baseAddress!
        end = position + room.count
    }

    /// A byte of the closing text, or one within reserved room.
    mutating func byte(_ byte: UInt8) {
        assert(end - position >= 1, "JSON line token past its reserved room")
        position[0] = byte
        position += 1
    }

    /// Text that is already JSON, within reserved room; a literal's length is a
    /// constant, so its copy is a few moves rather than a `memcpy` call.
    @inline(__always)
    mutating func raw(_ text: StaticString) {
        raw(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Bytes that are already JSON (a pre-escaped key, for instance), within reserved room.
    @inline(__always)
    mutating func raw(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        assert(end - position >= count, "JSON line token past its reserved room")
        if count >= 8, count <= 16 {
            // A key such as `, "user": `: two overlapping word moves, not a `memcpy` call.
            let from = UnsafeRawPointer(base), to = UnsafeMutableRawPointer(position)
            let head = from.loadUnaligned(as: UInt64.self)
            let tail = from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            to.storeBytes(of: head, as: UInt64.self)
            to.storeBytes(of: tail, toByteOffset: count - 8, as: UInt64.self)
        } else {
            // A copy, not `update(from:)`: source and room never overlap, and for a short
            // literal (`.0`, `, `) the latter's overlap test was most of the code.
            UnsafeMutableRawPointer(position).copyMemory(from: base, byteCount: count)
        }
        position += count
    }

    /// A JSON string of `utf8`, within reserved room of `JSONText.stringRoom(utf8.count)`.
    mutating func string(_ utf8: UnsafeBufferPointer<UInt8>) {
        assert(end - position >= JSONText.stringRoom(utf8.count), "JSON line token past its reserved room")
        position += JSONText.writeString(utf8, to: position)
    }

    /// Within reserved room of `integerRoom`.
    mutating func integer(_ value: Int) {
        assert(end - position >= Self.integerRoom, "JSON line token past its reserved room")
        position += JSONText.writeInteger(value, to: position)
    }

    /// Seconds as JSON, within reserved room of `secondsRoom`: integral values keep a
    /// `.0`, like Python's float repr.
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
        text.withUTF8 { text in
            precondition(text.count <= Self.secondsRoom, "seconds text longer than its room")
            raw(text)
        }
    }
}
