#if canImport(Glibc)
import Glibc
#endif

/// Substring search on bytes for the literal prefilter: memchr (vectorised in glibc)
/// finds candidates for the first byte, memcmp confirms. glibc's memmem is not
/// visible to Swift without _GNU_SOURCE.
enum ByteSearch {
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        needle.withUnsafeBufferPointer { contains(haystack, $0) }
    }

    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let needleBase = needle.baseAddress, let first = needle.first else { return true }
        guard let base = haystack.baseAddress, haystack.count >= needle.count else { return false }
        // Wrapping arithmetic: offsets within one buffer cannot overflow.
        let lastStart = haystack.count &- needle.count
        var offset = 0
        while offset <= lastStart {
            guard let hit = memchr(base + offset, Int32(first), lastStart &- offset &+ 1) else { return false }
            let position = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
            if memcmp(base + position, needleBase, needle.count) == 0 { return true }
            offset = position &+ 1
        }
        return false
    }
}
