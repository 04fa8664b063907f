/* The build context as a source root: opening it, resolving the sources a
 * COPY names (paths and per-component patterns). */
#include "build/context.h"
#include "build/context_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/safepath.h"

/* /proc/self/fd/N's target, heap, or NULL. */
static char *fd_path(int fd) {
  char proc[64], buf[4096];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
  if (n <= 0 || buf[0] != '/')
    return NULL;
  buf[n] = '\0';
  return strdup(buf);
}

int st_ctx_open(const char *dir, const st_ignore *ig, st_ctx **out,
                st_error **err) {
  cleanup_free st_ctx *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return st_error_errno(err, ENOMEM, "build context");
  c->rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (c->rootfd < 0)
    return st_error_errno(err, errno, "open build context `%s`", dir);
  c->ig = ig && st_ignore_count(ig) ? ig : NULL;
  c->real = fd_path(c->rootfd);
  if (c->real && strcmp(c->real, "/") == 0)
    c->real[0] = '\0';
  *out = steal_pointer(&c);
  return 0;
}

void st_ctx_free(st_ctx *c) {
  if (c == NULL)
    return;
  if (c->rootfd >= 0)
    close(c->rootfd);
  free(c->real);
  free(c);
}

int ctx_not_found(const char *source, st_error **err) {
  return st_error_set(err, ENOENT,
                      "COPY failed: file not found in build context or "
                      "excluded by .dockerignore: stat %s: file does not exist",
                      source);
}

int ctx_outside(const char *source, st_error **err) {
  return st_error_set(
      err, EINVAL, "COPY failed: forbidden path outside the build context: %s",
      source);
}

char *ctx_clean(const char *source) {
  size_t len = strlen(source);
  char *out = malloc(len + 1);
  if (out == NULL)
    return NULL;
  size_t n = 0;
  for (const char *p = source; *p;) {
    while (*p == '/')
      p++;
    const char *end = strchrnul(p, '/');
    size_t l = (size_t)(end - p);
    if (l == 0 || (l == 1 && p[0] == '.')) {
      /* nothing */
    } else if (l == 2 && p[0] == '.' && p[1] == '.') {
      if (n == 0) {
        free(out);
        errno = EINVAL;
        return NULL;
      }
      while (n > 0 && out[n - 1] != '/')
        n--;
      if (n > 0)
        n--;
    } else {
      if (n)
        out[n++] = '/';
      memcpy(out + n, p, l);
      n += l;
    }
    p = end;
  }
  out[n] = '\0';
  return out;
}

bool ctx_excluded(const st_ctx *c, const char *path, bool is_dir,
                  bool dir_counts) {
  if (c->ig == NULL || *path == '\0' || !st_ignore_match(c->ig, path))
    return false;
  return !(is_dir && dir_counts && st_ignore_may_reinclude(c->ig, path));
}

/* The path of fd relative to the root, heap, or NULL when /proc cannot
 * tell (not mounted, or the root not where it shows it). */
static char *real_in_root(const st_ctx *c, int fd) {
  if (c->real == NULL)
    return NULL;
  cleanup_free char *p = fd_path(fd);
  size_t n = strlen(c->real);
  if (p == NULL || strncmp(p, c->real, n) != 0 || (p[n] && p[n] != '/'))
    return NULL;
  return strdup(p[n] ? p + n + 1 : "");
}

int ctx_resolve(const st_ctx *c, const char *path, struct stat *st, char **real,
                st_error **err) {
  st_error *e = NULL;
  cleanup_close int fd =
      st_open_in_root(c->rootfd, *path ? path : ".", O_PATH, 0, &e);
  if (fd < 0) {
    int code = e->code;
    if (code == ENOENT || code == ENOTDIR) {
      st_error_free(e);
      return 1;
    }
    if (err && *err == NULL)
      *err = e;
    else
      st_error_free(e);
    return -1;
  }
  if (fstat(fd, st) < 0)
    return st_error_errno(err, errno, "stat `%s` in build context", path);
  cleanup_free char *r = real_in_root(c, fd);
  if (r == NULL && (r = strdup(path)) == NULL)
    return st_error_errno(err, ENOMEM, "build context");
  bool dir = S_ISDIR(st->st_mode);
  /* Excluded by the name it was given or by the file it leads to. */
  if (ctx_excluded(c, path, dir, true) || ctx_excluded(c, r, dir, true))
    return 1;
  *real = steal_pointer(&r);
  return 0;
}

/* ---- patterns, as Go's filepath.Match, one component at a time ------- */

/* Decodes one UTF-8 character at s (a byte when it is not valid UTF-8);
 * returns its length. */
static size_t rune_at(const char *s, uint32_t *r) {
  const unsigned char *u = (const unsigned char *)s;
  size_t n = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : u[0] >= 0xc0 ? 2 : 1;
  uint32_t v = n == 1 ? u[0] : u[0] & (0x3f >> (n - 1));
  for (size_t i = 1; i < n; i++) {
    if ((u[i] & 0xc0) != 0x80) {
      *r = u[0];
      return 1;
    }
    v = (v << 6) | (u[i] & 0x3f);
  }
  *r = v;
  return n;
}

/* One character of a class, '\\' escaping; -1 for a bad pattern. */
static int class_char(const char **pp, uint32_t *r) {
  const char *p = *pp;
  if (*p == '\0' || *p == '-' || *p == ']')
    return -1;
  if (*p == '\\' && *++p == '\0')
    return -1;
  *pp = p + rune_at(p, r);
  return 0;
}

/* The class at *pp (just after '['), moving *pp past its ']': 1 when r is
 * in it, 0 when not, -1 for a bad pattern. */
static int class_match(const char **pp, uint32_t r) {
  const char *p = *pp;
  bool neg = *p == '^', in = false;
  p += neg;
  for (size_t n = 0;; n++) {
    if (*p == ']' && n > 0) {
      *pp = p + 1;
      return in != neg;
    }
    uint32_t lo, hi;
    if (class_char(&p, &lo) < 0)
      return -1;
    hi = lo;
    if (*p == '-' && (p++, class_char(&p, &hi) < 0))
      return -1;
    if (lo <= r && r <= hi)
      in = true;
  }
}

/* Whether pattern is well formed (Go reports ErrBadPattern even when the
 * name would not match). */
static bool glob_valid(const char *p) {
  while (*p) {
    if (*p == '\\') {
      if (*++p == '\0')
        return false;
      p++;
    } else if (*p == '[') {
      p++;
      if (class_match(&p, 0) < 0)
        return false;
    } else {
      p++;
    }
  }
  return true;
}

/* Matches one well-formed pattern component against one name. */
static bool glob_match(const char *p, const char *s) {
  const char *star_p = NULL, *star_s = NULL;
  while (*s) {
    if (*p == '*') {
      while (*p == '*')
        p++;
      star_p = p;
      star_s = s;
      continue;
    }
    const char *np = p + 1, *ns = s + 1;
    bool ok;
    uint32_t r;
    if (*p == '?') {
      ns = s + rune_at(s, &r);
      ok = true;
    } else if (*p == '[') {
      ns = s + rune_at(s, &r);
      ok = class_match(&np, r) == 1;
    } else if (*p == '\\') {
      ok = p[1] == *s;
      np = p + 2;
    } else {
      ok = *p && *p == *s;
    }
    if (ok) {
      p = np;
      s = ns;
    } else if (star_p) {
      p = star_p;
      s = star_s += rune_at(star_s, &r);
    } else {
      return false;
    }
  }
  while (*p == '*')
    p++;
  return *p == '\0';
}

/* ---- matching sources ------------------------------------------------ */

typedef struct match_out {
  char **v;
  size_t n, cap;
} match_out;

static void match_out_free(match_out *m) {
  for (size_t i = 0; i < m->n; i++)
    free(m->v[i]);
  free(m->v);
}

static int match_add(match_out *m, const char *path) {
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 8;
    char **v = realloc(m->v, cap * sizeof(*v));
    if (v == NULL)
      return -1;
    m->v = v;
    m->cap = cap;
  }
  if ((m->v[m->n] = strdup(*path ? path : ".")) == NULL)
    return -1;
  m->n++;
  return 0;
}

typedef struct matcher {
  const st_ctx *c;
  char **comps;
  size_t n_comps;
  st_buf path; /* the candidate so far, relative to the root */
  match_out out;
} matcher;

static int match_from(matcher *m, size_t i, st_error **err);

/* Appends "/name" (or name at the root) to the candidate, goes on with
 * component i, and takes it off again. */
static int match_step(matcher *m, const char *name, size_t i, st_error **err) {
  size_t mark = m->path.len;
  if ((mark && st_buf_putc(&m->path, '/') < 0) ||
      st_buf_puts(&m->path, name) < 0)
    return st_error_errno(err, ENOMEM, "build context");
  int r = match_from(m, i, err);
  m->path.len = mark;
  m->path.data[mark] = '\0';
  return r;
}

/* Every name of the candidate directory that the pattern comps[i] matches;
 * a candidate that is no directory matches nothing. */
static int match_dir(matcher *m, size_t i, st_error **err) {
  const char *dir = m->path.len ? m->path.data : ".";
  st_error *e = NULL;
  int fd = st_open_in_root(m->c->rootfd, dir, O_RDONLY | O_DIRECTORY, 0, &e);
  if (fd < 0) {
    bool missing = e->code == ENOENT || e->code == ENOTDIR;
    if (missing)
      st_error_free(e);
    else if (err && *err == NULL)
      *err = e;
    else
      st_error_free(e);
    return missing ? 0 : -1;
  }
  cleanup_dir DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return st_error_errno(err, errno, "read `%s` in build context", dir);
  }
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
        !glob_match(m->comps[i], de->d_name))
      continue;
    if (match_step(m, de->d_name, i + 1, err) < 0)
      return -1;
  }
  return 0;
}

static int match_from(matcher *m, size_t i, st_error **err) {
  if (i == m->n_comps) {
    struct stat st;
    cleanup_free char *real = NULL;
    int r = ctx_resolve(m->c, m->path.len ? m->path.data : "", &st, &real, err);
    if (r != 0)
      return r < 0 ? -1 : 0;
    if (match_add(&m->out, m->path.len ? m->path.data : "") < 0)
      return st_error_errno(err, ENOMEM, "build context");
    return 0;
  }
  if (strpbrk(m->comps[i], "*?[\\") == NULL)
    return match_step(m, m->comps[i], i + 1, err);
  return match_dir(m, i, err);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits the cleaned path (modified) into its components. */
static int split_components(char *path, char ***comps, size_t *n) {
  size_t count = *path ? 1 : 0;
  for (char *p = path; *p; p++)
    count += *p == '/';
  char **v = calloc(count + 1, sizeof(*v));
  if (v == NULL)
    return -1;
  size_t k = 0;
  for (char *p = path; *p;) {
    v[k++] = p;
    char *end = strchrnul(p, '/');
    p = *end ? (*end = '\0', end + 1) : end;
  }
  *comps = v;
  *n = k;
  return 0;
}

static int append_matches(match_out *found, char ***paths, size_t *n,
                          st_error **err) {
  char **v = realloc(*paths, (*n + found->n + 1) * sizeof(*v));
  if (v == NULL)
    return st_error_errno(err, ENOMEM, "build context");
  qsort(found->v, found->n, sizeof(*found->v), cmp_str);
  memcpy(v + *n, found->v, found->n * sizeof(*v));
  *n += found->n;
  v[*n] = NULL;
  *paths = v;
  found->n = 0;
  return 0;
}

int st_ctx_match(st_ctx *c, const char *source, char ***paths, size_t *n,
                 st_error **err) {
  cleanup_free char *clean = ctx_clean(source);
  if (clean == NULL)
    return errno == EINVAL ? ctx_outside(source, err)
                           : st_error_errno(err, ENOMEM, "build context");
  cleanup_free char *shown = strdup(*clean ? clean : ".");
  matcher m = {.c = c};
  int r = shown ? split_components(clean, &m.comps, &m.n_comps) : -1;
  if (r < 0)
    return st_error_errno(err, ENOMEM, "build context");
  for (size_t i = 0; i < m.n_comps && r == 0; i++)
    if (strpbrk(m.comps[i], "*?[\\") && !glob_valid(m.comps[i]))
      r = st_error_set(err, EINVAL, "COPY failed: bad pattern: %s", source);
  if (r == 0)
    r = match_from(&m, 0, err);
  if (r == 0 && m.out.n == 0)
    r = ctx_not_found(shown, err);
  if (r == 0)
    r = append_matches(&m.out, paths, n, err);
  match_out_free(&m.out);
  st_buf_free(&m.path);
  free(m.comps);
  return r;
}

int st_ctx_open_source(st_ctx *c, const char *path, struct stat *st,
                       st_error **err) {
  cleanup_free char *clean = ctx_clean(path), *real = NULL;
  if (clean == NULL)
    return errno == EINVAL ? ctx_outside(path, err)
                           : st_error_errno(err, ENOMEM, "build context");
  int r = ctx_resolve(c, clean, st, &real, err);
  if (r < 0)
    return -1;
  if (r > 0)
    return ctx_not_found(path, err);
  int flags = S_ISREG(st->st_mode) ? O_RDONLY | O_NONBLOCK : O_PATH;
  return st_open_in_root(c->rootfd, *real ? real : ".", flags, 0, err);
}
