// The C client for warden's socket channel; see include/warden_client.h and docs/ipc.md.
#define _GNU_SOURCE
#include "warden_client.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

// Must match WardenIPC: MessageFrame (8-byte header, version 1) and the socket adapter's
// packet (8-byte dropped-count header, then at most 64 KiB of frames).
enum {
    frame_header_size = 8,
    frame_version = 1,
    frame_type_log_line = 1,
    max_payload = 60 * 1024,
    packet_header_size = 8,
    batch_capacity = 64 * 1024,
    max_readers = 64,
};

struct reader_connection {
    int fd;
    char name[256];
};

struct warden_client {
    char directory[108];
    int directory_watch;
    struct reader_connection readers[max_readers];
    int reader_count;
    int refused;
    size_t used; // bytes of frames after the packet header
    unsigned char packet[packet_header_size + batch_capacity];
};

static int connect_reader(warden_client *client, const char *name) {
    for (int i = 0; i < client->reader_count; i++)
        if (strcmp(client->readers[i].name, name) == 0) return 0;
    if (client->reader_count == max_readers) return 0;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    int written = snprintf(address.sun_path, sizeof(address.sun_path), "%s/%s", client->directory, name);
    if (written < 0 || (size_t)written >= sizeof(address.sun_path)) return 0;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        close(fd); // a stale socket of a reader that is gone
        return 0;
    }
    // Lines go only to a reader run by root or by this client's own user: a socket another
    // user planted in the directory gets nothing.
    struct ucred listener;
    socklen_t length = sizeof(listener);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &listener, &length) != 0 ||
        (listener.uid != 0 && listener.uid != geteuid())) {
        close(fd);
        client->refused++;
        return 0;
    }
    struct reader_connection *reader = &client->readers[client->reader_count++];
    reader->fd = fd;
    snprintf(reader->name, sizeof(reader->name), "%s", name);
    return 0;
}

static int connect_new_readers(warden_client *client) {
    DIR *directory = opendir(client->directory);
    if (!directory) return -1;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        size_t length = strlen(entry->d_name);
        if (length > 5 && strcmp(entry->d_name + length - 5, ".sock") == 0) connect_reader(client, entry->d_name);
    }
    closedir(directory);
    return 0;
}

warden_client *warden_client_open_socket(const char *directory) {
    if (strlen(directory) >= sizeof(((warden_client *)0)->directory)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    warden_client *client = calloc(1, sizeof(*client));
    if (!client) return NULL;
    strcpy(client->directory, directory);
    client->directory_watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (client->directory_watch < 0 ||
        inotify_add_watch(client->directory_watch, directory, IN_CREATE | IN_MOVED_TO) < 0 ||
        connect_new_readers(client) != 0) {
        int saved = errno;
        if (client->directory_watch >= 0) close(client->directory_watch);
        free(client);
        errno = saved;
        return NULL;
    }
    return client;
}

int warden_publish_line(warden_client *client, const char *line, size_t length) {
    if (length > max_payload) {
        errno = EMSGSIZE;
        return -1;
    }
    if (client->used + frame_header_size + length > batch_capacity && warden_client_flush(client) != 0) return -1;
    unsigned char *frame = client->packet + packet_header_size + client->used;
    uint32_t little_endian_length = (uint32_t)length; // x86-64 and arm64 Linux are little endian
    frame[0] = frame_version;
    frame[1] = frame_type_log_line;
    frame[2] = 0;
    frame[3] = 0;
    memcpy(frame + 4, &little_endian_length, 4);
    memcpy(frame + frame_header_size, line, length);
    client->used += frame_header_size + length;
    return 0;
}

int warden_client_flush(warden_client *client) {
    if (client->used == 0) return 0;
    unsigned char events[4096];
    int changed = 0;
    while (read(client->directory_watch, events, sizeof(events)) > 0) changed = 1;
    if (changed) connect_new_readers(client);
    memset(client->packet, 0, packet_header_size); // this client never drops
    size_t size = packet_header_size + client->used;
    for (int i = 0; i < client->reader_count;) {
        ssize_t sent;
        do sent = send(client->readers[i].fd, client->packet, size, MSG_NOSIGNAL);
        while (sent < 0 && errno == EINTR);
        if (sent == (ssize_t)size) {
            i++;
            continue;
        }
        // The reader went away: forget it (a restarted one is found through inotify).
        close(client->readers[i].fd);
        client->readers[i] = client->readers[--client->reader_count];
    }
    client->used = 0;
    return 0;
}

int warden_client_reader_count(const warden_client *client) { return client->reader_count; }

int warden_client_refused_count(const warden_client *client) { return client->refused; }

int warden_client_close(warden_client *client) {
    int result = warden_client_flush(client);
    for (int i = 0; i < client->reader_count; i++) close(client->readers[i].fd);
    close(client->directory_watch);
    free(client);
    return result;
}
