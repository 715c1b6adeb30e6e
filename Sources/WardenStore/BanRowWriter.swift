/// Writes bans into `bans` (history, with the data) and `current` (pointing at its history
/// row) with one multi-row INSERT per table for each group of up to `groupSize` bans.
///
/// Run per ban, the two statements' fixed cost (starting and halting their programs, the
/// statement journal) was about a quarter of SQLite's time in a 5,000-ban burst. The
/// history rows get explicit rowids, the table's next ones (what SQLite would pick), so
/// the current rows can point at them without asking after each insert. A group's text
/// is copied once into one buffer that lives until both statements have run, and bound
/// from there without SQLite copying it again.
///
/// Used only inside `BanStore`'s lock and a write transaction (which keeps the next
/// rowids ours).
final class BanRowWriter: @unchecked Sendable {
    static let groupSize = 16

    private let sqlite: SQLiteConnection
    private let lastRowid: Statement
    /// Statements by row count, prepared on first use.
    private var historyInserts: [Statement?] = Array(repeating: nil, count: groupSize + 1)
    private var currentUpserts: [Statement?] = Array(repeating: nil, count: groupSize + 1)
    /// Reused between groups: no allocation once it has grown.
    private var text: [UInt8] = []

    init(_ sqlite: SQLiteConnection) throws {
        self.sqlite = sqlite
        lastRowid = try sqlite.prepare("SELECT coalesce(max(rowid), 0) FROM bans")
    }

    func write(_ bans: [StoredBan]) throws {
        try lastRowid.bind([])
        _ = try lastRowid.step()
        var nextRowid = lastRowid.int(0) + 1
        var start = 0
        while start < bans.count {
            let end = min(start + Self.groupSize, bans.count)
            try write(bans[start..<end], firstRowid: nextRowid)
            nextRowid += Int64(end - start)
            start = end
        }
    }

    private func write(_ group: ArraySlice<StoredBan>, firstRowid: Int64) throws {
        text.removeAll(keepingCapacity: true)
        var spans: [(jail: Range<Int>, address: Range<Int>, data: Range<Int>?)] = []
        spans.reserveCapacity(group.count)
        for ban in group {
            let jail = append(ban.jail), address = append(ban.address)
            spans.append((jail, address, ban.data.map(append)))
        }
        let history = try statement(&historyInserts, rows: group.count,
                                    "INSERT INTO bans(rowid, jail, address, timeofban, bantime, bancount, data) VALUES ",
                                    row: "(?, ?, ?, ?, ?, ?, ?)")
        let current = try statement(&currentUpserts, rows: group.count,
                                    "INSERT OR REPLACE INTO current(address, jail, timeofban, bantime, bancount, data, ban) VALUES ",
                                    row: "(?, ?, ?, ?, ?, NULL, ?)")
        try text.withUnsafeBufferPointer { bytes in
            func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[range]) }
            history.reset()
            current.reset()
            for (offset, ban) in group.enumerated() {
                let span = spans[offset], rowid = firstRowid + Int64(offset)
                let h = Int32(offset * 7), c = Int32(offset * 6)
                try history.bind(rowid, at: h + 1)
                try history.bind(borrowing: slice(span.jail), at: h + 2)
                try history.bind(borrowing: slice(span.address), at: h + 3)
                try history.bind(ban.timeOfBan, at: h + 4)
                try history.bind(ban.banTime, at: h + 5)
                try history.bind(Int64(ban.banCount), at: h + 6)
                if let data = span.data { try history.bind(borrowing: slice(data), at: h + 7) } else { try history.bindNull(at: h + 7) }
                try current.bind(borrowing: slice(span.address), at: c + 1)
                try current.bind(borrowing: slice(span.jail), at: c + 2)
                try current.bind(ban.timeOfBan, at: c + 3)
                try current.bind(ban.banTime, at: c + 4)
                try current.bind(Int64(ban.banCount), at: c + 5)
                try current.bind(rowid, at: c + 6)
            }
            try history.runBound()
            try current.runBound()
        }
    }

    private func append(_ string: String) -> Range<Int> {
        let start = text.count
        text.append(contentsOf: string.utf8)
        return start..<text.count
    }

    private func statement(_ cache: inout [Statement?], rows: Int, _ head: String, row: String) throws -> Statement {
        if let prepared = cache[rows] { return prepared }
        let prepared = try sqlite.prepare(head + Array(repeating: row, count: rows).joined(separator: ", "))
        cache[rows] = prepared
        return prepared
    }
}
