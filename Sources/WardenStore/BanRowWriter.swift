/// Writes bans into `bans` (history, with the data) and `current` (pointing at its history
/// row) with one multi-row INSERT per table for each group of up to `groupSize` bans.
///
/// Run per ban, the two statements' fixed cost (starting and halting their programs, the
/// statement journal) was about a quarter of SQLite's time in a 5,000-ban burst. The
/// history rows get explicit rowids, the table's next ones (what SQLite would pick), so
/// the current rows can point at them without asking after each insert. The texts are
/// bound from the rows' own buffer (`BanRows`), without SQLite or the writer copying them.
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

    init(_ sqlite: SQLiteConnection) throws {
        self.sqlite = sqlite
        lastRowid = try sqlite.prepare("SELECT coalesce(max(rowid), 0) FROM bans")
    }

    func write(_ bans: BanRows) throws {
        try lastRowid.bind([])
        _ = try lastRowid.step()
        var nextRowid = lastRowid.int(0) + 1
        // The statements run inside this closure: the borrowed text outlives them.
        try bans.text.withUnsafeBufferPointer { text in
            var start = 0
            while start < bans.count {
                let end = min(start + Self.groupSize, bans.count)
                try write(bans.rows[start..<end], text: text, firstRowid: nextRowid)
                nextRowid += Int64(end - start)
                start = end
            }
        }
    }

    private func write(_ group: ArraySlice<BanRows.Row>, text: UnsafeBufferPointer<UInt8>, firstRowid: Int64) throws {
        let history = try statement(&historyInserts, rows: group.count,
                                    "INSERT INTO bans(rowid, jail, address, timeofban, bantime, bancount, data) VALUES ",
                                    row: "(?, ?, ?, ?, ?, ?, ?)")
        let current = try statement(&currentUpserts, rows: group.count,
                                    "INSERT OR REPLACE INTO current(address, jail, timeofban, bantime, bancount, data, ban) VALUES ",
                                    row: "(?, ?, ?, ?, ?, NULL, ?)")
        func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: text[range]) }
        history.reset()
        current.reset()
        for (offset, row) in group.enumerated() {
            let rowid = firstRowid + Int64(offset)
            let h = Int32(offset * 7), c = Int32(offset * 6)
            try history.bind(rowid, at: h + 1)
            try history.bind(borrowing: slice(row.jail), at: h + 2)
            try history.bind(borrowing: slice(row.address), at: h + 3)
            try history.bind(row.timeOfBan, at: h + 4)
            try history.bind(row.banTime, at: h + 5)
            try history.bind(Int64(row.banCount), at: h + 6)
            if let data = row.data { try history.bind(borrowing: slice(data), at: h + 7) } else { try history.bindNull(at: h + 7) }
            try current.bind(borrowing: slice(row.address), at: c + 1)
            try current.bind(borrowing: slice(row.jail), at: c + 2)
            try current.bind(row.timeOfBan, at: c + 3)
            try current.bind(row.banTime, at: c + 4)
            try current.bind(Int64(row.banCount), at: c + 5)
            try current.bind(rowid, at: c + 6)
        }
        try history.runBound()
        try current.runBound()
    }

    private func statement(_ cache: inout [Statement?], rows: Int, _ head: String, row: String) throws -> Statement {
        if let prepared = cache[rows] { return prepared }
        let prepared = try sqlite.prepare(head + Array(repeating: row, count: rows).joined(separator: ", "))
        cache[rows] = prepared
        return prepared
    }
}
