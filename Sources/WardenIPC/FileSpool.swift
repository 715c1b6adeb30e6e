#if canImport(Glibc)
import Glibc
#endif

/// The spool file's fixed header, which is also its commit record.
///
///     0  8 B     magic "WDNSPOOL"
///     8  UInt32  version (1)
///     16 UInt64  sequence number of the file's first message (continues across rotation)
///     24 UInt64  committed bytes of frames after the header
///     32 UInt64  committed messages
///
/// Writers append a batch after the committed bytes and only then advance `committed`
/// with one small pwrite, all under an flock on `<spool>.lock`. A writer killed in between
/// leaves uncommitted bytes that readers never look at and the next writer overwrites.
struct FileSpoolHeader {
    static let size = 64
    static let magic: UInt64 = 0x4C4F_4F50_534E_4457 // "WDNSPOOL" little endian
    static let version: UInt32 = 1

    var firstSequence: UInt64
    var committedBytes: UInt64
    var messageCount: UInt64

    init(firstSequence: UInt64) {
        self.firstSequence = firstSequence
        committedBytes = 0
        messageCount = 0
    }

    /// Reads the header of an open spool; throws `corrupt` for a foreign or damaged file.
    init(readingFrom fd: Int32, path: String) throws {
        var raw = [UInt8](repeating: 0, count: FileSpoolHeader.size)
        let count = try systemCall("pread", path: path) { raw.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) } }
        guard count == FileSpoolHeader.size else { throw ChannelError.corrupt(path: path, offset: 0, reason: "spool header is \(count) bytes") }
        let (magic, version, first, committed, messages) = raw.withUnsafeBytes {
            ($0.load(as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt32.self), $0.load(fromByteOffset: 16, as: UInt64.self),
             $0.load(fromByteOffset: 24, as: UInt64.self), $0.load(fromByteOffset: 32, as: UInt64.self))
        }
        guard magic == FileSpoolHeader.magic, version == FileSpoolHeader.version else {
            throw ChannelError.corrupt(path: path, offset: 0, reason: "not a warden spool file (version 1)")
        }
        firstSequence = first
        committedBytes = committed
        messageCount = messages
    }

    func write(to fd: Int32, path: String) throws {
        var raw = [UInt8](repeating: 0, count: FileSpoolHeader.size)
        raw.withUnsafeMutableBytes {
            $0.storeBytes(of: FileSpoolHeader.magic, as: UInt64.self)
            $0.storeBytes(of: FileSpoolHeader.version, toByteOffset: 8, as: UInt32.self)
            $0.storeBytes(of: firstSequence, toByteOffset: 16, as: UInt64.self)
            $0.storeBytes(of: committedBytes, toByteOffset: 24, as: UInt64.self)
            $0.storeBytes(of: messageCount, toByteOffset: 32, as: UInt64.self)
        }
        try raw.withUnsafeBytes { try writeAll(fd, $0, at: 0, path: path) }
    }
}

func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
    var done = 0
    while done < raw.count {
        done += try systemCall("pwrite", path: path) { pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset + done)) }
    }
}

/// Device and inode: which file a path or descriptor refers to, across renames.
struct SpoolIdentity: Equatable {
    let device: UInt64
    let inode: UInt64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}

/// Identity of the file currently at `path`, nil if absent.
func fileIdentity(atPath path: String) -> SpoolIdentity? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return SpoolIdentity(info)
}

func fileIdentity(of fd: Int32) -> SpoolIdentity? {
    var info = stat()
    guard fstat(fd, &info) == 0 else { return nil }
    return SpoolIdentity(info)
}
