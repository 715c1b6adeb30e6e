import Foundation
import Testing
@testable import WardenSource

@Suite("Restart", .serialized)
struct RestartTests {
    /// Stops and restarts the tailer at random points while lines are written and the log
    /// is rotated (rename and create; at most one rotation while stopped), with positions in
    /// a file: across all runs every line arrives once, in order.
    @Test func randomStopsNeitherLoseNorRepeatLines() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("app.log")
        var writer = LogWriter(path: path)
        var configuration = LogTailerConfiguration(paths: [path])
        configuration.fromStart = true
        configuration.positionStore = PositionFile(path: directory.file("positions.json"))
        let collector = LineCollector()
        var random = SystemRandomNumberGenerator()
        var tailer: LogTailer? = try LogTailer(configuration: configuration, diagnostics: { _ in }) { collector.consume($0) }
        try tailer?.start()
        var restarts = 0
        var rotations = 0
        for round in 0..<200 {
            writer.write(Int.random(in: 0...300, using: &random))
            if Int.random(in: 0..<5, using: &random) == 0 {
                rename(path, directory.file("app.log.\(round)"))
                close(LogWriter.open(path))
                writer.write(Int.random(in: 0...50, using: &random))
                writer.reopen(path)
                rotations += 1
                if tailer == nil {
                    tailer = try LogTailer(configuration: configuration, diagnostics: { _ in }) { collector.consume($0) }
                    try tailer?.start()
                }
            }
            if Bool.random(using: &random) {
                if let running = tailer { running.stop(); tailer = nil } else {
                    tailer = try LogTailer(configuration: configuration, diagnostics: { _ in }) { collector.consume($0) }
                    try tailer?.start()
                    restarts += 1
                }
            }
        }
        if tailer == nil {
            tailer = try LogTailer(configuration: configuration, diagnostics: { _ in }) { collector.consume($0) }
            try tailer?.start()
        }
        writer.write(100)
        let total = writer.next
        collector.wait { lineNumbers($0).last == total - 1 }
        tailer?.stop()
        let problems = deliveryProblems(lineNumbers(collector.lines), expected: total)
        #expect(restarts > 10)
        #expect(rotations > 10)
        #expect(problems.missing == 0)
        #expect(problems.repeated == 0)
        #expect(problems.outOfOrder == 0)
    }

    /// A file replaced while warden was stopped is read from its start, not resumed at
    /// an offset that belongs to the old file.
    @Test func fileReplacedWhileStoppedIsReadFromItsStart() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("app.log")
        var configuration = LogTailerConfiguration(paths: [path])
        configuration.positionStore = PositionFile(path: directory.file("positions.json"))
        var writer = LogWriter(path: path)
        writer.write(100)
        let first = LineCollector()
        let tailer = try LogTailer(configuration: configuration, diagnostics: { _ in }) { first.consume($0) }
        try tailer.start()
        tailer.stop()
        #expect(first.lines.isEmpty)  // started at the end
        unlink(path)
        writer.reopen(path)
        writer.write(300)
        let second = LineCollector()
        let restarted = try LogTailer(configuration: configuration, diagnostics: { _ in }) { second.consume($0) }
        try restarted.start()
        second.wait { lineNumbers($0).last == 399 }
        restarted.stop()
        #expect(lineNumbers(second.lines) == Array(100..<400))
    }
}
