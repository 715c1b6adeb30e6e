import CLinux
import WardenThreads
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Wakes the caller when the nftables ruleset was changed by someone other than warden.
///
/// libnftables has no monitor API, so this holds its own `NETLINK_NETFILTER` socket
/// subscribed to `NFNLGRP_NFTABLES` (what `nft monitor` uses). The kernel sends a
/// `NEWGEN` message after every committed batch, tagged with the committing thread's id;
/// batches from threads that own an `NftablesContext` in this process are warden's own
/// and are ignored. A socket filter drops every other message of the group in the kernel
/// (a notification per set element would fill the socket in a burst of bans). A socket
/// overrun (ENOBUFS: events were lost) still counts as a change.
/// The thread sleeps in `poll` until the kernel or `stop()` wakes it: no periodic check.
///
/// The socket watches the network namespace of the thread that creates the monitor.
public final class RulesetChangeMonitor: Sendable {
    private let socket: Int32
    private let stopEvent: Int32
    private let thread: Mutex<DedicatedThread?>

    /// - Parameter onExternalChange: called on the monitor's thread, once per wake-up that
    ///   saw at least one foreign change; hand the work to the firewall's own thread.
    public init(onExternalChange: @escaping @Sendable () -> Void) throws(SystemCallError) {
        let socket = warden_nftables_events_open()
        guard socket >= 0 else { throw SystemCallError(call: "socket(NETLINK_NETFILTER)", errno: errno) }
        let stopEvent = warden_eventfd()
        guard stopEvent >= 0 else {
            let code = errno
            close(socket)
            throw SystemCallError(call: "eventfd", errno: code)
        }
        self.socket = socket
        self.stopEvent = stopEvent
        self.thread = Mutex(nil)
        let worker = try startWorkerThread {
            Self.run(socket: socket, stopEvent: stopEvent, onExternalChange: onExternalChange)
        }
        thread.withLock { $0 = worker }
    }

    deinit {
        stop()
        close(socket)
        close(stopEvent)
    }

    /// Stops and joins the monitor thread; later calls do nothing.
    public func stop() {
        guard let worker = thread.withLock({ current -> DedicatedThread? in
            defer { current = nil }
            return current
        }) else { return }
        var one: UInt64 = 1
        _ = write(stopEvent, &one, 8)
        worker.join()
    }

    private static func run(socket: Int32, stopEvent: Int32, onExternalChange: @Sendable () -> Void) {
        var descriptors = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: stopEvent, events: Int16(POLLIN), revents: 0)]
        var committers = [Int32](repeating: 0, count: 256)
        while true {
            let ready = poll(&descriptors, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if descriptors[1].revents != 0 { return }
            var foreign = false
            while true {
                let count = warden_nftables_events_receive(socket, &committers, Int32(committers.count))
                if count < 0 {
                    if errno == ENOBUFS { foreign = true; continue }
                    break
                }
                if committers[0..<Int(count)].contains(where: { !OwnNftablesCommitters.contains($0) }) { foreign = true }
            }
            if foreign { onExternalChange() }
        }
    }
}
