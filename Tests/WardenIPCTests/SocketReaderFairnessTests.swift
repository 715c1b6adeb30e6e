import Testing
@testable import WardenIPC

/// A socket reader shares its buffer between connections: a writer that always has more
/// queued than one read takes must not keep the others waiting. (Before the fix, the busy
/// connection was read first on every call, and a back-pressured writer behind it blocked
/// in `send` for as long as the busy one kept sending; ChannelKillTests hung on it.)
@Suite struct SocketReaderFairnessTests {
    @Test func aConnectionLeftOutOfOneReadIsReadFirstInTheNext() throws {
        // Drop policy so the busy writer fills its socket without blocking this thread.
        let config = configuration(.socket, "fairness", policy: .drop)
        defer { removeChannelFiles(config) }
        let reader = try Channel.makeReader(config, name: "shared")
        defer { reader.close() }
        let busy = try Channel.makeWriter(config)
        let quiet = try Channel.makeWriter(config)

        // The busy connection becomes readable first, so the first read starts with it.
        // 24 packets of 64 messages (about 180 KiB): more than two reads into a buffer of
        // twice the packet room take (about 70 KiB each), and well within a socket's
        // default send buffer, so nothing is dropped.
        for sequence in 0..<(24 * 64) {
            try TestMessage.publish(busy, id: 1, sequence: UInt64(sequence))
            if sequence % 64 == 63 { try busy.flush() }
        }
        try TestMessage.publish(quiet, id: 2, sequence: 0)
        try quiet.flush()

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * ChannelConfiguration.batchSize, alignment: 16)
        defer { buffer.deallocate() }
        var writersPerRead: [Set<UInt64>] = []
        for _ in 0..<2 {
            let batch = try reader.read(into: buffer)
            var writers: Set<UInt64> = []
            var frames = FrameIterator(UnsafeRawBufferPointer(rebasing: buffer[0..<batch.byteCount]))
            while let frame = try frames.next() { writers.insert(TestMessage.decode(frame.payload).id) }
            writersPerRead.append(writers)
        }
        #expect(writersPerRead[0] == [1], "the first read is filled from the busy connection")
        #expect(writersPerRead[1].contains(2), "the quiet connection waited more than one read: \(writersPerRead)")
        #expect(reader.lost == 0)
        try busy.close()
        try quiet.close()
    }
}
