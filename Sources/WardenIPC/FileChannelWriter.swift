#if canImport(Glibc)
import Glibc
#endif

/// File adapter, writer side: appends batches to the spool `ipc.path` and rotates it to
/// `<path>.1` once it passes `ipc.rotate` bytes. Any number of writers share a spool; an
/// flock on `<path>.lock` orders their commits. Writers never wait for readers: a reader
/// more than one rotation behind counts what it missed.
public final class FileChannelWriter: BatchingChannelWriter {
    private let configuration: ChannelConfiguration
    private let path: String
    private let lockFD: Int32
    private var spoolFD: Int32 = -1
    let batch = FrameBatch()
    private(set) var closed = false

    public init(_ configuration: ChannelConfiguration) throws {
        self.configuration = configuration
        path = configuration.path
        let lockPath = path + ".lock"
        lockFD = try systemCall("open", path: lockPath) { open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, configuration.mode) }
        do {
            try withSpoolLock { try openCurrentSpool() }
        } catch {
            Glibc.close(lockFD)
            throw error
        }
    }

    public func flush() throws {
        guard !closed else { throw ChannelError.closed }
        guard batch.messageCount > 0 else { return }
        try withSpoolLock {
            // Another writer may have rotated since our last commit.
            if let current = fileIdentity(atPath: path), let ours = fileIdentity(of: spoolFD), current != ours {
                try openCurrentSpool()
            }
            var header = try FileSpoolHeader(readingFrom: spoolFD, path: path)
            try writeAll(spoolFD, batch.bytes, at: FileSpoolHeader.size + Int(header.committedBytes), path: path)
            header.committedBytes += UInt64(batch.byteCount)
            header.messageCount += UInt64(batch.messageCount)
            try header.write(to: spoolFD, path: path)
            if FileSpoolHeader.size + Int(header.committedBytes) >= configuration.rotateBytes {
                try rotate(after: header)
            }
        }
        batch.reset()
    }

    public func close() throws {
        guard !closed else { return }
        defer {
            Glibc.close(spoolFD)
            Glibc.close(lockFD)
            closed = true
        }
        try flush()
    }

    private func withSpoolLock<T>(_ body: () throws -> T) throws -> T {
        try systemCall("flock", path: path + ".lock") { flock(lockFD, LOCK_EX) }
        defer { flock(lockFD, LOCK_UN) }
        return try body()
    }

    /// Opens the spool at `path`, creating it with a fresh header if missing. Lock held.
    private func openCurrentSpool() throws {
        if spoolFD >= 0 { Glibc.close(spoolFD) }
        spoolFD = -1
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd >= 0 {
            spoolFD = fd
        } else if errno == ENOENT {
            try installSpool(FileSpoolHeader(firstSequence: 0))
        } else {
            throw ChannelError.system(call: "open", path: path, errno: errno)
        }
    }

    /// Moves the full spool to `<path>.1` and starts the next one. Lock held.
    private func rotate(after header: FileSpoolHeader) throws {
        try systemCall("rename", path: path) { rename(path, path + ".1") }
        Glibc.close(spoolFD)
        spoolFD = -1
        try installSpool(FileSpoolHeader(firstSequence: header.firstSequence + header.messageCount))
    }

    /// Writes a new spool under a temporary name and renames it into place, so readers
    /// never see a spool without its header. Lock held.
    private func installSpool(_ header: FileSpoolHeader) throws {
        let temporary = path + ".new"
        let fd = try systemCall("open", path: temporary) { open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, configuration.mode) }
        do {
            try applyOwnership(temporary, configuration: configuration)
            try header.write(to: fd, path: temporary)
            try systemCall("rename", path: path) { rename(temporary, path) }
        } catch {
            Glibc.close(fd)
            throw error
        }
        spoolFD = fd
    }
}
