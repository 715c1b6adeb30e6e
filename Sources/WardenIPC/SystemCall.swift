#if canImport(Glibc)
import Glibc
#endif

/// Runs a system call, retrying on EINTR, and turns -1 into `ChannelError.system`.
@discardableResult
func systemCall<T: BinaryInteger>(_ name: String, path: String? = nil, _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        if errno == EINTR { continue }
        throw ChannelError.system(call: name, path: path, errno: errno)
    }
}

/// Creates `path` as a directory if missing; its mode is the channel mode plus the search
/// bit wherever the mode grants read (0600 -> 0700, 0660 -> 0770), so only the same
/// owner or group can even reach the objects inside.
func makeChannelDirectory(_ path: String, configuration: ChannelConfiguration) throws {
    let mode = configuration.mode | ((configuration.mode & 0o444) >> 2)
    if mkdir(path, mode) == 0 {
        try applyOwnership(path, configuration: configuration, mode: mode)
    } else if errno != EEXIST {
        throw ChannelError.system(call: "mkdir", path: path, errno: errno)
    }
}

/// Sets the configured mode and group on a created file, socket or directory.
func applyOwnership(_ path: String, configuration: ChannelConfiguration, mode: mode_t? = nil) throws {
    try systemCall("chmod", path: path) { chmod(path, mode ?? configuration.mode) }
    if let group = configuration.group {
        try systemCall("chown", path: path) { chown(path, uid_t.max, group) }
    }
}

/// Fills a `sockaddr_un` for `path`; throws when the path does not fit.
func unixAddress(_ path: String) throws -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard bytes.count < capacity else {
        throw ChannelError.invalidOption(name: "ipc.path", value: path, reason: "socket path longer than \(capacity - 1) bytes")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    return address
}
