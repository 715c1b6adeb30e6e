/// One journal entry as fail2ban's systemd backend renders it (see `JournalEntryFormat`).
public struct JournalEntry {
    /// The rendered line; valid only during the consumer call.
    public let bytes: UnsafeBufferPointer<UInt8>
    /// The entry's wall-clock time, microseconds since the epoch.
    public let realtimeMicroseconds: UInt64
}

/// The entries read by one wake-up of the journal reader, oldest first.
public struct JournalBatch: RandomAccessCollection {
    let base: UnsafePointer<UInt8>
    let slices: [JournalSlice]
    /// The cursor of the last entry: where to resume once the whole batch has been handled.
    public let cursor: String

    public var startIndex: Int { 0 }
    public var endIndex: Int { slices.count }

    public subscript(position: Int) -> JournalEntry {
        let slice = slices[position]
        return JournalEntry(bytes: UnsafeBufferPointer(start: base + slice.start, count: slice.count), realtimeMicroseconds: slice.realtime)
    }
}

struct JournalSlice {
    var start: Int
    var count: Int
    var realtime: UInt64
}
