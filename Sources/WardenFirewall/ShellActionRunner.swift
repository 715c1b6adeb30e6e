import CLinux
import WardenThreads
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How one shell command ended.
public struct ShellActionOutcome: Sendable {
    public var label: String
    public var command: String
    /// The exit status, or nil when the command was killed (timeout) or could not start.
    public var exitStatus: Int32?
    public var terminatingSignal: Int32?
    public var timedOut: Bool
    public var seconds: Double
    /// The first 4 KiB of what the command wrote to stdout and stderr.
    public var output: String
    public var launchError: SystemCallError?
}

/// Runs action commands one after another on its own thread, so a slow `sendmail` or a
/// hanging `curl` never delays the nftables path. Each command runs as `/bin/sh -c` in a
/// process group of its own; past the timeout the group gets SIGTERM, then SIGKILL two
/// seconds later. Every outcome (exit status, signal, time, output) goes to `report`,
/// which the daemon sends to its log.
public final class ShellActionRunner: Sendable {
    private struct Job { var label: String; var command: String }
    private struct Queue { var jobs: [Job] = []; var stopping = false }

    private let queue = Mutex(Queue())
    private let wake: Int32
    private let worker: Mutex<DedicatedThread?>
    public let timeoutSeconds: Double

    public init(timeoutSeconds: Double = 60, report: @escaping @Sendable (ShellActionOutcome) -> Void) throws(SystemCallError) {
        let wake = warden_eventfd()
        guard wake >= 0 else { throw SystemCallError(call: "eventfd", errno: errno) }
        self.wake = wake
        self.timeoutSeconds = timeoutSeconds
        self.worker = Mutex(nil)
        let thread = try startWorkerThread { [self] in self.run(report: report) }
        worker.withLock { $0 = thread }
    }

    deinit { close(wake) }

    /// Queues a command; returns at once.
    public func submit(_ command: String, label: String) {
        queue.withLock { $0.jobs.append(Job(label: label, command: command)) }
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    /// Runs what is queued, then stops and joins the thread (actionstop commands submitted
    /// before this call still run).
    public func stop() {
        guard let thread = worker.withLock({ current -> DedicatedThread? in
            defer { current = nil }
            return current
        }) else { return }
        queue.withLock { $0.stopping = true }
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
        thread.join()
    }

    private func run(report: @Sendable (ShellActionOutcome) -> Void) {
        while true {
            let (job, stopping) = queue.withLock { state -> (Job?, Bool) in
                state.jobs.isEmpty ? (nil, state.stopping) : (state.jobs.removeFirst(), false)
            }
            if let job {
                report(ChildProcess.run(job.command, label: job.label, timeoutSeconds: timeoutSeconds))
                continue
            }
            if stopping { return }
            var counter: UInt64 = 0
            var descriptor = pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, -1) > 0 { _ = read(wake, &counter, 8) }
        }
    }
}

/// `/bin/sh -c command` with a time limit, waited for through a pidfd.
enum ChildProcess {
    static let outputLimit = 4096

    static func run(_ command: String, label: String, timeoutSeconds: Double) -> ShellActionOutcome {
        let started = monotonicSeconds()
        var outcome = ShellActionOutcome(label: label, command: command, exitStatus: nil, terminatingSignal: nil,
                                         timedOut: false, seconds: 0, output: "", launchError: nil)
        var pipeEnds: [Int32] = [0, 0]
        guard pipe2(&pipeEnds, O_CLOEXEC) == 0 else {
            outcome.launchError = SystemCallError(call: "pipe2", errno: errno)
            return outcome
        }
        defer { close(pipeEnds[0]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        let arguments: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", command].map { (text: String) in strdup(text) }
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, arguments + [nil], Glibc.environ)
        posix_spawn_file_actions_destroy(&actions)
        posix_spawnattr_destroy(&attributes)
        close(pipeEnds[1])
        guard spawned == 0 else {
            outcome.launchError = SystemCallError(call: "posix_spawn", errno: spawned)
            return outcome
        }
        let exited = warden_pidfd_open(pid)
        var output: [UInt8] = []
        var killedAt: Double?
        var outputOpen = true
        while exited >= 0 {
            let elapsed = monotonicSeconds() - started
            if killedAt == nil, elapsed >= timeoutSeconds {
                outcome.timedOut = true
                kill(-pid, SIGTERM)
                killedAt = elapsed
            } else if let killed = killedAt, elapsed >= killed + 2 {
                kill(-pid, SIGKILL)
            }
            let deadline = killedAt.map { $0 + 2.05 } ?? timeoutSeconds
            var descriptors = [pollfd(fd: exited, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: outputOpen ? pipeEnds[0] : -1, events: Int16(POLLIN), revents: 0)]
            let waitMilliseconds = Int32(max(1, min(Double(Int32.max), (deadline - elapsed) * 1000)).rounded(.up))
            guard poll(&descriptors, 2, waitMilliseconds) >= 0 || errno == EINTR else { break }
            if descriptors[1].revents != 0 { outputOpen = drain(pipeEnds[0], into: &output) }
            if descriptors[0].revents != 0 { break }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if exited >= 0 { close(exited) }
        // Whatever the command wrote before it exited is still in the pipe.
        let flags = fcntl(pipeEnds[0], F_GETFL)
        _ = fcntl(pipeEnds[0], F_SETFL, flags | O_NONBLOCK)
        while outputOpen && drain(pipeEnds[0], into: &output) {}
        if status & 0x7f == 0 {
            outcome.exitStatus = (status >> 8) & 0xff
        } else {
            outcome.terminatingSignal = status & 0x7f
        }
        outcome.seconds = monotonicSeconds() - started
        outcome.output = String(decoding: output, as: UTF8.self)
        return outcome
    }

    /// Reads what is available; false at end of file or on an error.
    private static func drain(_ descriptor: Int32, into output: inout [UInt8]) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(descriptor, &buffer, buffer.count)
        guard count > 0 else { return false }
        output += buffer.prefix(max(0, min(count, outputLimit - output.count)))
        return true
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
