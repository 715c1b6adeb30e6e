import Testing
@testable import WardenFilter

/// `UTF8Repair.scan` reads words and ends with an overlapping word: checked against a
/// byte-at-a-time reference with each kind of sequence placed at every offset of lines
/// of every length around the word sizes.
@Suite struct UTF8ScanTests {
    /// Byte-wise reference: the first ill-formed offset (by the standard library's
    /// decoder, which follows the same maximal-subpart policy) and the ASCII test.
    private func reference(_ bytes: [UInt8]) -> UTF8Repair.Scan {
        var index = 0
        while index < bytes.count {
            var iterator = bytes[index...].makeIterator()
            var decoder = UTF8()
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): index += UTF8.width(scalar)
            case .error, .emptyInput: return UTF8Repair.Scan(firstInvalid: index, isASCII: false)
            }
        }
        return UTF8Repair.Scan(firstInvalid: nil, isASCII: bytes.allSatisfy { $0 < 0x80 })
    }

    static let sequences: [[UInt8]] = [
        [0xC3, 0xA9],               // é
        [0xE2, 0x82, 0xAC],         // €
        [0xF0, 0x9F, 0x98, 0x80],   // U+1F600
        [0x80],                     // lone continuation
        [0xC3],                     // truncated two-byte
        [0xE2, 0x82],               // truncated three-byte
        [0xED, 0xA0, 0x80],         // surrogate
        [0xC0, 0xAF],               // overlong
        [0xF4, 0x90, 0x80, 0x80],   // above U+10FFFF
        [0xFF],
    ]

    @Test func everySequenceAtEveryOffset() {
        for length in 0...40 {
            let ascii = [UInt8]((0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) })
            #expect(ascii.withUnsafeBufferPointer { UTF8Repair.scan($0) } == UTF8Repair.Scan(firstInvalid: nil, isASCII: true))
            for sequence in Self.sequences {
                for offset in 0...length {
                    var line = ascii
                    line.insert(contentsOf: sequence, at: offset)
                    let scanned = line.withUnsafeBufferPointer { UTF8Repair.scan($0) }
                    #expect(scanned == reference(line), "\(line)")
                    // A second sequence later on: the first one decides.
                    for other in Self.sequences {
                        var twice = line
                        twice.append(contentsOf: other)
                        #expect(twice.withUnsafeBufferPointer { UTF8Repair.scan($0) } == reference(twice), "\(twice)")
                    }
                }
            }
        }
    }

    @Test func repairedLinesAreNotASCII() {
        var repair = UTF8Repair()
        for line: [UInt8] in [[0x80], [0x61, 0x62, 0xFF], Array(repeating: 0x61, count: 17) + [0xC3]] {
            let (repaired, isASCII) = line.withUnsafeBufferPointer { repair.withValidUTF8($0) { ($1, $2) } }
            #expect(repaired && !isASCII)
        }
        let valid: [UInt8] = Array(repeating: 0x61, count: 9) + [0xC3, 0xA9]
        let (repaired, isASCII) = valid.withUnsafeBufferPointer { repair.withValidUTF8($0) { ($1, $2) } }
        #expect(!repaired && !isASCII)
    }
}
