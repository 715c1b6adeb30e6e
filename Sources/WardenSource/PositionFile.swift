import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Where one file was read to: enough to resume it after a restart without re-reading
/// or skipping a line. `prefix` is the file's first bytes (hex), compared on resume so a
/// file that was replaced or truncated while warden was down is read from its start.
public struct SavedPosition: Codable, Sendable, Equatable {
    public var path: String
    public var file: FileIdentity
    public var offset: UInt64
    public var prefix: String
    /// The file had been rotated away from `path` and was still being drained.
    public var rotated: Bool

    var prefixBytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(prefix.utf8.count / 2)
        var high: UInt8?
        for character in prefix.utf8 {
            let nibble = character <= 0x39 ? character - 0x30 : character - 0x57
            if let first = high { bytes.append(first << 4 | nibble); high = nil } else { high = nibble }
        }
        return bytes
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes { text.append(digits[Int(byte >> 4)]); text.append(digits[Int(byte & 15)]) }
        return String(decoding: text, as: UTF8.self)
    }
}

/// A small JSON file of positions, replaced atomically (write, fsync, rename): `warden
/// tail`'s store, and what the daemon used before positions moved into its database
/// (read once there, to migrate).
public struct PositionFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public func load() throws -> [SavedPosition] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode([SavedPosition].self, from: data)
    }

    public func save(_ positions: [SavedPosition]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(positions)
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw PositionFileError(path: temporary, reason: systemErrorText()) }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(descriptor) == 0 else {
            throw PositionFileError(path: temporary, reason: systemErrorText())
        }
        guard rename(temporary, path) == 0 else { throw PositionFileError(path: path, reason: systemErrorText()) }
    }
}

public struct PositionFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "positions file \(path): \(reason)" }
}
