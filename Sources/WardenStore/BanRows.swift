/// Bans to record (`BanStore.record(_:progress:)`), their texts (jail, address, data
/// JSON) written into one byte buffer that `BanRowWriter` binds from without a copy.
///
/// The daemon writes each ban's address and data straight into the buffer and keeps one
/// `BanRows` between chunks of bans (`removeAll()` keeps the storage): in a burst, a
/// `String` per data JSON and address, and the copy of each into the writer's own buffer,
/// were a third of the hand-off thread's instructions outside SQLite.
public struct BanRows: Sendable {
    struct Row: Sendable {
        var jail: Range<Int>
        var address: Range<Int>
        /// Nil stores NULL.
        var data: Range<Int>?
        var timeOfBan: Double
        var banTime: Int64
        var banCount: Int
    }

    private(set) var text: [UInt8] = []
    private(set) var rows: [Row] = []

    public init() {}

    public var count: Int { rows.count }

    /// Removes every row, keeping the storage.
    public mutating func removeAll() {
        text.removeAll(keepingCapacity: true)
        rows.removeAll(keepingCapacity: true)
    }

    /// Appends a ban (the fields of `StoredBan`) whose address and data texts
    /// `writeAddress` and `writeData` append to the buffer they are given.
    public mutating func append(jail: String, timeOfBan: Double, banTime: Int64, banCount: Int,
                                address writeAddress: (inout [UInt8]) -> Void, data writeData: (inout [UInt8]) -> Void) {
        rows.append(Row(jail: append(jail), address: append(writeAddress), data: append(writeData),
                        timeOfBan: timeOfBan, banTime: banTime, banCount: banCount))
    }

    mutating func append(_ ban: StoredBan) {
        rows.append(Row(jail: append(ban.jail), address: append(ban.address), data: ban.data.map { append($0) },
                        timeOfBan: ban.timeOfBan, banTime: ban.banTime, banCount: ban.banCount))
    }

    /// The address text of row `index`.
    public func address(at index: Int) -> ArraySlice<UInt8> { text[rows[index].address] }

    private mutating func append(_ write: (inout [UInt8]) -> Void) -> Range<Int> {
        let start = text.count
        write(&text)
        return start..<text.count
    }

    private mutating func append(_ string: String) -> Range<Int> {
        var string = string
        // Contiguous UTF-8 in one copy; `append(contentsOf: string.utf8)` goes byte by byte.
        return append { text in string.withUTF8 { text.append(contentsOf: $0) } }
    }
}
