// Reads a follower's output from standard input until COUNT lines have arrived and
// prints, as one JSON object, how long each line took from the write() that wrote it
// (its first field, CLOCK_MONOTONIC ns) to the read() that received it here.
//
//   follower ... | line_reader COUNT
//
// One clock reading per read() call: every line in that chunk gets the same arrival
// time, which is when the follower made it available to a consumer.
#define _GNU_SOURCE
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

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s COUNT\n", argv[0]); return 2; }
    long expected = atol(argv[1]), received = 0, malformed = 0;
    uint64_t *latencies = malloc(sizeof(uint64_t) * (size_t)expected);
    uint64_t first_written = 0, last_arrival = 0;
    enum { capacity = 1 << 20 };
    static char buffer[capacity + 1];
    size_t carried = 0;
    while (received < expected) {
        ssize_t count = read(0, buffer + carried, capacity - carried);
        if (count <= 0) break;
        uint64_t arrival = now_ns();
        size_t filled = carried + (size_t)count, start = 0;
        char *newline;
        while ((newline = memchr(buffer + start, '\n', filled - start)) != NULL) {
            char *end;
            uint64_t written = strtoull(buffer + start, &end, 10);
            if (end == buffer + start || received >= expected) {
                malformed++;
            } else {
                if (received == 0) first_written = written;
                latencies[received++] = arrival > written ? arrival - written : 0;
                last_arrival = arrival;
            }
            start = (size_t)(newline - buffer) + 1;
        }
        carried = filled - start;
        memmove(buffer, buffer + start, carried);
    }
    double seconds = received ? (double)(last_arrival - first_written) / 1e9 : 0;
    qsort(latencies, (size_t)received, sizeof(uint64_t), compare);
    printf("{\"received\": %ld, \"malformed\": %ld, \"seconds\": %.6f, \"lines_per_second\": %.1f, "
           "\"median_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}\n",
           received, malformed, seconds, seconds > 0 ? received / seconds : 0,
           received ? latencies[received / 2] / 1e3 : 0,
           received ? latencies[(size_t)(received * 0.99)] / 1e3 : 0,
           received ? latencies[received - 1] / 1e3 : 0);
    return received == expected ? 0 : 1;
}
