/* Archive paths: cleaning untrusted entry names, resolving link targets
 * lexically, and quoting names in messages. Nothing here touches the file
 * system: archive entries never become paths on disk (see
 * archive_extract.c), so a name only has to mean one archive path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/archive_internal.h"
#include "util/cleanup.h"

#define QUOTE_MAX 200

void st_archive_quote(st_buf *b, const char *s) {
  st_buf_putc(b, '`');
  size_t i = 0;
  for (; s[i] && i < QUOTE_MAX; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f)
      st_buf_printf(b, "\\x%02x", c);
    else
      st_buf_putc(b, (char)c);
  }
  st_buf_puts(b, s[i] ? "`..." : "`");
}

char *st_archive_blob_path(const char *digest) {
  char *s = NULL;
  if (asprintf(&s, "blobs/sha256/%s", st_digest_hex(digest)) < 0)
    return NULL;
  return s;
}

int st_archive_missing(const char *where, const char *name, st_error **err) {
  cleanup_buf st_buf b = ST_BUF_INIT;
  st_archive_quote(&b, name);
  return st_error_set(err, ENOENT, "%s names %s which is not in the archive",
                      where, b.data ? b.data : "");
}

/* A path being built from components: "a/b/c". */
typedef struct path_acc {
  char *buf;
  size_t len;
} path_acc;

static void acc_push(path_acc *p, const char *comp, size_t n) {
  if (p->len > 0)
    p->buf[p->len++] = '/';
  memcpy(p->buf + p->len, comp, n);
  p->len += n;
  p->buf[p->len] = '\0';
}

/* Drops the last component; false when there is none (the path would
 * leave the root). */
static bool acc_pop(path_acc *p) {
  if (p->len == 0)
    return false;
  char *slash = memrchr(p->buf, '/', p->len);
  p->len = slash ? (size_t)(slash - p->buf) : 0;
  p->buf[p->len] = '\0';
  return true;
}

/* Adds the components of s to p. With allow_up, ".." removes one (false
 * when that would leave the root); without, ".." is refused (false). */
static bool acc_add(path_acc *p, const char *s, bool allow_up) {
  while (*s) {
    const char *end = strchrnul(s, '/');
    size_t n = (size_t)(end - s);
    if (n == 2 && s[0] == '.' && s[1] == '.') {
      if (!allow_up || !acc_pop(p))
        return false;
    } else if (n > 0 && !(n == 1 && s[0] == '.')) {
      acc_push(p, s, n);
    }
    s = *end ? end + 1 : end;
  }
  return true;
}

static int bad_name(const char *name, const char *why, st_error **err) {
  cleanup_buf st_buf b = ST_BUF_INIT;
  st_buf_puts(&b, "invalid path ");
  st_archive_quote(&b, name);
  return st_error_set(err, EINVAL, "%s: %s", b.data ? b.data : "", why);
}

int st_archive_clean_path(const char *name, char **out, st_error **err) {
  if (name == NULL || name[0] == '\0')
    return st_error_set(err, EINVAL, "invalid path: empty name");
  if (name[0] == '/')
    return bad_name(name, "absolute paths are not allowed in an archive", err);
  path_acc p = {malloc(strlen(name) + 1), 0};
  if (p.buf == NULL)
    return st_error_errno(err, ENOMEM, "archive path");
  p.buf[0] = '\0';
  if (!acc_add(&p, name, false)) {
    free(p.buf);
    return bad_name(name, "\"..\" leaves the archive", err);
  }
  *out = p.buf;
  return 0;
}

char *st_archive_link_target(const char *entry, const char *target) {
  if (target == NULL || target[0] == '\0') {
    errno = EINVAL;
    return NULL;
  }
  path_acc p = {malloc(strlen(entry) + strlen(target) + 2), 0};
  if (p.buf == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  p.buf[0] = '\0';
  if (target[0] != '/') {
    /* Relative to the directory holding the link. */
    const char *slash = strrchr(entry, '/');
    if (slash)
      acc_push(&p, entry, (size_t)(slash - entry));
  }
  if (!acc_add(&p, target, true) || p.len == 0) {
    free(p.buf);
    errno = EINVAL;
    return NULL;
  }
  return p.buf;
}
