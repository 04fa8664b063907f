/* The one error contract of strata's library.
 *
 * A fallible function returns an int: >= 0 on success, < 0 on failure. On
 * failure it has set *err (when err is not NULL) to a heap-allocated st_error
 * whose message names the object involved, e.g.
 *   "open `blobs/sha256/ab12...`: No such file or directory".
 * Callers add context on the way up with st_error_wrap():
 *   "import rootfs.tar: layer 1: ...".
 * Only main() turns an error into output and an exit code; the library never
 * prints to stdout and never exits.
 */
#ifndef STRATA_UTIL_ERROR_H
#define STRATA_UTIL_ERROR_H

#include <stdarg.h>

typedef struct st_error {
  int code;  /* an errno value classifying the failure (ENOENT: no such
                object; EINVAL: bad input; EEXIST; EBUSY: in use; EIO: corrupt
                data; ENOSPC ...); 0 when there is none */
  char *msg; /* full message, context first */
} st_error;

/* Sets *err (if err and no error is set yet) and returns -1. */
int st_error_set(st_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like st_error_set, appending ": strerror(errnum)"; code is errnum. */
int st_error_errno(st_error **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message in *err with "context: ". Returns -1 so that
 * `return st_error_wrap(err, "...")` reads naturally. */
int st_error_wrap(st_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void st_error_free(st_error *e);
/* Hands an error the callee made on its own (to look at its code first)
 * to the caller: *err = e, or frees e when err is NULL. Returns -1. */
int st_error_give(st_error **err, st_error *e);
void st_error_freep(st_error **e);
#define cleanup_error __attribute__((cleanup(st_error_freep)))

#endif
