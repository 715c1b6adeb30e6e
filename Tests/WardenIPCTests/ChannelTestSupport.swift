import Foundation
import Synchronization
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

    init(_ reader: any ChannelReader, until done: @escaping @Sendable (_ data: Int, _ markers: [UInt64]) -> Bool) {
        self.reader = reader
        let thread = Thread { [self] in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate(); finished.signal() }
            do {
                var data = 0
                while !done(data, markers) {
                    let batch = try reader.read(into: buffer)
                    if batch.isStopped { return }
                    var frames = FrameIterator(UnsafeRawBufferPointer(rebasing: buffer[0..<batch.byteCount]))
                    while let frame = try frames.next() {
                        let (id, sequence) = TestMessage.decode(frame.payload)
                        if id == TestMessage.markerWriter {
                            markers.append(sequence)
                            markerCount.add(1, ordering: .releasing)
                        } else {
                            received[id, default: []].append(sequence)
                            data += 1
                            dataCount.add(1, ordering: .relaxed)
                        }
                    }
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

/// A fresh directory under /tmp for one test's channel.
func temporaryChannelPath(_ label: String) -> String {
    let path = "/tmp/ipca-test-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    return path
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
