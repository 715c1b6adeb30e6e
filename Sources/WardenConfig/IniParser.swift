import Glibc

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
///
/// Works on the validated UTF-8 bytes: every delimiter of the dialect is ASCII, so the
/// positions found are scalar boundaries, and `PythonText.spaceLength` tells Python's
/// whitespace scalars apart without decoding the others.
struct IniParser {
    let path: String

    func parse(_ bytes: [UInt8]) throws -> IniDocument {
        var body = bytes[...]
        // A UTF-8 byte-order mark would make configparser reject the first section header;
        // editors add it silently, so accept it (a documented deviation).
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        // Validated in one pass: the daemon reads the whole fail2ban tree before it answers ping.
        guard String(validating: body, as: UTF8.self) != nil else {
            throw ConfigError(file: path, line: Self.lineOfFirstInvalidByte(in: body), "invalid UTF-8")
        }
        let text = Array(body)
        var builder = Builder(document: IniDocument(path: path), text: text)
        var lineNumber = 0
        // Python's universal newlines: `\n`, `\r\n` and a lone `\r` all end a line.
        var start = 0
        while true {
            var index = Self.lineEnd(text, from: start)
            if index == text.count && start == index { break }
            lineNumber += 1
            try builder.consume(start..<index, number: lineNumber)
            guard index < text.count else { break }
            if text[index] == UInt8(ascii: "\r"), index + 1 < text.count, text[index + 1] == UInt8(ascii: "\n") {
                index += 1
            }
            start = index + 1
        }
        return builder.finish()
    }

    /// Where the line from `start` ends: its first `\n` or `\r`, else the end of `text`.
    /// Found with memchr, `\r` only before the `\n`: a loop over every byte was most of
    /// the parse.
    private static func lineEnd(_ text: [UInt8], from start: Int) -> Int {
        text.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, start < buffer.count else { return buffer.count }
            let line = UnsafeRawPointer(base + start)
            var length = buffer.count - start
            if let newline = memchr(line, Int32(UInt8(ascii: "\n")), length) { length = line.distance(to: UnsafeRawPointer(newline)) }
            if let carriage = memchr(line, Int32(UInt8(ascii: "\r")), length) { length = line.distance(to: UnsafeRawPointer(carriage)) }
            return start + length
        }
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
}

private struct Builder {
    var document: IniDocument
    /// The file's valid UTF-8 (without a byte-order mark); lines are ranges of it.
    let text: [UInt8]
    /// The section receiving options; nil before the first header.
    var current: Target?
    /// The options of the current named section, stored into `document` when the section
    /// ends: adding them through `document.sections[name]?[key]` would copy the table each time.
    var section = IniDocument.Section()
    /// Option whose value continuation lines extend, with its UTF-8 so far (blank lines
    /// included: configparser trims them from the end only when the value is finished).
    var option: (key: String, line: Int, value: [UInt8])?
    /// Indent of the last line that was not a continuation, in scalars as configparser counts.
    var indentLevel = 0
    /// The header line of each named section, in the order of `document.sections.keys`.
    /// Not a table by name: the document's sections already find a repeated name, and a
    /// dictionary type of its own is one more the runtime builds on first use.
    var sectionLines: [Int] = []

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

    init(document: IniDocument, text: [UInt8]) {
        self.document = document
        self.text = text
    }

    mutating func consume(_ line: Range<Int>, number: Int) throws {
        let commentStart = commentStart(in: line)
        let content = stripped(line.lowerBound..<(commentStart ?? line.upperBound))
        if content.isEmpty {
            // A blank line belongs to the value being read; a comment line does not.
            if commentStart == nil, option != nil { option?.value.append(UInt8(ascii: "\n")) }
            return
        }
        let indent = scalarCount(line.lowerBound..<content.lowerBound)
        if current != nil, option != nil, indent > indentLevel {
            option?.value.append(UInt8(ascii: "\n"))
            option?.value.append(contentsOf: text[content])
            return
        }
        indentLevel = indent
        if let header = sectionHeader(content) {
            try openSection(header, line: number)
        } else if let target = current {
            try addOption(content, to: target, line: number)
        } else {
            throw ConfigError(file: document.path, line: number,
                              "option line outside any section: \(quoted(content))")
        }
    }

    /// Where the comment starts: a whole line starting with `#` or `;`, or the first `;`
    /// at the line start or preceded by whitespace.
    func commentStart(in line: Range<Int>) -> Int? {
        var index = line.lowerBound
        while index < line.upperBound, let space = PythonText.spaceLength(text, at: index) { index += space }
        if index < line.upperBound, text[index] == UInt8(ascii: "#") || text[index] == UInt8(ascii: ";") {
            return line.lowerBound
        }
        var semicolon = line.lowerBound
        while let found = text[semicolon..<line.upperBound].firstIndex(of: UInt8(ascii: ";")) {
            if found == line.lowerBound || PythonText.spaceLength(text, endingAt: found, from: line.lowerBound) != nil {
                return found
            }
            semicolon = found + 1
        }
        return nil
    }

    func stripped(_ range: Range<Int>) -> Range<Int> {
        PythonText.stripped(text, range)
    }

    func scalarCount(_ range: Range<Int>) -> Int {
        text[range].reduce(0) { $0 + (($1 & 0xC0) == 0x80 ? 0 : 1) }
    }

    func string(_ range: Range<Int>) -> String {
        String(decoding: text[range], as: UTF8.self)
    }

    /// configparser's very permissive `\[(.+)\]` matched at the start: the name runs to
    /// the last `]`, anything after it is ignored, and the name is not trimmed.
    func sectionHeader(_ content: Range<Int>) -> String? {
        guard text[content.lowerBound] == UInt8(ascii: "["),
              let close = text[content].lastIndex(of: UInt8(ascii: "]")), content.lowerBound + 1 < close else {
            return nil
        }
        return string(content.lowerBound + 1..<close)
    }

    mutating func openSection(_ name: String, line: Int) throws {
        finishSection()
        if name == IniDocument.defaultSection {
            current = .defaults
            return
        }
        if document.sections.contains(name) {
            let earlier = sectionLines[document.sections.keys.firstIndex(of: name)!]
            throw ConfigError(file: document.path, line: line,
                              "section [\(name)] already appears at line \(earlier)")
        }
        sectionLines.append(line)
        // Registered now so that the section keeps its place in file order.
        document.sections[name] = IniDocument.Section()
        section = IniDocument.Section()
        current = .section(name)
    }

    mutating func addOption(_ content: Range<Int>, to target: Target, line: Int) throws {
        guard let delimiter = text[content].firstIndex(where: {
            $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: ":")
        }) else {
            throw ConfigError(file: document.path, line: line,
                              "expected `key = value`, found \(quoted(content))")
        }
        let rawKey = stripped(content.lowerBound..<delimiter)
        guard !rawKey.isEmpty else {
            throw ConfigError(file: document.path, line: line, "option without a name: \(quoted(content))")
        }
        let key = string(rawKey).lowercased()
        // A named section's options are all in one run of lines (a repeated header is an
        // error), so the option being read and the section's table hold every earlier key.
        let earlier = option?.key == key ? option?.line
            : target == .defaults ? document.defaults[key]?.line : section[key]?.line
        if let earlier {
            throw ConfigError(file: document.path, line: line,
                              "option '\(key)' in [\(target.name)] already set at line \(earlier)")
        }
        finishOption()
        option = (key, line, Array(text[stripped(delimiter + 1..<content.upperBound)]))
    }

    mutating func finishOption() {
        guard let option, let current else { return }
        let kept = PythonText.stripped(option.value, 0..<option.value.count, leading: false)
        let value = ConfigValue(text: String(decoding: option.value[kept], as: UTF8.self),
                                file: document.path, line: option.line)
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

    func quoted(_ content: Range<Int>) -> String {
        let scalars = string(content).unicodeScalars
        return "'\(String(String.UnicodeScalarView(scalars.prefix(60))))'" + (scalars.count > 60 ? "..." : "")
    }
}
