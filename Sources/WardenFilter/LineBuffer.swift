/// One log line as the matcher keeps it: the full text, and the span of the date
/// that regexes do not see (fail2ban's `(before, date, after)` tuple).
struct BufferedLine {
    var bytes: [UInt8]
    var cut: Range<Int>
    /// No byte above 0x7F: regexes may run their byte-mode code on it.
    var isASCII: Bool

    /// Appends what the regexes see: the text before the date, then the text after it.
    @inline(__always)
    func appendText(to output: ScratchBytes) {
        bytes.withUnsafeBufferPointer { all in
            output.append(UnsafeBufferPointer(rebasing: all[0..<cut.lowerBound]))
            output.append(UnsafeBufferPointer(rebasing: all[cut.upperBound...]))
        }
    }

    func textEquals(_ other: ArraySlice<UInt8>) -> Bool {
        let before = bytes[0..<cut.lowerBound]
        let after = bytes[cut.upperBound...]
        guard before.count + after.count == other.count else { return false }
        return other.prefix(before.count).elementsEqual(before) && other.dropFirst(before.count).elementsEqual(after)
    }
}

/// The last `maxLines` lines, and the subject the regexes search: their texts joined
/// by `\n`, always ending in `\n`. Byte arrays of dropped lines are reused so that a
/// line that matches nothing allocates nothing once the buffers have grown.
struct LineBuffer {
    let maxLines: Int
    private(set) var lines: [BufferedLine] = []
    private var spare: [[UInt8]] = []
    /// The search subject built from `lines` by `rebuildSubject()`, valid until the
    /// buffer changes.
    var subject: UnsafeBufferPointer<UInt8> { subjectBytes.bytes }
    private let subjectBytes = ScratchBytes()
    /// Whether `subject` is all ASCII.
    private(set) var subjectIsASCII = true

    init(maxLines: Int) {
        self.maxLines = maxLines
        lines.reserveCapacity(maxLines + 1)
    }

    /// Adds a line (`prefix` then `line`, with `cut` in those combined bytes) and drops
    /// the oldest lines beyond `maxLines`. `lineIsASCII` is `line`'s, known to the caller.
    mutating func append(prefix: [UInt8], line: UnsafeBufferPointer<UInt8>, lineIsASCII: Bool, cut: Range<Int>) {
        if maxLines <= 1 { recycleAll() }
        var bytes = spare.popLast() ?? []
        bytes.removeAll(keepingCapacity: true)
        prefix.withUnsafeBufferPointer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: line)
        let isASCII = lineIsASCII && prefix.withUnsafeBufferPointer { ASCIIText.isASCII($0) }
        lines.append(BufferedLine(bytes: bytes, cut: cut, isASCII: isASCII))
        while lines.count > maxLines { recycle(lines.removeFirst()) }
    }

    /// Replaces the buffered lines after a match took some.
    mutating func replace(with newLines: [BufferedLine]) {
        recycleAll()
        lines.append(contentsOf: newLines)
    }

    /// Replaces the buffered lines with one line, `range` of the current subject: a
    /// prefregex's `content` group. The subject becomes that line at once, so it
    /// stays current without a rebuild.
    mutating func replaceWithSubject(_ range: Range<Int>) {
        recycleAll()
        var bytes = spare.popLast() ?? []
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: subject[range]))
        let isASCII = subjectIsASCII || bytes.withUnsafeBufferPointer { ASCIIText.isASCII($0) }
        subjectBytes.removeAll()
        bytes.withUnsafeBufferPointer { subjectBytes.append($0) }
        subjectBytes.append(0x0A)
        lines.append(BufferedLine(bytes: bytes, cut: 0..<0, isASCII: isASCII))
        subjectIsASCII = isASCII
    }

    mutating func rebuildSubject() {
        subjectBytes.removeAll()
        subjectIsASCII = true
        if lines.isEmpty {
            subjectBytes.append(0x0A)
            return
        }
        for line in lines {
            line.appendText(to: subjectBytes)
            subjectBytes.append(0x0A)
            subjectIsASCII = subjectIsASCII && line.isASCII
        }
    }

    private mutating func recycleAll() {
        while let line = lines.popLast() { recycle(line) }
    }

    private mutating func recycle(_ line: BufferedLine) {
        if spare.count < maxLines + 2 { spare.append(line.bytes) }
    }

    /// Builds a subject for `lines` into `output` (for ignoreregex on matched lines).
    static func buildSubject(_ lines: [BufferedLine], into output: ScratchBytes) {
        output.removeAll()
        for (index, line) in lines.enumerated() {
            if index > 0 { output.append(0x0A) }
            line.appendText(to: output)
        }
        output.append(0x0A)
    }
}
