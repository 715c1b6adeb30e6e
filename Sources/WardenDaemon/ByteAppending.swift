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
}
