/* When each IPv4 address reaches one nftables set, from the kernel's own events.
 *
 * Usage (inside the daemon's network namespace): setelem_listener TABLE SET
 *
 * Subscribes to NFNLGRP_NFTABLES (what `nft monitor` listens to) and records, per
 * address, the CLOCK_MONOTONIC time at which the NEWSETELEM event carrying it was
 * received. Nothing is printed per event: the harness asks on stdin and gets one line
 * back on stdout once the answer is known, so a 5,000-element burst costs one line.
 *
 *   ready                        printed once subscribed
 *   wait A.B.C.D   -> seen A.B.C.D T              once the address has arrived
 *   count N        -> counting                    at once (start the burst after this)
 *                  -> counted N FIRST LAST        once N addresses not seen before this
 *                                                 command have arrived (arrival times of
 *                                                 the first and the N-th)
 *   progress       -> progress N FIRST LAST       at once: the addresses counted so far
 *                                                 (for a daemon that did not finish in time)
 *   any reply is   -> overrun                     if the kernel dropped events (ENOBUFS)
 *
 * Times are seconds of CLOCK_MONOTONIC, the clock of Python's time.perf_counter().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOTS (1u << 18) /* open addressing; the benchmark bans about 5,050 addresses */

static uint32_t keys[SLOTS];
static double arrived[SLOTS];
static unsigned char used[SLOTS];

static const char *table_name, *set_name;
static int overrun;

/* The pending requests (the harness asks one question at a time). */
static int waiting;
static uint32_t wait_address;
static long count_target = -1, counted;
static double count_first, count_last;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static long slot_of(uint32_t address) {
    uint32_t slot = (address * 2654435761u) & (SLOTS - 1);
    while (used[slot] && keys[slot] != address) slot = (slot + 1) & (SLOTS - 1);
    return slot;
}

static void answer(void) {
    if (overrun && (waiting || count_target >= 0)) {
        printf("overrun\n");
        waiting = 0;
        count_target = -1;
    }
    if (waiting) {
        long slot = slot_of(wait_address);
        if (used[slot]) {
            struct in_addr text = {wait_address};
            printf("seen %s %.9f\n", inet_ntoa(text), arrived[slot]);
            waiting = 0;
        }
    }
    if (count_target >= 0 && counted >= count_target) {
        printf("counted %ld %.9f %.9f\n", counted, count_first, count_last);
        count_target = -1;
    }
    fflush(stdout);
}

static void record(uint32_t address, double at) {
    long slot = slot_of(address);
    if (used[slot]) return;
    used[slot] = 1;
    keys[slot] = address;
    arrived[slot] = at;
    if (count_target >= 0 && counted < count_target) {
        if (counted == 0) count_first = at;
        count_last = at;
        counted++;
    }
}

/* Loops over the attributes of a netlink payload, stopping at the first malformed one. */
#define FOR_EACH_ATTRIBUTE(base, length, attribute)                                                  \
    for (struct nlattr *attribute = (struct nlattr *)(base);                                          \
         (char *)attribute + NLA_HDRLEN <= (char *)(base) + (length) && attribute->nla_len >= NLA_HDRLEN && \
         (char *)attribute + attribute->nla_len <= (char *)(base) + (length);                          \
         attribute = (struct nlattr *)((char *)attribute + NLA_ALIGN(attribute->nla_len)))

#define PAYLOAD(attribute) ((char *)(attribute) + NLA_HDRLEN)
#define PAYLOAD_LENGTH(attribute) ((int)(attribute)->nla_len - NLA_HDRLEN)
#define TYPE(attribute) ((attribute)->nla_type & NLA_TYPE_MASK)

static int names(struct nlattr *attribute, const char *expected) {
    return strncmp(PAYLOAD(attribute), expected, PAYLOAD_LENGTH(attribute)) == 0 &&
           strlen(expected) < (size_t)PAYLOAD_LENGTH(attribute);
}

static void new_elements(struct nlmsghdr *message, double at) {
    char *body = (char *)NLMSG_DATA(message) + sizeof(struct nfgenmsg);
    int length = (int)message->nlmsg_len - NLMSG_HDRLEN - (int)sizeof(struct nfgenmsg);
    int table_matches = 0, set_matches = 0;
    struct nlattr *elements = NULL;
    FOR_EACH_ATTRIBUTE(body, length, attribute) {
        if (TYPE(attribute) == NFTA_SET_ELEM_LIST_TABLE) table_matches = names(attribute, table_name);
        if (TYPE(attribute) == NFTA_SET_ELEM_LIST_SET) set_matches = names(attribute, set_name);
        if (TYPE(attribute) == NFTA_SET_ELEM_LIST_ELEMENTS) elements = attribute;
    }
    if (!table_matches || !set_matches || !elements) return;
    FOR_EACH_ATTRIBUTE(PAYLOAD(elements), PAYLOAD_LENGTH(elements), element) {
        FOR_EACH_ATTRIBUTE(PAYLOAD(element), PAYLOAD_LENGTH(element), field) {
            if (TYPE(field) != NFTA_SET_ELEM_KEY) continue;
            FOR_EACH_ATTRIBUTE(PAYLOAD(field), PAYLOAD_LENGTH(field), data) {
                if (TYPE(data) == NFTA_DATA_VALUE && PAYLOAD_LENGTH(data) == 4) {
                    uint32_t address;
                    memcpy(&address, PAYLOAD(data), 4);
                    record(address, at);
                }
            }
        }
    }
}

static void read_events(int sock) {
    static char buffer[1 << 16];
    for (;;) {
        ssize_t received = recv(sock, buffer, sizeof buffer, MSG_DONTWAIT);
        if (received < 0) {
            if (errno == ENOBUFS) { overrun = 1; continue; }
            return; /* EAGAIN: drained */
        }
        double at = now();
        int length = (int)received;
        for (struct nlmsghdr *message = (struct nlmsghdr *)buffer; NLMSG_OK(message, length);
             message = NLMSG_NEXT(message, length)) {
            if (message->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM)) new_elements(message, at);
        }
    }
}

static void read_command(void) {
    char text[256];
    if (!fgets(text, sizeof text, stdin)) exit(0);
    char address[64];
    long target;
    if (sscanf(text, "wait %63s", address) == 1) {
        struct in_addr parsed;
        if (inet_aton(address, &parsed)) { waiting = 1; wait_address = parsed.s_addr; }
    } else if (strncmp(text, "progress", 8) == 0) {
        printf("progress %ld %.9f %.9f\n", counted, count_first, count_last);
        fflush(stdout);
    } else if (sscanf(text, "count %ld", &target) == 1) {
        count_target = target;
        counted = 0;
        printf("counting\n");
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s TABLE SET\n", argv[0]); return 2; }
    table_name = argv[1];
    set_name = argv[2];
    int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (sock < 0) { perror("socket"); return 1; }
    int size = 256 << 20; /* a burst's events must not overrun the queue */
    if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) perror("SO_RCVBUFFORCE");
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    if (bind(sock, (struct sockaddr *)&local, sizeof local) < 0) { perror("bind"); return 1; }
    int group = NFNLGRP_NFTABLES;
    if (setsockopt(sock, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
        perror("NETLINK_ADD_MEMBERSHIP");
        return 1;
    }
    /* stdin is a pipe: unbuffered reads so a command is never stuck in stdio's buffer
       while poll waits on the descriptor. */
    setvbuf(stdin, NULL, _IONBF, 0);
    printf("ready\n");
    fflush(stdout);
    struct pollfd fds[2] = {{.fd = sock, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            perror("poll");
            return 1;
        }
        if (fds[0].revents) read_events(sock);
        if (fds[1].revents) read_command();
        answer();
    }
}
