/// fail2ban's `data` column of a ban, `{"matches": [...], "failures": N, "user": ...}`
/// (the captured groups after the count, in name order), written
/// directly as bytes: Foundation's JSONSerialization (boxing into NSDictionary, dynamic
/// casts) took half of the jail thread's CPU in a burst of 5,000 bans.
enum BanDataJSON {
    static func encode(matches: [String], failures: Int, fields: [String: String] = [:]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + matches.reduce(0) { $0 + $1.utf8.count + 4 } + fields.count * 32)
        bytes.append(literal: #"{"matches": ["#)
        for (index, line) in matches.enumerated() {
            if index > 0 { bytes.append(literal: ", ") }
            JSONText.appendString(line, to: &bytes)
        }
        bytes.append(literal: #"], "failures": "#)
        bytes.append(text: String(failures))
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) where name != "matches" && name != "failures" {
            bytes.append(literal: ", ")
            JSONText.appendString(name, to: &bytes)
            bytes.append(literal: ": ")
            JSONText.appendString(value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
