#if canImport(Glibc)
import Glibc
#endif

/// A growable byte buffer for per-line scratch that is never shared: appends are a
/// `memcpy` and clearing is setting the count, with none of `Array`'s copy-on-write
/// checks or generic range replacement (which cost more than the bytes they move when a
/// subject is rebuilt for every line).
///
/// `bytes` is valid until the next mutation.
final class ScratchBytes {
    private(set) var count = 0
    private var capacity: Int
    private var storage: UnsafeMutablePointer<UInt8>

    init(capacity: Int = 1024) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    deinit { storage.deallocate() }

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: storage, count: count) }

    @inline(__always)
    func removeAll() { count = 0 }

    /// Keeps the first `length` bytes.
    @inline(__always)
    func truncate(_ length: Int) { count = min(count, length) }

    @inline(__always)
    func append(_ more: UnsafeBufferPointer<UInt8>) {
        guard let source = more.baseAddress, !more.isEmpty else { return }
        if count + more.count > capacity { grow(count + more.count) }
        (storage + count).update(from: source, count: more.count)
        count += more.count
    }

    func append(_ byte: UInt8) {
        if count == capacity { grow(count + 1) }
        storage[count] = byte
        count += 1
    }

    /// Out of line: buffers reach their size within the first lines.
    @inline(never)
    private func grow(_ needed: Int) {
        var grown = capacity * 2
        while grown < needed { grown *= 2 }
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        larger.update(from: storage, count: count)
        storage.deallocate()
        storage = larger
        capacity = grown
    }
}
