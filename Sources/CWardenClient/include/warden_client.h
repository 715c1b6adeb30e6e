#ifndef WARDEN_CLIENT_H
#define WARDEN_CLIENT_H
/*
 * Publish log lines into a warden channel from C, without Swift.
 *
 *     warden_client *client = warden_client_open_socket("/run/warden/sshd.socket");
 *     warden_publish_line(client, line, length);   // buffered
 *     warden_client_flush(client);                 // one packet per reader
 *     warden_client_close(client);                 // flushes
 *
 * The socket channel's path is a directory with one SOCK_SEQPACKET socket per reader
 * (`<name>.sock`); the client sends every batch to each of them, blocking while a reader
 * is full (back-pressure). Records use warden's frame format (docs/ipc.md). Functions
 * return 0 on success and -1 with errno set on failure. A client is not thread-safe.
 */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct warden_client warden_client;

/* Connects to every reader socket in `directory`; NULL with errno on failure. Readers that
 * start later are picked up at the next flush. */
warden_client *warden_client_open_socket(const char *directory);

/* Queues one log line (no trailing newline needed; one is not added). Flushes first when
 * the batch is full. Lines longer than 61440 bytes fail with EMSGSIZE. */
int warden_publish_line(warden_client *client, const char *line, size_t length);

/* Sends the queued lines to every connected reader. */
int warden_client_flush(warden_client *client);

/* Number of readers the client is currently connected to. */
int warden_client_reader_count(const warden_client *client);

/* Connections the client closed because the listening process was neither root nor the
 * client's own user (SO_PEERCRED), so a socket another user planted gets no lines. */
int warden_client_refused_count(const warden_client *client);

/* Flushes, closes every connection and frees the client. */
int warden_client_close(warden_client *client);

#ifdef __cplusplus
}
#endif
#endif
