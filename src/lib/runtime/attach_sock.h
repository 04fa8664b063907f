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

#include <stdbool.h>
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

/* Whether the container in dir was made with -i (its open-stdin marker,
 * <dir>/stdin): the monitor then listens, and attach relays input. */
bool st_attach_wanted(const char *dir);

/* Sends one message; 0, or -1 with errno. */
int st_attach_send(int fd, char type, const void *p, size_t n);

/* ---- the detach keys (attach's client, and `run -it` itself) ---------- */

#define ST_DETACH_KEYS_MAX 16

typedef struct st_detach {
  unsigned char keys[ST_DETACH_KEYS_MAX];
  size_t n_keys;  /* the sequence */
  size_t matched; /* how many of them were just typed (held back) */
} st_detach;

/* Docker's --detach-keys: comma-separated single characters or ctrl-X (X
 * a letter or one of @[\]^_); NULL is the default, ctrl-p,ctrl-q. 0, or
 * -1 when spec is not valid. */
int st_detach_parse(const char *spec, st_detach *d);

/* Passes n typed bytes through: what is not (yet) the detach sequence goes
 * to out (room for n + ST_DETACH_KEYS_MAX bytes); a beginning of the
 * sequence is held back until the next byte tells. Returns the bytes put
 * in out; *detached is set when the whole sequence was typed (the bytes
 * after it are dropped). */
size_t st_detach_filter(st_detach *d, const unsigned char *in, size_t n,
                        unsigned char *out, bool *detached);

#endif
