#if canImport(Glibc)
import Glibc
#endif
import IPv4Text

/// An IPv4 or IPv6 address with a prefix length: one host (/32, /128) or a network.
///
/// The 16 address bytes are kept inline rather than in an array: the matching thread
/// makes one per failure and the ban path copies, hashes and compares them.
public struct NetworkAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Family: UInt8, Sendable { case ipv4 = 4, ipv6 = 6 }

    public let family: Family
    public let prefixLength: UInt8
    /// Network order; IPv4 uses the first 4 bytes, the rest are zero.
    private let octets: (UInt64, UInt64)

    /// Fails for a wrong byte count or a prefix longer than the family allows.
    public init?(family: Family, bytes: [UInt8], prefixLength: UInt8? = nil) {
        let width = family == .ipv4 ? 4 : 16
        let prefix = prefixLength ?? UInt8(width * 8)
        guard bytes.count == width || (bytes.count == 16 && bytes[width...].allSatisfy { $0 == 0 }),
              Int(prefix) <= width * 8 else { return nil }
        var octets: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &octets) { $0.copyBytes(from: bytes.prefix(width)) }
        self.init(family: family, prefixLength: prefix, octets: octets)
    }

    /// Parses "192.0.2.1", "2001:db8::1", "192.0.2.0/24" or "2001:db8::/32".
    public init?(_ text: String) {
        // Most ids are a bare IPv4 address: parsed on the string's bytes, no split, no
        // substring copies (a burst parses thousands).
        var text = text
        if let value = text.withUTF8({ IPv4Text.parse($0) }) {
            self.init(ipv4: value, prefixLength: 32)
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
            guard (prefix ?? 32) <= 32 else { return nil }
            self.init(ipv4: value, prefixLength: prefix ?? 32)
            return
        }
        var octets: (UInt64, UInt64) = (0, 0)
        guard withUnsafeMutableBytes(of: &octets, { inet_pton(AF_INET6, host, $0.baseAddress) }) == 1,
              (prefix ?? 128) <= 128 else { return nil }
        self.init(family: .ipv6, prefixLength: prefix ?? 128, octets: octets)
    }

    /// An IPv4 address in host order (`a.b.c.d` is `a << 24 | b << 16 | c << 8 | d`).
    public init(ipv4 value: UInt32, prefixLength: UInt8 = 32) {
        var octets: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &octets) { $0.storeBytes(of: value.bigEndian, as: UInt32.self) }
        self.init(family: .ipv4, prefixLength: prefixLength, octets: octets)
    }

    private init(family: Family, prefixLength: UInt8, octets: (UInt64, UInt64)) {
        self.family = family
        self.prefixLength = prefixLength
        self.octets = octets
    }

    /// The address bytes (4 or 16), network order.
    public var bytes: [UInt8] { withBytes { Array($0) } }

    /// Calls `body` with the address bytes (4 or 16), network order, without an array.
    public func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let count = family == .ipv4 ? 4 : 16
        // Not through a local `var` copy and `&`: in release builds the optimizer let
        // `writeText` (called inside `withUnsafeTemporaryAllocation`) read that copy's
        // stack slot after it was reused, so every ban's stored address text was garbage.
        return try withUnsafeBytes(of: octets) { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    public var isHost: Bool { Int(prefixLength) == (family == .ipv4 ? 32 : 128) }

    public var description: String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maximumTextLength) { text in
            String(decoding: UnsafeBufferPointer(start: text.baseAddress!, count: writeText(to: text.baseAddress!)), as: UTF8.self)
        }
    }

    /// The longest `description`: 45 characters of IPv6 text (INET6_ADDRSTRLEN counts
    /// the NUL) and "/128".
    public static let maximumTextLength = Int(INET6_ADDRSTRLEN) - 1 + 4

    /// Writes `description` (`192.0.2.1`, `2001:db8::/64`) at `text`, which has room for
    /// `maximumTextLength` bytes, and returns its length: the store row and the NOTICE
    /// line of every ban are written from it without a `String`.
    public func writeText(to text: UnsafeMutablePointer<UInt8>) -> Int {
        var count: Int
        if family == .ipv4 {
            count = IPv4Text.write(withBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) }, to: text)
        } else {
            count = text.withMemoryRebound(to: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { characters in
                characters[0] = 0
                _ = withBytes { inet_ntop(AF_INET6, $0.baseAddress, characters, socklen_t(INET6_ADDRSTRLEN)) }
                return strlen(characters)
            }
        }
        if !isHost {
            text[count] = UInt8(ascii: "/")
            count += 1 + IPv4Text.write(decimal: prefixLength, to: text + count + 1)
        }
        return count
    }

    public static func == (lhs: NetworkAddress, rhs: NetworkAddress) -> Bool {
        lhs.family == rhs.family && lhs.prefixLength == rhs.prefixLength
            && lhs.octets.0 == rhs.octets.0 && lhs.octets.1 == rhs.octets.1
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(family)
        hasher.combine(prefixLength)
        hasher.combine(octets.0)
        hasher.combine(octets.1)
    }
}
