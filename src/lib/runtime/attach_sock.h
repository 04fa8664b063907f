/* The attach socket of a detached container with open stdin (`run -di`,
 * `-dit`): its monitor listens on <dir>/attach.sock, and `attach` (or
 * `start -ai`) connects to type into the container. Output does not go
 * through it: attach follows the container's log.
 *
 * A SOCK_SEQPACKET socket; each message is one type byte and its payload:
 * ST_ATTACH_DATA bytes for the container's stdin (the pty with -t, a pipe
 * without), or ST_ATTACH_RESIZE a struct winsize for the pty. */
#ifndef STRATA_RUNTIME_ATTACH_SOCK_H
#define STRATA_RUNTIME_ATTACH_SOCK_H

#include <stddef.h>

#include "util/error.h"

#define ST_ATTACH_SOCK "attach.sock"
#define ST_ATTACH_MAX_MSG 65536 /* payload bytes per message, at most */

enum { ST_ATTACH_DATA = 'd', ST_ATTACH_RESIZE = 'w' };

/* Binds and listens on <dir>/attach.sock (a stale one is replaced);
 * returns the listening socket (non-blocking, close-on-exec). */
int st_attach_listen(const char *dir, st_error **err);

/* Connects to <dir>/attach.sock; returns the socket, or -1 with errno
 * (ENOENT or ECONNREFUSED: no monitor listens there). */
int st_attach_connect(const char *dir);

/* Sends one message; 0, or -1 with errno. */
int st_attach_send(int fd, char type, const void *p, size_t n);

#endif
