#if canImport(Glibc)
import Glibc
#endif

/// A ban or unban decision as it travels between the matcher and ban workers.
///
/// Binary layout (little endian), 36 bytes plus the jail name:
///
///     0  UInt8   family (4 or 6)
///     1  UInt8   prefix length
///     2  UInt8   jail name length (1...255)
///     3  UInt8   reserved, zero
///     4  16 B    address, network order, IPv4 in the first 4 bytes
///     20 Int64   ban time in seconds, -1 for permanent
///     28 Int64   decision time, nanoseconds since the Unix epoch
///     36 ...     jail name, UTF-8
public struct BanDecision: Hashable, Sendable {
    public static let fixedSize = 36

    public var jail: String
    public var address: NetworkAddress
    /// Seconds the ban lasts; -1 means permanent (fail2ban's `bantime = -1`).
    public var banTime: Int64
    /// When the decision was taken, in nanoseconds since the Unix epoch.
    public var time: Int64

    public init(jail: String, address: NetworkAddress, banTime: Int64, time: Int64) {
        self.jail = jail
        self.address = address
        self.banTime = banTime
        self.time = time
    }

    /// The binary record; throws when the jail name is empty or longer than 255 bytes.
    public func encoded() throws -> [UInt8] {
        try withEncoded { Array($0) }
    }

    /// Calls `body` with the binary record, written on the stack: a burst publishes
    /// thousands of decisions, and building an array for each cost three allocations.
    public func withEncoded<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        var jail = self.jail
        return try jail.withUTF8 { name in
            guard (1...255).contains(name.count) else {
                throw MessageFormatError.malformedDecision("jail name must be 1 to 255 bytes, got \(name.count)")
            }
            return try withUnsafeTemporaryAllocation(byteCount: BanDecision.fixedSize + name.count, alignment: 8) { record in
                record.initializeMemory(as: UInt8.self, repeating: 0)
                record[0] = address.family.rawValue
                record[1] = address.prefixLength
                record[2] = UInt8(name.count)
                address.withBytes { UnsafeMutableRawBufferPointer(rebasing: record[4...]).copyMemory(from: $0) }
                record.storeBytes(of: banTime.littleEndian, toByteOffset: 20, as: Int64.self)
                record.storeBytes(of: time.littleEndian, toByteOffset: 28, as: Int64.self)
                UnsafeMutableRawBufferPointer(rebasing: record[BanDecision.fixedSize...]).copyMemory(from: UnsafeRawBufferPointer(name))
                return try body(UnsafeRawBufferPointer(record))
            }
        }
    }

    /// Decodes a record, checking the family, prefix, lengths and UTF-8 of the jail name.
    public init(decoding record: UnsafeRawBufferPointer) throws {
        guard record.count > BanDecision.fixedSize else {
            throw MessageFormatError.malformedDecision("record of \(record.count) bytes is shorter than \(BanDecision.fixedSize + 1)")
        }
        guard let family = NetworkAddress.Family(rawValue: record[0]) else {
            throw MessageFormatError.malformedDecision("unknown address family \(record[0])")
        }
        let nameLength = Int(record[2])
        guard record.count == BanDecision.fixedSize + nameLength, nameLength > 0 else {
            throw MessageFormatError.malformedDecision("jail name length \(nameLength) does not match record of \(record.count) bytes")
        }
        guard let address = NetworkAddress(family: family, bytes: Array(record[4..<20]), prefixLength: record[1]) else {
            throw MessageFormatError.malformedDecision("invalid \(family) address or prefix \(record[1])")
        }
        guard let jail = String(validating: record[BanDecision.fixedSize...], as: UTF8.self) else {
            throw MessageFormatError.malformedDecision("jail name is not valid UTF-8")
        }
        self.init(
            jail: jail, address: address,
            banTime: Int64(littleEndian: record.loadUnaligned(fromByteOffset: 20, as: Int64.self)),
            time: Int64(littleEndian: record.loadUnaligned(fromByteOffset: 28, as: Int64.self)))
    }
}
