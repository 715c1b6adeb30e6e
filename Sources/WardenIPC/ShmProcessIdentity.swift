#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization

/// Who owns a writer region, a consumer member or the registry lock: the PID in the low
/// 32 bits and the low 32 bits of the process start time (clock ticks since boot) above
/// it, so a recycled PID is not mistaken for the process that died. Never zero.
struct ShmProcessIdentity: Equatable {
    let rawValue: UInt64

    init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The calling process, read fresh each time: a forked child must not inherit its
    /// parent's identity.
    static func current() -> ShmProcessIdentity {
        let pid = getpid()
        let start = startTime(of: pid) ?? 0
        return ShmProcessIdentity(rawValue: UInt64(UInt32(bitPattern: pid)) | UInt64(start) << 32)
    }

    var pid: pid_t { pid_t(bitPattern: UInt32(truncatingIfNeeded: rawValue)) }

    /// False once the process exited (including a zombie not yet reaped) or its PID now
    /// belongs to another process.
    var isAlive: Bool {
        guard pid > 0, let start = Self.startTime(of: pid) else { return false }
        return UInt64(start) == rawValue >> 32
    }

    /// Field 22 of /proc/<pid>/stat, or nil when the process is gone or a zombie.
    private static func startTime(of pid: pid_t) -> UInt32? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var text = [UInt8](repeating: 0, count: 1024)
        let count = text.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard count > 0 else { return nil }
        // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
        guard let nameEnd = text[0..<count].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var field = 2
        var index = nameEnd + 1
        var state: UInt8 = 0
        var value: UInt64 = 0
        while index < count {
            let byte = text[index]
            if byte == UInt8(ascii: " ") {
                if field == 22 { break }
                field += 1
                value = 0
            } else if field == 3 {
                state = byte
            } else if field == 22, byte >= 48, byte <= 57 {
                value = value &* 10 &+ UInt64(byte - 48)
            }
            index += 1
        }
        guard field == 22, state != UInt8(ascii: "Z"), state != UInt8(ascii: "X") else { return nil }
        return UInt32(truncatingIfNeeded: value)
    }
}

/// Blocking on and signalling a futex word inside the segment.
enum ShmFutex {
    /// Sleeps while the word still holds `expected`. Returns false on timeout.
    @discardableResult
    static func wait(_ word: UnsafeMutablePointer<UInt32>, expected: UInt32, timeoutNanoseconds: Int? = nil) -> Bool {
        guard let timeoutNanoseconds else {
            _ = warden_futex_wait(word, expected, nil)
            return true
        }
        var timeout = timespec(tv_sec: timeoutNanoseconds / 1_000_000_000, tv_nsec: timeoutNanoseconds % 1_000_000_000)
        return warden_futex_wait(word, expected, &timeout) == 0 || errno != ETIMEDOUT
    }

    static func wakeAll(_ word: UnsafeMutablePointer<UInt32>) { _ = warden_futex_wake(word, Int32.max) }
    static func wakeOne(_ word: UnsafeMutablePointer<UInt32>) { _ = warden_futex_wake(word, 1) }
}
