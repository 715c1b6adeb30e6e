/// One option's value and where it was written.
public struct ConfigValue: Sendable, Equatable {
    public var text: String
    /// The file the value came from, nil for a caller-supplied value.
    public var file: String?
    /// 1-based line of the `key = value` line (continuation lines follow it).
    public var line: Int

    public init(text: String, file: String?, line: Int) {
        self.text = text
        self.file = file
        self.line = line
    }
}

/// One file's sections as Python's configparser reads it for fail2ban: the raw, not yet
/// interpolated values, in file order.
struct IniDocument {
    typealias Section = OrderedTable<ConfigValue>

    static let defaultSection = "DEFAULT"

    var path: String
    var defaults = Section()
    var sections = OrderedTable<Section>()
}

/// Reads fail2ban's INI dialect: `[section]`, `key = value` or `key: value` (lower-cased
/// keys), deeper-indented continuation lines, `#`/`;` comment lines, `;` after whitespace
/// as an inline comment, blank lines kept inside a value but trimmed from its end.
/// Like configparser with `strict=True`, a section or key repeated in one file is an error.
struct IniParser {
    let path: String

    func parse(_ bytes: [UInt8]) throws -> IniDocument {
        try parse(decode(bytes))
    }

    func parse(_ text: String) throws -> IniDocument {
        var builder = Builder(document: IniDocument(path: path))
        var lineNumber = 0
        for line in Self.lines(of: text) {
            lineNumber += 1
            try builder.consume(line, number: lineNumber)
        }
        return builder.finish()
    }

    private func decode(_ bytes: [UInt8]) throws -> String {
        var body = bytes[...]
        // A UTF-8 byte-order mark would make configparser reject the first section header;
        // editors add it silently, so accept it (a documented deviation).
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        // Validated in one pass: the daemon reads the whole fail2ban tree before it answers ping.
        if let text = String(validating: body, as: UTF8.self) { return text }
        throw ConfigError(file: path, line: Self.lineOfFirstInvalidByte(in: body), "invalid UTF-8")
    }

    private static func lineOfFirstInvalidByte(in body: ArraySlice<UInt8>) -> Int {
        var decoder = UTF8()
        var iterator = body.makeIterator()
        var line = 1
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
            case .emptyInput, .error: return line
            }
        }
    }

    /// Python's universal newlines: `\n`, `\r\n` and a lone `\r` all end a line. Found
    /// by bytes: both are ASCII, so every line starts and ends on a scalar boundary.
    static func lines(of text: String) -> [Substring.UnicodeScalarView] {
        var result: [Substring.UnicodeScalarView] = []
        let scalars = Substring(text).unicodeScalars
        let bytes = text.utf8
        var start = bytes.startIndex
        var index = start
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                result.append(scalars[start..<index])
                var next = bytes.index(after: index)
                if byte == UInt8(ascii: "\r"), next < bytes.endIndex, bytes[next] == UInt8(ascii: "\n") {
                    next = bytes.index(after: next)
                }
                start = next
                index = next
            } else {
                index = bytes.index(after: index)
            }
        }
        if start < bytes.endIndex { result.append(scalars[start...]) }
        return result
    }
}

private struct Builder {
    var document: IniDocument
    /// The section receiving options; nil before the first header.
    var current: Target?
    /// The options of the current named section, stored into `document` when the section
    /// ends: adding them through `document.sections[name]?[key]` would copy the table each time.
    var section = IniDocument.Section()
    /// Option whose value continuation lines extend, with the lines gathered so far.
    var option: (key: String, line: Int, lines: [String])?
    var indentLevel = 0
    var seenSections: [String: Int] = [:]
    var seenOptions: [String: Int] = [:]

    enum Target: Equatable {
        case defaults
        case section(String)

        var name: String {
            switch self {
            case .defaults: return IniDocument.defaultSection
            case .section(let name): return name
            }
        }
    }

    init(document: IniDocument) {
        self.document = document
    }

    mutating func consume(_ line: Substring.UnicodeScalarView, number: Int) throws {
        let commentStart = Self.commentStart(in: line)
        let content = PythonText.strip(commentStart.map { line[..<$0] } ?? line)
        if content.isEmpty {
            // A blank line belongs to the value being read; a comment line does not.
            if commentStart == nil, option != nil { option?.lines.append("") }
            return
        }
        let indent = line.distance(from: line.startIndex,
                                   to: line.firstIndex { !PythonText.isSpace($0) } ?? line.startIndex)
        if current != nil, option != nil, indent > indentLevel {
            option?.lines.append(String(Substring(content)))
            return
        }
        indentLevel = indent
        if let header = Self.sectionHeader(content) {
            try openSection(header, line: number)
        } else if let target = current {
            try addOption(content, to: target, line: number)
        } else {
            throw ConfigError(file: document.path, line: number,
                              "option line outside any section: \(Self.quoted(content))")
        }
    }

    /// Where the comment starts: a whole line starting with `#` or `;`, or the first `;`
    /// at the line start or preceded by whitespace.
    static func commentStart(in line: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView.Index? {
        if let first = line.first(where: { !PythonText.isSpace($0) }), first == "#" || first == ";" {
            return line.startIndex
        }
        // `;` is ASCII, so a line without that byte has no inline comment.
        guard Substring(line).utf8.contains(UInt8(ascii: ";")) else { return nil }
        var previous: Unicode.Scalar?
        for index in line.indices {
            let scalar = line[index]
            if scalar == ";", previous.map(PythonText.isSpace) ?? true { return index }
            previous = scalar
        }
        return nil
    }

    /// configparser's very permissive `\[(.+)\]` matched at the start: the name runs to
    /// the last `]`, anything after it is ignored, and the name is not trimmed.
    static func sectionHeader(_ content: Substring.UnicodeScalarView) -> String? {
        guard content.first == "[", let close = content.lastIndex(of: "]") else { return nil }
        let nameStart = content.index(after: content.startIndex)
        guard nameStart < close else { return nil }
        return String(Substring(content[nameStart..<close]))
    }

    mutating func openSection(_ name: String, line: Int) throws {
        finishSection()
        if name == IniDocument.defaultSection {
            current = .defaults
            return
        }
        if let earlier = seenSections[name] {
            throw ConfigError(file: document.path, line: line,
                              "section [\(name)] already appears at line \(earlier)")
        }
        seenSections[name] = line
        // Registered now so that the section keeps its place in file order.
        document.sections[name] = IniDocument.Section()
        section = IniDocument.Section()
        current = .section(name)
    }

    mutating func addOption(_ content: Substring.UnicodeScalarView, to target: Target, line: Int) throws {
        // Both delimiters are ASCII: found by bytes, at a scalar boundary.
        guard let delimiter = Substring(content).utf8.firstIndex(where: {
            $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: ":")
        }) else {
            throw ConfigError(file: document.path, line: line,
                              "expected `key = value`, found \(Self.quoted(content))")
        }
        let rawKey = PythonText.strip(content[..<delimiter])
        guard !rawKey.isEmpty else {
            throw ConfigError(file: document.path, line: line, "option without a name: \(Self.quoted(content))")
        }
        let key = String(Substring(rawKey)).lowercased()
        let identity = target.name + "\u{0}" + key
        if let earlier = seenOptions[identity] {
            throw ConfigError(file: document.path, line: line,
                              "option '\(key)' in [\(target.name)] already set at line \(earlier)")
        }
        seenOptions[identity] = line
        finishOption()
        let value = PythonText.strip(content[content.index(after: delimiter)...])
        option = (key, line, [String(Substring(value))])
    }

    mutating func finishOption() {
        guard let option, let current else { return }
        let text = PythonText.stripTrailing(option.lines.joined(separator: "\n"))
        let value = ConfigValue(text: text, file: document.path, line: option.line)
        switch current {
        case .defaults: document.defaults[option.key] = value
        case .section: section[option.key] = value
        }
        self.option = nil
    }

    mutating func finishSection() {
        finishOption()
        if case .section(let name) = current { document.sections[name] = section }
    }

    mutating func finish() -> IniDocument {
        finishSection()
        return document
    }

    static func quoted(_ content: Substring.UnicodeScalarView) -> String {
        let text = String(Substring(content.prefix(60)))
        return "'\(text)'" + (content.count > 60 ? "..." : "")
    }
}
