import Foundation
import Testing
@testable import WardenIPC

/// kill -9 of writer and reader processes (`warden ipc-bench-worker`) in the middle of a
/// run, at random points: the channel keeps working and nothing committed is lost.
@Suite struct ChannelKillTests {
    static let messagesPerWriter = 100_000
    /// Writers to be killed have more to send than any machine gets through before the
    /// kill lands (5 million once finished first on a fast run).
    static let messagesPerDoomedWriter = 1 << 40
    static let flushEvery = 64

    static func writerProcess(_ warden: String, _ config: ChannelConfiguration, id: Int, messages: Int) throws -> HelperProcess {
        try HelperProcess([warden, "ipc-bench-worker", "--role", "writer", "--adapter", config.adapter.rawValue, "--path", config.path,
                           "--id", "\(id)", "--messages", "\(messages)", "--batch", "\(flushEvery)",
                           "--rotate", "\(config.rotateBytes)"])
    }

    static func readerProcess(_ warden: String, _ config: ChannelConfiguration, name: String) throws -> HelperProcess {
        let reader = try HelperProcess([warden, "ipc-bench-worker", "--role", "reader", "--adapter", config.adapter.rawValue,
                                        "--path", config.path, "--name", name, "--expected", "1000000000", "--progress"])
        guard reader.readLine() == "ready" else { throw ChannelError.unsupported("reader \(name) did not attach") }
        return reader
    }

    /// Three writers, two of them (with millions to send) killed once a random number of
    /// their messages arrived. The surviving reader must hold, per writer, an unbroken run of
    /// sequence numbers from 0: all of them for the writer that finished, whole flushes for
    /// the killed ones (a socket packet or a spool commit is all or nothing). With `victimReader`, a reader
    /// process is killed too and restarted in this process under the same name.
    func killWriters(_ config: ChannelConfiguration, victimReader: Bool) throws {
        let warden = try TestPrograms.warden()
        let progress = ReceiveProgress()
        let survivor = CollectingReader(try Channel.makeReader(config, name: "survivor"), decode: benchWorkerMessage,
                                        progress: { progress.update($0, finished: $1) }) { _, markers in !markers.isEmpty }
        let victim = victimReader ? try Self.readerProcess(warden, config, name: "victim") : nil
        let writers = try (0..<3).map {
            try Self.writerProcess(warden, config, id: $0, messages: $0 < 2 ? Self.messagesPerDoomedWriter : Self.messagesPerWriter)
        }
        let victimKillPoint = Int.random(in: 1_000...150_000)
        let writerKillPoints = [Int.random(in: 1_000...90_000), Int.random(in: 1_000...90_000)]

        if let victim {
            #expect(progress.wait { $0.values.reduce(0, +) >= victimKillPoint })
            victim.killNow()
            #expect(victim.wait() == 128 + SIGKILL)
        }
        for (id, killPoint) in writerKillPoints.enumerated() {
            #expect(progress.wait { $0[UInt64(id), default: 0] >= killPoint })
            writers[id].killNow()
        }
        #expect(writers[0].wait() == 128 + SIGKILL)
        #expect(writers[1].wait() == 128 + SIGKILL)
        #expect(writers[2].wait() == 0)
        // Socket connections are not ordered with one another, so the marker below could
        // overtake what the finished writer still had queued: wait for all of it first.
        #expect(progress.wait { $0[2, default: 0] >= Self.messagesPerWriter })

        // The channel still works: a new writer reaches the survivor and the restarted reader.
        let restarted = victimReader
            ? CollectingReader(try Channel.makeReader(config, name: "victim"), decode: benchWorkerMessage) { _, markers in !markers.isEmpty }
            : nil
        let writer = try Channel.makeWriter(config)
        try publishBenchMessage(writer, id: TestMessage.markerWriter, sequence: 0)
        try writer.close()
        survivor.join()
        #expect(survivor.failure == nil)
        #expect(survivor.markers == [0])
        #expect(survivor.reader.lost == 0)
        #expect(sequenceDefect(survivor.received[2], expected: 0..<UInt64(Self.messagesPerWriter)) == nil)
        for (id, killPoint) in writerKillPoints.enumerated() {
            let delivered = survivor.received[UInt64(id)] ?? []
            #expect(sequenceDefect(delivered, expected: 0..<UInt64(delivered.count)) == nil, "writer \(id): a gap or reordering")
            #expect(delivered.count >= killPoint)
            #expect(delivered.count < Self.messagesPerDoomedWriter)
            #expect(delivered.count % Self.flushEvery == 0, "writer \(id): a partial flush")
        }
        if config.adapter == .file {
            // Every committed message was read, and no uncommitted one.
            let fd = open(config.path, O_RDONLY)
            defer { close(fd) }
            let header = try FileSpoolHeader(readingFrom: fd, path: config.path)
            #expect(Int(header.messageCount) == survivor.received.values.map(\.count).reduce(0, +) + survivor.markers.count)
        }
        if let restarted {
            restarted.join()
            #expect(restarted.failure == nil)
            #expect(restarted.markers == [0])
            restarted.reader.close()
        }
        survivor.reader.close()
    }

    @Test func socketChannelSurvivesKillNineOfWritersAndAReader() throws {
        let config = ChannelConfiguration(adapter: .socket, path: temporaryChannelPath("kill-socket"))
        defer { removeChannelFiles(config) }
        try killWriters(config, victimReader: true)
    }

    @Test func fileChannelSurvivesKillNineOfWriters() throws {
        var config = configuration(.file, "kill-file")
        // No rotation (the writer processes get it too): the final check compares the spool
        // header's count with everything delivered, and on a busy machine the doomed writers
        // run hundreds of MB past their kill points before the survivor reaches them.
        config.rotateBytes = 1 << 40
        defer { removeChannelFiles(config) }
        try killWriters(config, victimReader: false)
    }

    /// A file reader process killed at a random point resumes, under the same name, exactly
    /// where its saved offset says: the start of the last batch it was handed or the one
    /// after, and from there it misses nothing.
    @Test func fileReaderKilledAndRestartedResumesFromItsSavedOffset() throws {
        let warden = try TestPrograms.warden()
        var config = configuration(.file, "kill-file-reader")
        config.rotateBytes = 256 << 20
        defer { removeChannelFiles(config) }
        let total = 300_000
        let writer = try Channel.makeWriter(config)
        for sequence in 0..<total {
            try TestMessage.publish(writer, id: 1, sequence: UInt64(sequence))
            if sequence % 64 == 63 { try writer.flush() }
        }
        try writer.close()

        let victim = try Self.readerProcess(warden, config, name: "victim")
        let killPoint = Int.random(in: 20_000...250_000)
        var counts: [Int] = []
        while let line = victim.readLine(), let count = Int(line) {
            counts.append(count)
            if count >= killPoint { break }
        }
        victim.killNow()
        #expect(victim.wait() == 128 + SIGKILL)
        counts += victim.remainingLines().compactMap { Int($0) }
        try #require(counts.last.map { $0 >= killPoint } == true)

        let offsetFile = try FileReaderOffsetFile(spool: config.path, reader: "victim", mode: 0o600)
        let saved = try #require(offsetFile.saved)
        // Saved at the start of each read: after the last batch printed, or (killed between
        // printing and saving) after the one before.
        #expect(counts.suffix(2).contains(Int(saved.nextSequence)))
        #expect(saved.offset == saved.nextSequence * UInt64(MessageFrame.size(payloadLength: 100)))

        let restarted = CollectingReader(try Channel.makeReader(config, name: "victim")) { data, _ in data == total - Int(saved.nextSequence) }
        restarted.join()
        #expect(restarted.failure == nil)
        #expect(sequenceDefect(restarted.received[1], expected: saved.nextSequence..<UInt64(total)) == nil)
        #expect(restarted.reader.lost == 0)
        restarted.reader.close()
    }
}
