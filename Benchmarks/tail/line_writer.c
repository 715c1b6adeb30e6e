// Appends numbered log lines to a file, each carrying the CLOCK_MONOTONIC time (ns) of
// the write() that put it there, so a reader on the far side of any follower can tell
// how long the line took to arrive.
//
//   line_writer FILE COUNT LINES_PER_WRITE INTERVAL_US
//
// LINES_PER_WRITE lines go out in one write(); INTERVAL_US > 0 waits that long (absolute
// deadlines, no drift) between writes, so each write meets an idle follower.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s FILE COUNT LINES_PER_WRITE INTERVAL_US\n", argv[0]);
        return 2;
    }
    long count = atol(argv[2]), per_write = atol(argv[3]), interval_us = atol(argv[4]);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) { perror(argv[1]); return 1; }
    char *buffer = malloc((size_t)per_write * 160);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    for (long sent = 0; sent < count;) {
        if (interval_us > 0) {
            deadline.tv_nsec += interval_us * 1000;
            while (deadline.tv_nsec >= 1000000000) { deadline.tv_nsec -= 1000000000; deadline.tv_sec++; }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
        }
        size_t length = 0;
        uint64_t stamp = now_ns();
        for (long i = 0; i < per_write && sent < count; i++, sent++) {
            // About 100 bytes, shaped like an sshd syslog line.
            length += (size_t)sprintf(buffer + length,
                "%llu %ld Feb  1 10:00:00 host sshd[1234]: Failed password for root from 192.0.2.7 port 22 ssh2\n",
                (unsigned long long)stamp, sent);
        }
        for (size_t done = 0; done < length;) {
            ssize_t written = write(fd, buffer + done, length - done);
            if (written < 0) { perror("write"); return 1; }
            done += (size_t)written;
        }
    }
    close(fd);
    return 0;
}
