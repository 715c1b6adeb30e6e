// epoll, eventfd, inotify and timerfd for WardenSource's tailer thread (see CLinux.h).
#include "CLinux.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>

int warden_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int warden_epoll_add(int epoll_fd, int fd) {
    struct epoll_event event = { .events = EPOLLIN, .data.fd = fd };
    return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

int warden_epoll_wait(int epoll_fd, int *ready, int capacity, int timeout_ms) {
    struct epoll_event events[16];
    if (capacity > 16) capacity = 16;
    int count = epoll_wait(epoll_fd, events, capacity, timeout_ms);
    for (int i = 0; i < count; i++) ready[i] = events[i].data.fd;
    return count;
}

int warden_eventfd(void) { return eventfd(0, EFD_CLOEXEC); }

int warden_inotify_init(void) { return inotify_init1(IN_CLOEXEC | IN_NONBLOCK); }

int warden_inotify_add_watch(int fd, const char *path, uint32_t mask) { return inotify_add_watch(fd, path, mask); }

int warden_inotify_rm_watch(int fd, int watch) { return inotify_rm_watch(fd, watch); }

int warden_wall_clock_timer(void) {
    return timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
}

int warden_wall_clock_timer_set(int fd, uint64_t deadline_ns) {
    struct itimerspec specification = { 0 };
    // A zero it_value disarms the timer; a deadline in the past fires at once.
    if (deadline_ns == 0) deadline_ns = 1;
    specification.it_value.tv_sec = (time_t)(deadline_ns / 1000000000u);
    specification.it_value.tv_nsec = (long)(deadline_ns % 1000000000u);
    // TFD_TIMER_CANCEL_ON_SET is not needed: an absolute CLOCK_REALTIME timer already
    // follows clock changes.
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &specification, 0);
}

int warden_wall_clock_timer_disarm(int fd) {
    struct itimerspec specification = { 0 };
    return timerfd_settime(fd, 0, &specification, 0);
}

int warden_periodic_timer(uint64_t interval_ns) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0) return -1;
    struct timespec interval = { .tv_sec = (time_t)(interval_ns / 1000000000u), .tv_nsec = (long)(interval_ns % 1000000000u) };
    struct itimerspec specification = { .it_interval = interval, .it_value = interval };
    timerfd_settime(fd, 0, &specification, 0);
    return fd;
}
