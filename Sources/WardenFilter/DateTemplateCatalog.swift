/// fail2ban's default date templates and the rules that turn `datepattern` lines into
/// templates (`{DEFAULT}`, `{^LN-BEG}`, `X{DATE}Y`, `{NONE}`, `EPOCH`, `LEPOCH`, `TAI64N`).
enum DateTemplateCatalog {
    /// fail2ban 1.0.2's default templates, in its order.
    static let defaultPatterns: [String] = [
        // ISO 8601 / simple date, optional fraction and zone: 2005-01-23T21:59:59.981746+02:00
        #"%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?"#,
        // syslog, optional weekday, fraction and year: Sun Jan 23 21:59:59.011 2005
        #"(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?"#,
        // year right after the day: Sun Jan 23 2005 21:59:59.011
        #"(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?"#,
        // 23/01/2005 21:59:59, 23/01/05 21:59:59, 17-07-2008 17:23:25
        #"%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S"#,
        // Apache [31/Oct/2006:09:22:55 -0000], named 26-Jul-2007 15:20:52.252
        #"%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?"#,
        // CPanel 05/20/2008:01:57:39
        #"%m/%d/%ExY:%H:%M:%S"#,
        // 01-27-2012 16:22:44.252
        #"%m-%d-%ExY %k:%M:%S(?:\.%f)?"#,
        "EPOCH",
        // time of day only
        #"{^LN-BEG}%H:%M:%S"#,
        // <09/16/08@05:03:30>
        #"^<%m/%d/%Exy@%H:%M:%S>"#,
        // MySQL 130322 11:46:11
        #"%Exy%Exm%Exd  ?%H:%M:%S"#,
        // Tomcat Apr 16, 2013 8:01:25 PM
        #"%b %d, %ExY %I:%M:%S %p"#,
        // ASSP Apr-27-13 02:33:06
        #"^%b-%d-%Exy %k:%M:%S"#,
        // 20050123T215959, 20050123 215959
        #"%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?"#,
        // zone name first (monit): PDT Apr 16 21:05:29
        #"(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?"#,
        // zone offset first: +00:00 Jan 23 21:59:59.011 2005
        #"(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?"#,
        "TAI64N",
    ]

    /// The default templates themselves (what `X{DATE}Y` expands over). Their regexes are
    /// compiled when first tried (a test compiles them all).
    static let defaults: [DateTemplate] = defaultPatterns.compactMap { pattern in
        isLineAnchored(pattern) ? lineAnchoredDefaults.first { $0.pattern == pattern }
            : try? template(for: pattern, compilation: .onFirstUse)
    }

    /// What a detector without datepattern uses: line-start copies of every default that
    /// is not already line-anchored (weighted so reordering favours them), then all defaults.
    static let defaultsWithLineStartCopies: [DateTemplate] = lineStartCopies + defaults

    /// What `{^LN-BEG}` adds: the templates of `defaultsWithLineStartCopies` that are
    /// fenced in at the line start. Built from the two lists below, so that a filter with
    /// this datepattern (sshd's) does not build the defaults it leaves out.
    static let lineBeginTemplates: [DateTemplate] = (lineStartCopies + lineAnchoredDefaults)
        .filter { $0.flags.contains(.lineBegin) }

    /// The `{^LN-BEG}` copies of the defaults that are not line-anchored, weighted 100.
    private static let lineStartCopies: [DateTemplate] = defaultPatterns.filter { !isLineAnchored($0) }
        .compactMap { try? template(for: "{^LN-BEG}" + $0, compilation: .onFirstUse).weighted(100) }

    /// The defaults that start at the line start themselves, shared by `defaults`.
    private static let lineAnchoredDefaults: [DateTemplate] = defaultPatterns.filter(isLineAnchored)
        .compactMap { try? template(for: $0, compilation: .onFirstUse) }

    /// Whether a default pattern asks for the line start itself. Decided on the text, which
    /// for these constant patterns is where their template names and flags come from (a
    /// test checks both lists against the templates).
    private static func isLineAnchored(_ pattern: String) -> Bool {
        pattern.hasPrefix("{^LN-BEG}") || pattern.hasPrefix("^")
    }

    /// Templates for a whole datepattern (one template per non-empty line).
    static func templates(forDatePattern datepattern: String?) throws(DateTemplateError) -> [DateTemplate] {
        let lines = (datepattern ?? "").split(whereSeparator: { $0 == "\n" })
            .map { DateTemplateBounds.trimmed(String($0)) }.filter { !$0.isEmpty }
        guard !lines.isEmpty else { return defaultsWithLineStartCopies }
        var list = DateTemplateList()
        for line in lines {
            let key = lookupKey(line)
            if key == "{DEFAULT}" {
                // fail2ban 1.0.2's filter for `{DEFAULT}` rejects every template (an operator
                // precedence slip), so the line adds nothing; alone, it leaves the detector
                // empty, which then falls back to all defaults.
                continue
            } else if key == "{^LN-BEG}" {
                try list.appendDefaults(lineBeginTemplates)
            } else if key.contains("{DATE}") {
                var expanded: [DateTemplate] = []
                for template in defaults {
                    expanded.append(try variant(of: template, compilation: .now) { DateKeywords.replacingDateMarkers(in: line, with: DateTemplateBounds.unbound($0)) })
                }
                try list.appendDefaults(expanded)
            } else if key == "{NONE}" {
                try list.append(template(for: "{UNB}^", key: key), source: line)
            } else {
                try list.append(template(for: line, key: key), source: line)
            }
        }
        return list.templates.isEmpty ? defaultsWithLineStartCopies : list.templates
    }

    /// fail2ban looks a template up by its text, upper-cased when it has no `%` directive.
    private static func lookupKey(_ pattern: String) -> String {
        pattern.contains("%") ? pattern : pattern.uppercased()
    }

    /// One template from one datepattern line (fail2ban's `_getPatternTemplate`).
    static func template(for pattern: String, key explicitKey: String? = nil,
                         compilation: DateTemplate.Compilation = .now) throws(DateTemplateError) -> DateTemplate {
        let key = explicitKey ?? lookupKey(pattern)
        // `EPOCH`, `{^LN-BEG}LEPOCH`...: a key ending in the word holds it, without the search.
        if mayContain(key, "EPOCH") && (key.hasSuffix("EPOCH") || key.contains("EPOCH")) {
            if DateKeywords.containsEpochMarker(pattern) {
                return try DateTemplate.epoch(embeddedIn: pattern, long: key.contains("LEPOCH"))
            }
            if ["EPOCH", "{^LN-BEG}EPOCH", "^EPOCH"].contains(key) {
                return try DateTemplate.epoch(lineBeginOnly: key != "EPOCH", long: false, compilation: compilation)
            }
            if ["LEPOCH", "{^LN-BEG}LEPOCH", "^LEPOCH"].contains(key) {
                return try DateTemplate.epoch(lineBeginOnly: key != "LEPOCH", long: true, compilation: compilation)
            }
        }
        if mayContain(key, "TAI64N") && ["TAI64N", "{^LN-BEG}TAI64N", "^TAI64N"].contains(key) {
            return try DateTemplate.tai64n(lineStart: key != "TAI64N", compilation: compilation)
        }
        return try DateTemplate.strptime(pattern, compilation: compilation)
    }

    /// Whether `text` has `word`'s bytes, a cheap pre-check for `contains` and for the
    /// keyword lists: the generic String search cost ~35 k instructions a call (1 M of
    /// start-up for the default templates), and its Character semantics only matter when
    /// the bytes are there.
    private static func mayContain(_ text: String, _ word: StaticString) -> Bool {
        var text = text
        return text.withUTF8 { ByteSearch.contains($0, UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)) }
    }

    /// A default template re-made from its wrapped text (pattern, or name for the epoch
    /// and TAI64N templates, which is how fail2ban derives `{^LN-BEG}`/`{DATE}` variants).
    private static func variant(of template: DateTemplate, compilation: DateTemplate.Compilation,
                                wrappedBy wrap: (String) -> String) throws(DateTemplateError) -> DateTemplate {
        try self.template(for: wrap(template.pattern ?? template.name), compilation: compilation)
    }
}

/// The templates of one detector, with fail2ban's duplicate-name rule.
private struct DateTemplateList {
    private(set) var templates: [DateTemplate] = []
    private var names: Set<String> = []

    mutating func append(_ template: DateTemplate, source: String) throws(DateTemplateError) {
        guard names.insert(template.name).inserted else {
            throw DateTemplateError(template: source, reason: "there is already a template with name \(template.name)")
        }
        templates.append(template)
    }

    /// Default templates skip names already present, unless they come first.
    mutating func appendDefaults(_ defaults: [DateTemplate]) throws(DateTemplateError) {
        let ignoreDuplicates = !templates.isEmpty
        for template in defaults {
            if ignoreDuplicates && names.contains(template.name) { continue }
            try append(template, source: template.name)
        }
    }
}

/// The `{DATE}`, `{EPOCH}` and `{LEPOCH}` markers (case-insensitive, not after a backslash).
enum DateKeywords {
    static func replacingDateMarkers(in text: String, with replacement: String) -> String {
        replacing(["{DATE}"], in: text, with: replacement)
    }

    static func containsEpochMarker(_ text: String) -> Bool {
        replacing(["{EPOCH}", "{LEPOCH}"], in: text, with: "") != text
    }

    static func replacingEpochMarkers(in text: String, with replacement: String) -> String {
        replacing(["{EPOCH}", "{LEPOCH}"], in: text, with: replacement)
    }

    private static func replacing(_ markers: [String], in text: String, with replacement: String) -> String {
        let bytes = Array(text.utf8)
        let markerBytes = markers.map { Array($0.utf8) }
        var output: [UInt8] = []
        var index = 0
        scan: while index < bytes.count {
            if bytes[index] == UInt8(ascii: "{"), index == 0 || bytes[index - 1] != UInt8(ascii: "\\") {
                for marker in markerBytes where index + marker.count <= bytes.count {
                    let candidate = bytes[index..<(index + marker.count)]
                    if zip(candidate, marker).allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0) == $1 }) {
                        output += Array(replacement.utf8)
                        index += marker.count
                        continue scan
                    }
                }
            }
            output.append(bytes[index])
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}
