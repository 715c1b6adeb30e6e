import WardenFilter
import WardenLines

/// fail2ban's `data` column of a ban, `{"matches": [...], "failures": N, "user": ...}`
/// (the captured groups after the count, in name order), written directly as bytes:
/// Foundation's JSONSerialization (boxing into NSDictionary, dynamic casts) took half of
/// the jail thread's CPU in a burst of 5,000 bans.
enum BanDataJSON {
    /// The keys of a jail's groups in the data: every name but the two the data has already.
    static func groupKeys(_ matcher: Matcher) -> JSONGroupKeys {
        JSONGroupKeys(matcher.groupNameTable, skipping: ["matches", "failures"])
    }

    /// Appends the data of a ban to `bytes` (the store row's buffer, `BanRows`).
    static func append(matches: MatchedLines, failures: Int, to bytes: inout [UInt8]) {
        append(matches: matches, failures: failures, to: &bytes) { _ in }
    }

    /// The same with the groups of the failure that completed the ban, written from the
    /// matcher's bytes (already in name order) after keys escaped once per jail, without
    /// a dictionary or a `String` per ban.
    static func append(matches: MatchedLines, failures: Int, groupsOf failure: Failure, keys: JSONGroupKeys,
                       to bytes: inout [UInt8]) {
        append(matches: matches, failures: failures, to: &bytes) { bytes in
            failure.forEachGroupNumber { number, value in
                let key = keys[number]
                guard !key.isEmpty else { return }
                bytes.append(contentsOf: key)
                JSONText.appendString(utf8: value, to: &bytes)
            }
        }
    }

    private static func append(matches: MatchedLines, failures: Int, to bytes: inout [UInt8], fields: (inout [UInt8]) -> Void) {
        bytes.append(literal: #"{"matches": ["#)
        var first = true
        matches.forEachLine { line in
            if !first { bytes.append(literal: ", ") }
            first = false
            JSONText.appendString(utf8: line, to: &bytes)
        }
        bytes.append(literal: #"], "failures": "#)
        bytes.append(decimal: failures)
        fields(&bytes)
        bytes.append(UInt8(ascii: "}"))
    }
}
