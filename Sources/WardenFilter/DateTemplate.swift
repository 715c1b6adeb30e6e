/// A datepattern that cannot be used, with the template text that was rejected.
public struct DateTemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    public let template: String
    public let reason: String
    public var description: String { "bad date template '\(template)': \(reason)" }
}

/// One date template: its fail2ban name, its regex and how the matched text becomes a time.
///
/// Templates are immutable and shared between detectors (the regex is compiled once, on
/// first use for the defaults); the per-detector statistics (hits, last distance) live in
/// `DateDetector`.
final class DateTemplate: Sendable {
    enum Value: Sendable {
        /// strptime-style named groups (`Y`, `m`, `d`, ...), parsed by `DateFieldParser`.
        case fields(DateFieldReading)
        /// Seconds since the epoch in `group`; `long` also reads milli- and microseconds.
        case epoch(group: Int, long: Bool)
        /// `@4000000...`: 16 hex digits of TAI64 seconds and 8 of nanoseconds.
        case tai64n
    }

    /// When a template's regex is compiled: user templates at once (a bad one is an error
    /// of the datepattern), fail2ban's defaults when a detector first tries them.
    enum Compilation { case now, onFirstUse }

    let name: String
    /// The datepattern text for strptime-style templates (used to derive `{DATE}` and
    /// `{^LN-BEG}` variants); nil for the epoch and TAI64N templates.
    let pattern: String?
    let flags: DateTemplateBounds.Flags
    /// fail2ban prefers the line-start copies of its default templates when it reorders.
    let weight: Double
    let regex: DateTemplateRegex

    var isLineAnchored: Bool { !flags.isDisjoint(with: [.lineBegin, .lineEnd]) }

    private init(name: String, pattern: String?, bounds: DateTemplateBounds, weight: Double,
                 reading: DateTemplateRegex.Reading, source: String, compilation: Compilation) throws(DateTemplateError) {
        guard !Self.hasMisplacedGlobalFlags(bounds.regex) else {
            throw DateTemplateError(template: source, reason: "global flags not at the start of the expression")
        }
        regex = DateTemplateRegex(pythonRegex: bounds.regex, reading: reading, source: source)
        if compilation == .now { _ = try regex.compiled().get() }
        self.name = name
        self.pattern = pattern
        self.flags = bounds.flags
        self.weight = weight
    }

    /// Python rejects `(?i)`-style flag groups after the leading ones; PCRE2 would take them.
    private static func hasMisplacedGlobalFlags(_ regex: String) -> Bool {
        let bytes = Array(regex.utf8)
        var index = 0
        var leading = true
        var inClass = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") { index += 2; leading = false; continue }
            if inClass {
                if byte == UInt8(ascii: "]") { inClass = false }
                index += 1
                continue
            }
            if byte == UInt8(ascii: "[") {
                inClass = true
                leading = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "^") { index += 1 }
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1 }
                continue
            }
            if byte == UInt8(ascii: "("), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "?") {
                var end = index + 2
                while end < bytes.count, "aiLmsux".utf8.contains(bytes[end]) { end += 1 }
                if end > index + 2, end < bytes.count, bytes[end] == UInt8(ascii: ")") {
                    if !leading { return true }
                    index = end + 1
                    continue
                }
            }
            leading = false
            index += 1
        }
        return false
    }

    /// A copy with another weight (fail2ban's preferred line-start defaults weigh 100).
    func weighted(_ weight: Double) -> DateTemplate {
        DateTemplate(copying: self, weight: weight)
    }

    private init(copying other: DateTemplate, weight: Double) {
        name = other.name
        pattern = other.pattern
        regex = other.regex
        flags = other.flags
        self.weight = weight
    }

    /// A strptime-style template: `%` directives, `{UNB}` and `{^LN-BEG}` prefixes, `**` marks.
    static func strptime(_ source: String, compilation: Compilation = .now) throws(DateTemplateError) -> DateTemplate {
        var pattern = source
        var begin = DateTemplateBounds.Begin.word
        var wordEnd = true
        if pattern.hasPrefix("{UNB}") {
            pattern.removeFirst(5)
            begin = .none
            wordEnd = false
        }
        if begin != .none && pattern.hasPrefix("{^LN-BEG}") {
            pattern.removeFirst(9)
            begin = .lineStart
        }
        var (regex, name) = try DatePattern.expand(pattern)
        if DatePattern.needsCaseInsensitivity(pattern) { regex = "(?iu)" + regex }
        let bounds = DateTemplateBounds(regex: regex, begin: begin, wordEnd: wordEnd)
        if bounds.addedLineStart && !name.hasPrefix("{^LN-BEG}") {
            name = "{^LN-BEG}" + name
        }
        return try DateTemplate(name: name, pattern: source, bounds: bounds, weight: 1, reading: .fields,
                                source: source, compilation: compilation)
    }

    /// Unix time in seconds with an optional fraction; `long` also takes 13-digit
    /// milliseconds and 16-digit microseconds.
    static func epoch(lineBeginOnly: Bool, long: Bool, compilation: Compilation = .now) throws(DateTemplateError) -> DateTemplate {
        let digits = long ? #"\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?"# : #"\d{10,11}\b(?:\.\d{3,6})?"#
        let bounds: DateTemplateBounds
        if lineBeginOnly {
            // Optionally in square brackets at line start (nsd).
            bounds = DateTemplateBounds(regex: #"((?P<square>(?<=^\[))?"# + digits + #")(?(square)(?=\]))"#,
                                        begin: .lineStart, wordEnd: true)
        } else {
            // Line start, inside `[...]` at line start, or SELinux `audit(<epoch>:<serial>)`.
            bounds = DateTemplateBounds(
                regex: #"((?:^|(?P<square>(?<=^\[))|(?P<selinux>(?<=\baudit\()))"# + digits +
                    #")(?:(?(selinux)(?=:\d+\)))|(?(square)(?=\])))"#,
                begin: .none, wordEnd: true)
        }
        var name = long ? "LongEpoch" : "Epoch"
        if bounds.addedLineStart { name = "{^LN-BEG}" + name }
        return try DateTemplate(name: name, pattern: nil, bounds: bounds, weight: 1,
                                reading: .epoch(group: 1, long: long), source: name, compilation: compilation)
    }

    /// A datepattern holding `{EPOCH}` or `{LEPOCH}`: the whole match is cut, the number is group 2.
    static func epoch(embeddedIn pattern: String, long: Bool) throws(DateTemplateError) -> DateTemplate {
        let digits = long ? #"\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?"# : #"\d{10,11}\b(?:\.\d{3,6})?"#
        let regex = "(" + DateKeywords.replacingEpochMarkers(in: pattern, with: "(" + digits + ")") + ")"
        let bounds = DateTemplateBounds(regex: regex, begin: .word, wordEnd: true)
        return try DateTemplate(name: pattern, pattern: nil, bounds: bounds, weight: 1,
                                reading: .epoch(group: 2, long: long), source: pattern, compilation: .now)
    }

    static func tai64n(lineStart: Bool, compilation: Compilation = .now) throws(DateTemplateError) -> DateTemplate {
        let bounds = DateTemplateBounds(regex: "@[0-9a-f]{24}", begin: lineStart ? .lineStart : .none, wordEnd: true)
        let name = bounds.addedLineStart ? "{^LN-BEG}TAI64N" : "TAI64N"
        return try DateTemplate(name: name, pattern: nil, bounds: bounds, weight: 1,
                                reading: .tai64n, source: name, compilation: compilation)
    }
}
