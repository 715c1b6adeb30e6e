/// The data of a failure while the matcher builds it: fail2ban's `fail` dict.
///
/// A class on purpose: for `<F-MLFID>` filters the record stored in the connection
/// cache is the same object later lines update and report, as in fail2ban.
final class FailureRecord {
    /// Groups that took part; a group that did not is absent (fail2ban's None).
    var groups: [String: String]
    /// Users seen on the connection (fail2ban's `users` set), in first-seen order.
    var users: [String]?
    /// Lines accumulated so far (fail2ban's `matches`); nil when the key is absent.
    var matches: [String]?
    /// Lines of no-fail matches held back until a real failure (`nofail-matches`).
    var noFailMatches: [String]?
    /// A failure seen before the connection's host was known (`mlfpending`).
    var isPending = false
    /// Host address when the id is a separate `<F-ID>` value.
    var address: FailureID?

    init(groups: [String: String]) { self.groups = groups }

    func copy() -> FailureRecord {
        let copy = FailureRecord(groups: groups)
        copy.users = users
        copy.matches = matches
        copy.noFailMatches = noFailMatches
        copy.isPending = isPending
        copy.address = address
        return copy
    }

    /// Python truthiness of a group: set and not empty.
    func isSet(_ name: String) -> Bool {
        guard let value = groups[name] else { return false }
        return !value.isEmpty
    }

    /// Adds `user` (when set) to the users set, creating it; returns the set.
    func addUser(_ user: String?) -> [String]? {
        if let user, !user.isEmpty {
            var set = users ?? []
            if !set.contains(user) { set.append(user) }
            users = set
        }
        return users
    }
}

/// fail2ban's small TTL cache (`Utils.Cache`): insertion-ordered, at most `maxCount`
/// entries, each valid for `maxTime` seconds after it was set. When full, the oldest
/// entries are dropped until one that is still valid has gone and a slot is free.
struct ExpiringCache<Value> {
    let maxCount: Int
    let maxTime: Double
    private var values: [String: (value: Value, expiry: Double)] = [:]
    private var order: [String] = []

    init(maxCount: Int, maxTime: Double) {
        self.maxCount = maxCount
        self.maxTime = maxTime
    }

    var isEmpty: Bool { values.isEmpty }

    mutating func get(_ key: String, now: Double) -> Value? {
        guard let entry = values[key] else { return nil }
        if entry.expiry > now { return entry.value }
        remove(key)
        return nil
    }

    mutating func set(_ key: String, _ value: Value, now: Double) {
        if values.count >= maxCount {
            while let oldest = order.first {
                order.removeFirst()
                let evicted = values.removeValue(forKey: oldest)
                if let evicted, evicted.expiry > now, values.count < maxCount { break }
            }
        }
        if values[key] == nil { order.append(key) }
        values[key] = (value, now + maxTime)
    }

    mutating func remove(_ key: String) {
        guard values.removeValue(forKey: key) != nil else { return }
        order.removeAll { $0 == key }
    }
}
