import Foundation

/// One failure as `fail2ban-regex -o row` or `warden regex --json` reports it, reduced to
/// what the differential test compares: the id, the time and the user/address groups.
/// A group fail2ban reports as None and one warden leaves out are the same: nil.
struct ReportedFailure: CustomStringConvertible {
    var id: String
    var time: Double?
    var user: String?
    var users: Set<String>?
    var ip4: String?
    var ip6: String?
    var dns: String?
    var fid: String?
    /// Only warden reports the line number.
    var line: Int?

    /// The id came from a host name, not an address in the line: fail2ban resolves it
    /// through DNS (a row per address, or none when it does not resolve), warden reports
    /// the name as written. Such rows depend on the resolver and are compared apart.
    var cameFromHostName: Bool { dns != nil && ip4 == nil && ip6 == nil && fid == nil }

    var description: String {
        var parts = ["id \(id)", "time \(time.map { "\($0)" } ?? "none")"]
        if let user { parts.append("user \(user)") }
        if let users { parts.append("users \(users.sorted())") }
        if let ip4 { parts.append("ip4 \(ip4)") }
        if let ip6 { parts.append("ip6 \(ip6)") }
        return parts.joined(separator: ", ")
    }

    struct Unreadable: Error, CustomStringConvertible {
        let what: String
        var description: String { "unreadable output: \(what.prefix(300))" }
    }

    /// `unseen_logs.py rows` output: a JSON array of {"id", "time", "groups"}.
    static func fail2banRows(_ data: Data) throws -> [ReportedFailure] {
        guard let rows = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw Unreadable(what: String(decoding: data, as: UTF8.self))
        }
        return try rows.map { row in
            guard let id = row["id"] as? String, let groups = row["groups"] as? [String: Any] else {
                throw Unreadable(what: "\(row)")
            }
            return ReportedFailure(id: id, time: row["time"] as? Double, groups: groups, line: nil)
        }
    }

    /// `warden regex --json` output: one object per failure, then {"summary": {...}}.
    static func wardenLines(_ data: Data) throws -> [ReportedFailure] {
        var failures: [ReportedFailure] = []
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw Unreadable(what: String(decoding: line, as: UTF8.self))
            }
            if object["summary"] != nil { continue }
            guard let id = object["id"] as? String else { throw Unreadable(what: "\(object)") }
            failures.append(ReportedFailure(id: id, time: object["time"] as? Double, groups: object, line: object["line"] as? Int))
        }
        return failures
    }

    private init(id: String, time: Double?, groups: [String: Any], line: Int?) {
        self.id = id
        self.time = time
        user = groups["user"] as? String
        users = (groups["users"] as? [String]).map(Set.init)
        ip4 = groups["ip4"] as? String
        ip6 = groups["ip6"] as? String
        dns = groups["dns"] as? String
        fid = groups["fid"] as? String
        self.line = line
    }

    /// Equal in id, user, users, ip4 and ip6, and in time; a time inside `now` on both
    /// sides counts as equal, because a line whose date is "now" gets the wall clock, and
    /// the two tools read it a moment apart.
    func agrees(with other: ReportedFailure, now: ClosedRange<Double>) -> Bool {
        let sameTime = time == other.time || (time.map(now.contains) == true && other.time.map(now.contains) == true)
        return sameTime && id == other.id && user == other.user && users == other.users
            && ip4 == other.ip4 && ip6 == other.ip6
    }
}
