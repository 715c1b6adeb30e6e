#if canImport(Glibc)
import Glibc
#endif

/// The journal cursor of the last entry handled, in a one-line file replaced atomically
/// (write, fsync, rename): the journal's equivalent of a file position.
public struct JournalCursorFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The saved cursor, or nil when none was saved yet.
    public func load() throws -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw PositionFileError(path: path, reason: systemErrorText())
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else {
                if count < 0 { throw PositionFileError(path: path, reason: systemErrorText()) }
                break
            }
            bytes.append(contentsOf: chunk[..<count])
        }
        while bytes.last == 0x0A { bytes.removeLast() }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }

    public func save(_ cursor: String) throws {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw PositionFileError(path: temporary, reason: systemErrorText()) }
        defer { close(descriptor) }
        let text = Array((cursor + "\n").utf8)
        guard write(descriptor, text, text.count) == text.count, fsync(descriptor) == 0 else {
            throw PositionFileError(path: temporary, reason: systemErrorText())
        }
        guard rename(temporary, path) == 0 else { throw PositionFileError(path: path, reason: systemErrorText()) }
    }
}
