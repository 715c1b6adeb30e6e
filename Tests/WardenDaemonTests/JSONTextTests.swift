import Foundation
import Testing
@testable import WardenDaemon

/// `JSONText.nextEscape` tests eight bytes at a time; it must stop exactly where a byte
/// at a time would, for every position of every byte value and any alignment.
@Suite struct JSONTextTests {
    static func naiveNextEscape(_ bytes: [UInt8], from start: Int) -> Int {
        bytes[start...].firstIndex { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") } ?? bytes.count
    }

    @Test func findsEachByteValueAtEachPosition() {
        for value in 0...255 {
            for position in 0..<19 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 19)
                bytes[position] = UInt8(value)
                for start in 0...min(position, 9) {
                    let found = bytes.withUnsafeBufferPointer { JSONText.nextEscape(in: $0.baseAddress!, from: start, count: $0.count) }
                    #expect(found == Self.naiveNextEscape(bytes, from: start), "byte \(value) at \(position) from \(start)")
                }
            }
        }
    }

    @Test func randomTextEscapesAsFoundationParsesIt() throws {
        var generator = SystemRandomNumberGenerator()
        // Mostly text, with quotes, backslashes, controls and multi-byte UTF-8 mixed in.
        let pieces = ["abc", "\"", "\\", "\n", "\u{1}", "\u{1f}", " ", "übel", "✓", "\t\r", "12345678", "\u{7f}"]
        for _ in 0..<500 {
            let text = (0..<Int.random(in: 0...40, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            var bytes: [UInt8] = []
            JSONText.appendString(text, to: &bytes)
            let parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed) as? String
            #expect(parsed == text)
        }
    }
}

/// `JSONText.writeString` and `writeInteger` write into reserved room with word-wide
/// copies and a digit-pair table; their text must be exactly `appendString`'s and
/// `String(value)`'s, without writing past the room they ask for.
@Suite struct JSONTextWritingTests {
    /// Writes with `write` into room of exactly `room` bytes followed by guard bytes.
    static func written(room: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int) -> String {
        let guardBytes = 16
        var buffer = [UInt8](repeating: 0xEE, count: room + guardBytes)
        let length = buffer.withUnsafeMutableBufferPointer { write($0.baseAddress!) }
        #expect(length <= room)
        #expect(buffer[room...].allSatisfy { $0 == 0xEE }, "wrote past its room")
        return String(decoding: buffer[..<length], as: UTF8.self)
    }

    static func writeString(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { source in
            written(room: JSONText.stringRoom(source.count)) { JSONText.writeString(source, to: $0) }
        }
    }

    static func appended(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        bytes.withUnsafeBufferPointer { JSONText.appendString(utf8: $0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func plainTextOfEveryLengthIsCopied() {
        let text = Array("131.201.17.123 web1 sshd[20001]: Invalid user git".utf8)
        for length in 0...text.count {
            let piece = Array(text[..<length])
            #expect(Self.writeString(piece) == "\"" + String(decoding: piece, as: UTF8.self) + "\"")
        }
    }

    @Test func everyByteValueAtEveryPositionAndLength() {
        for length in 1...19 {
            for position in 0..<length {
                for value in 0...255 {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = UInt8(value)
                    #expect(Self.writeString(bytes) == Self.appended(bytes), "byte \(value) at \(position) of \(length)")
                }
            }
        }
    }

    @Test func escapesExactly() {
        #expect(Self.writeString(Array("a\"b\\c".utf8)) == #""a\"b\\c""#)
        #expect(Self.writeString(Array("\n\r\t".utf8)) == #""\n\r\t""#)
        #expect(Self.writeString([0x00, 0x1F, 0x7F]) == "\"\\u0000\\u001f\u{7F}\"")
        #expect(Self.writeString(Array("übel ✓ \"quoted\" line\n".utf8)) == "\"übel ✓ \\\"quoted\\\" line\\n\"")
        // Every byte escaped: the room's worst case.
        #expect(Self.writeString([UInt8](repeating: 0x01, count: 9)) == "\"" + String(repeating: "\\u0001", count: 9) + "\"")
        #expect(Self.writeString([]) == "\"\"")
    }

    @Test func randomStringsMatchAppendString() {
        var generator = SystemRandomNumberGenerator()
        let pieces: [[UInt8]] = [Array("abc".utf8), [0x22], [0x5C], [0x0A], [0x01], [0x1F], [0x20], Array("übel".utf8), [0xFF], Array("12345678".utf8)]
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...12, using: &generator)).flatMap { _ in pieces.randomElement(using: &generator)! }
            #expect(Self.writeString(bytes) == Self.appended(bytes))
        }
    }

    static func writeInteger(_ value: Int) -> String {
        written(room: JSONText.integerRoom) { JSONText.writeInteger(value, to: $0) }
    }

    @Test func integersAsSwiftPrintsThem() {
        var values = [0, 1, -1, 9, 10, 99, 100, 101, 1769904008, -1769904008, Int.max, Int.min, Int.max - 1, Int.min + 1]
        var power = 1
        for _ in 0..<18 {
            power *= 10
            values += [power - 1, power, power + 1, -(power - 1), -power]
        }
        var generator = SystemRandomNumberGenerator()
        values += (0..<2000).map { _ in Int.random(in: Int.min...Int.max, using: &generator) >> Int.random(in: 0...63, using: &generator) }
        for value in values {
            #expect(Self.writeInteger(value) == String(value))
        }
    }

    @Test func decimalDigitCounts() {
        #expect(JSONText.decimalDigitCount(0) == 1)
        #expect(JSONText.decimalDigitCount(UInt64.max) == 20)
        var power: UInt64 = 1
        for digits in 1...19 {
            #expect(JSONText.decimalDigitCount(power) == digits)
            #expect(JSONText.decimalDigitCount(power * 10 - 1) == digits)
            power *= 10
        }
    }
}
