#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM, SIGINT and SIGHUP delivered synchronously to one thread with `sigwait`.
///
/// `block()` must run before any other thread is created, so every thread inherits the
/// mask and no handler runs at an arbitrary point of some thread: the waiting thread gets
/// the signal as an ordinary return value.
public enum SignalLoop {
    public enum Event: Sendable { case stop, reload }

    public static func block() {
        var set = signals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // A client that disconnects mid-reply must not kill the daemon.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Blocks until a stop or reload signal arrives.
    public static func wait() -> Event {
        var set = signals()
        while true {
            var received: Int32 = 0
            guard sigwait(&set, &received) == 0 else { continue }
            switch received {
            case SIGHUP: return .reload
            case SIGTERM, SIGINT: return .stop
            default: continue
            }
        }
    }

    /// Asks the waiting thread to stop (from the control socket's `stop`).
    public static func requestStop() {
        kill(getpid(), SIGTERM)
    }

    private static func signals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for number in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, number) }
        return set
    }
}
