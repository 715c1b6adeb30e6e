import Glibc

/// fail2ban's strptime-style `%` directives and the Python-dialect regex each one
/// stands for (C locale, with fail2ban's overrides and `%Ex*` extensions).
///
/// A datepattern is turned into a regex by replacing every directive by its
/// fragment and into a display name by replacing it by a readable label, exactly
/// like fail2ban does, because `fail2ban-regex` summaries and duplicate-template
/// checks are keyed by that name.
enum DatePattern {
    /// Kept as the literals themselves: copying the table's 70 strings into arrays when
    /// it is first used cost more than appending from a string's UTF-8 where a template
    /// names a directive.
    struct Directive: Sendable {
        let regex: String
        let label: String
    }

    /// Turns a datepattern into (regex, name). Throws on a `%` that starts no known directive.
    static func expand(_ pattern: String) throws(DateTemplateError) -> (regex: String, name: String) {
        let bytes = Array(pattern.utf8)
        var regex: [UInt8] = []
        var name: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "%") else {
                regex.append(bytes[index])
                name.append(bytes[index])
                index += 1
                continue
            }
            guard let (directive, length) = directive(bytes, at: index + 1) else {
                throw DateTemplateError(template: pattern, reason: "invalid format or unescaped percent char at offset \(index)")
            }
            regex.append(contentsOf: directive.regex.utf8)
            name.append(contentsOf: directive.label.utf8)
            index += 1 + length
        }
        return (String(decoding: regex, as: UTF8.self), String(decoding: name, as: UTF8.self))
    }

    /// `%a %A %b %B %p %c` make the whole template case-insensitive (fail2ban adds `(?iu)`).
    /// Like fail2ban, a directive right after another `%` is not looked at.
    static func needsCaseInsensitivity(_ pattern: String) -> Bool {
        // The string's own bytes and a switch: a copy to an array and a search of
        // "aAbBpc" per `%` were most of this function's instructions.
        var pattern = pattern
        return pattern.withUTF8 { bytes in
            guard bytes.count >= 2 else { return false }
            for index in 0..<(bytes.count - 1) where bytes[index] == UInt8(ascii: "%") {
                if index > 0 && bytes[index - 1] == UInt8(ascii: "%") { continue }
                switch bytes[index + 1] {
                case UInt8(ascii: "a"), UInt8(ascii: "A"), UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "p"), UInt8(ascii: "c"):
                    return true
                default:
                    continue
                }
            }
            return false
        }
    }

    /// The directive named at `start` (after the `%`) and the length of its name.
    private static func directive(_ bytes: [UInt8], at start: Int) -> (Directive, Int)? {
        if start + 2 < bytes.count, bytes[start] == UInt8(ascii: "E"), bytes[start + 1] == UInt8(ascii: "x"),
           bytes[start + 2] < 0x80, let directive = directives.extended[Int(bytes[start + 2])] {
            return (directive, 3)
        }
        guard start < bytes.count, bytes[start] < 0x80, bytes[start] != UInt8(ascii: "E") else { return nil }
        return directives.single[Int(bytes[start])].map { ($0, 1) }
    }

    /// Indexed by the ASCII byte after `%` (`single`) or after `%Ex` (`extended`): a
    /// template's directives are looked up without building and hashing a key each.
    private static let directives: (single: [Directive?], extended: [Directive?]) = {
        var single = [Directive?](repeating: nil, count: 128), extended = single
        // Stored straight into the arrays: a dictionary literal of the table, only to be
        // copied into them, cost ~60 k instructions of hashing and runtime set-up.
        func add(_ key: String, _ directive: Directive) {
            if key.utf8.count == 1 { single[Int(key.utf8.first!)] = directive } else { extended[Int(key.utf8.last!)] = directive }
        }
        add("%", Directive(regex: "%", label: "%"))
        add("a", Directive(regex: "(?P<a>mon|tue|wed|thu|fri|sat|sun)", label: "DAY"))
        add("A", Directive(regex: "(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)", label: "DAYNAME"))
        add("b", Directive(regex: "(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", label: "MON"))
        add("B", Directive(regex: "(?P<B>september|february|november|december|january|october|august|march|april|june|july|may)", label: "MONTH"))
        add("c", Directive(regex: #"(?P<a>mon|tue|wed|thu|fri|sat|sun)\s+(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\s+(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])\s+(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)\s+(?P<Y>\d\d\d\d)"#, label: "%c"))
        add("d", Directive(regex: #"(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])"#, label: "Day"))
        add("f", Directive(regex: "(?P<f>[0-9]{1,6})", label: "Microseconds"))
        add("G", Directive(regex: #"(?P<G>\d\d\d\d)"#, label: "%G"))
        add("H", Directive(regex: #"(?P<H>[0-1]?\d|2[0-3])"#, label: "24hour"))
        add("I", Directive(regex: "(?P<I>1[0-2]|0[1-9]|[1-9])", label: "12hour"))
        add("j", Directive(regex: #"(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])"#, label: "Yearday"))
        add("k", Directive(regex: #" ?(?P<H>[0-2]?\d)"#, label: "%k"))
        add("l", Directive(regex: #" ?(?P<I>1?\d)"#, label: "%l"))
        add("m", Directive(regex: "(?P<m>0?[1-9]|1[0-2])", label: "Month"))
        add("M", Directive(regex: #"(?P<M>[0-5]?\d)"#, label: "Minute"))
        add("p", Directive(regex: "(?P<p>am|pm)", label: "AMPM"))
        add("S", Directive(regex: #"(?P<S>[0-5]?\d|6[0-1])"#, label: "Second"))
        add("u", Directive(regex: "(?P<u>[1-7])", label: "%u"))
        add("U", Directive(regex: #"(?P<U>5[0-3]|[0-4]\d|\d)"#, label: "Yearweek"))
        add("V", Directive(regex: #"(?P<V>5[0-3]|0[1-9]|[1-4]\d|\d)"#, label: "%V"))
        add("w", Directive(regex: "(?P<w>[0-6])", label: "Weekday"))
        add("W", Directive(regex: #"(?P<W>5[0-3]|[0-4]\d|\d)"#, label: "Yearweek"))
        add("x", Directive(regex: #"(?P<m>1[0-2]|0[1-9]|[1-9])/(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])/(?P<y>\d\d)"#, label: "%x"))
        add("X", Directive(regex: #"(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)"#, label: "%X"))
        add("y", Directive(regex: #"(?P<y>\d\d)"#, label: "Year2"))
        add("Y", Directive(regex: #"(?P<Y>\d{4})"#, label: "Year"))
        add("z", Directive(regex: #"(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?)"#, label: "Zone offset"))
        add("Z", Directive(regex: "(?P<Z>Z|[A-Z]{3,5})", label: "Zone name"))
        // Exact-width variants.
        add("Exd", Directive(regex: #"(?P<d>[1-2]\d|0[1-9]|3[0-1])"#, label: "ExDay"))
        add("Exm", Directive(regex: "(?P<m>0[1-9]|1[0-2])", label: "ExMonth"))
        add("ExH", Directive(regex: #"(?P<H>[0-1]\d|2[0-3])"#, label: "Ex24hour"))
        add("Exk", Directive(regex: #" ?(?P<H>[0-1]?\d|2[0-3])"#, label: "%Exk"))
        add("Exl", Directive(regex: #" ?(?P<I>1[0-2]|\d)"#, label: "%Exl"))
        add("ExM", Directive(regex: #"(?P<M>[0-5]\d)"#, label: "ExMinute"))
        add("ExS", Directive(regex: #"(?P<S>[0-5]\d|6[0-1])"#, label: "ExSecond"))
        add("ExY", Directive(regex: "(?P<Y>\(plausibleCenturies)\\d)", label: "ExYear"))
        add("Exy", Directive(regex: #"(?P<y>\d{2})"#, label: "ExYear2"))
        add("ExZ", Directive(regex: "(?P<Z>[A-Z](?:[A-Z]{2,4})?)", label: "ExZone name"))
        add("Exz", Directive(regex: #"(?P<z>(?:[A-Z](?:[A-Z]{2,4})?)?[+-][01]\d(?::?\d{2})?|[A-Z](?:[A-Z]{2,4})?)"#, label: "ExZone offset"))
        return (single, extended)
    }()

    /// `%ExY` accepts a year only in a "decade" (first three digits) between 2000 and
    /// three years after the current one. fail2ban builds this from the wall clock when
    /// its strptime module is imported; this is built once per process, likewise.
    static let plausibleCenturies: String = {
        var now = time(nil)
        var fields = tm()
        localtime_r(&now, &fields)
        let year = Int(fields.tm_year) + 1900
        var prefixes = Set([(year - 1) / 10, (year + 3) / 10])
        // fail2ban also admits every third year from 2000 up to now (test dates of 2001).
        var past = 2000
        while past <= year { prefixes.insert(past / 10); past += 3 }
        // Appended in a loop: the first call of the generic `joined(separator:)` in a
        // process costs ~180 k instructions of runtime set-up (associated type lookups).
        var alternatives = "(?:"
        for (index, prefix) in prefixes.sorted().enumerated() {
            if index > 0 { alternatives += "|" }
            alternatives += String(prefix)
        }
        return alternatives + ")"
    }()
}
