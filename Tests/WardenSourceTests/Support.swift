import Foundation
import Synchronization
@testable import WardenSource

/// A fresh directory under /tmp, removed when the test's scope ends.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "warden-source-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// Collects delivered lines as strings (copied out of the batch) and lets a test wait
/// until a line it expects has arrived.
final class LineCollector: Sendable {
    private let state = Mutex<[String]>([])
    private let condition = NSCondition()

    func consume(_ batch: LogBatch) {
        let lines = batch.map { String(decoding: $0.bytes, as: UTF8.self) }
        state.withLock { $0.append(contentsOf: lines) }
        condition.lock(); condition.broadcast(); condition.unlock()
    }

    var lines: [String] { state.withLock { $0 } }

    /// Waits until `predicate` holds for the lines so far; false after `seconds` (a guard
    /// against hanging the suite, not a timing assertion).
    @discardableResult
    func wait(seconds: Double = 120, until predicate: ([String]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock(); defer { condition.unlock() }
        while !state.withLock({ predicate($0) }) {
            if !condition.wait(until: deadline) { return state.withLock { predicate($0) } }
        }
        return true
    }
}

/// Appends numbered lines with one write() each, as a logging daemon does.
struct LogWriter {
    var descriptor: Int32
    var next = 0

    init(path: String) { descriptor = LogWriter.open(path) }

    static func open(_ path: String) -> Int32 { Foundation.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) }

    mutating func write(_ count: Int) {
        for _ in 0..<count {
            var line = "line \(next) some padding to look like a log message\n"
            line.withUTF8 { _ = Foundation.write(descriptor, $0.baseAddress, $0.count) }
            next += 1
        }
    }

    mutating func reopen(_ path: String) {
        close(descriptor)
        descriptor = LogWriter.open(path)
    }
}

/// The numbers of "line N ..." lines, in delivery order.
func lineNumbers(_ lines: [String]) -> [Int] {
    lines.compactMap { line in line.split(separator: " ").dropFirst().first.flatMap { Int($0) } }
}

/// Describes how `numbers` differs from 0..<count: missing, repeated, out of order.
func deliveryProblems(_ numbers: [Int], expected count: Int) -> (missing: Int, repeated: Int, outOfOrder: Int) {
    var seen = Set<Int>()
    var repeated = 0
    var outOfOrder = 0
    var previous = -1
    for number in numbers {
        if !seen.insert(number).inserted { repeated += 1 }
        if number < previous { outOfOrder += 1 }
        previous = number
    }
    return (count - seen.count, repeated, outOfOrder)
}

/// The numbers around each place delivery went backwards, for a failure message.
func outOfOrderContext(_ numbers: [Int]) -> String {
    numbers.indices.dropFirst().filter { numbers[$0] < numbers[$0 - 1] }.prefix(3).map { index in
        numbers[max(0, index - 3)..<min(numbers.count, index + 3)].map(String.init).joined(separator: ",")
    }.joined(separator: " | ")
}
