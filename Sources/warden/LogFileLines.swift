#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole log file in large blocks and hands out its lines as byte slices of the
/// read buffer, without the line ending (`\n`, and any `\r` before it, as fail2ban strips
/// them). No per-line allocation: a line is copied only when it spans two blocks.
struct LogFileLines {
    struct OpenError: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "cannot read \(path): \(reason)" }
    }

    let path: String
    let size: Int
    private let descriptor: Int32
    private let blockSize: Int

    init(path: String, blockSize: Int = 1 << 20) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw OpenError(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        fstat(descriptor, &info)
        guard (info.st_mode & S_IFMT) != S_IFDIR else {
            close(descriptor)
            throw OpenError(path: path, reason: "is a directory")
        }
        self.path = path
        self.size = Int(info.st_size)
        self.blockSize = blockSize
    }

    /// Calls `body` with each line, its 1-based number and the bytes read so far.
    func forEach(_ body: (UnsafeBufferPointer<UInt8>, Int, Int) -> Void) throws {
        defer { close(descriptor) }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: blockSize)
        defer { buffer.deallocate() }
        var carry: [UInt8] = []
        var lineNumber = 0
        var consumed = 0
        while true {
            let count = read(descriptor, buffer, blockSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw OpenError(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            consumed += count
            var start = 0
            while start < count {
                guard let newline = memchr(buffer + start, 0x0A, count - start) else {
                    carry.append(contentsOf: UnsafeBufferPointer(start: buffer + start, count: count - start))
                    break
                }
                let end = buffer.distance(to: newline.assumingMemoryBound(to: UInt8.self))
                lineNumber += 1
                if carry.isEmpty {
                    body(Self.trimmed(UnsafeBufferPointer(start: buffer + start, count: end - start)), lineNumber, consumed)
                } else {
                    carry.append(contentsOf: UnsafeBufferPointer(start: buffer + start, count: end - start))
                    carry.withUnsafeBufferPointer { body(Self.trimmed($0), lineNumber, consumed) }
                    carry.removeAll(keepingCapacity: true)
                }
                start = end + 1
            }
        }
        if !carry.isEmpty {
            lineNumber += 1
            carry.withUnsafeBufferPointer { body(Self.trimmed($0), lineNumber, consumed) }
        }
    }

    private static func trimmed(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var count = line.count
        while count > 0, line[count - 1] == 0x0D || line[count - 1] == 0x0A { count -= 1 }
        return UnsafeBufferPointer(rebasing: line[0..<count])
    }
}
