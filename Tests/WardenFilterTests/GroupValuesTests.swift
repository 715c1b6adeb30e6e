import Testing
@testable import WardenFilter

/// `GroupValues` against a dictionary: merges replace present values (Python's
/// `dict.update`), removals drop them, and compaction of a long connection's record
/// keeps every value as it was.
@Suite struct GroupValuesTests {
    @Test func mergesRemovalsAndCompactionAgreeWithADictionary() {
        var random = SystemRandomNumberGenerator()
        let slots = 7
        var record = GroupValues(count: slots)
        var model: [Int: [UInt8]] = [:]
        for round in 0..<4000 {
            var line = GroupValues(count: slots)
            var lineModel: [Int: [UInt8]] = [:]
            for number in 0..<slots where Bool.random(using: &random) {
                let value = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0x20...0x7E, using: &random) }
                value.withUnsafeBufferPointer { line.set(number, $0) }
                lineModel[number] = value
            }
            record.merge(line)
            model.merge(lineModel) { _, new in new }
            if round % 5 == 0 {
                let number = Int.random(in: 0..<slots, using: &random)
                record.remove(number)
                model[number] = nil
            }
            for number in 0..<slots {
                let stored = record.withValue(number) { $0.map(Array.init) }
                #expect(stored == model[number], "round \(round), slot \(number)")
            }
        }
    }
}
