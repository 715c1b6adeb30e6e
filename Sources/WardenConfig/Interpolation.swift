/// Stage 1 of fail2ban's interpolation: `%(name)s` resolved when a value is read, with
/// Python configparser's rules (`%%` is a literal `%`, at most 10 levels of nesting) and
/// fail2ban's additions: `%(__name__)s` is the section name, and `%(sec/opt)s`,
/// `%(default/opt)s`, `%(known/opt)s` read the raw value of another section, of DEFAULT,
/// or the value this section had before a later file overwrote it.
struct Interpolation {
    static let maximumDepth = 10

    let config: ConfigSet

    func resolve(_ value: ConfigValue, option: String, scope: LookupScope) throws -> String {
        // Most values hold no `%` at all; they come out as they are, and the scope set-up
        // that `expand` does for its references would go unused.
        guard Self.firstPercent(in: Substring(value.text)) != nil else { return value.text }
        var output = ""
        try expand(Substring(value.text), into: &output, depth: 1,
                   context: Context(value: value, option: option, scope: scope))
        return output
    }

    private struct Context {
        let value: ConfigValue
        let option: String
        var scope: LookupScope

        func error(_ message: String) -> ConfigError {
            ConfigError(file: value.file, line: value.file == nil ? nil : value.line,
                        "[\(scope.section)] \(option): \(message)")
        }
    }

    /// Works on UTF-8 positions: `%`, `(`, `)` and `s` are ASCII, so every position found
    /// is a scalar boundary and the slices hold exactly the scalars configparser sees.
    private func expand(_ text: Substring, into output: inout String, depth: Int, context: Context) throws {
        // fail2ban sets `__name__` and maps the `sec/opt` references afresh for every
        // value it expands, the nested ones included.
        var context = context
        context.scope.vars["__name__"] = ConfigValue(text: context.scope.section, file: nil, line: 0)
        mapSectionReferences(in: text, scope: &context.scope)
        guard depth <= Self.maximumDepth else {
            throw context.error("%(...)s references nested more than \(Self.maximumDepth) deep "
                                + "(a value referring to itself?)")
        }
        var rest = text
        while let percent = Self.firstPercent(in: rest) {
            output.append(contentsOf: rest[..<percent])
            rest = rest[percent...]
            let next = rest.utf8.dropFirst().first
            if next == UInt8(ascii: "%") {
                output.append("%")
                rest = rest[rest.utf8.index(percent, offsetBy: 2)...]
            } else if next == UInt8(ascii: "(") {
                guard let (name, after) = Self.reference(at: rest) else {
                    throw context.error("bad interpolation reference "
                                        + "'\(String(Substring(rest.unicodeScalars.prefix(40))))'")
                }
                let key = name.lowercased()
                guard let replacement = context.scope.raw(key) else {
                    throw context.error("%(\(name))s refers to an option that does not exist")
                }
                rest = after
                if Self.firstPercent(in: Substring(replacement.text)) != nil {
                    try expand(Substring(replacement.text), into: &output, depth: depth + 1, context: context)
                } else {
                    output.append(replacement.text)
                }
            } else {
                throw context.error("'%' must be followed by '%' or '(' (write a literal % as %%)")
            }
        }
        output.append(contentsOf: rest)
    }

    /// The first `%` in `text`, searched in its contiguous UTF-8: the generic search on
    /// Substring.UTF8View took ~8 instructions a byte of the long failregex values.
    private static func firstPercent(in text: Substring) -> Substring.Index? {
        let utf8 = text.utf8
        guard let offset = utf8.withContiguousStorageIfAvailable({ $0.firstIndex(of: UInt8(ascii: "%")) }) else {
            return utf8.firstIndex(of: UInt8(ascii: "%"))
        }
        return offset.map { utf8.index(utf8.startIndex, offsetBy: $0) }
    }

    /// configparser's `%\(([^)]+)\)s` at the start of `text`: the name and what follows.
    private static func reference(at text: Substring) -> (String, Substring)? {
        let bytes = text.utf8
        let nameStart = bytes.index(bytes.startIndex, offsetBy: 2)
        guard let close = bytes[nameStart...].firstIndex(of: UInt8(ascii: ")")), close > nameStart else {
            return nil
        }
        let afterClose = bytes.index(after: close)
        guard afterClose < bytes.endIndex, bytes[afterClose] == UInt8(ascii: "s") else { return nil }
        return (String(text[nameStart..<close]), text[bytes.index(after: afterClose)...])
    }

    /// Adds `sec/opt` entries for each `%(sec/opt)s` in `text` that the scope lacks.
    private func mapSectionReferences(in text: Substring, scope: inout LookupScope) {
        for (qualified, sectionName, option) in Self.sectionReferences(in: text) where !scope.contains(qualified) {
            let lowered = sectionName.lowercased()
            var found: ConfigValue?
            if lowered == "known" {
                found = config.table[ConfigSet.knownPrefix + scope.section]?[option]
            } else if lowered != "default" {
                guard let section = config.table[sectionName] else { continue }
                found = section[option]
            }
            guard let value = found ?? config.defaults[option] else { continue }
            scope.vars[qualified] = value
        }
    }

    /// fail2ban's `%\(([\w\-]+/([^\)]+))\)s`, all non-overlapping matches:
    /// (section/option as written, section, option).
    static func sectionReferences(in text: Substring) -> [(String, String, String)] {
        var found: [(String, String, String)] = []
        let scalars = text.unicodeScalars
        // A match starts at `%(`; found by bytes (ASCII, so a scalar boundary), then
        // checked scalar by scalar for `\w`.
        var rest = text
        while let percent = firstPercent(in: rest) {
            if let (match, end) = sectionReference(in: scalars, at: percent) {
                found.append(match)
                rest = text[end...]
            } else {
                rest = text[text.utf8.index(after: percent)...]
            }
        }
        return found
    }

    private static func sectionReference(in scalars: Substring.UnicodeScalarView,
                                         at start: Substring.UnicodeScalarView.Index)
        -> ((String, String, String), Substring.UnicodeScalarView.Index)? {
        guard scalars[start...].starts(with: "%(".unicodeScalars) else { return nil }
        let sectionStart = scalars.index(start, offsetBy: 2)
        let sectionEnd = scalars[sectionStart...].firstIndex { !(PythonText.isWord($0) || $0 == "-") }
            ?? scalars.endIndex
        guard sectionEnd > sectionStart, sectionEnd < scalars.endIndex, scalars[sectionEnd] == "/" else { return nil }
        let optionStart = scalars.index(after: sectionEnd)
        guard let close = scalars[optionStart...].firstIndex(of: ")"), close > optionStart else { return nil }
        let afterClose = scalars.index(after: close)
        guard afterClose < scalars.endIndex, scalars[afterClose] == "s" else { return nil }
        let string = { (range: Range<Substring.UnicodeScalarView.Index>) in
            String(Substring(scalars[range]))
        }
        return ((string(sectionStart..<close), string(sectionStart..<sectionEnd), string(optionStart..<close)),
                scalars.index(after: afterClose))
    }
}
