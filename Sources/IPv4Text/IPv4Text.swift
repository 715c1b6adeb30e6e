/// IPv4 addresses as dotted-quad text, read and written without the C string round trip
/// of `inet_pton`/`inet_ntop`: every failure id of the matcher and every ban of the daemon
/// goes through here. The value is the address in host order (`a.b.c.d` is
/// `a << 24 | b << 16 | c << 8 | d`).
public enum IPv4Text {
    /// glibc's `inet_pton(AF_INET, ...)` on UTF-8 bytes: four dot-separated decimal
    /// octets, each at most 255 and without a leading zero; the text ends at a NUL, as in C.
    ///
    /// An octet at a time rather than a byte at a time with state flags: the matcher
    /// parses every IPv4 id it reports, and the flags' tests cost ~18 instructions a byte.
    public static func parse(_ text: UnsafeBufferPointer<UInt8>) -> UInt32? {
        parseAddress(text)?.value
    }

    /// `parse` with the length of the address text, which is short of `text.count` when
    /// it ended at a NUL: a caller that needs the whole text to be the address checks
    /// that instead of searching the text for a NUL.
    public static func parseAddress(_ text: UnsafeBufferPointer<UInt8>) -> (value: UInt32, length: Int)? {
        guard let base = text.baseAddress else { return nil }
        let count = text.count
        var index = 0
        var value: UInt32 = 0
        for octetIndex in 0..<4 {
            if octetIndex > 0 {
                guard index < count, base[index] == UInt8(ascii: ".") else { return nil }
                index += 1
            }
            guard index < count, let first = digit(base[index]) else { return nil }
            index += 1
            var octet = first
            // A leading zero is an octet of its own: a digit after it is rejected below.
            if first != 0 {
                while index < count, let next = digit(base[index]) {
                    octet = octet &* 10 &+ next
                    if octet > 255 { return nil }
                    index += 1
                }
            }
            value = value << 8 | octet
        }
        guard index == count || base[index] == 0 else { return nil }
        return (value, index)
    }

    @inline(__always)
    private static func digit(_ byte: UInt8) -> UInt32? {
        let value = byte &- UInt8(ascii: "0")
        return value < 10 ? UInt32(value) : nil
    }

    /// `a.b.c.d`, as `inet_ntop` writes it.
    public static func format(_ value: UInt32) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 15) { text in
            String(decoding: UnsafeBufferPointer(start: text.baseAddress!, count: write(value, to: text.baseAddress!)),
                   as: UTF8.self)
        }
    }

    /// Writes `a.b.c.d` (at most 15 bytes) at `text`; returns its length.
    public static func write(_ value: UInt32, to text: UnsafeMutablePointer<UInt8>) -> Int {
        var count = 0
        for shift in stride(from: 24, through: 0, by: -8) {
            if shift != 24 {
                text[count] = UInt8(ascii: ".")
                count += 1
            }
            count += write(decimal: UInt8(truncatingIfNeeded: value >> UInt32(shift)), to: text + count)
        }
        return count
    }

    /// Writes `number` in decimal (at most 3 bytes) at `text`; returns its length. Also
    /// the prefix length of a network's text.
    public static func write(decimal number: UInt8, to text: UnsafeMutablePointer<UInt8>) -> Int {
        var count = 0
        if number >= 100 {
            text[count] = UInt8(ascii: "0") + number / 100
            count += 1
        }
        if number >= 10 {
            text[count] = UInt8(ascii: "0") + number / 10 % 10
            count += 1
        }
        text[count] = UInt8(ascii: "0") + number % 10
        return count + 1
    }
}
