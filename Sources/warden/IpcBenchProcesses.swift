import WardenIPC
#if canImport(Glibc)
import Glibc
#endif

/// A re-executed `warden` child whose stdout is a pipe read line by line.
final class ChildProcess {
    let pid: pid_t
    private let output: UnsafeMutablePointer<FILE>

    init(_ arguments: [String]) throws {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw ChannelError.system(call: "pipe", path: nil, errno: errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        let executable = "/proc/self/exe"
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, nil, argv, environ)
        close(pipeEnds[1])
        guard status == 0 else { throw ChannelError.system(call: "posix_spawn", path: executable, errno: status) }
        pid = child
        output = fdopen(pipeEnds[0], "r")
    }

    deinit { fclose(output) }

    func readLine() -> String? {
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        guard getline(&line, &capacity, output) > 0, let line else { return nil }
        return String(cString: line).trimmingSuffixNewline()
    }

    /// Waits for the child; its exit status, or -1 if it died from a signal.
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }
}

extension String {
    fileprivate func trimmingSuffixNewline() -> String { hasSuffix("\n") ? String(dropLast()) : self }
}

/// A counting semaphore for the in-process (memory adapter) run.
final class Semaphore: @unchecked Sendable {
    private var value = 0
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    func signal() {
        pthread_mutex_lock(&mutex)
        value += 1
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    func wait() {
        pthread_mutex_lock(&mutex)
        while value == 0 { pthread_cond_wait(&condition, &mutex) }
        value -= 1
        pthread_mutex_unlock(&mutex)
    }
}

/// A dedicated pthread running one closure; `join` waits for it.
final class BenchThread {
    private var thread = pthread_t()

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(ClosureBox(body)).toOpaque()
        pthread_create(&thread, nil, { argument in
            let box = Unmanaged<ClosureBox>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
    }

    func join() { pthread_join(thread, nil) }
}

private final class ClosureBox {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Per-reader outcomes of the threaded run; each slot is written by one thread, read after join.
final class ResultSlots: @unchecked Sendable {
    private var slots: [Result<IpcBenchWorkerCommand.ReaderResult, any Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func store(_ index: Int, _ result: Result<IpcBenchWorkerCommand.ReaderResult, any Error>) { slots[index] = result }

    func all() throws -> [IpcBenchWorkerCommand.ReaderResult] { try slots.map { try $0!.get() } }
}
