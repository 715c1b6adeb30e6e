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
