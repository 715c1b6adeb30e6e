import WardenFilter

/// fail2ban's `data` column of a ban, `{"matches": [...], "failures": N, "user": ...}`
/// (the captured groups after the count, in name order), written
/// directly as bytes: Foundation's JSONSerialization (boxing into NSDictionary, dynamic
/// casts) took half of the jail thread's CPU in a burst of 5,000 bans.
enum BanDataJSON {
    static func encode(matches: [String], failures: Int) -> String {
        encode(matches: matches, failures: failures, extraBytes: 0) { _ in }
    }

    /// The same with the groups of the failure that completed the ban, written from the
    /// matcher's bytes (already in name order) without a dictionary per ban.
    static func encode(matches: [String], failures: Int, groupsOf failure: Failure) -> String {
        encode(matches: matches, failures: failures, extraBytes: 192) { bytes in
            failure.forEachGroup { name, value in
                guard name != "matches" && name != "failures" else { return }
                bytes.append(literal: ", ")
                JSONText.appendString(name, to: &bytes)
                bytes.append(literal: ": ")
                JSONText.appendString(utf8: value, to: &bytes)
            }
        }
    }

    private static func encode(matches: [String], failures: Int, extraBytes: Int, fields: (inout [UInt8]) -> Void) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + matches.reduce(0) { $0 + $1.utf8.count + 4 } + extraBytes)
        bytes.append(literal: #"{"matches": ["#)
        for (index, line) in matches.enumerated() {
            if index > 0 { bytes.append(literal: ", ") }
            JSONText.appendString(line, to: &bytes)
        }
        bytes.append(literal: #"], "failures": "#)
        bytes.append(text: String(failures))
        fields(&bytes)
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

}
