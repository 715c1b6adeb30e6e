/// A reference to a filter or action with options, as written in a jail:
/// `sshd[mode=aggressive, foo="a, b"]`, also `name[a=1][b=2]`. Parsed with the rules of
/// fail2ban's `extractOptions`: values may be double- or single-quoted (then they may hold
/// `,` and `]`), unquoted values end at `,` or `]`; keys and values are trimmed; a repeated
/// key keeps its first position and its last value.
public struct FilterReference: Sendable, Equatable {
    public var name: String
    public var options: [(key: String, value: String)]

    public init(name: String, options: [(key: String, value: String)] = []) {
        self.name = name
        self.options = options
    }

    public static func == (lhs: FilterReference, rhs: FilterReference) -> Bool {
        lhs.name == rhs.name && lhs.options.elementsEqual(rhs.options) { $0 == $1 }
    }

    public init(parsing text: String) throws {
        let scalars = Array(text.unicodeScalars)
        let nameEnd = scalars.firstIndex(of: "[") ?? scalars.count
        guard nameEnd > 0 else {
            throw ConfigError("filter reference '\(text)' has no name before '['")
        }
        options = []
        // A plain name (the common case) is the text itself; rebuilding it from scalars
        // goes through a generic append that cost ~200 k instructions at start-up.
        guard nameEnd < scalars.count else {
            name = text
            return
        }
        name = String(String.UnicodeScalarView(scalars[..<nameEnd]))
        // Options run from the first `[` to the last `]`, which only whitespace may follow.
        guard let close = scalars.lastIndex(of: "]"), close > nameEnd,
              scalars[(close + 1)...].allSatisfy(PythonText.isSpace) else {
            throw ConfigError("filter reference '\(text)': options must be enclosed in [...] at the end")
        }
        var parser = OptionListParser(scalars: Array(scalars[(nameEnd + 1)..<close]))
        for (key, value) in try parser.parse() {
            if let existing = options.firstIndex(where: { $0.key == key }) {
                options[existing].value = value
            } else {
                options.append((key, value))
            }
        }
    }
}

/// fail2ban's option-list grammar, one `key=value` after another:
/// `\s*([\w\-_\.]+)=("…"|'…'|[^,\]]*)` followed by `,`, `]\s*[`, or the end.
private struct OptionListParser {
    let scalars: [Unicode.Scalar]
    var position = 0

    init(scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    mutating func parse() throws -> [(String, String)] {
        var result: [(String, String)] = []
        while position < scalars.count {
            if let option = try nextOption() {
                result.append(option)
            } else if atTrailingSeparator() {
                break
            } else {
                throw error("expected key=value")
            }
        }
        return result
    }

    /// One option and its separator, or nil when no `key=` starts here.
    private mutating func nextOption() throws -> (String, String)? {
        var index = position
        while index < scalars.count, PythonText.isSpace(scalars[index]) { index += 1 }
        let keyStart = index
        while index < scalars.count, Self.isKeyScalar(scalars[index]) { index += 1 }
        guard index > keyStart, index < scalars.count, scalars[index] == "=" else { return nil }
        let key = string(keyStart..<index)
        index += 1
        let value: String
        if let quoted = quotedValue(from: index) {
            value = quoted.value
            index = quoted.end
        } else {
            let start = index
            while index < scalars.count, scalars[index] != ",", scalars[index] != "]" { index += 1 }
            value = string(start..<index)
        }
        position = index
        guard let afterSeparator = separatorEnd(at: index) else {
            throw error("unexpected text after option '\(key)'")
        }
        position = afterSeparator
        return (key, PythonText.strip(value))
    }

    private func quotedValue(from index: Int) -> (value: String, end: Int)? {
        guard index < scalars.count, scalars[index] == "\"" || scalars[index] == "'" else { return nil }
        let quote = scalars[index]
        guard let close = scalars[(index + 1)...].firstIndex(of: quote) else { return nil }
        return (string((index + 1)..<close), close + 1)
    }

    /// Where the next option starts after `,` or `]\s*[`, or the end of the list.
    private func separatorEnd(at index: Int) -> Int? {
        if index == scalars.count || (index == scalars.count - 1 && scalars[index] == "\n") { return index }
        if scalars[index] == "," { return index + 1 }
        if scalars[index] == "]" {
            var next = index + 1
            while next < scalars.count, PythonText.isSpace(scalars[next]) { next += 1 }
            if next < scalars.count, scalars[next] == "[" { return next + 1 }
        }
        return nil
    }

    /// `,?\s*$`: only an optional comma and whitespace remain.
    private func atTrailingSeparator() -> Bool {
        var index = position
        if index < scalars.count, scalars[index] == "," { index += 1 }
        return scalars[index...].allSatisfy(PythonText.isSpace)
    }

    private static func isKeyScalar(_ scalar: Unicode.Scalar) -> Bool {
        PythonText.isWord(scalar) || scalar == "-" || scalar == "."
    }

    private func string(_ range: Range<Int>) -> String {
        String(String.UnicodeScalarView(scalars[range]))
    }

    private func error(_ message: String) -> ConfigError {
        let rest = string(position..<min(scalars.count, position + 25))
        return ConfigError("filter options: \(message) at offset \(position): '\(rest)'")
    }
}
