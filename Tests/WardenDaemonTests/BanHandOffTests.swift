#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
import WardenStore
@testable import WardenDaemon

/// The hand-off between a jail's matching thread and its publishing thread: order kept,
/// each chunk with the progress of its last ban, `drain` returns only once everything
/// submitted before it is published, `stop` publishes what is still queued.
@Suite struct BanHandOffTests {
    /// What the publishing side saw, and a gate that holds it inside `publish`.
    final class Recorder: Sendable {
        let chunks = Mutex<[(bans: [Int], offset: UInt64)]>([])
        let gate = Mutex<Bool>(true)

        func publish(_ bans: [Int], _ progress: ReadProgress) {
            while !gate.withLock({ $0 }) { sched_yield() }
            guard case .log(let position) = progress else { return }
            chunks.withLock { $0.append((bans, position.offset)) }
        }
    }

    static func progress(_ offset: UInt64) -> ReadProgress {
        .log(JailLogPosition(jail: "j", path: "/log", device: 1, inode: 2, offset: offset))
    }

    @Test func chunksKeepOrderAndCarryTheirLastBansProgress() throws {
        let recorder = Recorder()
        let handOff = try BanHandOff<Int> { bans, progress in recorder.publish(bans, progress) }
        // Held inside its first chunk, the publisher lets the next submissions queue up.
        recorder.gate.withLock { $0 = false }
        handOff.submit([1], progress: Self.progress(10))
        for ban in 2...5 { handOff.submit([ban], progress: Self.progress(UInt64(ban) * 10)) }
        handOff.submit([6, 7], progress: Self.progress(70))
        recorder.gate.withLock { $0 = true }
        handOff.drain()
        let chunks = recorder.chunks.withLock { $0 }
        #expect(chunks.flatMap(\.bans) == [1, 2, 3, 4, 5, 6, 7])
        for chunk in chunks { #expect(chunk.offset == UInt64(chunk.bans.last!) * 10) }
        #expect(chunks.count < 7)  // the queued bans left together
        handOff.stop()
    }

    @Test func drainWaitsForEverySubmittedBan() throws {
        let recorder = Recorder()
        let handOff = try BanHandOff<Int> { bans, progress in recorder.publish(bans, progress) }
        for ban in 1...200 { handOff.submit([ban], progress: Self.progress(UInt64(ban))) }
        handOff.drain()
        #expect(recorder.chunks.withLock { $0.flatMap(\.bans) } == Array(1...200))
        handOff.stop()
    }

    @Test func stopPublishesWhatIsQueued() throws {
        let recorder = Recorder()
        let handOff = try BanHandOff<Int> { bans, progress in recorder.publish(bans, progress) }
        recorder.gate.withLock { $0 = false }
        for ban in 1...50 { handOff.submit([ban], progress: Self.progress(UInt64(ban))) }
        recorder.gate.withLock { $0 = true }
        handOff.stop()
        #expect(recorder.chunks.withLock { $0.flatMap(\.bans) } == Array(1...50))
        #expect(recorder.chunks.withLock { $0.last?.offset } == 50)
    }
}
