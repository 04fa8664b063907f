/* A COPY's entries written as a tar stream, or hashed for the build
 * cache. */
#include "build/context.h"
#include "build/context_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "layer/tarwrite.h"
#include "util/cleanup.h"
#include "util/safepath.h"

/* Opens what an entry's data comes from: a regular file for reading (never
 * blocking, should it have become a FIFO), a directory (its xattrs), a
 * symlink as itself; -1 with nothing to open (devices, FIFOs, made-up
 * parents, hard links). */
static int open_entry(const st_ctx *c, const ctx_list *l, const ctx_entry *e,
                      st_error **err) {
  mode_t t = e->st.st_mode & S_IFMT;
  int flags;
  if ((e->flags & CTX_PARENT) || e->link)
    return -1;
  if (t == S_IFREG)
    flags = O_RDONLY | O_NONBLOCK;
  else if (t == S_IFDIR)
    flags = O_RDONLY | O_DIRECTORY;
  else if (t == S_IFLNK)
    flags = O_PATH;
  else
    return -1;
  if (!(e->flags & CTX_FOLLOW))
    flags |= O_NOFOLLOW;
  const char *src = ctx_str(l, e->src);
  int fd = st_open_in_root(c->rootfd, *src ? src : ".", flags, 0, err);
  if (fd < 0)
    return st_error_wrap(err, "COPY");
  return fd;
}

/* The entry as the spec writes it: made-up parents root-owned 0755, copied
 * entries owned by --chown with --chmod's bits (symlinks keep theirs), the
 * mtime of the spec when it gives one. */
static void entry_stat(const st_copy_spec *spec, const ctx_entry *e, time_t now,
                       struct stat *st) {
  *st = e->st;
  if (e->flags & CTX_PARENT) {
    st->st_uid = 0;
    st->st_gid = 0;
    st->st_mtim.tv_sec = now;
    st->st_mtim.tv_nsec = 0;
  } else {
    st->st_uid = spec->uid;
    st->st_gid = spec->gid;
    if (spec->mode >= 0 && !S_ISLNK(st->st_mode))
      st->st_mode = (st->st_mode & S_IFMT) | ((mode_t)spec->mode & 07777);
  }
  if (spec->mtime >= 0) {
    st->st_mtim.tv_sec = (time_t)spec->mtime;
    st->st_mtim.tv_nsec = 0;
  }
}

static int write_entries(const st_ctx *c, const st_copy_spec *spec,
                         const ctx_list *l, st_tw *w, st_error **err) {
  time_t now = time(NULL);
  for (size_t i = 0; i < l->n; i++) {
    const ctx_entry *e = &l->v[i];
    struct stat st;
    entry_stat(spec, e, now, &st);
    st_error *oe = NULL;
    cleanup_close int fd = open_entry(c, l, e, &oe);
    if (oe) {
      if (err && *err == NULL)
        *err = oe;
      else
        st_error_free(oe);
      return -1;
    }
    const char *link = e->link ? ctx_str(l, l->v[e->link - 1].dst) : NULL;
    if (st_tw_entry_fd(w, fd, ctx_str(l, e->dst), &st, link, err) < 0)
      return -1;
  }
  return 0;
}

int st_ctx_write_tar(st_ctx *c, const st_copy_spec *spec, int fd,
                     st_error **err) {
  ctx_list l = {0};
  if (ctx_collect(c, spec, &l, err) < 0)
    return -1;
  st_tw w;
  int r = st_tw_open(&w, fd, err);
  if (r == 0) {
    w.xattrs = true;
    r = write_entries(c, spec, &l, &w, err);
    if (r == 0)
      r = st_tw_close(&w, err);
    else
      st_tw_free(&w);
  }
  ctx_list_free(&l);
  return r;
}

/* ---- the cache checksum ---------------------------------------------- */

enum { HASH_BUF = 256 * 1024 };

typedef struct hasher {
  const st_ctx *c;
  const ctx_list *l;
  st_sha256 *all;     /* over every entry's record */
  st_sha256 *content; /* one file's bytes, restarted per file */
  unsigned char *buf; /* HASH_BUF bytes, one read pass per file */
  st_buf rec;         /* the record of the current entry, reused */
  char line[160];     /* "TYPE MODE SIZE DIGEST" of the current entry */
  char **files;       /* with st_ctx_checksum's files: one line per entry */
  size_t n_files;
} hasher;

static void hasher_free(hasher *h) {
  if (h->all)
    st_sha256_free(h->all);
  if (h->content)
    st_sha256_free(h->content);
  free(h->buf);
  st_buf_free(&h->rec);
  for (size_t i = 0; i < h->n_files; i++)
    free(h->files[i]);
  free(h->files);
}

static int hash_content(hasher *h, int fd, const char *name,
                        char out[ST_DIGEST_LEN], st_error **err) {
  for (;;) {
    ssize_t n = read(fd, h->buf, HASH_BUF);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return st_error_errno(err, errno, "COPY: read `%s`", name);
    if (n == 0)
      break;
    st_sha256_update(h->content, h->buf, (size_t)n);
  }
  st_sha256_restart(h->content, out);
  return 0;
}

static char type_char(mode_t m) {
  switch (m & S_IFMT) {
  case S_IFDIR:
    return 'd';
  case S_IFLNK:
    return 'l';
  case S_IFIFO:
    return 'p';
  case S_IFCHR:
    return 'c';
  case S_IFBLK:
    return 'b';
  default:
    return 'f';
  }
}

/* The entry's record: name, type, permission bits, size, link target (or
 * device numbers), content digest, NUL-separated (names hold no NUL). */
static int entry_record(hasher *h, const ctx_entry *e, st_error **err) {
  const ctx_list *l = h->l;
  const char *src = ctx_str(l, e->src);
  mode_t mode = e->flags & CTX_PARENT ? S_IFDIR | 0755 : e->st.st_mode;
  char type = e->link ? 'h' : type_char(mode);
  char target[4097] = "", digest[ST_DIGEST_LEN] = "";
  long long size = type == 'f' ? (long long)e->st.st_size : 0;
  st_error *oe = NULL;
  const st_ctx_hashes *hc = h->c->hashes;
  bool known = type == 'f' && hc && hc->get && hc->get(hc->ctx, &e->st, digest);
  /* Only file bytes and link targets are read; directories need no fd. */
  cleanup_close int fd =
      (type == 'f' && !known) || type == 'l' ? open_entry(h->c, l, e, &oe) : -1;
  if (oe) {
    if (err && *err == NULL)
      *err = oe;
    else
      st_error_free(oe);
    return -1;
  }
  if (e->link) {
    snprintf(target, sizeof(target), "%s", ctx_str(l, l->v[e->link - 1].dst));
  } else if (type == 'l') {
    ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
    if (n < 0)
      return st_error_errno(err, errno, "COPY: readlink `%s`", src);
    target[n] = '\0';
  } else if (type == 'c' || type == 'b') {
    snprintf(target, sizeof(target), "%u:%u", major(e->st.st_rdev),
             minor(e->st.st_rdev));
  } else if (type == 'f' && !known) {
    if (hash_content(h, fd, src, digest, err) < 0)
      return -1;
    if (hc && hc->put)
      hc->put(hc->ctx, &e->st, digest);
  }
  if (type != 'f') /* links and devices: their target stands for content */
    st_digest_of(target, strlen(target), digest);
  snprintf(h->line, sizeof(h->line), "%c %04o %lld %s", type,
           (unsigned)(mode & 07777), size, digest);
  h->rec.len = 0;
  if (st_buf_printf(&h->rec, "%s%c%c%c%04o%c%lld%c%s%c%s", ctx_str(l, e->dst),
                    0, type, 0, (unsigned)(mode & 07777), 0, size, 0, target, 0,
                    digest) < 0 ||
      st_buf_putc(&h->rec, '\n') < 0)
    return st_error_errno(err, ENOMEM, "COPY: checksum");
  return 0;
}

static int add_file_line(hasher *h, const char *name, st_error **err) {
  const char *d = h->line;
  char **v = realloc(h->files, (h->n_files + 2) * sizeof(*v));
  if (v == NULL)
    return st_error_errno(err, ENOMEM, "COPY: checksum");
  h->files = v;
  if (asprintf(&v[h->n_files], "%s\t%s", name, d) < 0)
    return st_error_errno(err, ENOMEM, "COPY: checksum");
  v[++h->n_files] = NULL;
  return 0;
}

/* The fingerprint of what the entries' records are made of, from stat
 * data alone: per entry its tar name, flags, hard link, and (for what the
 * source has; the parents COPY makes are name and flags) device, inode,
 * mode, size, rdev, mtime and ctime to the nanosecond. A file's content or
 * a symlink's target cannot change without its ctime moving (a symlink is
 * replaced, a new inode), so an equal fingerprint means equal records.
 * *newest gets the latest mtime or ctime second seen. */
static void fingerprint(const ctx_list *l, char fp[ST_DIGEST_LEN],
                        time_t *newest) {
  static const char version[] = "strata-copy-fp-v1";
  st_sha256 *h = st_sha256_new();
  *newest = 0;
  if (h == NULL) {
    *fp = '\0';
    return;
  }
  st_sha256_update(h, version, sizeof(version));
  for (size_t i = 0; i < l->n; i++) {
    const ctx_entry *e = &l->v[i];
    const char *name = ctx_str(l, e->dst);
    st_sha256_update(h, name, strlen(name) + 1);
    int64_t v[10] = {(int64_t)e->flags, (int64_t)e->link};
    size_t n = 2;
    if (!(e->flags & CTX_PARENT)) {
      const struct stat *st = &e->st;
      v[n++] = (int64_t)st->st_dev;
      v[n++] = (int64_t)st->st_ino;
      v[n++] = (int64_t)st->st_mode;
      v[n++] = (int64_t)st->st_size;
      v[n++] = (int64_t)st->st_rdev;
      v[n++] = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
      v[n++] = (int64_t)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
      if (st->st_mtim.tv_sec > *newest)
        *newest = st->st_mtim.tv_sec;
      if (st->st_ctim.tv_sec > *newest)
        *newest = st->st_ctim.tv_sec;
    }
    st_sha256_update(h, v, n * sizeof(v[0]));
  }
  st_sha256_final(h, fp); /* frees h */
}

int st_ctx_checksum(st_ctx *c, const st_copy_spec *spec,
                    char out[ST_DIGEST_LEN], char ***files, st_error **err) {
  ctx_list l = {0};
  if (ctx_collect(c, spec, &l, err) < 0)
    return -1;
  const st_ctx_hashes *hc = c->hashes;
  char fp[ST_DIGEST_LEN] = "";
  time_t newest = 0;
  if (hc && (hc->sum_get || hc->sum_put))
    fingerprint(&l, fp, &newest);
  if (*fp && hc->sum_get && hc->sum_get(hc->ctx, fp, out)) {
    if (files)
      *files = NULL;
    ctx_list_free(&l);
    return 0;
  }
  hasher h = {.c = c, .l = &l};
  h.all = st_sha256_new();
  h.content = st_sha256_new();
  h.buf = malloc(HASH_BUF);
  int r = 0;
  if (h.all == NULL || h.content == NULL || h.buf == NULL)
    r = st_error_errno(err, ENOMEM, "COPY: checksum");
  for (size_t i = 0; i < l.n && r == 0; i++) {
    r = entry_record(&h, &l.v[i], err);
    if (r == 0)
      st_sha256_update(h.all, h.rec.data, h.rec.len);
    /* named by its source path, as the user knows it ("src/main.c"); the
     * parents COPY makes have none: by destination, with a '/' */
    const ctx_entry *e = &l.v[i];
    const char *src = ctx_str(&l, e->src);
    cleanup_free char *shown = NULL;
    if (r == 0 && files && ((e->flags & CTX_PARENT) || *src == '\0'))
      r = asprintf(&shown, "/%s", ctx_str(&l, e->dst)) < 0
              ? st_error_errno(err, ENOMEM, "COPY: checksum")
              : 0;
    if (r == 0 && files)
      r = add_file_line(&h, shown ? shown : src, err);
  }
  if (r == 0 && files && h.files == NULL &&
      (h.files = calloc(1, sizeof(*h.files))) == NULL)
    r = st_error_errno(err, ENOMEM, "COPY: checksum");
  if (r == 0) {
    st_sha256_final(h.all, out);
    h.all = NULL;
    if (*fp && hc->sum_put && newest < time(NULL) - 2)
      hc->sum_put(hc->ctx, fp, out);
    if (files) {
      *files = h.files;
      h.files = NULL;
      h.n_files = 0;
    }
  }
  hasher_free(&h);
  ctx_list_free(&l);
  return r;
}
