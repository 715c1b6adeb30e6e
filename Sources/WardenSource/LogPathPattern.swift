#if canImport(Glibc)
import Glibc
#endif

/// A `logpath` entry: a directory and a file name that may be a shell glob
/// (`/var/log/nginx/*access.log`). Globs are matched against the directory's entries
/// whenever it changes, so files created later are picked up (fail2ban expands them
/// only when the configuration is read, #2947).
public struct LogPathPattern: Hashable, Sendable {
    public let directory: String
    public let name: String
    public let isGlob: Bool

    public init(_ path: String) {
        let slash = path.lastIndex(of: "/")
        if let slash {
            let directory = String(path[..<slash])
            self.directory = directory.isEmpty ? "/" : directory
            name = String(path[path.index(after: slash)...])
        } else {
            directory = "."
            name = path
        }
        isGlob = name.contains { "*?[".contains($0) }
    }

    public func path(of entry: String) -> String {
        directory == "/" ? "/" + entry : directory + "/" + entry
    }

    public func matches(entry: String) -> Bool {
        isGlob ? fnmatch(name, entry, FNM_PERIOD) == 0 : entry == name
    }

    /// The matching entries that exist now, sorted.
    public func existingPaths() -> [String] {
        guard isGlob else {
            let path = path(of: name)
            return fileStatus(path: path).map { isRegularFile($0) ? [path] : [] } ?? []
        }
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var paths: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard name != ".", name != "..", matches(entry: name) else { continue }
            let path = path(of: name)
            if let info = fileStatus(path: path), isRegularFile(info) { paths.append(path) }
        }
        return paths.sorted()
    }
}

/// Finds a file by identity in a directory: where a rotated file went while warden was
/// not running, so it can be drained from its saved position.
func findEntry(in directory: String, identity: FileIdentity) -> String? {
    guard let stream = opendir(directory) else { return nil }
    defer { closedir(stream) }
    while let entry = readdir(stream) {
        guard UInt64(entry.pointee.d_ino) == identity.inode else { continue }
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        let path = directory == "/" ? "/" + name : directory + "/" + name
        if let info = fileStatus(path: path), FileIdentity(info) == identity { return path }
    }
    return nil
}
