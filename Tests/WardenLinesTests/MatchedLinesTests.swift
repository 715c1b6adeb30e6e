import Testing
import WardenLines

/// `MatchedLines` against a plain array of strings: appends, joins, dropping the oldest
/// lines (fail2ban's maxmatches) and the count-only form.
@Suite struct MatchedLinesTests {
    @Test func agreesWithAnArrayOfLines() {
        var random = SystemRandomNumberGenerator()
        var lines = MatchedLines()
        var model: [String] = []
        for round in 0..<2000 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5:
                // Empty lines, multi-byte text and lines longer than 255 bytes (the length
                // takes more than one byte).
                let length = [0, 1, 7, 300][Int.random(in: 0..<4, using: &random)]
                var text = String((0..<length).map { _ in "aé\u{1F600}\n\"x".randomElement(using: &random)! })
                text.withUTF8 { lines.append($0) }
                model.append(text)
            case 5..<7:
                let other = (0..<Int.random(in: 0..<3, using: &random)).map { "joined \(round) \($0)" }
                lines.append(contentsOf: MatchedLines(other))
                model += other
            case 7..<9:
                let dropped = Int.random(in: 0...3, using: &random)
                lines.removeFirst(dropped)
                model.removeFirst(min(dropped, model.count))
            default:
                if Int.random(in: 0..<8, using: &random) == 0 {
                    lines.removeAll()
                    model.removeAll()
                }
            }
            #expect(lines.count == model.count, "round \(round)")
            #expect(lines.strings == model, "round \(round)")
        }
    }

    @Test func intoAnEmptyListSharesTheOther() {
        var empty = MatchedLines()
        let other = MatchedLines(["a", "b"])
        empty.append(contentsOf: other)
        #expect(empty == other && empty.strings == ["a", "b"])
    }

    /// Without texts only the count is kept, whatever is appended.
    @Test func countOnlyKeepsNoText() {
        var lines = MatchedLines(keepsText: false)
        Array("x".utf8).withUnsafeBufferPointer { lines.append($0) }
        lines.append(contentsOf: MatchedLines(["y", "z"]))
        #expect(lines.count == 3 && lines.strings.isEmpty)
        lines.removeFirst(2)
        #expect(lines.count == 1)
        var texts = MatchedLines(["q"])
        texts.append(contentsOf: MatchedLines(keepsText: false))
        #expect(texts.count == 1 && texts.strings == ["q"])
    }
}
