#if canImport(Glibc)
import Glibc
#endif

/// Which file a descriptor or path refers to, independent of its name: a rename keeps the
/// identity, a delete-and-recreate or rename-and-create changes it.
public struct FileIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    init(_ info: stat) {
        self.init(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    public var description: String { "\(device):\(inode)" }
}

/// `stat` of a path, or nil when it does not exist or cannot be reached.
func fileStatus(path: String) -> stat? {
    var info = stat()
    return stat(path, &info) == 0 ? info : nil
}

func fileStatus(descriptor: Int32) -> stat? {
    var info = stat()
    return fstat(descriptor, &info) == 0 ? info : nil
}

func isRegularFile(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFREG }

func systemErrorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

/// Monotonic clock in nanoseconds; used for drain deadlines, never for data.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
