/// How a date template's regex is fenced in, following fail2ban's rules for template
/// text: by default the date must start and end at a word boundary; a leading `^` or
/// `**`, or a trailing `$`, `\b`, `\s` or `**`, switches that side off; `{^LN-BEG}`
/// asks for "line start plus at most two non-word characters" instead.
///
/// Works on the template's bytes; it runs once per template, never per line.
struct DateTemplateBounds {
    enum Begin: Sendable { case none, word, lineStart }

    struct Flags: OptionSet, Sendable {
        let rawValue: UInt8
        static let wordEnd = Flags(rawValue: 1)
        static let wordBegin = Flags(rawValue: 2)
        static let lineEnd = Flags(rawValue: 4)
        static let lineBegin = Flags(rawValue: 8)
    }

    let regex: String
    let flags: Flags
    /// True when `{^LN-BEG}`'s line-start prefix was added (the template name then says so).
    let addedLineStart: Bool

    init(regex source: String, begin: Begin, wordEnd: Bool) {
        var text = Array(DateTemplateBounds.trimmed(source).utf8)
        // A global flag group such as `(?iu)` is set aside and put back in front at the end.
        var globalFlags: [UInt8] = []
        if let range = Self.firstGlobalFlagGroup(text) {
            globalFlags = Array(text[range])
            text.removeSubrange(range)
        }
        let boundBegin = begin != .none && !Self.startsUnbounded(text)
        let boundEnd = wordEnd && !Self.endsUnbounded(text)
        if !Self.hasCapturingGroup(text) { text = Self.wrapInGroup(text) }

        var flags: Flags = []
        if boundBegin {
            if begin == .lineStart {
                flags.insert(.lineBegin)
                text = Array(#"^(?:\W{0,2})?"#.utf8) + text
            } else {
                flags.insert(.wordBegin)
                text = Array(#"(?=^|\b|\W)"#.utf8) + text
            }
        }
        if boundEnd {
            flags.insert(.wordEnd)
            text += Array(#"(?=\b|\W|$)"#.utf8)
        }
        if !flags.contains(.lineBegin) && Self.startsAtLineBegin(text) { flags.insert(.lineBegin) }
        if !flags.contains(.lineEnd) && Self.endsAtLineEnd(text) { flags.insert(.lineEnd) }
        text = Self.removingUnboundMarks(text)
        self.regex = String(decoding: globalFlags + text, as: UTF8.self)
        self.flags = flags
        self.addedLineStart = boundBegin && begin == .lineStart
    }

    /// fail2ban's `unboundPattern`: the template text without its boundary markers, used
    /// when a default template is spliced into a `{DATE}` datepattern.
    static func unbound(_ pattern: String) -> String {
        var text = pattern
        for prefix in ["{UNB}", "{^LN-BEG}"] where text.hasPrefix(prefix) { text.removeFirst(prefix.count) }
        for prefix in [#"(^|\b|\W)"#, #"(?:^|\b|\W)"#] where text.hasPrefix(prefix) {
            text.removeFirst(prefix.count)
            break
        }
        let suffix = #"(?=\b|\W|$)"#
        if text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }

    /// Python's `str.strip()` for the ASCII whitespace a config value can carry.
    static func trimmed(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) || ($0 >= 0x1C && $0 <= 0x1F) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
              let last = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    // MARK: - Scanners over the template text

    private static let open = UInt8(ascii: "("), close = UInt8(ascii: ")"), question = UInt8(ascii: "?")
    private static let caret = UInt8(ascii: "^"), dollar = UInt8(ascii: "$"), star = UInt8(ascii: "*")
    private static let backslash = UInt8(ascii: "\\"), pipe = UInt8(ascii: "|"), colon = UInt8(ascii: ":")

    private static func isWordByte(_ byte: UInt8) -> Bool {
        byte >= 0x80 || byte == UInt8(ascii: "_") ||
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) ||
            (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
    }

    private static func byte(_ text: [UInt8], _ index: Int) -> UInt8? {
        index >= 0 && index < text.count ? text[index] : nil
    }

    /// End of an inline flag group `(?word)` starting at `index`, or nil.
    private static func flagGroupEnd(_ text: [UInt8], at index: Int, lowercaseOnly: Bool = false) -> Int? {
        guard byte(text, index) == open, byte(text, index + 1) == question else { return nil }
        var end = index + 2
        while let next = byte(text, end), lowercaseOnly ? (next >= UInt8(ascii: "a") && next <= UInt8(ascii: "z")) : isWordByte(next) {
            end += 1
        }
        guard end > index + 2, byte(text, end) == close else { return nil }
        return end + 1
    }

    private static func firstGlobalFlagGroup(_ text: [UInt8]) -> Range<Int>? {
        for index in text.indices where text[index] == open {
            if let end = flagGroupEnd(text, at: index, lowercaseOnly: true) { return index..<end }
        }
        return nil
    }

    private static func count(_ value: UInt8, in text: [UInt8], from start: Int) -> Int {
        var end = start
        while byte(text, end) == value { end += 1 }
        return end - start
    }

    private static func hasPrefix(_ text: [UInt8], _ prefix: String, at index: Int) -> Bool {
        index <= text.count && text[index...].starts(with: prefix.utf8)
    }

    /// Positions after "any `(`, then an optional flag group" at the start of `text`.
    private static func positionsAfterOpeningParens(_ text: [UInt8]) -> [Int] {
        let parens = count(open, in: text, from: 0)
        var positions: [Int] = []
        for taken in stride(from: parens, through: 0, by: -1) {
            if let end = flagGroupEnd(text, at: taken) { positions.append(end) }
            positions.append(taken)
        }
        return positions
    }

    /// A leading `^`, `**`, `(^` or `(?:^` turns off the begin boundary.
    private static func startsUnbounded(_ text: [UInt8]) -> Bool {
        positionsAfterOpeningParens(text).contains { at in
            if byte(text, at) == caret { return true }
            let afterParens = at + count(open, in: text, from: at)
            if byte(text, afterParens) == star && byte(text, afterParens + 1) == star { return true }
            return hasPrefix(text, "(^", at: at) || hasPrefix(text, "(?:^", at: at)
        }
    }

    /// A trailing `$`, `$)`, `\b`, `\s` or `**` (then any `)`), not itself escaped, turns off the end boundary.
    private static func endsUnbounded(_ text: [UInt8]) -> Bool {
        let n = text.count
        func unescaped(_ start: Int) -> Bool { byte(text, start - 1) != backslash }
        if byte(text, n - 1) == dollar && unescaped(n - 1) { return true }
        if byte(text, n - 1) == close && byte(text, n - 2) == dollar && unescaped(n - 2) { return true }
        if byte(text, n - 2) == backslash, let last = byte(text, n - 1),
           last == UInt8(ascii: "b") || last == UInt8(ascii: "s"), unescaped(n - 2) { return true }
        var end = n
        while byte(text, end - 1) == close { end -= 1 }
        return byte(text, end - 1) == star && byte(text, end - 2) == star && unescaped(end - 2)
    }

    /// fail2ban's test for "already grouped": any `(` that is neither escaped, nor `(?`,
    /// nor right after `(?` (a conditional).
    private static func hasCapturingGroup(_ text: [UInt8]) -> Bool {
        for index in text.indices where text[index] == open {
            if byte(text, index + 1) != question && byte(text, index - 1) != backslash &&
                !(byte(text, index - 2) == open && byte(text, index - 1) == question) { return true }
        }
        return false
    }

    /// Wraps the body in group 1, keeping leading flag groups / `^` and a trailing `$` outside.
    private static func wrapInGroup(_ text: [UInt8]) -> [UInt8] {
        var start = flagGroupEnd(text, at: 0) ?? 0
        if byte(text, start) == caret { start += 1 }
        if let end = flagGroupEnd(text, at: start) { start = end }
        var end = text.count
        if end > start && text[end - 1] == dollar { end -= 1 }
        return Array(text[0..<start]) + [open] + Array(text[start..<end]) + [close] + Array(text[end...])
    }

    private static func startsAtLineBegin(_ text: [UInt8]) -> Bool {
        var starts = [0]
        if let end = flagGroupEnd(text, at: 0) { starts.insert(end, at: 0) }
        return starts.contains { at in
            if byte(text, at) == caret { return true }
            guard byte(text, at) == open else { return false }
            var next = at + 1
            if hasPrefix(text, "?:", at: next) { next += 2 }
            return byte(text, next) == caret && byte(text, next + 1) != pipe
        }
    }

    private static func endsAtLineEnd(_ text: [UInt8]) -> Bool {
        let n = text.count
        func plain(_ start: Int) -> Bool { let before = byte(text, start - 1); return before != backslash && before != pipe }
        if byte(text, n - 1) == dollar && plain(n - 1) { return true }
        return byte(text, n - 1) == close && byte(text, n - 2) == dollar && plain(n - 2)
    }

    /// Drops the `**` markers (leading after parens/flags, trailing before parens).
    private static func removingUnboundMarks(_ source: [UInt8]) -> [UInt8] {
        var text = source
        var trailingSearchFrom = 0
        for at in positionsAfterOpeningParens(text) {
            let afterParens = at + count(open, in: text, from: at)
            if byte(text, afterParens) == star && byte(text, afterParens + 1) == star {
                text.removeSubrange(afterParens..<(afterParens + 2))
                trailingSearchFrom = afterParens
                break
            }
        }
        var end = text.count
        while byte(text, end - 1) == close { end -= 1 }
        if end - 2 >= trailingSearchFrom, byte(text, end - 1) == star, byte(text, end - 2) == star,
           byte(text, end - 3) != backslash {
            text.removeSubrange((end - 2)..<end)
        }
        return text
    }
}
