#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    return NULL;
  return s;
}

static int set_msg(st_error **err, int code, char *msg) {
  if (err == NULL || *err != NULL) {
    free(msg);
    return -1;
  }
  st_error *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    free(msg);
    return -1;
  }
  e->code = code;
  e->msg = msg ? msg : strdup("out of memory");
  *err = e;
  return -1;
}

int st_error_set(st_error **err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = vformat(fmt, ap);
  va_end(ap);
  return set_msg(err, code, msg);
}

int st_error_errno(st_error **err, int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *head = vformat(fmt, ap);
  va_end(ap);
  char *msg = NULL;
  if (head && asprintf(&msg, "%s: %s", head, strerror(errnum)) < 0)
    msg = NULL;
  free(head);
  return set_msg(err, errnum, msg);
}

int st_error_wrap(st_error **err, const char *fmt, ...) {
  if (err == NULL || *err == NULL)
    return -1;
  va_list ap;
  va_start(ap, fmt);
  char *ctx = vformat(fmt, ap);
  va_end(ap);
  char *msg = NULL;
  if (ctx && asprintf(&msg, "%s: %s", ctx, (*err)->msg) >= 0) {
    free((*err)->msg);
    (*err)->msg = msg;
  }
  free(ctx);
  return -1;
}

void st_error_free(st_error *e) {
  if (e == NULL)
    return;
  free(e->msg);
  free(e);
}

int st_error_give(st_error **err, st_error *e) {
  if (err)
    *err = e;
  else
    st_error_free(e);
  return -1;
}

void st_error_freep(st_error **e) {
  st_error_free(*e);
  *e = NULL;
}
