/// IPv4 addresses as dotted-quad text, read and written without the C string round trip
/// of `inet_pton`/`inet_ntop`: every failure id of the matcher and every ban of the daemon
/// goes through here. The value is the address in host order (`a.b.c.d` is
/// `a << 24 | b << 16 | c << 8 | d`).
public enum IPv4Text {
    /// glibc's `inet_pton(AF_INET, ...)` on UTF-8 bytes: four dot-separated decimal
    /// octets, each at most 255 and without a leading zero; the text ends at a NUL, as in C.
    public static func parse(_ text: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var sawDigit = false
        var octets = 0
        for byte in text {
            if byte == 0 { break }
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                if sawDigit && octet == 0 { return nil }
                octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
                if octet > 255 { return nil }
                if !sawDigit {
                    octets += 1
                    if octets > 4 { return nil }
                    sawDigit = true
                }
            } else if byte == UInt8(ascii: "."), sawDigit {
                if octets == 4 { return nil }
                value = value << 8 | octet
                octet = 0
                sawDigit = false
            } else {
                return nil
            }
        }
        guard octets == 4 else { return nil }
        return value << 8 | octet
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
