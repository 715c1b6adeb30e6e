#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
@testable import WardenIPC

/// Helpers shared by the shm ring tests: unique segment names, child processes, and
/// messages that carry a writer tag, a sequence number and a checksum so a torn or
/// duplicated message cannot go unnoticed.
enum ShmTestSupport {
    static let counter = Atomic<Int>(0)

    static func options(_ label: String, capacity: Int = 64, slotSize: Int = 128, writers: Int = 2,
                        consumers: Int = 8, overwrite: Bool = false, mode: mode_t = 0o600, group: gid_t? = nil) -> ShmRingOptions {
        let name = "/warden-test-\(getpid())-\(counter.add(1, ordering: .relaxed).newValue)-\(label)"
        return ShmRingOptions(name: name, slotSize: slotSize, capacity: capacity, writers: writers,
                              consumers: consumers, overwrite: overwrite, mode: mode, group: group)
    }

    /// Runs `body` in a forked child that exits with the code it returns (1 if it throws).
    static func child(_ body: () throws -> Int32) -> pid_t {
        let pid = fork()
        if pid == 0 {
            let code = (try? body()) ?? 1
            _exit(code)
        }
        return pid
    }

    static func exitCode(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
    }

    /// A pipe a child writes one byte to once it is ready.
    struct Signal {
        let fds: [Int32]
        init() {
            var pair: [Int32] = [0, 0]
            _ = pipe(&pair)
            fds = pair
        }
        func post() { var byte: UInt8 = 1; _ = write(fds[1], &byte, 1) }
        func wait() { var byte: UInt8 = 0; _ = read(fds[0], &byte, 1) }
    }

    /// Message layout: UInt32 writer tag, UInt32 checksum, UInt64 sequence, then filler up to `size`.
    static func append(_ writer: ShmRingWriter, tag: UInt32, sequence: UInt64, size: Int = 100) throws {
        try writer.append(byteCount: size) { slot in
            slot.storeBytes(of: tag, as: UInt32.self)
            slot.storeBytes(of: checksum(tag, sequence), toByteOffset: 4, as: UInt32.self)
            slot.storeBytes(of: sequence, toByteOffset: 8, as: UInt64.self)
            for index in 16..<size { slot.storeBytes(of: UInt8(truncatingIfNeeded: sequence &+ UInt64(index)), toByteOffset: index, as: UInt8.self) }
        }
    }

    static func checksum(_ tag: UInt32, _ sequence: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: (UInt64(tag) &* 0x9E37_79B9 ^ sequence &* 0x85EB_CA6B) >> 7)
    }

    /// Decoded message, or nil if it is torn.
    static func decode(_ message: UnsafeRawBufferPointer) -> (tag: UInt32, sequence: UInt64)? {
        guard message.count >= 16 else { return nil }
        let tag = message.loadUnaligned(as: UInt32.self)
        let sequence = message.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        guard message.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == checksum(tag, sequence) else { return nil }
        for index in 16..<message.count where message[index] != UInt8(truncatingIfNeeded: sequence &+ UInt64(index)) { return nil }
        return (tag, sequence)
    }

    /// Reads with `reader` (blocking) and hands every message to `body` until it returns false.
    static func consume(_ reader: ShmRingReader, batch: Int = 256, _ body: (UnsafeRawBufferPointer) -> Bool) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        let lengths = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: batch)
        defer { buffer.deallocate(); lengths.deallocate() }
        while true {
            let count = reader.read(into: buffer, lengths: lengths)
            if count == 0 { return }
            var offset = 0
            for index in 0..<count {
                let length = Int(lengths[index])
                if !body(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + length)])) { return }
                offset += length
            }
        }
    }

    /// Non-blocking: every message available now.
    static func drain(_ reader: ShmRingReader, once: Bool = false, _ body: (UnsafeRawBufferPointer) -> Void) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        let lengths = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 256)
        defer { buffer.deallocate(); lengths.deallocate() }
        while true {
            let count = reader.tryRead(into: buffer, lengths: lengths)
            if count == 0 { return }
            var offset = 0
            for index in 0..<count {
                let length = Int(lengths[index])
                body(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + length)]))
                offset += length
            }
            if once { return }
        }
    }

    /// A child that attaches as `name`, reads `expected` messages and checks they are
    /// 0..<expected in order with nothing lost. Exit codes: 0 fine, 2 out of order or
    /// torn, 3 lost something.
    static func orderedReaderChild(_ options: ShmRingOptions, name: String, expected: UInt64, batch: Int, ready: Signal) -> pid_t {
        child {
            let reader = try ShmRingReader(options, name: name)
            ready.post()
            var next: UInt64 = 0
            var inOrder = true
            consume(reader, batch: batch) { message in
                if let decoded = decode(message), decoded.sequence == next { next += 1 } else { inOrder = false }
                return inOrder && next < expected
            }
            return !inOrder ? 2 : reader.lost != 0 ? 3 : 0
        }
    }
}

@Suite(.serialized)
struct ShmRingTests {
    typealias Support = ShmTestSupport

    @Test func everyReaderSeesEveryMessageInOrderAcrossProcesses() throws {
        let options = Support.options("order", capacity: 64)
        defer { ShmSegment.unlink(options.name) }
        let ready = Support.Signal()
        let total: UInt64 = 200_000
        // One reader takes big batches, the other one message at a time (the slow one the
        // writer must wait for).
        let fast = Support.orderedReaderChild(options, name: "fast", expected: total, batch: 256, ready: ready)
        let slow = Support.orderedReaderChild(options, name: "slow", expected: total, batch: 1, ready: ready)
        ready.wait()
        ready.wait()
        let writer = try ShmRingWriter(options)
        for sequence in 0..<total { try Support.append(writer, tag: 7, sequence: sequence) }
        writer.close()
        #expect(Support.exitCode(fast) == 0)
        #expect(Support.exitCode(slow) == 0)
    }

    @Test func backPressureHoldsTheWriterUntilAReaderMakesRoom() throws {
        let options = Support.options("hold", capacity: 8)
        defer { ShmSegment.unlink(options.name) }
        let reader = try ShmRingReader(options, name: "r")
        let ready = Support.Signal()
        // The child writes 3 rings' worth; it can only finish if the reader here consumes.
        let writer = Support.child {
            let writer = try ShmRingWriter(options)
            for sequence in 0..<24 as Range<UInt64> {
                try Support.append(writer, tag: 1, sequence: sequence)
                writer.publish()
                if sequence == 7 { ready.post() }
            }
            writer.close()
            return 0
        }
        ready.wait()
        var received: [UInt64] = []
        // One non-blocking read: the ring holds 8 slots, so the writer is stuck at 8.
        Support.drain(reader, once: true) { received.append(Support.decode($0)!.sequence) }
        #expect(received == Array(0..<8))
        Support.consume(reader) { message in
            received.append(Support.decode(message)!.sequence)
            return received.count < 24
        }
        #expect(received == Array(0..<24))
        #expect(reader.lost == 0)
        #expect(Support.exitCode(writer) == 0)
    }

    @Test func overwriteCountsExactlyWhatAReaderMissed() throws {
        let options = Support.options("lap", capacity: 64, overwrite: true)
        defer { ShmSegment.unlink(options.name) }
        let reader = try ShmRingReader(options, name: "r")
        let writer = try ShmRingWriter(options)
        for sequence in 0..<1000 as Range<UInt64> { try Support.append(writer, tag: 1, sequence: sequence) }
        writer.publish()
        var received: [UInt64] = []
        Support.drain(reader) { received.append(Support.decode($0)!.sequence) }
        #expect(received.last == 999)
        #expect(received.count <= 64)
        #expect(zip(received, received.dropFirst()).allSatisfy { $0 + 1 == $1 })
        #expect(reader.lost + UInt64(received.count) == 1000)
        #expect(reader.lost == received.first!)
    }

    @Test func overwriteWithAConcurrentWriterAccountsForEveryMessage() throws {
        let options = Support.options("race", capacity: 64, overwrite: true)
        defer { ShmSegment.unlink(options.name) }
        let reader = try ShmRingReader(options, name: "r")
        let total: UInt64 = 300_000
        let writer = Support.child {
            let writer = try ShmRingWriter(options)
            for sequence in 0..<total { try Support.append(writer, tag: 1, sequence: sequence) }
            writer.close()
            return 0
        }
        var previous: UInt64?
        var received: UInt64 = 0
        var gaps: UInt64 = 0
        var torn = 0
        // One message per read, so the writer laps this reader again and again.
        Support.consume(reader, batch: 1) { message in
            guard let decoded = Support.decode(message) else { torn += 1; return false }
            gaps += decoded.sequence - (previous.map { $0 + 1 } ?? 0)
            previous = decoded.sequence
            received += 1
            return decoded.sequence < total - 1
        }
        #expect(Support.exitCode(writer) == 0)
        #expect(torn == 0)
        #expect(previous == total - 1)
        #expect(reader.lost == gaps)
        #expect(received + reader.lost == total)
    }

    @Test func workStealingPoolDeliversEachMessageExactlyOnce() throws {
        let options = Support.options("pool", capacity: 128)
        defer { ShmSegment.unlink(options.name) }
        let total = 100_000
        let members = try (0..<3).map { _ in try ShmRingReader(options, name: "bans", shared: true) }
        let seen = Mutex([Int](repeating: 0, count: total))
        let consumed = Atomic<Int>(0)
        let perMember = Mutex([Int](repeating: 0, count: members.count))
        let threads = members.enumerated().map { index, member in
            let thread = Thread {
                Support.consume(member, batch: 16) { message in
                    let sequence = Int(Support.decode(message)!.sequence)
                    seen.withLock { $0[sequence] += 1 }
                    perMember.withLock { $0[index] += 1 }
                    consumed.add(1, ordering: .relaxed)
                    return true
                }
            }
            thread.start()
            return thread
        }
        let writer = try ShmRingWriter(options)
        for sequence in 0..<UInt64(total) { try Support.append(writer, tag: 1, sequence: sequence) }
        writer.close()
        // Back-pressure: the writer finished, so at most one ring's worth is still unread.
        while consumed.load(ordering: .relaxed) < total { sched_yield() }
        members.forEach { $0.stop() }
        _ = threads
        let counts = seen.withLock { $0 }
        #expect(counts.allSatisfy { $0 == 1 })
        #expect(perMember.withLock { $0.reduce(0, +) } == total)
        #expect(members.allSatisfy { $0.lost == 0 })
    }

    @Test func aSecondExclusiveReaderWithTheSameNameIsRefused() throws {
        let options = Support.options("dup")
        defer { ShmSegment.unlink(options.name) }
        let first = try ShmRingReader(options, name: "worker")
        #expect(throws: ShmRingError.readerNameInUse("worker")) { try ShmRingReader(options, name: "worker") }
        first.close()
        // After an orderly close the name is free again and resumes where it left off.
        let again = try ShmRingReader(options, name: "worker")
        again.close()
    }

    @Test func messagesLargerThanASlotAreRefused() throws {
        let options = Support.options("big", slotSize: 64)
        defer { ShmSegment.unlink(options.name) }
        let writer = try ShmRingWriter(options)
        let bytes = [UInt8](repeating: 1, count: 57)
        #expect(throws: ShmRingError.messageTooLarge(size: 57, maximum: 56)) { try bytes.withUnsafeBytes { try writer.append($0) } }
    }

    @Test func aSegmentWithAForeignHeaderIsRejectedNotTrusted() throws {
        let options = Support.options("foreign")
        defer { ShmSegment.unlink(options.name) }
        let fd = shm_open(options.name, O_RDWR | O_CREAT | O_EXCL, 0o600)
        #expect(fd >= 0)
        #expect(ftruncate(fd, 8192) == 0)
        let header = mmap(nil, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!
        header.storeBytes(of: UInt64(0xDEAD_BEEF), as: UInt64.self)
        header.storeBytes(of: UInt32(1), toByteOffset: ShmLayout.readyOffset, as: UInt32.self)
        munmap(header, 8192)
        close(fd)
        #expect(throws: ShmRingError.self) { try ShmRingReader(options, name: "r") }
    }

    @Test func segmentsAreCreatedWithTheConfiguredModeAndGroupRequiresRoot() throws {
        let privateOptions = Support.options("mode600", mode: 0o600)
        let groupOptions = Support.options("mode660", mode: 0o660, group: 4)
        defer {
            ShmSegment.unlink(privateOptions.name)
            ShmSegment.unlink(groupOptions.name)
        }
        let previousMask = umask(0o077)
        defer { umask(previousMask) }
        _ = try ShmRingWriter(privateOptions)
        _ = try ShmRingWriter(groupOptions)
        var status = stat()
        #expect(stat("/dev/shm" + privateOptions.name, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(stat("/dev/shm" + groupOptions.name, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o660)
        #expect(status.st_gid == 4)
        #expect(throws: ShmRingError.self) { try ShmRingWriter(Support.options("mode644", mode: 0o644)) }
    }

    @Test(.enabled(if: getuid() == 0)) func otherUsersCannotAttachRequiresRoot() throws {
        let options = Support.options("refuse", mode: 0o600)
        defer { ShmSegment.unlink(options.name) }
        _ = try ShmRingWriter(options)
        let outsider = Support.child {
            guard setgid(65534) == 0, setuid(65534) == 0 else { return 4 }
            do {
                _ = try ShmRingReader(options, name: "intruder")
                return 2
            } catch ShmRingError.system(_, _, let code) {
                return code == EACCES ? 0 : 3
            }
        }
        #expect(Support.exitCode(outsider) == 0)
    }
}
