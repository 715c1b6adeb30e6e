#if canImport(Glibc)
import Glibc
#endif
import IPv4Text

/// An IPv4 or IPv6 address with a prefix length: one host (/32, /128) or a network.
public struct NetworkAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Family: UInt8, Sendable { case ipv4 = 4, ipv6 = 6 }

    public let family: Family
    /// Address bytes in network order; IPv4 uses the first 4, the rest are zero.
    public let bytes: [UInt8]
    public let prefixLength: UInt8

    /// Fails for a wrong byte count or a prefix longer than the family allows.
    public init?(family: Family, bytes: [UInt8], prefixLength: UInt8? = nil) {
        let width = family == .ipv4 ? 4 : 16
        let prefix = prefixLength ?? UInt8(width * 8)
        guard bytes.count == width || (bytes.count == 16 && bytes[width...].allSatisfy { $0 == 0 }),
              Int(prefix) <= width * 8 else { return nil }
        self.family = family
        self.bytes = bytes.count == width ? bytes : Array(bytes.prefix(width))
        self.prefixLength = prefix
    }

    /// Parses "192.0.2.1", "2001:db8::1", "192.0.2.0/24" or "2001:db8::/32".
    public init?(_ text: String) {
        // Most ids are a bare IPv4 address: parsed on the string's bytes, no split, no
        // substring copies (a burst parses thousands).
        var text = text
        if let value = text.withUTF8({ IPv4Text.parse($0) }) {
            self.init(ipv4: value, prefixLength: nil)
            return
        }
        var prefix: UInt8?
        var host = text
        if let slash = text.utf8.firstIndex(of: UInt8(ascii: "/")) {
            guard let value = UInt8(text[text.index(after: slash)...]) else { return nil }
            prefix = value
            host = String(text[..<slash])
        }
        if let value = host.withUTF8({ IPv4Text.parse($0) }) {
            self.init(ipv4: value, prefixLength: prefix)
            return
        }
        // Parsed on the stack; the one array allocated is the address's own.
        var storage: (UInt64, UInt64) = (0, 0)
        let parsed = withUnsafeMutableBytes(of: &storage) { buffer -> [UInt8]? in
            if inet_pton(AF_INET, host, buffer.baseAddress) == 1 { return Array(buffer.prefix(4)) }
            if inet_pton(AF_INET6, host, buffer.baseAddress) == 1 { return Array(buffer) }
            return nil
        }
        guard let parsed else { return nil }
        self.init(family: parsed.count == 4 ? .ipv4 : .ipv6, bytes: parsed, prefixLength: prefix)
    }

    private init?(ipv4 value: UInt32, prefixLength: UInt8?) {
        self.init(family: .ipv4, bytes: withUnsafeBytes(of: value.bigEndian) { Array($0) }, prefixLength: prefixLength)
    }

    public var isHost: Bool { Int(prefixLength) == bytes.count * 8 }

    public var description: String {
        // Formatted on the stack: the store and the log ask for the text of every ban.
        if family == .ipv4 {
            let text = IPv4Text.format(UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3]))
            return isHost ? text : "\(text)/\(prefixLength)"
        }
        let address = withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { text in
            text[0] = 0
            _ = bytes.withUnsafeBytes { source in
                inet_ntop(family == .ipv4 ? AF_INET : AF_INET6, source.baseAddress, text.baseAddress, socklen_t(text.count))
            }
            return String(cString: text.baseAddress!)
        }
        return isHost ? address : "\(address)/\(prefixLength)"
    }
}

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
                address.bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: record[4...]).copyMemory(from: $0) }
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
