/// fail2ban's `data` column of a ban, decoded: the matched lines, the failure count and
/// the filter's captured groups (`user`, `fid`, any `F-*` name lowercased), which
/// `action.d` commands receive as `<matches>`, `<failures>` and `<F-USER>`.
public struct BanData: Sendable, Equatable {
    public var matches: [String]
    /// Nil when the data has no count.
    public var failures: Int?
    /// The other keys of the object whose values are strings or numbers.
    public var fields: [String: String]

    public init(matches: [String] = [], failures: Int? = nil, fields: [String: String] = [:]) {
        self.matches = matches
        self.failures = failures
        self.fields = fields
    }
}

extension BanStore {
    /// fail2ban's default `dbmaxmatches`: matched lines kept when bans are merged.
    public static let defaultMergedMatches = 10

    /// The current ban of `address` in `jail` with its decoded data, or nil.
    public func currentBan(jail: String, address: String) throws -> (ban: StoredBan, data: BanData)? {
        try read { sqlite in
            let statement = try sqlite.prepare(
                "SELECT current.timeofban, current.bantime, current.bancount, " + StoreSchema.currentData
                + " FROM " + StoreSchema.currentWithData + " WHERE current.jail = ? AND current.address = ?")
            try statement.bind([.text(jail), .text(address)])
            guard try statement.step() else { return nil }
            let ban = StoredBan(jail: jail, address: address, timeOfBan: statement.double(0), banTime: statement.int(1),
                                banCount: Int(statement.int(2)), data: statement.text(3))
            return (ban, try Self.decode(ban.data, with: sqlite))
        }
    }

    /// Every recorded ban of `address` (in `jail`, or in all jails with nil) merged into
    /// one, as fail2ban's `getBansMerged` does for `<ipjailmatches>`/`<ipmatches>` and
    /// `<ipjailfailures>`/`<ipfailures>`: failures summed (a ban without a count counts
    /// one), matched lines in time order, at most `maxMatches` of the newest.
    public func mergedBans(address: String, jail: String?, maxMatches: Int = BanStore.defaultMergedMatches) throws -> BanData {
        try read { sqlite in
            let statement = try sqlite.prepare(
                "SELECT data FROM bans WHERE address = ?" + (jail == nil ? "" : " AND jail = ?") + " ORDER BY timeofban DESC, rowid DESC")
            try statement.bind([.text(address)] + (jail.map { [.text($0)] } ?? []))
            var merged = BanData(failures: 0)
            while try statement.step() {
                let data = try Self.decode(statement.text(0), with: sqlite)
                let room = maxMatches - merged.matches.count
                if room > 0 { merged.matches = data.matches.suffix(room) + merged.matches }
                merged.failures = (merged.failures ?? 0) + (data.failures ?? 1)
                merged.fields.merge(data.fields) { newer, _ in newer }
            }
            return merged
        }
    }

    /// Decodes a data object with SQLite's own JSON functions (no JSON library needed);
    /// text that is not a JSON object decodes to empty data.
    static func decode(_ json: String?, with sqlite: SQLiteConnection) throws -> BanData {
        guard let json else { return BanData() }
        var data = BanData()
        let valid = try sqlite.prepare("SELECT CASE WHEN json_valid(?1) THEN json_type(?1) END")
        try valid.bind([.text(json)])
        guard try valid.step(), valid.text(0) == "object" else { return data }
        let entries = try sqlite.prepare("SELECT key, value, type FROM json_each(?1)")
        try entries.bind([.text(json)])
        while try entries.step() {
            let key = entries.text(0) ?? ""
            let type = entries.text(2) ?? ""
            switch (key, type) {
            case ("matches", "array"):
                let lines = try sqlite.prepare("SELECT value FROM json_each(?1, '$.matches') WHERE type = 'text'")
                try lines.bind([.text(json)])
                while try lines.step() { data.matches.append(lines.text(0) ?? "") }
            case ("failures", "integer"), ("failures", "real"):
                data.failures = Int(entries.double(1))
            case (_, "text"), (_, "integer"), (_, "real"):
                data.fields[key] = entries.text(1) ?? ""
            default:
                continue
            }
        }
        return data
    }
}

extension BanStore {
    /// Until when (epoch seconds) every ended ban of `jail` has had its `actionunban` run;
    /// nil before the first start with shell actions.
    public func actionsUnbannedUntil(jail: String) throws -> Double? {
        try read { sqlite in
            let statement = try sqlite.prepare("SELECT value FROM meta WHERE key = ?")
            try statement.bind([.text("unbanned-until:" + jail)])
            guard try statement.step() else { return nil }
            return statement.text(0).flatMap(Double.init)
        }
    }

    public func setActionsUnbannedUntil(_ time: Double, jails: [String]) throws {
        try withTransaction { sqlite in
            let statement = try sqlite.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)")
            for jail in jails { try statement.run([.text("unbanned-until:" + jail), .text(String(time))]) }
        }
    }

    /// Current bans of `jail` whose ban time ended after `after` and by `upTo`, earliest first.
    public func bansEnded(jail: String, after: Double, upTo: Double) throws -> [StoredBan] {
        try read { sqlite in
            let statement = try sqlite.prepare(
                "SELECT current.address, current.timeofban, current.bantime, current.bancount, " + StoreSchema.currentData
                + " FROM " + StoreSchema.currentWithData + " WHERE current.jail = ? AND current.bantime >= 0 "
                + "AND current.timeofban + current.bantime > ? AND current.timeofban + current.bantime <= ? "
                + "ORDER BY current.timeofban + current.bantime")
            try statement.bind([.text(jail), .real(after), .real(upTo)])
            var bans: [StoredBan] = []
            while try statement.step() {
                bans.append(StoredBan(jail: jail, address: statement.text(0) ?? "", timeOfBan: statement.double(1),
                                      banTime: statement.int(2), banCount: Int(statement.int(3)), data: statement.text(4)))
            }
            return bans
        }
    }
}
