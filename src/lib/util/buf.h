/* A growable byte buffer, always NUL-terminated. */
#ifndef STRATA_UTIL_BUF_H
#define STRATA_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct st_buf {
  char *data; /* NULL until the first append */
  size_t len;
  size_t cap;
} st_buf;

#define ST_BUF_INIT                                                            \
  { NULL, 0, 0 }

/* Each returns 0, or -1 when out of memory (the buffer is then unchanged). */
int st_buf_append(st_buf *b, const void *p, size_t n);
int st_buf_puts(st_buf *b, const char *s);
int st_buf_putc(st_buf *b, char c);
int st_buf_printf(st_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int st_buf_vprintf(st_buf *b, const char *fmt, va_list ap);
/* Entry names and other untrusted names in messages are cut at this many
 * bytes (a tar name can be kilobytes long). */
#define ST_QUOTE_MAX 200
/* Appends s in double quotes for a message: '"', '\\' and control bytes
 * (below 0x20, 0x7f) escaped ("\x1b"), cut after ST_QUOTE_MAX bytes of s
 * with "..." after the closing quote. Out of memory only shortens it. */
void st_buf_quote(st_buf *b, const char *s);
/* Returns the string (never NULL: "" for an empty buffer) and resets b. */
char *st_buf_steal(st_buf *b);
void st_buf_free(st_buf *b);
#define cleanup_buf __attribute__((cleanup(st_buf_free)))

#endif
