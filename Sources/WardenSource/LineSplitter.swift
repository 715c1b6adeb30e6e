#if canImport(Glibc)
import Glibc
#endif

/// Splits bytes read from one file into lines, in place in one large buffer.
///
/// A line that is not yet terminated is carried to the front of the buffer and completed
/// by the next read, so nothing is delivered before its newline arrives. A line that grows
/// past `maxLineLength` is cut there, delivered once with `wasCut`, and the rest of it is
/// skipped up to its newline: the buffer never grows beyond `readSize + maxLineLength`.
final class LineSplitter {
    let readSize: Int
    let maxLineLength: Int
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    /// Bytes of an unterminated line held at the front of the buffer.
    private(set) var carried = 0
    /// Bytes in the buffer after the last read: carried + newly read.
    private var filled = 0
    /// Inside an overlong line that was already cut: drop bytes up to the next newline.
    private var skippingRestOfLine = false
    private(set) var slices: [LineSlice] = []
    /// The last read returned less than it asked for: it got to the end of the file.
    private(set) var reachedEnd = false
    /// Lines cut at `maxLineLength` so far.
    private(set) var cutLines = 0

    init(readSize: Int, maxLineLength: Int) {
        self.readSize = readSize
        self.maxLineLength = maxLineLength
        capacity = readSize + maxLineLength
        buffer = .allocate(capacity: capacity)
        slices.reserveCapacity(4096)
    }

    deinit { buffer.deallocate() }

    var base: UnsafePointer<UInt8> { UnsafePointer(buffer) }

    /// Reads at most `readSize` bytes from `descriptor` at `offset` (the offset of the
    /// first byte after the carried ones) and splits them. Returns the byte count read,
    /// 0 at end of file, -1 on error. `committed` is advanced past every newline consumed.
    func read(from descriptor: Int32, at offset: UInt64, committed: inout UInt64) -> Int {
        precondition(slices.isEmpty, "deliver() the previous read first")
        let requested = capacity - carried
        let count = pread(descriptor, buffer + carried, requested, off_t(offset))
        reachedEnd = count < requested
        guard count > 0 else { return count }
        filled = carried + count
        split(firstByteOffset: offset - UInt64(carried), committed: &committed)
        return count
    }

    private func split(firstByteOffset: UInt64, committed: inout UInt64) {
        // The per-line loop works on locals: class properties would cost a dynamic
        // exclusivity check per access (seen in perf as swift_beginAccess).
        let buffer = buffer, filled = filled, maxLineLength = maxLineLength
        var found: [LineSlice] = []
        swap(&found, &slices)
        var skipping = skippingRestOfLine
        var cut = 0
        var lineStart = 0
        while lineStart < filled {
            guard let newline = memchr(buffer + lineStart, 0x0A, filled - lineStart) else { break }
            let newlineIndex = buffer.distance(to: newline.assumingMemoryBound(to: UInt8.self))
            let endOffset = firstByteOffset + UInt64(newlineIndex + 1)
            if skipping {
                skipping = false
            } else {
                var length = newlineIndex - lineStart
                if length > 0 && buffer[newlineIndex - 1] == 0x0D { length -= 1 }
                let isCut = length > maxLineLength
                if isCut { length = maxLineLength; cut += 1 }
                found.append(LineSlice(start: lineStart, count: length, endOffset: endOffset, wasCut: isCut))
            }
            committed = endOffset
            lineStart = newlineIndex + 1
        }
        swap(&found, &slices)
        skippingRestOfLine = skipping
        cutLines += cut
        let tail = filled - lineStart
        if skippingRestOfLine {
            carried = 0
            committed = firstByteOffset + UInt64(filled)
        } else if tail >= maxLineLength {
            // Deliver the overlong line's first maxLineLength bytes now; its newline may
            // never come, and holding it would need an unbounded buffer.
            let endOffset = firstByteOffset + UInt64(lineStart + maxLineLength)
            slices.append(LineSlice(start: lineStart, count: maxLineLength, endOffset: endOffset, wasCut: true))
            cutLines += 1
            skippingRestOfLine = true
            carried = 0
            committed = firstByteOffset + UInt64(filled)
        } else {
            carried = tail
        }
        pendingCarryStart = lineStart
    }

    /// Where the carried bytes sit until `deliver` moves them to the front.
    private var pendingCarryStart = 0

    /// Hands the lines of the last read to `body`, then moves the unterminated rest to
    /// the front of the buffer for the next read.
    func deliver(path: String, file: FileIdentity, to body: (LogBatch) -> Void) {
        if !slices.isEmpty {
            body(LogBatch(path: path, file: file, base: base, slices: slices))
            slices.removeAll(keepingCapacity: true)
        }
        if carried > 0 && pendingCarryStart > 0 {
            memmove(buffer, buffer + pendingCarryStart, carried)
        }
        pendingCarryStart = 0
    }

    /// Forgets everything held: used when the file was truncated or replaced in place.
    func reset() {
        carried = 0
        filled = 0
        pendingCarryStart = 0
        skippingRestOfLine = false
        slices.removeAll(keepingCapacity: true)
    }
}
