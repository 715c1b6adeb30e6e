/// fail2ban's time strings (`MyTime.str2seconds`): a bare number is seconds; unit words
/// after a number multiply it (`s`/`sec`, `m`/`min` — **M is minutes**, `h`, `d`, `w`,
/// `mo`/`month` = 30.4375 days, `y`/`year` = 365.25 days); terms written next to each
/// other add up (`1d12h`, `1h 30m`); the result is then evaluated as a Python expression,
/// so `1.5h` = 5400.0 and `1year-6mo` = 15778800.0.
public enum TimeString {
    /// Seconds, or a `ParseError` naming the text.
    public static func seconds(_ text: String) throws -> Double {
        try PythonExpression(expression(for: text)).evaluate().double
    }

    /// The Python expression fail2ban builds from `text` before `eval`.
    static func expression(for text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        // `1d12h` -> `1d 12h`: a digit right after a letter starts a new term.
        var index = 1
        while index < scalars.count {
            if isDigit(scalars[index]), isLetter(scalars[index - 1]) {
                scalars.insert(" ", at: index)
                index += 1
            }
            index += 1
        }
        // Unit words preceded by a digit or a space become `*<seconds>`.
        var output: [Unicode.Scalar] = []
        index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            guard isLetter(scalar), index > 0, isDigit(scalars[index - 1]) || isSpace(scalars[index - 1]) else {
                output.append(scalar)
                index += 1
                continue
            }
            var end = index
            while end < scalars.count, isWordScalar(scalars[end]) { end += 1 }
            let word = String(String.UnicodeScalarView(scalars[index..<end])).lowercased()
            if let multiplier = unitSeconds(word) {
                output.append(contentsOf: "*\(multiplier)".unicodeScalars)
            } else {
                output.append(contentsOf: scalars[index..<end])
            }
            index = end
        }
        // `12*3600 30*60` -> `12*3600+30*60`: whitespace between two digits is a plus.
        var joined: [Unicode.Scalar] = []
        index = 0
        while index < output.count {
            if isSpace(output[index]), let last = joined.last, isDigit(last) {
                var next = index
                while next < output.count, isSpace(output[next]) { next += 1 }
                if next < output.count, isDigit(output[next]) {
                    joined.append("+")
                    index = next
                    continue
                }
            }
            joined.append(output[index])
            index += 1
        }
        return String(String.UnicodeScalarView(joined))
    }

    /// The units in fail2ban's substitution order; each matches whole words only.
    private static let units: [(words: Set<String>, seconds: String)] = [
        (["days", "day", "da", "dd", "d"], "86400"),
        (["weeks", "week", "wee", "we", "ww", "w"], "604800"),
        (["months", "month", "mon", "mo"], "2629800.0"),
        (["years", "year", "yea", "ye", "yy", "y"], "31557600.0"),
        (["seconds", "second", "sec", "se", "ss", "s"], "1"),
        (["minutes", "minute", "min", "mi", "mm", "m"], "60"),
        (["hours", "hour", "hou", "ho", "hh", "h"], "3600"),
    ]

    private static func unitSeconds(_ word: String) -> String? {
        units.first { $0.words.contains(word) }?.seconds
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar >= "0" && scalar <= "9" }
    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z")
    }
    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        isLetter(scalar) || isDigit(scalar) || scalar == "_"
    }
    private static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r"
    }
}
