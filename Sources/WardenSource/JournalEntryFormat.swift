import CSystemd

/// Renders the journal entry `journal` points at as the line fail2ban's systemd backend
/// hands to its filters (`formatJournalEntry` in fail2ban's filtersystemd.py):
///
///     [_HOSTNAME] SYSLOG_IDENTIFIER|_COMM[[SYSLOG_PID|_PID]]: [kernel: [monotonic s]] MESSAGE
///
/// elements joined by single spaces, newlines written as the two characters `\n`. The
/// bytes are appended as they are stored (the matcher repairs invalid UTF-8 as fail2ban
/// does). The entry's time is `_SOURCE_REALTIME_TIMESTAMP`, else the journal's own.
struct JournalEntryFormat {
    let systemd: SystemdJournal

    /// Appends the line to `line`; returns the entry's realtime in microseconds.
    func append(entryOf journal: OpaquePointer, to line: inout [UInt8]) -> UInt64 {
        let start = line.count
        var elementCount = 0
        func beginElement() {
            if elementCount > 0 { line.append(0x20) }
            elementCount += 1
        }
        if let host = field("_HOSTNAME", of: journal), !host.isEmpty {
            beginElement()
            line.append(contentsOf: host)
        }
        if let identifier = nonEmpty(field("SYSLOG_IDENTIFIER", of: journal)) ?? nonEmpty(field("_COMM", of: journal)) {
            beginElement()
            line.append(contentsOf: identifier)
            let pid = nonEmpty(field("SYSLOG_PID", of: journal)) ?? nonEmpty(field("_PID", of: journal))
            if let pid {
                line.append(UInt8(ascii: "["))
                line.append(contentsOf: pid)
                line.append(UInt8(ascii: "]"))
            }
            line.append(UInt8(ascii: ":"))
            // fail2ban adds the time since boot when the element is exactly "kernel:".
            if pid == nil && identifier.elementsEqual("kernel".utf8) {
                beginElement()
                appendKernelTime(of: journal, to: &line)
            }
        }
        beginElement()
        if let message = field("MESSAGE", of: journal) { line.append(contentsOf: message) }
        escapeNewlines(in: &line, from: start)
        return realtime(of: journal)
    }

    /// `[%12.6f]` of the entry's monotonic time in seconds, as fail2ban prints kernel lines.
    private func appendKernelTime(of journal: OpaquePointer, to line: inout [UInt8]) {
        var microseconds: UInt64 = 0
        if let text = field("_SOURCE_MONOTONIC_TIMESTAMP", of: journal), let value = decimal(text) {
            microseconds = value
        } else {
            _ = systemd.getMonotonic(journal, &microseconds, nil)
        }
        let fraction = String(microseconds % 1_000_000)
        let seconds = "\(microseconds / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
        let digits = String(repeating: " ", count: max(0, 12 - seconds.utf8.count)) + seconds
        line.append(UInt8(ascii: "["))
        line.append(contentsOf: digits.utf8)
        line.append(UInt8(ascii: "]"))
    }

    private func realtime(of journal: OpaquePointer) -> UInt64 {
        if let text = field("_SOURCE_REALTIME_TIMESTAMP", of: journal), let value = decimal(text) { return value }
        var microseconds: UInt64 = 0
        _ = systemd.getRealtime(journal, &microseconds)
        return microseconds
    }

    private func escapeNewlines(in line: inout [UInt8], from start: Int) {
        guard line[start...].contains(0x0A) else { return }
        let escaped = line[start...].flatMap { $0 == 0x0A ? [UInt8(ascii: "\\"), UInt8(ascii: "n")] : [$0] }
        line.replaceSubrange(start..., with: escaped)
    }

    private func nonEmpty(_ value: UnsafeBufferPointer<UInt8>?) -> UnsafeBufferPointer<UInt8>? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }

    private func decimal(_ text: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard !text.isEmpty, text.count <= 19 else { return nil }
        var value: UInt64 = 0
        for byte in text {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + UInt64(byte - 0x30)
        }
        return value
    }

    /// The value of `name` in the current entry (the bytes after `NAME=`), valid until the
    /// journal moves to another entry.
    func field(_ name: StaticString, of journal: OpaquePointer) -> UnsafeBufferPointer<UInt8>? {
        var data: UnsafeRawPointer?
        var length = 0
        // A StaticString literal's storage is NUL-terminated, as the C call needs.
        let found = systemd.getData(journal, UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self), &data, &length)
        let prefix = name.utf8CodeUnitCount + 1
        guard found >= 0, let data, length >= prefix else { return nil }
        return UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self) + prefix, count: length - prefix)
    }
}
