/// fail2ban's `matches` list: the log lines a failure, an id's failures or a ban are
/// made of. Counting is all a ban needs; the texts are kept only when asked for
/// (`keepsText`; `warden regex` counts without them).
///
/// The texts share one byte array, each line stored as its length (four bytes, little
/// endian) then its bytes: one allocation per list, joining two lists is one append with
/// no offsets to fix, and the lines travel from the matcher through the failure counter
/// to the ban's data as bytes, never as a `String` per line.
public struct MatchedLines: Sendable, Equatable {
    // Inlinable where the matcher calls per line (a list per match, a line or a list
    // appended): across the module boundary each was a call, and counting is all
    // `warden regex` does with them.
    @usableFromInline var lineCount: Int
    @usableFromInline var records: [UInt8]
    public let keepsText: Bool

    /// How many lines (fail2ban's `len(matches)`), whether or not their texts are kept.
    @inlinable public var count: Int { lineCount }

    @inlinable
    public init(keepsText: Bool = true) {
        lineCount = 0
        records = []
        self.keepsText = keepsText
    }

    /// A list holding these texts.
    public init(_ lines: [String]) {
        self.init()
        for var line in lines { line.withUTF8 { append($0) } }
    }

    @inlinable
    public mutating func append(_ line: UnsafeBufferPointer<UInt8>) {
        lineCount += 1
        if keepsText { appendText(line) }
    }

    @usableFromInline
    mutating func appendText(_ line: UnsafeBufferPointer<UInt8>) {
        let needed = records.count + MemoryLayout<UInt32>.size + line.count
        // One allocation for the header and the text, growing geometrically.
        if records.capacity < needed { records.reserveCapacity(max(needed, 2 * records.capacity)) }
        let length = UInt32(line.count)
        for shift in stride(from: 0, to: 32, by: 8) { records.append(UInt8(truncatingIfNeeded: length >> shift)) }
        records.append(contentsOf: line)
    }

    @inlinable
    public mutating func append(contentsOf other: MatchedLines) {
        lineCount += other.lineCount
        if keepsText, other.keepsText { appendTexts(of: other) }
    }

    @usableFromInline
    mutating func appendTexts(of other: MatchedLines) {
        // Into an empty list (a connection's first lines, or an id's first failure): share
        // the other's storage instead of allocating and copying. Only the texts: assigning
        // the whole list cost a copy and a release even where there are no texts.
        if records.isEmpty {
            records = other.records
        } else {
            records.append(contentsOf: other.records)
        }
    }

    /// Drops the `number` oldest lines (fail2ban's `maxmatches` keeps the newest).
    public mutating func removeFirst(_ number: Int) {
        let dropped = min(number, lineCount)
        lineCount -= dropped
        guard keepsText, dropped > 0 else { return }
        var offset = 0
        for _ in 0..<dropped { offset += MemoryLayout<UInt32>.size + length(at: offset) }
        records.removeFirst(offset)
    }

    public mutating func removeAll() {
        lineCount = 0
        records.removeAll()
    }

    /// Calls `body` with each line's bytes, oldest first.
    public func forEachLine(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        records.withUnsafeBufferPointer { all in
            var offset = 0
            while offset < all.count {
                let length = length(at: offset)
                offset += MemoryLayout<UInt32>.size
                body(UnsafeBufferPointer(rebasing: all[offset..<(offset + length)]))
                offset += length
            }
        }
    }

    /// The texts, for cold paths (actions' `<matches>`, tests).
    public var strings: [String] {
        guard keepsText else { return [] }
        var result: [String] = []
        result.reserveCapacity(count)
        forEachLine { result.append(String(decoding: $0, as: UTF8.self)) }
        return result
    }

    private func length(at offset: Int) -> Int {
        records.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) }
    }
}
