// Test helper: a process that is not an authorised reader plants a socket in a channel
// directory. Drops to `uid`, listens on SOCK_SEQPACKET `socket-path`, prints "listening",
// then prints "accepted" per connection and "packet <bytes>" per packet received. Runs
// until killed.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) return 64;
    uid_t uid = (uid_t)atol(argv[2]);
    if (setgid(uid) != 0 || setuid(uid) != 0) return 3;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof(address.sun_path)) return 64;
    strcpy(address.sun_path, argv[1]);
    int listener = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) != 0 || listen(listener, 16) != 0) {
        perror("listen_as");
        return 2;
    }
    printf("listening\n");
    fflush(stdout);
    static char packet[1 << 17];
    for (;;) {
        int connection = accept(listener, NULL, NULL);
        if (connection < 0) continue;
        printf("accepted\n");
        fflush(stdout);
        ssize_t received;
        while ((received = recv(connection, packet, sizeof(packet), 0)) > 0) {
            printf("packet %zd\n", received);
            fflush(stdout);
        }
        close(connection);
    }
}
