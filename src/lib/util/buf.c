#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(st_buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *d = realloc(b->data, cap);
  if (d == NULL)
    return -1;
  b->data = d;
  b->cap = cap;
  return 0;
}

int st_buf_append(st_buf *b, const void *p, size_t n) {
  if (reserve(b, n) < 0)
    return -1;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int st_buf_puts(st_buf *b, const char *s) {
  return st_buf_append(b, s, strlen(s));
}

int st_buf_putc(st_buf *b, char c) {
  return st_buf_append(b, &c, 1);
}

int st_buf_vprintf(st_buf *b, const char *fmt, va_list ap) {
  /* One pass when the text fits in the spare room, two otherwise. */
  va_list ap2;
  va_copy(ap2, ap);
  size_t room = b->cap > b->len ? b->cap - b->len : 0;
  int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return -1;
  if ((size_t)n >= room) {
    if (reserve(b, (size_t)n) < 0) {
      if (b->data)
        b->data[b->len] = '\0';
      return -1;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  }
  b->len += (size_t)n;
  return 0;
}

int st_buf_printf(st_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = st_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return r;
}

char *st_buf_steal(st_buf *b) {
  char *d = b->data ? b->data : strdup("");
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}

void st_buf_free(st_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void st_buf_quote(st_buf *b, const char *s) {
  st_buf_putc(b, '"');
  size_t i = 0;
  for (; s[i] && i < ST_QUOTE_MAX; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      st_buf_printf(b, "\\%c", c);
    else if (c < 0x20 || c == 0x7f)
      st_buf_printf(b, "\\x%02x", c);
    else
      st_buf_putc(b, (char)c);
  }
  st_buf_puts(b, s[i] ? "\"..." : "\"");
}
