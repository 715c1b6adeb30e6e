import Foundation
import Synchronization
import Testing
@testable import WardenIPC

/// The same behaviour, checked for every adapter this suite owns (shm has its own suite).
@Suite struct ChannelAdapterTests {
    static let adapters: [ChannelConfiguration.Adapter] = [.memory, .socket, .file]

    @Test(arguments: adapters)
    func everyReaderSeesEveryMessageInWriterOrder(adapter: ChannelConfiguration.Adapter) throws {
        let config = configuration(adapter, "order")
        defer { removeChannelFiles(config) }
        let writers = 3, perWriter = 5000
        let readers = try (0..<2).map { index in
            CollectingReader(try Channel.makeReader(config, name: "reader\(index)")) { data, _ in data == writers * perWriter }
        }
        let threads = (0..<writers).map { id in
            WriterThread {
                let writer = try Channel.makeWriter(config)
                for sequence in 0..<perWriter {
                    try TestMessage.publish(writer, id: UInt64(id), sequence: UInt64(sequence), size: 16 + sequence % 200)
                    if sequence % 97 == 0 { try writer.flush() }
                }
                try writer.close()
            }
        }
        for thread in threads { try thread.join() }
        for reader in readers {
            reader.join()
            #expect(reader.failure == nil)
            for id in 0..<writers {
                #expect(sequenceDefect(reader.received[UInt64(id)], expected: 0..<UInt64(perWriter)) == nil)
            }
            #expect(reader.reader.lost == 0)
            reader.reader.close()
        }
    }

    @Test(arguments: adapters)
    func backPressureLosesNothingWithASlowReader(adapter: ChannelConfiguration.Adapter) throws {
        // 200k messages of 100 bytes are far more than a memory queue of 128 KiB or a
        // socket's buffers hold, so the writer must wait for the reader. A file writer never
        // waits; with a spool larger than the run, nothing rotates away.
        var spooled = configuration(adapter, "backpressure", capacity: 128 << 10)
        spooled.rotateBytes = 64 << 20
        let config = spooled
        defer { removeChannelFiles(config) }
        let total = 200_000
        let reader = try Channel.makeReader(config, name: "slow")
        let writer = WriterThread {
            let writer = try Channel.makeWriter(config)
            for sequence in 0..<total { try TestMessage.publish(writer, id: 1, sequence: UInt64(sequence)) }
            try writer.close()
        }
        let collector = CollectingReader(reader) { data, _ in data == total || reader.lost > 0 }
        try writer.join()
        collector.join()
        #expect(collector.failure == nil)
        #expect(sequenceDefect(collector.received[1], expected: 0..<UInt64(total)) == nil)
        #expect(reader.lost == 0)
        reader.close()
    }

    /// Memory and socket drop for a full reader; the file adapter never drops on write, its
    /// losses come from a reader falling more than one rotation (1 MiB here) behind.
    @Test(arguments: adapters)
    func dropPolicyCountsLossesExactly(adapter: ChannelConfiguration.Adapter) throws {
        let config = configuration(adapter, "drop", policy: .drop, capacity: 128 << 10)
        defer { removeChannelFiles(config) }
        let burst = 300_000
        let reader = try Channel.makeReader(config, name: "idle")
        let writer = try Channel.makeWriter(config)
        // Nobody reads during the burst, so most batches find the reader full.
        for sequence in 0..<burst {
            try TestMessage.publish(writer, id: 1, sequence: UInt64(sequence))
        }
        try writer.flush()
        // Now read, and send markers until one arrives: everything before it was either
        // delivered or counted as lost. Then one final marker carries the last count.
        // One marker per batch the reader takes, so markers never fill the queue: once one
        // has arrived the queue is nearly empty and the final marker cannot be dropped
        // (sending them as fast as possible could fill it on a busy machine, and a dropped
        // final marker left the reader waiting forever).
        let batchTaken = DispatchSemaphore(value: 0)
        let collector = CollectingReader(reader, progress: { _, _ in batchTaken.signal() }) { _, markers in
            markers.last == UInt64.max
        }
        var markersSent: UInt64 = 0
        while collector.markersSeen == 0 {
            try TestMessage.publish(writer, id: TestMessage.markerWriter, sequence: markersSent)
            try writer.flush()
            markersSent += 1
            batchTaken.wait()
        }
        try TestMessage.publish(writer, id: TestMessage.markerWriter, sequence: UInt64.max)
        try writer.close()
        collector.join()
        #expect(collector.failure == nil)
        let delivered = collector.received[1] ?? []
        #expect(reader.lost > 0)
        #expect(UInt64(delivered.count) + UInt64(collector.markers.count) + reader.lost == UInt64(burst) + markersSent + 1)
        // What did arrive is in order, without duplicates.
        #expect(delivered == delivered.sorted() && Set(delivered).count == delivered.count)
        reader.close()
    }

    @Test(arguments: adapters)
    func stopWakesABlockedReader(adapter: ChannelConfiguration.Adapter) throws {
        let config = configuration(adapter, "stop")
        defer { removeChannelFiles(config) }
        let reader = try Channel.makeReader(config, name: "blocked")
        let collector = CollectingReader(reader) { _, _ in false }
        reader.stop()
        collector.join()
        #expect(collector.failure == nil)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ChannelConfiguration.minimumReadBufferSize, alignment: 16)
        defer { buffer.deallocate() }
        #expect(try reader.read(into: buffer).isStopped)
        reader.close()
    }
}
