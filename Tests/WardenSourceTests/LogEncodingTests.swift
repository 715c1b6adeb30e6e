import Foundation
import Synchronization
import Testing
@testable import WardenSource

@Suite("LogEncoding", .serialized)
struct LogEncodingTests {
    /// Reads `bytes` (newline-terminated lines) through a tailer with `encoding`.
    static func tail(_ bytes: [UInt8], encoding: LogEncoding, lines: Int) throws -> [[UInt8]] {
        let directory = TemporaryDirectory()
        let path = directory.file("app.log")
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        var configuration = LogTailerConfiguration(paths: [path])
        configuration.fromStart = true
        configuration.encoding = encoding
        let collected = ByteLineCollector()
        let tailer = try LogTailer(configuration: configuration, diagnostics: { _ in }) { collected.consume($0) }
        try tailer.start()
        collected.wait(for: lines)
        tailer.stop()
        return collected.lines
    }

    /// What Python makes of each line with bytes.decode(encoding, 'replace'), as fail2ban
    /// falls back to on a decoding error.
    static func python(_ lines: [[UInt8]], encoding: String) throws -> [[UInt8]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", """
            import sys
            for line in sys.stdin.buffer.read().split(b"\\n")[:-1]:
                sys.stdout.buffer.write(bytes.fromhex(line.decode()).decode(sys.argv[1], "replace").encode("utf-8") + b"\\n")
            """, encoding]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(lines.map { SavedPosition.hex($0) + "\n" }.joined().utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map(Array.init)
    }

    static func randomLines(count: Int) -> [[UInt8]] {
        var random = SystemRandomNumberGenerator()
        return (0..<count).map { _ in
            (0..<Int.random(in: 0...80, using: &random)).map { _ in
                var byte = UInt8.random(in: 0...255, using: &random)
                while byte == 0x0A || byte == 0x0D { byte = UInt8.random(in: 0...255, using: &random) }
                return byte
            }
        }
    }

    @Test func latin1BecomesUTF8() throws {
        let line: [UInt8] = Array("Gr".utf8) + [0xFC, 0xDF] + Array("e from 192.0.2.1".utf8)
        let lines = try Self.tail(line + [0x0A], encoding: try LogEncoding(name: "latin-1"), lines: 1)
        #expect(lines == [Array("Grüße from 192.0.2.1".utf8)])
    }

    @Test(arguments: ["latin-1", "cp1252", "koi8-r", "iso-8859-7"])
    func randomBytesDecodeAsPythonDecodesThem(encoding: String) throws {
        let lines = Self.randomLines(count: 300)
        let delivered = try Self.tail(lines.flatMap { $0 + [0x0A] }, encoding: try LogEncoding(name: encoding), lines: lines.count)
        let expected = try Self.python(lines, encoding: encoding)
        #expect(delivered.count == expected.count)
        for (index, (got, want)) in zip(delivered, expected).enumerated() where got != want {
            Issue.record("\(encoding) line \(index) \(SavedPosition.hex(lines[index])): got \(SavedPosition.hex(got)), Python \(SavedPosition.hex(want))")
            break
        }
    }

    @Test func multibyteEncodingConverts() throws {
        // "ログイン失敗 192.0.2.5" in Shift_JIS.
        let shiftJIS: [UInt8] = [0x83, 0x8D, 0x83, 0x4F, 0x83, 0x43, 0x83, 0x93, 0x8E, 0xB8, 0x94, 0x73] + Array(" 192.0.2.5".utf8)
        let lines = try Self.tail(shiftJIS + [0x0A], encoding: try LogEncoding(name: "shift_jis"), lines: 1)
        #expect(lines == [Array("ログイン失敗 192.0.2.5".utf8)])
    }

    @Test func utf8AndAutoAreDeliveredAsRead() throws {
        #expect(try LogEncoding(name: "auto") == .utf8)
        #expect(try LogEncoding(name: "UTF-8") == .utf8)
        let invalid: [UInt8] = [0x61, 0xFF, 0x62]
        #expect(try Self.tail(invalid + [0x0A], encoding: .utf8, lines: 1) == [invalid])
    }

    @Test func unknownEncodingIsAClearError() {
        #expect(throws: LogEncodingError.self) { try LogEncoding(name: "no-such-charset") }
    }
}

/// Collects delivered lines as raw bytes.
final class ByteLineCollector: Sendable {
    private let state = Mutex<[[UInt8]]>([])
    private let condition = NSCondition()

    func consume(_ batch: LogBatch) {
        let lines = batch.map { Array($0.bytes) }
        state.withLock { $0.append(contentsOf: lines) }
        condition.lock(); condition.broadcast(); condition.unlock()
    }

    var lines: [[UInt8]] { state.withLock { $0 } }

    func wait(for count: Int) {
        let deadline = Date().addingTimeInterval(120)
        condition.lock(); defer { condition.unlock() }
        while state.withLock({ $0.count < count }) { if !condition.wait(until: deadline) { return } }
    }
}
