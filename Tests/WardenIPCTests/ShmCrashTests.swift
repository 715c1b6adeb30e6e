#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
@testable import WardenIPC

/// Readers and writers killed with SIGKILL must leave the ring usable for everyone else.
@Suite(.serialized)
struct ShmCrashTests {
    typealias Support = ShmTestSupport

    @Test func aKilledReaderIsEvictedAndTheWriterContinues() throws {
        let options = Support.options("evict", capacity: 16)
        defer { ShmSegment.unlink(options.name) }
        let ready = Support.Signal()
        let total: UInt64 = 1000
        // The victim attaches and never reads: alive, it would hold the writer at 16.
        let victim = Support.child {
            let reader = try ShmRingReader(options, name: "victim")
            ready.post()
            while true { withExtendedLifetime(reader) { _ = pause() } }
        }
        let survivor = Support.orderedReaderChild(options, name: "survivor", expected: total + 10, batch: 64, ready: ready)
        ready.wait()
        ready.wait()
        kill(victim, SIGKILL)
        // Not reaped yet: the victim is a zombie, which must count as dead.
        let writer = try ShmRingWriter(options)
        for sequence in 0..<total { try Support.append(writer, tag: 1, sequence: sequence) }
        writer.publish()

        // The restarted victim resumes at its old cursor (0), finds it was lapped and
        // counts what it missed; from then on it holds the writer back again.
        let restarted = try ShmRingReader(options, name: "victim")
        var received: [UInt64] = []
        Support.drain(restarted) { received.append(Support.decode($0)!.sequence) }
        for sequence in total..<(total + 10) { try Support.append(writer, tag: 1, sequence: sequence) }
        writer.close()
        Support.consume(restarted) { message in
            received.append(Support.decode(message)!.sequence)
            return received.last! < total + 9
        }
        #expect(received.last == total + 9)
        #expect(zip(received, received.dropFirst()).allSatisfy { $0 + 1 == $1 })
        #expect(restarted.lost == received.first!)
        #expect(Support.exitCode(survivor) == 0)
        #expect(Support.exitCode(victim) == -SIGKILL)
    }

    @Test func aWriterKilledMidBatchLeavesCommittedMessagesAndAReusableRegion() throws {
        let options = Support.options("writer", capacity: 1024, writers: 1)
        defer { ShmSegment.unlink(options.name) }
        let reader = try ShmRingReader(options, name: "r")
        let ready = Support.Signal()
        let writer = Support.child {
            let writer = try ShmRingWriter(options)
            for sequence in 0..<100 as Range<UInt64> { try Support.append(writer, tag: 1, sequence: sequence) }
            writer.publish()
            // Ten more, written into slots but never published.
            for sequence in 100..<110 as Range<UInt64> { try Support.append(writer, tag: 1, sequence: sequence) }
            ready.post()
            while true { pause() }
        }
        ready.wait()
        kill(writer, SIGKILL)
        #expect(Support.exitCode(writer) == -SIGKILL)

        var received: [UInt64] = []
        Support.drain(reader) { received.append(Support.decode($0)!.sequence) }
        #expect(received == Array(0..<100))
        // The only region belonged to the dead writer; a new writer takes it over.
        let successor = try ShmRingWriter(options)
        #expect(successor.regionIndex == 0)
        for sequence in 100..<105 as Range<UInt64> { try Support.append(successor, tag: 2, sequence: sequence) }
        successor.close()
        received = []
        var tags: [UInt32] = []
        Support.drain(reader) {
            let decoded = Support.decode($0)!
            received.append(decoded.sequence)
            tags.append(decoded.tag)
        }
        #expect(received == Array(100..<105))
        #expect(tags.allSatisfy { $0 == 2 })
        #expect(reader.lost == 0)
    }

    /// Writers and readers are killed at random while they run; a reader in this process
    /// checks that every writer incarnation's messages arrive complete, in order and
    /// untorn up to wherever it was killed, and afterwards the ring still carries a full
    /// batch to old and reattached readers alike.
    @Test func killStormLeavesTheRingWorkingWithNothingCommittedLost() throws {
        let options = Support.options("storm", capacity: 256, writers: 4, consumers: 8)
        defer { ShmSegment.unlink(options.name) }
        let steady = try ShmRingReader(options, name: "steady")
        let finalTag: UInt32 = 0xFFFF
        let finalCount: UInt64 = 1000
        let progress = Mutex<[UInt32: UInt64]>([:])
        let faults = Atomic<Int>(0)
        let finalSeen = Atomic<UInt64>(0)
        let thread = Thread {
            Support.consume(steady) { message in
                guard let (tag, sequence) = Support.decode(message) else {
                    faults.add(1, ordering: .relaxed)
                    return true
                }
                let expected = progress.withLock { table in
                    defer { table[tag] = sequence + 1 }
                    return table[tag] ?? 0
                }
                if sequence != expected { faults.add(1, ordering: .relaxed) }
                if tag == finalTag { finalSeen.store(sequence + 1, ordering: .relaxed) }
                return !(tag == finalTag && sequence == finalCount - 1)
            }
        }
        thread.start()

        func spawnWriter(_ tag: UInt32) -> pid_t {
            Support.child {
                let writer = try ShmRingWriter(options)
                var sequence: UInt64 = 0
                while true {
                    try Support.append(writer, tag: tag, sequence: sequence)
                    sequence += 1
                }
            }
        }
        func spawnReader(_ name: String) -> pid_t {
            Support.child {
                let reader = try ShmRingReader(options, name: name)
                Support.consume(reader) { Support.decode($0) != nil }
                return 2
            }
        }
        var generator = SystemRandomNumberGenerator()
        var nextTag: UInt32 = 1
        var writers: [pid_t] = []
        var readers: [String: pid_t] = [:]
        for _ in 0..<3 {
            writers.append(spawnWriter(nextTag))
            nextTag += 1
        }
        for name in ["a", "b", "c"] { readers[name] = spawnReader(name) }
        for _ in 0..<40 {
            usleep(UInt32.random(in: 1000...8000, using: &generator))
            if Bool.random(using: &generator) {
                let index = Int.random(in: 0..<writers.count, using: &generator)
                kill(writers[index], SIGKILL)
                _ = Support.exitCode(writers[index])
                writers[index] = spawnWriter(nextTag)
                nextTag += 1
            } else {
                let name = readers.keys.randomElement(using: &generator)!
                kill(readers[name]!, SIGKILL)
                _ = Support.exitCode(readers[name]!)
                readers[name] = spawnReader(name)
            }
        }
        for pid in writers + Array(readers.values) {
            kill(pid, SIGKILL)
            _ = Support.exitCode(pid)
        }

        // Every killed reader's name reattaches; one of them then reads the final batch too.
        // It is live, so it holds the writer back and must read while the writer writes.
        let reattached = try ShmRingReader(options, name: "a")
        let finals = Mutex<[UInt64]>([])
        let finalsDone = Atomic<Bool>(false)
        Thread {
            Support.consume(reattached) { message in
                guard let (tag, sequence) = Support.decode(message), tag == finalTag else { return true }
                finals.withLock { $0.append(sequence) }
                return sequence != finalCount - 1
            }
            finalsDone.store(true, ordering: .releasing)
        }.start()
        let writer = try ShmRingWriter(options)
        for sequence in 0..<finalCount { try Support.append(writer, tag: finalTag, sequence: sequence) }
        writer.close()
        while finalSeen.load(ordering: .relaxed) < finalCount || !finalsDone.load(ordering: .acquiring) { sched_yield() }
        steady.stop()

        #expect(faults.load(ordering: .relaxed) == 0)
        #expect(steady.lost == 0)
        #expect(finals.withLock { $0 } == Array(0..<finalCount))
        #expect(progress.withLock { $0.count } >= 4)
    }
}
