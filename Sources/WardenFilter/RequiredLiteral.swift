#if canImport(Glibc)
import Glibc
#endif

/// Finds a run of bytes that every match of a pattern must contain, so a line
/// without it can be rejected with one memmem instead of a PCRE2 search.
///
/// Only the top level of the pattern is read: groups, classes and escapes with a
/// meaning end a run, an optional or repeated character is dropped from it, and the
/// extraction gives up (no literal) whenever it could be wrong: a top-level `|`,
/// case-insensitive or extended flags anywhere, multi-character escapes, `\Q`, verbs.
/// Dropping characters only shortens runs, and every run left is still required.
enum RequiredLiteral {
    /// Runs shorter than this cost more to check than they save.
    static let minimumLength = 3

    /// The required literal (nil when shorter than `minimumLength` or when the rules
    /// above give up) and, for a pattern that begins with `^`, the bytes every match
    /// starts with (see `anchoredPrefix`), from one pass over the pattern.
    static func scan(_ pattern: String) -> (required: [UInt8]?, anchoredPrefix: [UInt8]?) {
        var pattern = pattern
        return pattern.withUTF8(scan)
    }

    /// Reads the string's own bytes through a pointer: the copy to an array and its
    /// bounds checks cost ~40 k instructions on the stock sshd filter's regexes.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> (required: [UInt8]?, anchoredPrefix: [UInt8]?) {
        guard !hasUnsafeConstruct(bytes) else { return (nil, nil) }
        var best: [UInt8] = []
        var run: [UInt8] = []
        // False once the walk meets syntax it does not parse: there is no required
        // literal then, but the walk goes on, since a top-level `|` further on also
        // rules out the anchored prefix.
        var readsRuns = true
        func endRun() {
            if run.count > best.count { best = run }
            run.removeAll(keepingCapacity: true)
        }
        var index = 0
        walk: while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "|"):
                return (nil, nil)
            case UInt8(ascii: "("):
                endRun()
                guard let end = groupEnd(bytes, from: index) else { return (nil, nil) }
                index = end
                continue
            case UInt8(ascii: "["):
                endRun()
                guard let end = classEnd(bytes, from: index) else { return (nil, nil) }
                index = end
                continue
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else {
                    readsRuns = false
                    break walk
                }
                let next = bytes[index + 1]
                if isASCIIAlphanumeric(next) {
                    // A single-character class or assertion; anything longer (\x41, \1, \p{..}) is not parsed here.
                    if isSingleLetterEscape(next) { endRun() } else { readsRuns = false }
                } else if next < 0x80 {
                    run.append(next)
                } else {
                    readsRuns = false
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
        let required = readsRuns && best.count >= minimumLength ? best : nil
        return (required, bytes.first == UInt8(ascii: "^") ? anchoredPrefix(bytes) : nil)
    }

    /// The bytes every match starts with, for a pattern that begins with `^` outside
    /// multi-line mode (the caller checks that PCRE2 anchors it) and has no top-level
    /// `|`: the run right after the `^`, read by the rules of the required literal, cut
    /// before its first quantified character. Nil when shorter than `minimumLength`.
    private static func anchoredPrefix(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
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

    /// One past the `}` of a counted quantifier starting at `start`, or nil if it is not one.
    private static func quantifierEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
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

    /// A switch rather than a `Set`: no hashing, and no lazy global to check on every call.
    private static func isSingleLetterEscape(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "d"), UInt8(ascii: "D"), UInt8(ascii: "s"), UInt8(ascii: "S"), UInt8(ascii: "w"), UInt8(ascii: "W"),
             UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "A"), UInt8(ascii: "z"), UInt8(ascii: "Z"), UInt8(ascii: "G"),
             UInt8(ascii: "h"), UInt8(ascii: "H"), UInt8(ascii: "v"), UInt8(ascii: "V"), UInt8(ascii: "R"), UInt8(ascii: "X"),
             UInt8(ascii: "n"), UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "f"), UInt8(ascii: "e"), UInt8(ascii: "a"),
             UInt8(ascii: "K"):
            return true
        default:
            return false
        }
    }

    /// Flags that change what a literal byte matches, or syntax this reader does not follow.
    private static func hasUnsafeConstruct(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // memchr to the `Q`s and `(`s, each then checked for an escaping backslash: a
        // walk over every byte paid for the whole of each regex, which holds few of them.
        guard let base = bytes.baseAddress, bytes.count >= 2 else { return false }
        func position(_ found: UnsafeMutableRawPointer) -> Int {
            UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
        }
        // After an odd run of backslashes: the last one escapes the byte.
        func isEscaped(_ index: Int) -> Bool {
            var run = 0
            while run < index, bytes[index - run - 1] == UInt8(ascii: "\\") { run += 1 }
            return run % 2 == 1
        }
        var from = 1
        while from < bytes.count, let found = memchr(base + from, Int32(UInt8(ascii: "Q")), bytes.count - from) {
            let index = position(found)
            if isEscaped(index) { return true }
            from = index + 1
        }
        // A `(` last in the pattern starts nothing.
        from = 0
        while from < bytes.count - 1, let found = memchr(base + from, Int32(UInt8(ascii: "(")), bytes.count - 1 - from) {
            let index = position(found)
            from = index + 1
            if isEscaped(index) { continue }
            if bytes[index + 1] == UInt8(ascii: "*") { return true }
            if bytes[index + 1] == UInt8(ascii: "?") {
                var flag = index + 2
                while flag < bytes.count, isASCIIAlphanumeric(bytes[flag]) || bytes[flag] == UInt8(ascii: "-") || bytes[flag] == UInt8(ascii: "^") {
                    if bytes[flag] == UInt8(ascii: "i") || bytes[flag] == UInt8(ascii: "x") { return true }
                    flag += 1
                }
            }
        }
        return false
    }

    /// One past the `)` closing the group opened at `start`, skipping nested groups, classes and escapes.
    private static func groupEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
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
    private static func classEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
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
