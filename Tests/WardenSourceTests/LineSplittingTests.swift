import Foundation
import Testing
@testable import WardenSource

@Suite("LineSplitting")
struct LineSplittingTests {
    private func tail(_ directory: TemporaryDirectory, maxLineLength: Int = 64 * 1024, _ body: (String, LineCollector, LogTailer) throws -> Void) throws {
        let path = directory.file("app.log")
        var configuration = LogTailerConfiguration(paths: [path])
        configuration.fromStart = true
        configuration.maxLineLength = maxLineLength
        configuration.readBufferSize = 4096
        let collector = LineCollector()
        let tailer = try LogTailer(configuration: configuration, diagnostics: { _ in }) { collector.consume($0) }
        try body(path, collector, tailer)
        tailer.stop()
    }

    private func append(_ path: String, _ bytes: [UInt8]) {
        let descriptor = LogWriter.open(path)
        bytes.withUnsafeBufferPointer { _ = write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }

    @Test func partialLineIsHeldUntilItsNewline() throws {
        let directory = TemporaryDirectory()
        try tail(directory) { path, collector, tailer in
            append(path, Array("first\nsec".utf8))
            try tailer.start()
            collector.wait { $0.count == 1 }
            append(path, Array("ond\r\nthird\n".utf8))
            collector.wait { $0.count == 3 }
            #expect(collector.lines == ["first", "second", "third"])
        }
    }

    @Test func nulBytesAndInvalidUTF8PassThroughAsBytes() throws {
        let directory = TemporaryDirectory()
        try tail(directory) { path, _, tailer in
            let bytesSeen = LockedBytes()
            let configuration = tailer.configuration
            let raw = try LogTailer(configuration: configuration, diagnostics: { _ in }) { batch in
                for line in batch { bytesSeen.append(Array(line.bytes)) }
            }
            append(path, [0x61, 0x00, 0x62, 0x0A, 0xFF, 0xFE, 0xC3, 0x0A])
            try raw.start()
            bytesSeen.wait(count: 2)
            raw.stop()
            #expect(bytesSeen.lines == [[0x61, 0x00, 0x62], [0xFF, 0xFE, 0xC3]])
        }
    }

    @Test func overlongLineIsCutCountedAndTheNextLineSurvives() throws {
        let directory = TemporaryDirectory()
        try tail(directory, maxLineLength: 1000) { path, collector, tailer in
            // 10 MB without a newline, then its newline and a normal line.
            append(path, [UInt8](repeating: 0x78, count: 10_000_000))
            try tailer.start()
            append(path, Array("\nafter\n".utf8))
            collector.wait { $0.last == "after" }
            #expect(collector.lines.count == 2)
            #expect(collector.lines[0].utf8.count == 1000)
            #expect(tailer.statistics.cutLines == 1)
        }
    }

    @Test func missingFileIsPickedUpWhenItAppears() throws {
        let directory = TemporaryDirectory()
        let warnings = LockedBytes()
        let path = directory.file("late.log")
        let collector = LineCollector()
        let tailer = try LogTailer(configuration: LogTailerConfiguration(paths: [path]), diagnostics: { warnings.append(Array($0.utf8)) }) { collector.consume($0) }
        try tailer.start()
        append(path, Array("hello\n".utf8))
        collector.wait { $0.count == 1 }
        tailer.stop()
        #expect(collector.lines == ["hello"])
        #expect(warnings.lines.contains { String(decoding: $0, as: UTF8.self).contains("does not exist yet") })
    }

    @Test func globPicksUpNewMatchingFiles() throws {
        let directory = TemporaryDirectory()
        let collector = LineCollector()
        append(directory.file("a.log"), Array("old\n".utf8))
        let tailer = try LogTailer(configuration: LogTailerConfiguration(paths: [directory.file("*.log")]), diagnostics: { _ in }) { collector.consume($0) }
        try tailer.start()
        append(directory.file("b.log"), Array("from b\n".utf8))
        append(directory.file("b.txt"), Array("not matched\n".utf8))
        append(directory.file("a.log"), Array("from a\n".utf8))
        collector.wait { $0.count == 2 }
        tailer.stop()
        #expect(Set(collector.lines) == ["from a", "from b"])
    }
}

final class LockedBytes: @unchecked Sendable {
    private let lock = NSCondition()
    private var storage: [[UInt8]] = []
    func append(_ bytes: [UInt8]) { lock.lock(); storage.append(bytes); lock.broadcast(); lock.unlock() }
    var lines: [[UInt8]] { lock.lock(); defer { lock.unlock() }; return storage }
    func wait(count: Int) {
        lock.lock(); defer { lock.unlock() }
        let deadline = Date().addingTimeInterval(60)
        while storage.count < count, lock.wait(until: deadline) {}
    }
}
