#if canImport(Glibc)
import Glibc
#endif

/// One open log file and how far it has been read.
///
/// The descriptor is kept open across renames and deletes, which is what lets a rotated
/// file be drained after its name has gone. Truncation and in-place rewrites are found by
/// the size falling below the read offset or by the file's first bytes (`prefix`) changing;
/// the prefix is up to `prefixLimit` bytes rather than fail2ban's first line, so an empty
/// or repeated first line does not hide a rotation (fail2ban #3365).
final class TailedFile {
    static let prefixLimit = 256

    let path: String
    let identity: FileIdentity
    let descriptor: Int32
    /// Offset of the next byte to read (after any carried partial line).
    private(set) var readOffset: UInt64
    /// Offset after the last line delivered or skipped: the position to persist.
    private(set) var committedOffset: UInt64
    private(set) var prefix: [UInt8] = []
    private let splitter: LineSplitter
    /// inotify watch on this file's inode, or -1.
    var watch: Int32 = -1
    /// Monotonic time of the last read that returned data; a rotated file is let go after
    /// it has been quiet for the drain grace period.
    private(set) var lastActivity: UInt64
    private let statistics: SourceStatistics
    private var reportedCutLines = 0

    init(
        path: String, descriptor: Int32, identity: FileIdentity, offset: UInt64,
        readSize: Int, maxLineLength: Int, statistics: SourceStatistics
    ) {
        self.statistics = statistics
        self.path = path
        self.descriptor = descriptor
        self.identity = identity
        self.readOffset = offset
        self.committedOffset = offset
        self.splitter = LineSplitter(readSize: readSize, maxLineLength: maxLineLength)
        self.lastActivity = monotonicNanoseconds()
        refreshPrefix()
    }

    deinit { close(descriptor) }

    static func open(path: String) -> (descriptor: Int32, status: stat)? {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        guard let info = fileStatus(descriptor: descriptor), isRegularFile(info) else {
            close(descriptor)
            return nil
        }
        return (descriptor, info)
    }

    /// The first bytes of the file as they are now, up to `length`.
    func readPrefix(length: Int) -> [UInt8] {
        guard length > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: length) { bytes, count in
            let read = pread(descriptor, bytes.baseAddress, length, 0)
            count = max(read, 0)
        }
    }

    /// Extends the remembered prefix while the file is still shorter than the limit. The
    /// longer prefix is taken only if it starts with the one remembered: a file rewritten
    /// since must keep failing `isUnchangedBeforeOffset`, not teach it the new content.
    private func refreshPrefix() {
        let wanted = Int(min(committedOffset, UInt64(Self.prefixLimit)))
        guard wanted > prefix.count else { return }
        let current = readPrefix(length: wanted)
        if current.starts(with: prefix) { prefix = current }
    }

    /// Whether the file still starts with the bytes read from it earlier and is not
    /// shorter than the read offset. False means it was truncated or rewritten in place.
    func isUnchangedBeforeOffset() -> Bool {
        if let info = fileStatus(descriptor: descriptor), UInt64(info.st_size) < readOffset { return false }
        return prefix.isEmpty || readPrefix(length: prefix.count) == prefix
    }

    /// Starts over at offset 0, dropping any partial line held from before.
    func restartFromBeginning() {
        splitter.reset()
        readOffset = 0
        committedOffset = 0
        prefix = []
    }

    /// Reads one buffer's worth and splits it, without delivering. Returns bytes read.
    func fill() -> Int {
        let count = splitter.read(from: descriptor, at: readOffset, committed: &committedOffset)
        if count > 0 {
            readOffset += UInt64(count)
            lastActivity = monotonicNanoseconds()
            if prefix.count < Self.prefixLimit { refreshPrefix() }
        }
        return count
    }

    /// The last `fill()` read up to the end of the file.
    var reachedEnd: Bool { splitter.reachedEnd }

    func deliver(to consumer: (LogBatch) -> Void) {
        splitter.deliver(path: path, file: identity, to: consumer)
        if splitter.cutLines != reportedCutLines {
            statistics.cutLinesCounter.wrappingAdd(splitter.cutLines - reportedCutLines, ordering: .releasing)
            reportedCutLines = splitter.cutLines
        }
    }

    /// Reads and delivers until the end of the file. Returns the bytes read.
    @discardableResult
    func drain(to consumer: (LogBatch) -> Void) -> Int {
        var total = 0
        while true {
            let count = fill()
            guard count > 0 else { return total }
            total += count
            deliver(to: consumer)
        }
    }
}
