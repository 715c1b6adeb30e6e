/// One line as the source delivers it: the bytes without the line ending (`\n`, and a
/// `\r` before it), and the file offset just after its newline. A consumer that stores
/// `endOffset` together with what it did with the line can resume exactly once.
public struct LogLine {
    public let bytes: UnsafeBufferPointer<UInt8>
    public let endOffset: UInt64
    /// The line was longer than the configured limit and was cut there; the rest of it,
    /// up to its newline, is not delivered.
    public let wasCut: Bool
}

/// Where a line sits in the read buffer; kept as plain integers so a batch is one array.
struct LineSlice {
    var start: Int
    var count: Int
    var endOffset: UInt64
    var wasCut: Bool
}

/// The lines read from one file by one read. The bytes point into the tailer's read
/// buffer: they are valid only during the consumer call and must be copied to be kept.
public struct LogBatch: RandomAccessCollection {
    /// The path the file was found under (a rotated file keeps the path it was tailed as).
    public let path: String
    public let file: FileIdentity
    let base: UnsafePointer<UInt8>
    let slices: [LineSlice]

    public var startIndex: Int { 0 }
    public var endIndex: Int { slices.count }

    public subscript(position: Int) -> LogLine {
        let slice = slices[position]
        return LogLine(
            bytes: UnsafeBufferPointer(start: base + slice.start, count: slice.count),
            endOffset: slice.endOffset,
            wasCut: slice.wasCut
        )
    }

    /// Offset after the last line of the batch: the position to persist once the whole
    /// batch has been handled.
    public var endOffset: UInt64 { slices.last?.endOffset ?? 0 }
}
