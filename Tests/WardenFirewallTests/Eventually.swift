import Glibc

/// Re-checks `condition` until it holds or `attempts` run out, sleeping `interval` between
/// tries: for kernel-side events (expiry) that give no notification.
func eventually(attempts: Int = 100, interval: Double = 0.1, _ condition: () throws -> Bool) rethrows -> Bool {
    for _ in 0..<attempts {
        if try condition() { return true }
        usleep(UInt32(interval * 1_000_000))
    }
    return try condition()
}
