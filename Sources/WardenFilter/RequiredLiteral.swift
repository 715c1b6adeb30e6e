/// Finds a run of bytes that every match of a pattern must contain, so a line
/// without it can be rejected with one memmem instead of a PCRE2 search.
///
/// Only the top level of the pattern is read: groups, classes and escapes with a
/// meaning end a run, an optional or repeated character is dropped from it, and the
/// extraction gives up (returns nil) whenever it could be wrong: a top-level `|`,
/// case-insensitive or extended flags anywhere, multi-character escapes, `\Q`, verbs.
/// Dropping characters only shortens runs, and every run left is still required.
enum RequiredLiteral {
    /// Runs shorter than this cost more to check than they save.
    static let minimumLength = 3

    static func extract(from pattern: String) -> [UInt8]? {
        let bytes = Array(pattern.utf8)
        guard !hasUnsafeConstruct(bytes) else { return nil }
        var best: [UInt8] = []
        var run: [UInt8] = []
        func endRun() {
            if run.count > best.count { best = run }
            run.removeAll(keepingCapacity: true)
        }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "|"):
                return nil
            case UInt8(ascii: "("):
                endRun()
                guard let end = groupEnd(bytes, from: index) else { return nil }
                index = end
                continue
            case UInt8(ascii: "["):
                endRun()
                guard let end = classEnd(bytes, from: index) else { return nil }
                index = end
                continue
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { return nil }
                let next = bytes[index + 1]
                if isASCIIAlphanumeric(next) {
                    // A single-character class or assertion; anything longer (\x41, \1, \p{..}) is not parsed here.
                    guard singleLetterEscapes.contains(next) else { return nil }
                    endRun()
                } else if next < 0x80 {
                    run.append(next)
                } else {
                    return nil
                }
                index += 2
                continue
            case UInt8(ascii: "*"), UInt8(ascii: "?"):
                // The atom before is optional or repeated a variable number of times.
                if !run.isEmpty { run.removeLast() }
                endRun()
            case UInt8(ascii: "{"):
                // A counted repeat `{n}`, `{n,}`, `{n,m}`: drop the atom and skip the count.
                // Otherwise PCRE2 reads `{` literally; leaving it out is still safe.
                if !run.isEmpty { run.removeLast() }
                endRun()
                index = quantifierEnd(bytes, from: index) ?? index + 1
                continue
            case UInt8(ascii: "+"):
                endRun()
            case UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: ")"), UInt8(ascii: "}"):
                endRun()
            default:
                if byte < 0x80 {
                    run.append(byte)
                } else {
                    endRun()
                }
            }
            index += 1
        }
        endRun()
        return best.count >= minimumLength ? best : nil
    }

    /// The bytes every match starts with, for a pattern that begins with `^` outside
    /// multi-line mode (the caller checks that PCRE2 anchors it): the run right after the
    /// `^`, read by the rules of `extract`, cut before its first quantified character.
    /// Nil when shorter than `minimumLength` or when `extract` would give up.
    static func anchoredPrefix(from pattern: String) -> [UInt8]? {
        let bytes = Array(pattern.utf8)
        guard bytes.first == UInt8(ascii: "^"), !hasUnsafeConstruct(bytes), !hasTopLevelAlternation(bytes) else { return nil }
        var prefix: [UInt8] = []
        var index = 1
        scan: while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\\"):
                // Only an escaped ASCII punctuation character is itself.
                guard index + 1 < bytes.count, bytes[index + 1] < 0x80, !isASCIIAlphanumeric(bytes[index + 1]) else { break scan }
                prefix.append(bytes[index + 1])
                index += 2
                continue
            case UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "{"):
                // The character before is optional or counted (or `{` is literal): not
                // part of every match's start.
                if !prefix.isEmpty { prefix.removeLast() }
                break scan
            case UInt8(ascii: "+"), UInt8(ascii: "|"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["),
                 UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "$"):
                break scan
            default:
                guard byte < 0x80 else { break scan }
                prefix.append(byte)
            }
            index += 1
        }
        return prefix.count >= minimumLength ? prefix : nil
    }

    /// Whether a `|` stands outside every group and class (or the pattern is not read
    /// to its end): then a match need not contain anything the first branch does.
    private static func hasTopLevelAlternation(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"):
                index += 2
                continue
            case UInt8(ascii: "("):
                guard let end = groupEnd(bytes, from: index) else { return true }
                index = end
                continue
            case UInt8(ascii: "["):
                guard let end = classEnd(bytes, from: index) else { return true }
                index = end
                continue
            case UInt8(ascii: "|"):
                return true
            default:
                break
            }
            index += 1
        }
        return false
    }

    /// One past the `}` of a counted quantifier starting at `start`, or nil if it is not one.
    private static func quantifierEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start + 1
        var digits = 0
        var sawComma = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits += 1
            } else if byte == UInt8(ascii: ","), !sawComma {
                sawComma = true
            } else if byte == UInt8(ascii: "}") {
                return digits > 0 ? index + 1 : nil
            } else {
                return nil
            }
            index += 1
        }
        return nil
    }

    private static let singleLetterEscapes = Set("dDsSwWbBAzZGhHvVRXntrfeaK".utf8)

    /// Flags that change what a literal byte matches, or syntax this reader does not follow.
    private static func hasUnsafeConstruct(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                if bytes[index + 1] == UInt8(ascii: "Q") { return true }
                index += 2
                continue
            }
            if bytes[index] == UInt8(ascii: "("), bytes[index + 1] == UInt8(ascii: "*") { return true }
            if bytes[index] == UInt8(ascii: "("), bytes[index + 1] == UInt8(ascii: "?") {
                var flag = index + 2
                while flag < bytes.count, isASCIIAlphanumeric(bytes[flag]) || bytes[flag] == UInt8(ascii: "-") || bytes[flag] == UInt8(ascii: "^") {
                    if bytes[flag] == UInt8(ascii: "i") || bytes[flag] == UInt8(ascii: "x") { return true }
                    flag += 1
                }
            }
            index += 1
        }
        return false
    }

    /// One past the `)` closing the group opened at `start`, skipping nested groups, classes and escapes.
    private static func groupEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var depth = 0
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2; continue
            case UInt8(ascii: "["):
                guard let end = classEnd(bytes, from: index) else { return nil }
                index = end
                continue
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 { return index + 1 }
            default: break
            }
            index += 1
        }
        return nil
    }

    /// One past the `]` closing the class opened at `start`; a `]` first in the class is a member.
    private static func classEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start + 1
        if index < bytes.count, bytes[index] == UInt8(ascii: "^") { index += 1 }
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1 }
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2; continue
            case UInt8(ascii: "["):
                // POSIX classes like [:alpha:] nest one level.
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ":") {
                    var close = index + 2
                    while close + 1 < bytes.count, !(bytes[close] == UInt8(ascii: ":") && bytes[close + 1] == UInt8(ascii: "]")) { close += 1 }
                    index = close + 2
                    continue
                }
            case UInt8(ascii: "]"): return index + 1
            default: break
            }
            index += 1
        }
        return nil
    }

    private static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
