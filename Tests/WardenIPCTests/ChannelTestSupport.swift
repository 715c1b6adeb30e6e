import Foundation
import Synchronization
import Testing
@testable import WardenIPC

/// Test messages: payload = writer id (UInt64) + sequence (UInt64) + filler up to `size`.
enum TestMessage {
    static let markerWriter = UInt64.max

    static func publish(_ writer: any ChannelWriter, id: UInt64, sequence: UInt64, size: Int = 100) throws {
        var payload = [UInt8](repeating: 0x61, count: max(size, 16))
        payload.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: id, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: sequence, toByteOffset: 8, as: UInt64.self)
        }
        try payload.withUnsafeBytes { try writer.publish(.logLine, payload: $0) }
    }

    static func decode(_ payload: UnsafeRawBufferPointer) -> (id: UInt64, sequence: UInt64) {
        (payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self), payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }
}

/// Reads on its own thread, recording every message per writer, until `done` says so.
final class CollectingReader: @unchecked Sendable {
    // `received` and `markers` are written by the reading thread only, and read after `join`.
    let reader: any ChannelReader
    private(set) var received: [UInt64: [UInt64]] = [:]
    private(set) var markers: [UInt64] = []
    private(set) var failure: (any Error)?
    private let finished = DispatchSemaphore(value: 0)
    private let dataCount = Atomic<Int>(0)
    private let markerCount = Atomic<Int>(0)

    /// `decode` extracts (writer id, sequence) from a payload: `TestMessage`'s layout by
    /// default, `benchWorkerMessage` for messages from `warden ipc-bench-worker` writers.
    /// `progress` is called on the reading thread after every batch with the counts so far,
    /// and once more with `finished` set when the reading thread ends.
    init(_ reader: any ChannelReader,
         decode: @escaping @Sendable (UnsafeRawBufferPointer) -> (id: UInt64, sequence: UInt64) = TestMessage.decode,
         progress: (@Sendable (_ perWriter: [UInt64: Int], _ finished: Bool) -> Void)? = nil,
         until done: @escaping @Sendable (_ data: Int, _ markers: [UInt64]) -> Bool) {
        self.reader = reader
        let thread = Thread { [self] in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer {
                buffer.deallocate()
                progress?(received.mapValues(\.count), true)
                finished.signal()
            }
            do {
                var data = 0
                while !done(data, markers) {
                    let batch = try reader.read(into: buffer)
                    if batch.isStopped { return }
                    var frames = FrameIterator(UnsafeRawBufferPointer(rebasing: buffer[0..<batch.byteCount]))
                    while let frame = try frames.next() {
                        let (id, sequence) = decode(frame.payload)
                        if id == TestMessage.markerWriter {
                            markers.append(sequence)
                            markerCount.add(1, ordering: .releasing)
                        } else {
                            received[id, default: []].append(sequence)
                            data += 1
                            dataCount.add(1, ordering: .relaxed)
                        }
                    }
                    progress?(received.mapValues(\.count), false)
                }
            } catch { failure = error }
        }
        thread.start()
    }

    var markersSeen: Int { markerCount.load(ordering: .acquiring) }

    /// Waits for the reading thread to finish.
    func join() { finished.wait() }
}

/// Runs `body` on a new thread; `join` waits for it and rethrows its error.
final class WriterThread: @unchecked Sendable {
    private var failure: (any Error)?
    private let finished = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> Void) {
        let thread = Thread { [self] in
            do { try body() } catch { failure = error }
            finished.signal()
        }
        thread.start()
    }

    func join() throws {
        finished.wait()
        if let failure { throw failure }
    }
}

/// `warden ipc-bench-worker` payloads: publish time, writer id, sequence.
@Sendable func benchWorkerMessage(_ payload: UnsafeRawBufferPointer) -> (id: UInt64, sequence: UInt64) {
    (payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self), payload.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
}

/// A fresh path under /tmp for one test's channel; `removeChannelFiles` deletes it.
func temporaryChannelPath(_ label: String) -> String {
    "/tmp/warden-ipc-test-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
}

/// Deletes what a test's channel left under /tmp: the socket directory, or the directory
/// holding a spool, its rotations, lock and offset files. Memory channels leave nothing.
func removeChannelFiles(_ configuration: ChannelConfiguration) {
    switch configuration.adapter {
    case .socket: try? FileManager.default.removeItem(atPath: configuration.path)
    case .file: try? FileManager.default.removeItem(atPath: (configuration.path as NSString).deletingLastPathComponent)
    case .memory, .shm: break
    }
}

func configuration(_ adapter: ChannelConfiguration.Adapter, _ label: String, policy: ChannelConfiguration.Policy = .backpressure,
                   capacity: Int = 4 << 20) -> ChannelConfiguration {
    var path = temporaryChannelPath(label)
    if adapter == .file {
        mkdir(path, 0o700)
        path += "/spool"
    }
    return ChannelConfiguration(adapter: adapter, path: path, policy: policy, capacity: capacity, rotateBytes: 1 << 20)
}

/// Per-writer message counts a `CollectingReader` reports, for a test thread to wait on
/// ("kill writer 0 once 20,000 of its messages arrived").
final class ReceiveProgress: @unchecked Sendable {
    // `counts` and `finished` are guarded by `lock`.
    private let lock = ConditionLock()
    private var counts: [UInt64: Int] = [:]
    private var finished = false

    func update(_ perWriter: [UInt64: Int], finished: Bool) {
        lock.withLock {
            counts = perWriter
            self.finished = self.finished || finished
            lock.broadcast()
        }
    }

    /// Blocks until `condition` holds for the counts; false if the reader ended first or
    /// received nothing for `stallSeconds` (a stalled channel fails the test, with the
    /// counts, instead of hanging the suite).
    func wait(stallSeconds: Int = 120, until condition: ([UInt64: Int]) -> Bool) -> Bool {
        lock.withLock {
            while !condition(counts) {
                if finished { return false }
                if !lock.wait(seconds: stallSeconds) {
                    Issue.record("no progress for \(stallSeconds) s; received per writer: \(counts)")
                    return false
                }
            }
            return true
        }
    }
}

/// Publishes one message in `warden ipc-bench-worker`'s payload layout.
func publishBenchMessage(_ writer: any ChannelWriter, id: UInt64, sequence: UInt64) throws {
    var payload = [UInt8](repeating: 0x2e, count: 100)
    payload.withUnsafeMutableBytes { raw in
        raw.storeBytes(of: UInt64(0), toByteOffset: 0, as: UInt64.self)
        raw.storeBytes(of: id, toByteOffset: 8, as: UInt64.self)
        raw.storeBytes(of: sequence, toByteOffset: 16, as: UInt64.self)
    }
    try payload.withUnsafeBytes { try writer.publish(.logLine, payload: $0) }
}

/// Where `delivered` departs from `expected`, in a line a failing expectation can print
/// (the arrays hold up to millions of numbers); nil when they are equal.
func sequenceDefect(_ delivered: [UInt64]?, expected: Range<UInt64>) -> String? {
    let delivered = delivered ?? []
    if delivered.elementsEqual(expected) { return nil }
    let index = zip(delivered, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(delivered.count, expected.count)
    let got = index < delivered.count ? "\(delivered[index])" : "nothing"
    let wanted = index < expected.count ? "\(expected.lowerBound + UInt64(index))" : "nothing"
    return "\(delivered.count) delivered, \(expected.count) expected; at index \(index) got \(got), expected \(wanted)"
}
