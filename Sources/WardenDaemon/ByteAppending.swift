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

    /// `String(number)`'s bytes, without the `String` (a ban's counts and ban time),
    /// written by the same digit-pair writer as `warden regex --json`.
    mutating func append(decimal number: Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: JSONText.integerRoom) { text in
            append(contentsOf: UnsafeBufferPointer(start: text.baseAddress!, count: JSONText.writeInteger(number, to: text.baseAddress!)))
        }
    }

    /// The address's `description` bytes, formatted on the stack.
    mutating func append(address: NetworkAddress) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: NetworkAddress.maximumTextLength) { text in
            append(contentsOf: UnsafeBufferPointer(start: text.baseAddress!, count: address.writeText(to: text.baseAddress!)))
        }
    }
}
