#if canImport(Glibc)
import Glibc
#endif
import WardenLines

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
///
/// With `maxLines` 1 (most filters) nothing outlives a line, so no `BufferedLine` is
/// kept: `append` writes the subject straight from the line, and the line's text
/// (what a failure reports as its matched line) is copied only when `keepsLineText`.
///
/// A class: the matcher owns exactly one, and as a struct stored in the matcher it was
/// copied (with a retain per array) on some of the accesses of every line. Only the
/// owning matcher's thread touches it, one access at a time, hence no exclusivity checks.
final class LineBuffer {
    let maxLines: Int
    /// The buffered lines; always empty in single-line mode.
    @exclusivity(unchecked) private(set) var lines: [BufferedLine] = []
    @exclusivity(unchecked) private var spare: [[UInt8]] = []
    /// The search subject built from `lines` by `rebuildSubject()`, valid until the
    /// buffer changes.
    var subject: UnsafeBufferPointer<UInt8> { subjectBytes.bytes }
    private let subjectBytes = ScratchBytes()
    /// Whether `subject` is all ASCII.
    @exclusivity(unchecked) private(set) var subjectIsASCII = true

    var isSingleLine: Bool { maxLines <= 1 }
    /// Single-line mode: whether a line is held (false once a match took it).
    @exclusivity(unchecked) private var holdsLine = false
    private let keepsLineText: Bool
    /// Single-line mode: the held line's text, when `keepsLineText`.
    private let lineText = ScratchBytes(capacity: 256)

    init(maxLines: Int, keepsLineText: Bool = true) {
        self.maxLines = maxLines
        self.keepsLineText = keepsLineText
        if !isSingleLine { lines.reserveCapacity(maxLines + 1) }
    }

    /// Adds a line (`prefix` then `line`, with `cut` in those combined bytes) and drops
    /// the oldest lines beyond `maxLines`. `lineIsASCII` is `line`'s, known to the caller.
    func append(prefix: UnsafeBufferPointer<UInt8>, line: UnsafeBufferPointer<UInt8>, lineIsASCII: Bool, cut: Range<Int>) {
        if isSingleLine {
            appendSingle(prefix: prefix, line: line, lineIsASCII: lineIsASCII, cut: cut)
            return
        }
        var bytes = spare.popLast() ?? []
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: prefix)
        bytes.append(contentsOf: line)
        let isASCII = lineIsASCII && ASCIIText.isASCII(prefix)
        lines.append(BufferedLine(bytes: bytes, cut: cut, isASCII: isASCII))
        while lines.count > maxLines { recycle(lines.removeFirst()) }
    }

    private func appendSingle(prefix: UnsafeBufferPointer<UInt8>, line: UnsafeBufferPointer<UInt8>, lineIsASCII: Bool, cut: Range<Int>) {
        holdsLine = true
        subjectBytes.removeAll()
        if prefix.isEmpty {
            // A line with a date of its own (most lines): the text around the date, which
            // usually starts the line. The borrowed-date case is kept out of line, so
            // that this path spans fewer instruction cache lines.
            if cut.lowerBound > 0 { subjectBytes.append(UnsafeBufferPointer(rebasing: line[0..<cut.lowerBound])) }
            subjectBytes.append(UnsafeBufferPointer(rebasing: line[cut.upperBound...]))
            subjectIsASCII = lineIsASCII
        } else {
            appendAroundCut(prefix: prefix, line: line, lineIsASCII: lineIsASCII, cut: cut)
        }
        if keepsLineText {
            lineText.removeAll()
            lineText.append(prefix)
            lineText.append(line)
        }
        subjectBytes.append(0x0A)
    }

    /// The subject of `prefix` (a borrowed date) then `line`, without `cut`.
    @inline(never)
    private func appendAroundCut(prefix: UnsafeBufferPointer<UInt8>, line: UnsafeBufferPointer<UInt8>, lineIsASCII: Bool, cut: Range<Int>) {
        // `cut` counts in prefix + line; only the part of each outside it is text.
        let prefixEnd = prefix.count
        if cut.lowerBound > 0 {
            subjectBytes.append(UnsafeBufferPointer(rebasing: prefix[0..<min(cut.lowerBound, prefixEnd)]))
        }
        if cut.lowerBound > prefixEnd {
            subjectBytes.append(UnsafeBufferPointer(rebasing: line[0..<(cut.lowerBound - prefixEnd)]))
        }
        if cut.upperBound < prefixEnd {
            subjectBytes.append(UnsafeBufferPointer(rebasing: prefix[cut.upperBound...]))
        }
        subjectBytes.append(UnsafeBufferPointer(rebasing: line[max(cut.upperBound - prefixEnd, 0)...]))
        subjectIsASCII = lineIsASCII && ASCIIText.isASCII(prefix)
    }

    /// Single-line mode: counts the held line into `matched`, with its text when kept.
    func appendHeldLine(to matched: inout MatchedLines) {
        guard holdsLine else { return }
        matched.append(keepsLineText ? lineText.bytes : UnsafeBufferPointer(start: nil, count: 0))
    }

    /// Drops every line (a match took them).
    func removeAll() {
        if isSingleLine {
            holdsLine = false
            subjectBytes.removeAll()
            subjectBytes.append(0x0A)
            subjectIsASCII = true
        } else {
            replace(with: [])
        }
    }

    /// Replaces the buffered lines after a match took some (multi-line mode; out of
    /// line to keep the matcher's single-line path compact).
    @inline(never)
    func replace(with newLines: [BufferedLine]) {
        recycleAll()
        lines.append(contentsOf: newLines)
    }

    /// Replaces the buffered lines with one line, `range` of the current subject: a
    /// prefregex's `content` group. The subject becomes that line at once, so it
    /// stays current without a rebuild.
    func replaceWithSubject(_ range: Range<Int>) {
        if isSingleLine {
            if range.lowerBound > 0, let base = subject.baseAddress {
                memmove(UnsafeMutableRawPointer(mutating: base), base + range.lowerBound, range.count)
            }
            subjectBytes.truncate(range.count)
            if !subjectIsASCII { subjectIsASCII = ASCIIText.isASCII(subject) }
            subjectBytes.append(0x0A)
            if keepsLineText {
                lineText.removeAll()
                lineText.append(UnsafeBufferPointer(rebasing: subject[0..<range.count]))
            }
            return
        }
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

    /// Makes `subject` reflect `lines` (single-line mode keeps it current all along).
    func rebuildSubject() {
        if isSingleLine { return }
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

    private func recycleAll() {
        while let line = lines.popLast() { recycle(line) }
    }

    private func recycle(_ line: BufferedLine) {
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
