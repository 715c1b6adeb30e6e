// Test driver for the C client: publishes `count` lines "line <n>" into a socket channel,
// optionally after dropping privileges to `uid` (to exercise peer-credential refusal).
// Prints the client's reader count, or "open failed: <errno>" and exits 2.
#include "warden_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 64;
    long count = atol(argv[2]);
    if (argc > 3) {
        uid_t uid = (uid_t)atol(argv[3]);
        if (setgid(uid) != 0 || setuid(uid) != 0) return 3;
    }
    warden_client *client = warden_client_open_socket(argv[1]);
    if (!client) {
        printf("open failed: %d\n", errno);
        return 2;
    }
    printf("readers %d\n", warden_client_reader_count(client));
    char line[64];
    for (long n = 0; n < count; n++) {
        int length = snprintf(line, sizeof(line), "line %ld", n);
        if (warden_publish_line(client, line, (size_t)length) != 0) return 4;
    }
    return warden_client_close(client) == 0 ? 0 : 5;
}
