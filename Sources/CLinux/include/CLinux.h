#ifndef WARDEN_CLINUX_H
#define WARDEN_CLINUX_H
// Linux calls Swift's Glibc module does not reach: they sit behind _GNU_SOURCE or are
// only macros and variadic functions. Keep this file to thin, documented wrappers.
#define _GNU_SOURCE
#include <sched.h>

/// Moves the calling thread (not the process) into a new network namespace.
static inline int warden_unshare_network_namespace(void) { return unshare(CLONE_NEWNET); }


// Event sources for log tailing (WardenSource). Defined in TailEvents.c: their headers
// pulled in here would clash with Glibc's own fd_set definition under _GNU_SOURCE.
#include <stdint.h>

/// epoll_create1(EPOLL_CLOEXEC).
int warden_epoll_create(void);
/// Adds `fd` for EPOLLIN with the descriptor itself as the event data.
int warden_epoll_add(int epoll_fd, int fd);
/// epoll_wait; writes the ready descriptors to `ready`. Returns their count or -1.
int warden_epoll_wait(int epoll_fd, int *ready, int capacity, int timeout_ms);
/// eventfd(0, EFD_CLOEXEC).
int warden_eventfd(void);
/// inotify_init1(IN_CLOEXEC | IN_NONBLOCK).
int warden_inotify_init(void);
int warden_inotify_add_watch(int fd, const char *path, uint32_t mask);
int warden_inotify_rm_watch(int fd, int watch);
/// A CLOCK_REALTIME timerfd (non-blocking), disarmed.
int warden_wall_clock_timer(void);
/// Arms it to fire once at `deadline_ns` nanoseconds since the epoch (absolute, so it
/// follows clock changes); a past deadline fires at once. Returns 0 or -1.
int warden_wall_clock_timer_set(int fd, uint64_t deadline_ns);
int warden_wall_clock_timer_disarm(int fd);
/// A CLOCK_MONOTONIC timerfd (non-blocking) firing every `interval_ns`.
int warden_periodic_timer(uint64_t interval_ns);


// Unix-socket channels (WardenIPC). Defined in CLinux.c: struct ucred needs _GNU_SOURCE,
// and pulling <sys/socket.h> in here would clash with Glibc's own fd_set definition.
#include <stdint.h>

/// The pid, uid and gid of the process at the other end of a connected AF_UNIX socket
/// (SO_PEERCRED). Returns 0, or -1 with errno set.
int warden_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid);

/// accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); accept4 is behind _GNU_SOURCE.
int warden_accept_nonblocking(int fd);


// Shared-memory ring (WardenIPC Shm*): futex is only reachable through syscall(), which is
// variadic. The operations are the non-private ones because the futex word lives in a
// segment mapped by several processes.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

/// Sleeps while `*address == expected`, at most `timeout` (relative; NULL waits forever).
/// Returns 0 when woken, -1 with errno EAGAIN (value changed), ETIMEDOUT or EINTR.
static inline int warden_futex_wait(uint32_t *address, uint32_t expected, const struct timespec *timeout) {
    return (int)syscall(SYS_futex, address, FUTEX_WAIT, expected, timeout, NULL, 0);
}

/// Wakes up to `count` waiters on `address`; returns how many were woken.
static inline int warden_futex_wake(uint32_t *address, int count) {
    return (int)syscall(SYS_futex, address, FUTEX_WAKE, count, NULL, NULL, 0);
}

/// Tells the CPU the thread is spin-waiting (x86 `pause`, arm `yield`).
static inline void warden_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}


// Firewall (WardenFirewall): namespaces, child processes with timeouts, nftables events.
// Defined in Firewall.c for the same header-clash reason as above.
#include <stdint.h>

/// setns(fd, CLONE_NEWNET): moves the calling thread into the network namespace `fd` names.
int warden_enter_network_namespace(int fd);
/// pidfd_open(pid, 0): a descriptor that polls readable when the process exits.
int warden_pidfd_open(int pid);
/// A NETLINK_NETFILTER socket (CLOEXEC) subscribed to NFNLGRP_NFTABLES, with a socket
/// filter that keeps only NFT_MSG_NEWGEN: one message per committed batch.
int warden_nftables_events_open(void);
/// Receives one datagram of nftables events without blocking and writes, for each
/// committed batch it holds (NFT_MSG_NEWGEN), the id of the thread that committed it
/// (NFTA_GEN_PROC_PID is the kernel's task id, a thread id). Returns how many were
/// written, or -1 with errno set (EAGAIN when nothing is queued; ENOBUFS when the kernel
/// dropped events because the socket buffer overflowed).
int warden_nftables_events_receive(int fd, int32_t *committers, int capacity);
/// gettid(): the kernel's id of the calling thread.
int32_t warden_thread_id(void);

#endif
