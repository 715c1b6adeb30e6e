import Foundation
import Testing
@testable import WardenIPC

/// A file reader's position in `<spool>.<name>.offset`: a reader reopened under its name
/// continues where it stopped, across rotations, and counts what rotated away.
@Suite struct FileReaderOffsetTests {
    static let frameSize = MessageFrame.size(payloadLength: 100)

    static func publish(_ config: ChannelConfiguration, _ range: Range<Int>) throws {
        let writer = try Channel.makeWriter(config)
        for sequence in range { try TestMessage.publish(writer, id: 1, sequence: UInt64(sequence)) }
        try writer.close()
    }

    /// Opens `name`, reads until `count` messages were received or counted lost, closes it.
    static func read(_ config: ChannelConfiguration, name: String, count: Int) throws -> (sequences: [UInt64], lost: UInt64) {
        let reader = try Channel.makeReader(config, name: name)
        defer { reader.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ChannelConfiguration.minimumReadBufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var sequences: [UInt64] = []
        while sequences.count + Int(reader.lost) < count {
            let batch = try reader.read(into: buffer)
            var frames = FrameIterator(UnsafeRawBufferPointer(rebasing: buffer[0..<batch.byteCount]))
            while let frame = try frames.next() { sequences.append(TestMessage.decode(frame.payload).sequence) }
        }
        return (sequences, reader.lost)
    }

    @Test func reopenedReaderContinuesAndANewOneStartsAtTheBeginning() throws {
        let config = configuration(.file, "offset-resume")
        defer { removeChannelFiles(config) }
        try Self.publish(config, 0..<3000)
        // A 64 KiB buffer takes about 600 messages per read, so three reads stop mid-spool.
        let first = try Self.read(config, name: "a", count: 1500)
        #expect(first.sequences == Array(0..<UInt64(first.sequences.count)))
        let rest = try Self.read(config, name: "a", count: 3000 - first.sequences.count)
        #expect(rest.sequences == Array(UInt64(first.sequences.count)..<3000))
        let newcomer = try Self.read(config, name: "b", count: 3000)
        #expect(newcomer.sequences == Array(0..<3000))
        #expect(FileManager.default.fileExists(atPath: config.path + ".a.offset"))
    }

    @Test func reopenedReaderFollowsOneRotationAndCountsWhatTwoRotationsTookAway() throws {
        var config = configuration(.file, "offset-rotate")
        config.rotateBytes = 256 << 10
        defer { removeChannelFiles(config) }
        try Self.publish(config, 0..<1000)
        let first = try Self.read(config, name: "a", count: 1000)
        #expect(first.sequences == Array(0..<1000))
        // The spool the saved offset points into becomes `<spool>.1`: nothing is lost.
        try Self.publish(config, 1000..<3000)
        let second = try Self.read(config, name: "a", count: 2000)
        #expect(second.sequences == Array(1000..<3000))
        #expect(second.lost == 0)

        // Two more rotations: the saved generation is gone; the reader resumes at the oldest
        // spool left and counts exactly the messages in between as lost.
        // 9000 messages are almost 1 MiB: at least three rotations of 256 KiB.
        try Self.publish(config, 3000..<12000)
        let fd = open(config.path + ".1", O_RDONLY)
        let oldest = try FileSpoolHeader(readingFrom: fd, path: config.path + ".1")
        close(fd)
        try #require(oldest.firstSequence > 3000)
        let third = try Self.read(config, name: "a", count: 9000)
        #expect(third.lost == oldest.firstSequence - 3000)
        #expect(third.sequences == Array(oldest.firstSequence..<12000))
    }

    @Test func damagedOffsetFileMakesTheReaderStartOver() throws {
        let config = configuration(.file, "offset-damaged")
        defer { removeChannelFiles(config) }
        try Self.publish(config, 0..<500)
        _ = try Self.read(config, name: "a", count: 500)
        // Flip one byte of the saved record: the checksum no longer matches.
        let fd = open(config.path + ".a.offset", O_RDWR)
        var byte: UInt8 = 0
        pread(fd, &byte, 1, 16)
        byte ^= 0xff
        pwrite(fd, &byte, 1, 16)
        close(fd)
        #expect(try Self.read(config, name: "a", count: 500).sequences == Array(0..<500))
    }

    @Test func savedRecordRoundTripsAndRejectsForeignBytes() {
        let position = FileReaderPosition(generation: 7, offset: 1080, nextSequence: 17)
        var raw = [UInt8](repeating: 0, count: FileReaderPosition.size)
        raw.withUnsafeMutableBytes { position.encode(into: $0) }
        #expect(raw.withUnsafeBytes { FileReaderPosition($0) } == position)
        #expect(raw.dropLast().withUnsafeBytes { FileReaderPosition($0) } == nil)
        var foreign = raw
        foreign[0] ^= 1
        #expect(foreign.withUnsafeBytes { FileReaderPosition($0) } == nil)
    }
}
