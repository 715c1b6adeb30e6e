#if canImport(Glibc)
import Glibc
#endif

/// Where a file-channel reader is, saved in `<spool>.<reader>.offset` so a restarted reader
/// resumes instead of starting over.
///
///     0  8 B     magic "WDNOFFS1"
///     8  UInt64  first sequence number of the spool generation the offset points into
///     16 UInt64  byte offset after the spool header of the next unread frame
///     24 UInt64  sequence number of that frame
///     32 UInt64  FNV-1a of bytes 0..<32
///
/// The record is rewritten in place with one 40-byte pwrite, which a killed process either
/// completes or never starts; the checksum rejects a record torn by a power loss, and the
/// reader then starts as a new one would.
struct FileReaderPosition: Equatable {
    static let size = 40
    static let magic: UInt64 = 0x3153_4646_4F4E_4457 // "WDNOFFS1" little endian

    var generation: UInt64
    var offset: UInt64
    var nextSequence: UInt64

    init(generation: UInt64, offset: UInt64, nextSequence: UInt64) {
        self.generation = generation
        self.offset = offset
        self.nextSequence = nextSequence
    }

    /// Decodes a saved record; nil when it is short, foreign or torn.
    init?(_ raw: UnsafeRawBufferPointer) {
        guard raw.count >= Self.size,
              raw.loadUnaligned(as: UInt64.self) == Self.magic,
              raw.loadUnaligned(fromByteOffset: 32, as: UInt64.self) == Self.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<32]))
        else { return nil }
        generation = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        offset = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        nextSequence = raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }

    func encode(into raw: UnsafeMutableRawBufferPointer) {
        raw.storeBytes(of: Self.magic, as: UInt64.self)
        raw.storeBytes(of: generation, toByteOffset: 8, as: UInt64.self)
        raw.storeBytes(of: offset, toByteOffset: 16, as: UInt64.self)
        raw.storeBytes(of: nextSequence, toByteOffset: 24, as: UInt64.self)
        raw.storeBytes(of: Self.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<32])), toByteOffset: 32, as: UInt64.self)
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

/// The open offset file of one reader.
final class FileReaderOffsetFile {
    let path: String
    private let fd: Int32
    /// The last position written, to skip rewriting an unchanged one.
    private(set) var saved: FileReaderPosition?

    init(spool: String, reader: String, mode: mode_t) throws {
        path = spool + "." + reader + ".offset"
        let target = path
        fd = try systemCall("open", path: target) { open(target, O_RDWR | O_CREAT | O_CLOEXEC, mode) }
        var raw = [UInt8](repeating: 0, count: FileReaderPosition.size)
        let count = raw.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        saved = count == FileReaderPosition.size ? raw.withUnsafeBytes { FileReaderPosition($0) } : nil
    }

    deinit { close(fd) }

    func save(_ position: FileReaderPosition) throws {
        guard position != saved else { return }
        var raw = [UInt8](repeating: 0, count: FileReaderPosition.size)
        raw.withUnsafeMutableBytes { position.encode(into: $0) }
        try raw.withUnsafeBytes { try writeAll(fd, $0, at: 0, path: path) }
        saved = position
    }
}
