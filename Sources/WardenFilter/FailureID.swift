#if canImport(Glibc)
import Glibc
#endif
import IPv4Text

/// The identifier a failure is counted under, normalised as fail2ban's `IPAddr` does.
///
/// Addresses are parsed with `inet_pton` and printed with `inet_ntop` (so IPv6 is
/// compressed and lower-case), an IPv4-mapped IPv6 address becomes IPv4, a `cidr`
/// group masks the address and adds `/len`. Text that does not parse stays as written
/// (`invalid`), and so does every id in raw mode (`raw`).
public struct FailureID: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case ipv4, ipv6
        /// Not an address (a failure id such as a user or session), kept verbatim.
        case raw
        /// Meant as an address but not one `inet_pton` accepts (e.g. `192.030.0.6`).
        case invalid
        /// A host name from a `dns` group, to be resolved by the caller unless usedns is raw/no.
        case hostname
    }

    public let kind: Kind
    /// The address in host order when the id is a whole IPv4 address the matcher
    /// parsed from its captured bytes, so that the jail does not parse `text` again;
    /// nil otherwise (also for such an address built from `text`). Derived from `text`,
    /// so it takes no part in equality.
    public let ipv4Value: UInt32?
    /// Addresses parsed from captured bytes (most ids) keep those bytes: making their
    /// `String` (~200 instructions) when the matcher found them was wasted on callers
    /// that only write the bytes out (`withUTF8`), and so was printing the value again.
    private let storage: Text

    private enum Text: Sendable {
        case string(String)
        case dottedQuad(DottedQuadText)
    }

    /// The id as text; made on each call when it is an address parsed from bytes.
    public var text: String {
        switch storage {
        case .string(let text): return text
        case .dottedQuad(let text): return text.withUTF8 { String(decoding: $0, as: UTF8.self) }
        }
    }

    public var description: String { text }

    public init(text: String, kind: Kind) {
        self.kind = kind
        self.ipv4Value = nil
        self.storage = .string(text)
    }

    /// A whole IPv4 address and its text, at most 15 bytes.
    private init(ipv4 value: UInt32, text: UnsafeBufferPointer<UInt8>) {
        kind = .ipv4
        ipv4Value = value
        storage = .dottedQuad(DottedQuadText(text))
    }

    /// Calls `body` with the text as UTF-8, without making a `String` for an address
    /// parsed from bytes.
    public func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        switch storage {
        case .string(let text):
            if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
            var copy = text
            return copy.withUTF8(body)
        case .dottedQuad(let text):
            return text.withUTF8(body)
        }
    }

    public static func == (lhs: FailureID, rhs: FailureID) -> Bool {
        guard lhs.kind == rhs.kind else { return false }
        if case .dottedQuad(let left) = lhs.storage, case .dottedQuad(let right) = rhs.storage { return left == right }
        return lhs.text == rhs.text
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(text)
        hasher.combine(kind)
    }

    /// Which families to try; fail2ban restricts `ip4`/`ip6` groups to their own family.
    public enum Family: Sendable { case ipv4, ipv6, any }

    /// `address(_:family:prefixLength:)` on UTF-8 bytes (a captured group): a whole IPv4
    /// address, the common case, is parsed without making a `String` to parse.
    public static func address(bytes: UnsafeBufferPointer<UInt8>, family: Family, prefixLength: Int? = nil) -> FailureID {
        // A whole address without a NUL (where C stops reading) prints as it was
        // written: `IPv4Text.parse` takes canonical text only (no leading zeros).
        if family == .ipv4, prefixLength == nil, let parsed = IPv4Text.parseAddress(bytes), parsed.length == bytes.count {
            return FailureID(ipv4: parsed.value, text: bytes)
        }
        return otherAddress(bytes: bytes, family: family, prefixLength: prefixLength)
    }

    /// Through `memchr`: `contains(0)` went byte by byte, ~60 instructions an id.
    private static func containsNUL(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return false }
        return memchr(base, 0, bytes.count) != nil
    }

    /// `address(bytes:family:prefixLength:)` past its IPv4 case, out of line so that the
    /// IPv4 case stays small enough to inline into the matcher. A whole IPv6 address goes
    /// to inet_pton from a stack copy: the `String` path made three strings per address.
    @inline(never)
    private static func otherAddress(bytes: UnsafeBufferPointer<UInt8>, family: Family, prefixLength: Int?) -> FailureID {
        if family == .ipv6, prefixLength == nil, let v6 = parseIPv6(bytes) { return host(v6) }
        return address(String(decoding: bytes, as: UTF8.self), family: family, prefixLength: prefixLength)
    }

    /// Parses `text` as fail2ban's `IPAddr(text, cidr)`. With `family == .any` (an id
    /// of unknown shape), brackets are stripped and a `/len` or `/mask` suffix is honoured.
    public static func address(_ text: String, family: Family, prefixLength: Int? = nil) -> FailureID {
        var candidate = Substring(text)
        var prefix = prefixLength
        if family == .any, prefix == nil {
            if candidate.count > 2, candidate.first == "[", candidate.last == "]" {
                candidate = candidate.dropFirst().dropLast()
            }
            if let slash = candidate.firstIndex(of: "/") {
                let suffix = candidate[candidate.index(after: slash)...]
                guard let length = prefixLengthValue(suffix) else { return FailureID(text: text, kind: .invalid) }
                prefix = length
                candidate = candidate[..<slash]
            }
        }
        if family != .ipv6, var v4 = parseIPv4(candidate) {
            var length = 32
            if let prefix, prefix >= 0 {
                length = min(prefix, 32)
                v4 &= length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length)
            }
            // inet_pton4 takes canonical text only (no leading zeros), so a whole
            // address without a NUL (where C stops reading) prints as it was written.
            if length == 32, !candidate.utf8.contains(0) {
                return FailureID(text: candidate.utf8.count == text.utf8.count ? text : String(candidate), kind: .ipv4)
            }
            return FailureID(text: length > 0 ? IPv4Text.format(v4) + "/\(length)" : IPv4Text.format(v4), kind: .ipv4)
        }
        if family != .ipv4, var v6 = parseIPv6(String(candidate)) {
            if let prefix, prefix >= 0 {
                let length = min(prefix, 128)
                v6 = mask(v6, length: length)
                return FailureID(text: formatIPv6(v6) + (length > 0 && length < 128 ? "/\(length)" : ""), kind: .ipv6)
            }
            return host(v6)
        }
        return FailureID(text: text, kind: .invalid)
    }

    /// Whether an expected id string (as fail2ban's sample files write it) denotes this
    /// id, with fail2ban's comparison: raw ids compare as text, others after parsing both.
    public func matches(expected: String) -> Bool {
        switch kind {
        case .raw, .hostname: return text == expected
        case .invalid:
            let other = FailureID.address(expected, family: .any)
            return other.kind == .invalid && other.text == text
        case .ipv4, .ipv6:
            let other = FailureID.address(expected, family: .any)
            return other.kind == kind && other.text == text
        }
    }

    private static func prefixLengthValue(_ suffix: Substring) -> Int? {
        if let length = Int(suffix), length >= 0 { return length }
        // A dotted or colon mask: count its leading one bits.
        if let v4 = parseIPv4(suffix) { return v4.leadingZeroBitCount == 0 ? (~v4).leadingZeroBitCount : 0 }
        if let v6 = parseIPv6(String(suffix)) {
            let high = (~v6.0).leadingZeroBitCount
            return high == 64 ? 64 + (~v6.1).leadingZeroBitCount : high
        }
        return nil
    }

    private static func parseIPv4(_ text: Substring) -> UInt32? {
        var text = text
        return text.withUTF8 { IPv4Text.parse($0) }
    }

    /// A whole IPv6 address; `::ffff:a.b.c.d` is the IPv4 host a.b.c.d.
    private static func host(_ v6: (UInt64, UInt64)) -> FailureID {
        if v6.0 == 0, v6.1 >> 32 == 0xFFFF {
            return FailureID(text: IPv4Text.format(UInt32(truncatingIfNeeded: v6.1)), kind: .ipv4)
        }
        return FailureID(text: formatIPv6(v6), kind: .ipv6)
    }

    private static func parseIPv6(_ text: String) -> (UInt64, UInt64)? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return value(of: &address)
    }

    /// `parseIPv6` on bytes, through a NUL-terminated copy on the stack. Nil also for
    /// bytes holding a NUL or too long to be an address, which the `String` path parses
    /// as C does (up to the NUL) or rejects.
    private static func parseIPv6(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        guard bytes.count < Int(INET6_ADDRSTRLEN), let base = bytes.baseAddress, !containsNUL(bytes) else { return nil }
        var address = in6_addr()
        let parsed = withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { buffer in
            UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: base, byteCount: bytes.count)
            buffer[bytes.count] = 0
            return inet_pton(AF_INET6, buffer.baseAddress!, &address) == 1
        }
        return parsed ? value(of: &address) : nil
    }

    private static func value(of address: inout in6_addr) -> (UInt64, UInt64) {
        withUnsafeBytes(of: &address) { raw in
            var high: UInt64 = 0
            var low: UInt64 = 0
            for index in 0..<8 { high = high << 8 | UInt64(raw[index]) }
            for index in 8..<16 { low = low << 8 | UInt64(raw[index]) }
            return (high, low)
        }
    }

    private static func mask(_ value: (UInt64, UInt64), length: Int) -> (UInt64, UInt64) {
        let highMask: UInt64 = length >= 64 ? ~0 : (length == 0 ? 0 : ~UInt64(0) << UInt64(64 - length))
        let lowMask: UInt64 = length <= 64 ? 0 : (length >= 128 ? ~0 : ~UInt64(0) << UInt64(128 - length))
        return (value.0 & highMask, value.1 & lowMask)
    }

    /// `inet_ntop`'s text for an IPv6 address, written here: glibc's prints each word with
    /// `sprintf`, ~3,400 instructions an address. Its rules: the longest run of two or
    /// more zero words (the first of equal ones) becomes `::`; words are lower-case hex
    /// without leading zeros; after a leading run of six zero words, or of five and
    /// `ffff`, the last two words are a dotted quad.
    static func formatIPv6(_ value: (UInt64, UInt64)) -> String {
        func word(_ index: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (index < 4 ? value.0 : value.1) >> UInt64(48 - 16 * (index & 3)))
        }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8, word(index) == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { (bestStart, bestLength) = (runStart, index - runStart) }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(INET6_ADDRSTRLEN)) { text in
            var count = 0
            var index = 0
            while index < 8 {
                if index == bestStart {
                    text[count] = UInt8(ascii: ":")
                    count += 1
                    index += bestLength
                    // A run at the end closes with a second colon.
                    if index == 8 {
                        text[count] = UInt8(ascii: ":")
                        count += 1
                    }
                    continue
                }
                if index != 0 {
                    text[count] = UInt8(ascii: ":")
                    count += 1
                }
                if index == 6, bestStart == 0, bestLength == 6 || (bestLength == 5 && word(5) == 0xFFFF) {
                    count += IPv4Text.write(UInt32(truncatingIfNeeded: value.1), to: text.baseAddress! + count)
                    break
                }
                let value = word(index)
                var shift = max(0, (15 - value.leadingZeroBitCount) / 4 * 4)
                while shift >= 0 {
                    let digit = UInt8(truncatingIfNeeded: value >> UInt16(shift)) & 0xF
                    text[count] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                    count += 1
                    shift -= 4
                }
                index += 1
            }
            return String(decoding: UnsafeBufferPointer(rebasing: text[0..<count]), as: UTF8.self)
        }
    }
}

/// Up to 15 bytes of text held in two words, its length in the last byte: an IPv4 id's
/// text without a `String` (no allocation, no UTF-8 validation, no reference count).
private struct DottedQuadText: Sendable, Equatable {
    private var words: (UInt64, UInt64) = (0, 0)

    /// `text` is a dotted quad, 7 to 15 bytes: copied as two overlapping words, each
    /// 4 or 8 bytes, rather than by a `memcpy` call for so few bytes.
    init(_ text: UnsafeBufferPointer<UInt8>) {
        let count = text.count
        precondition(count >= 7 && count < MemoryLayout<(UInt64, UInt64)>.size)
        let source = UnsafeRawPointer(text.baseAddress!)
        withUnsafeMutableBytes(of: &words) { raw in
            if count >= 8 {
                raw.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
                raw.storeBytes(of: source.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self), toByteOffset: count - 8, as: UInt64.self)
            } else {
                raw.storeBytes(of: source.loadUnaligned(as: UInt32.self), as: UInt32.self)
                raw.storeBytes(of: source.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self), toByteOffset: count - 4, as: UInt32.self)
            }
            raw[raw.count - 1] = UInt8(count)
        }
    }

    func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        withUnsafeBytes(of: words) { raw in
            body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: Int(raw[raw.count - 1])))
        }
    }

    static func == (lhs: DottedQuadText, rhs: DottedQuadText) -> Bool { lhs.words == rhs.words }
}
