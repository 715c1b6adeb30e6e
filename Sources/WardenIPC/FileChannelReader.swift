#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization

/// File adapter, reader side: follows the spool with its own offset, woken by inotify on
/// the spool's directory (a batch commit modifies the spool; a rotation renames it).
///
/// It reads only committed bytes (see `FileSpoolHeader`). When it has read everything in
/// a rotated file it continues with `<path>.1` if that is the next generation, else with
/// the current spool, counting the sequence numbers it skipped as lost.
///
/// Its position is saved in `<path>.<name>.offset` at the start of every `read` (the batch
/// the previous call returned counts as consumed) and on `close`, so a reader restarted
/// under the same name resumes there: after a kill -9 it sees at most the last batch again.
/// A new reader starts at the beginning of the current spool.
public final class FileChannelReader: ChannelReader, @unchecked Sendable {
    // Invariant: `read` runs on one thread at a time; `stop` only writes the eventfd and the atomic.
    private let path: String
    private let directoryWatch: Int32
    private let stopSignal: Int32
    private let stopped = Atomic<Bool>(false)
    private let lostMessages = Atomic<UInt64>(0)
    private let offsetFile: FileReaderOffsetFile
    private var spoolFD: Int32 = -1
    /// First sequence number of the spool generation `spoolFD` holds.
    private var generation: UInt64 = 0
    private var offset: UInt64 = 0
    private var nextSequence: UInt64 = 0

    /// IN_MODIFY | IN_CREATE | IN_MOVED_TO.
    private static let directoryEvents: UInt32 = 0x2 | 0x100 | 0x80

    public init(_ configuration: ChannelConfiguration, name: String) throws {
        path = configuration.path
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        offsetFile = try FileReaderOffsetFile(spool: path, reader: name, mode: configuration.mode)
        let watch = try systemCall("inotify_init1") { warden_inotify_init() }
        directoryWatch = watch
        stopSignal = try systemCall("eventfd") { warden_eventfd() }
        try systemCall("inotify_add_watch", path: directory) { warden_inotify_add_watch(watch, directory, Self.directoryEvents) }
        // A writer creates the spool if none exists yet.
        if FileChannelReader.openSpool(path) == nil { try FileChannelWriter(configuration).close() }
        if let saved = offsetFile.saved {
            try resume(from: saved)
        } else {
            try switchTo(path)
        }
    }

    /// Where the next `read` starts; saved so a restarted reader continues from here.
    var position: FileReaderPosition { FileReaderPosition(generation: generation, offset: offset, nextSequence: nextSequence) }

    public var lost: UInt64 { lostMessages.load(ordering: .relaxed) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadBatch {
        guard buffer.count >= ChannelConfiguration.minimumReadBufferSize else {
            throw ChannelError.bufferTooSmall(needed: ChannelConfiguration.minimumReadBufferSize)
        }
        // Saved before draining inotify, so the event our own write raises is drained too.
        try offsetFile.save(position)
        while true {
            if stopped.load(ordering: .acquiring) { return .stopped }
            drainEvents()
            let header = try FileSpoolHeader(readingFrom: spoolFD, path: path)
            if offset < header.committedBytes {
                let want = min(Int(header.committedBytes - offset), buffer.count)
                let got = try systemCall("pread", path: path) { pread(spoolFD, buffer.baseAddress, want, off_t(FileSpoolHeader.size) + off_t(offset)) }
                let frames: (bytes: Int, count: Int)
                do {
                    frames = try FrameIterator.wholeFrames(in: UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
                } catch {
                    throw ChannelError.corrupt(path: path, offset: FileSpoolHeader.size + Int(offset), reason: "\(error)")
                }
                guard frames.count > 0 else {
                    throw ChannelError.corrupt(path: path, offset: FileSpoolHeader.size + Int(offset), reason: "committed bytes do not hold a whole frame")
                }
                offset += UInt64(frames.bytes)
                nextSequence += UInt64(frames.count)
                return ReadBatch(byteCount: frames.bytes, messageCount: frames.count)
            }
            if let current = fileIdentity(atPath: path), current != fileIdentity(of: spoolFD) {
                // Our file was rotated away and is complete: move to the next generation.
                try advanceGeneration()
                continue
            }
            try waitForChange()
        }
    }

    private func advanceGeneration() throws {
        if let fd = FileChannelReader.openSpool(path + ".1"),
           let header = try? FileSpoolHeader(readingFrom: fd, path: path + ".1"),
           header.firstSequence == nextSequence, fileIdentity(of: fd) != fileIdentity(of: spoolFD) {
            adopt(fd, header: header)
            return
        }
        try switchTo(path)
    }

    /// Reopens the generation a saved position points into. If it was rotated away (or the
    /// spool was replaced), starts at the oldest generation still present and counts the
    /// sequence numbers in between as lost.
    private func resume(from saved: FileReaderPosition) throws {
        for candidate in [path, path + ".1"] {
            guard let fd = FileChannelReader.openSpool(candidate) else { continue }
            if let header = try? FileSpoolHeader(readingFrom: fd, path: candidate), header.firstSequence == saved.generation,
               FileChannelReader.isFrameBoundary(saved.offset, in: fd, header: header) {
                adopt(fd, header: header)
                offset = saved.offset
                nextSequence = saved.nextSequence
                return
            }
            Glibc.close(fd)
        }
        if let fd = FileChannelReader.openSpool(path + ".1"), let header = try? FileSpoolHeader(readingFrom: fd, path: path + ".1"),
           header.firstSequence >= saved.nextSequence {
            adopt(fd, header: header)
        } else {
            try switchTo(path)
        }
        if generation > saved.nextSequence { lostMessages.add(generation - saved.nextSequence, ordering: .relaxed) }
    }

    /// Whether `offset` is the committed end or the start of a valid frame header.
    private static func isFrameBoundary(_ offset: UInt64, in fd: Int32, header: FileSpoolHeader) -> Bool {
        if offset == header.committedBytes { return true }
        guard offset < header.committedBytes else { return false }
        var frameHeader: UInt64 = 0
        let count = withUnsafeMutableBytes(of: &frameHeader) { pread(fd, $0.baseAddress, 8, off_t(FileSpoolHeader.size) + off_t(offset)) }
        guard count == 8 else { return false }
        return withUnsafeBytes(of: &frameHeader) { (try? FrameIterator.header(in: $0)) != nil }
    }

    private func switchTo(_ spool: String) throws {
        guard let fd = FileChannelReader.openSpool(spool) else { throw ChannelError.system(call: "open", path: spool, errno: errno) }
        adopt(fd, header: try FileSpoolHeader(readingFrom: fd, path: spool))
    }

    private func adopt(_ fd: Int32, header: FileSpoolHeader) {
        if spoolFD >= 0 {
            Glibc.close(spoolFD)
            if header.firstSequence > nextSequence { lostMessages.add(header.firstSequence - nextSequence, ordering: .relaxed) }
        }
        spoolFD = fd
        generation = header.firstSequence
        offset = 0
        nextSequence = max(nextSequence, header.firstSequence)
    }

    private static func openSpool(_ path: String) -> Int32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }

    private func drainEvents() {
        var events = [UInt8](repeating: 0, count: 4096)
        while events.withUnsafeMutableBytes({ Glibc.read(directoryWatch, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Blocks until inotify reports a change in the directory or `stop` is called.
    private func waitForChange() throws {
        var descriptors = [pollfd(fd: directoryWatch, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: stopSignal, events: Int16(POLLIN), revents: 0)]
        try systemCall("poll", path: path) { poll(&descriptors, 2, -1) }
    }

    public func stop() {
        stopped.store(true, ordering: .releasing)
        var one: UInt64 = 1
        _ = write(stopSignal, &one, 8)
    }

    /// Saves the position (everything `read` returned counts as consumed) and releases the reader.
    public func close() {
        // A failed save only means a restart repeats the last batch.
        try? offsetFile.save(position)
        if spoolFD >= 0 { Glibc.close(spoolFD) }
        Glibc.close(directoryWatch)
        Glibc.close(stopSignal)
    }
}
