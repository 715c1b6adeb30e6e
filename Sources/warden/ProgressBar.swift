#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on standard error, drawn only when standard error is a
/// terminal and the work is large enough to be worth watching.
struct ProgressBar {
    private let total: Int
    private let enabled: Bool
    private var lastPercent = -1

    init(total: Int, minimumTotal: Int = 8 << 20) {
        self.total = max(total, 1)
        enabled = isatty(STDERR_FILENO) == 1 && total >= minimumTotal
    }

    mutating func update(done: Int) {
        guard enabled else { return }
        let percent = min(100, done * 100 / total)
        guard percent != lastPercent else { return }
        lastPercent = percent
        let width = 40
        let filled = percent * width / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        Self.writeToStandardError("\r[\(bar)] \(percent)%")
    }

    func finish() {
        guard enabled, lastPercent >= 0 else { return }
        Self.writeToStandardError("\r" + String(repeating: " ", count: 50) + "\r")
    }

    private static func writeToStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        _ = write(STDERR_FILENO, &bytes, bytes.count)
    }
}
