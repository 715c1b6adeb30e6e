import WardenIPC

/// Appends through contiguous UTF-8 in one copy: `+= text.utf8` goes element by element
/// through the generic sequence path, several times per ban in a burst (the NOTICE lines,
/// the ban data JSON).
extension Array where Element == UInt8 {
    mutating func append(literal: StaticString) {
        literal.withUTF8Buffer { append(contentsOf: $0) }
    }

    mutating func append(text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }

    /// `String(number)`'s bytes, without the `String` (a ban's counts and ban time): a
    /// few single-byte appends, no buffer to copy from.
    mutating func append(decimal number: Int) {
        if number < 0 { append(UInt8(ascii: "-")) }
        let magnitude = number.magnitude
        var unit: UInt = 1
        while unit <= magnitude / 10 { unit *= 10 }
        repeat {
            append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude / unit % 10))
            unit /= 10
        } while unit > 0
    }

    /// The address's `description` bytes, formatted on the stack.
    mutating func append(address: NetworkAddress) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: NetworkAddress.maximumTextLength) { text in
            append(contentsOf: UnsafeBufferPointer(start: text.baseAddress!, count: address.writeText(to: text.baseAddress!)))
        }
    }
}
