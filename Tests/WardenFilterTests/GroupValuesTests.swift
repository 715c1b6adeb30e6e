import Testing
@testable import WardenFilter

/// `GroupValues` against a dictionary: captures keep the spans they are given, merges
/// replace present values (Python's `dict.update`), a failregex's values combine with
/// the prefregex's as fail2ban's dict does, removals drop values, and compaction of a
/// long connection's record keeps every value as it was.
@Suite struct GroupValuesTests {
    let slots = 7

    /// Random values for some slots, captured from one text with filler around them.
    private func randomCapture(_ random: inout SystemRandomNumberGenerator) -> (CapturedGroups, [Int: [UInt8]]) {
        var text: [UInt8] = []
        var ranges: [Int: Range<Int>] = [:]
        var model: [Int: [UInt8]] = [:]
        for number in (0..<slots).shuffled(using: &random) where Bool.random(using: &random) {
            text += (0..<Int.random(in: 0...5, using: &random)).map { _ in UInt8(ascii: "-") }
            let value = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0x20...0x7E, using: &random) }
            ranges[number] = text.count..<(text.count + value.count)
            text += value
            model[number] = value
        }
        text += (0..<Int.random(in: 0...5, using: &random)).map { _ in UInt8(ascii: "-") }
        let values = CapturedGroups(count: slots)
        text.withUnsafeBufferPointer { text in
            values.replaceAll(copying: text) { spans in
                for (number, range) in ranges { spans[number] = .init(range) }
                return Int32(ranges.values.map(\.upperBound).max() ?? 0)
            }
        }
        return (values, model)
    }

    private func expectEqual(_ values: GroupValues, _ model: [Int: [UInt8]], _ context: String) {
        for number in 0..<slots {
            let stored = values.withValue(number) { $0.map(Array.init) }
            #expect(stored == model[number], "\(context), slot \(number)")
        }
    }

    @Test func mergesRemovalsAndCompactionAgreeWithADictionary() {
        var random = SystemRandomNumberGenerator()
        var record = GroupValues(count: slots)
        var model: [Int: [UInt8]] = [:]
        for round in 0..<4000 {
            let (captured, lineModel) = randomCapture(&random)
            // A line's record: its captured values alone.
            var line = GroupValues(count: slots)
            line.assign(CapturedGroups(count: slots), updatedWith: captured, clearing: SlotMask(count: slots, slots: []))
            expectEqual(line, lineModel, "capture, round \(round)")
            record.merge(&line)
            model.merge(lineModel) { _, new in new }
            if round % 5 == 0 {
                let number = Int.random(in: 0..<slots, using: &random)
                record.remove(number)
                model[number] = nil
            }
            expectEqual(record, model, "round \(round)")
        }
    }

    @Test func failregexValuesCombineWithThePrefregexValues() {
        var random = SystemRandomNumberGenerator()
        var combined = GroupValues(count: slots)
        for round in 0..<2000 {
            let (prefregex, prefregexModel) = randomCapture(&random)
            let (match, matchModel) = randomCapture(&random)
            let named = (0..<slots).filter { matchModel[$0] != nil || Bool.random(using: &random) }
            combined.assign(prefregex, updatedWith: match, clearing: SlotMask(count: slots, slots: named))
            // fail2ban: the prefregex's dict, minus the failregex's groups that did not
            // take part, updated with the failregex's groups.
            var model = prefregexModel
            for number in named where matchModel[number] == nil { model[number] = nil }
            model.merge(matchModel) { _, new in new }
            expectEqual(combined, model, "round \(round)")
        }
    }
}
