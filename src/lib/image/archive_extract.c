/* Extracting an archive for load into a private directory under the
 * store's tmp/.
 *
 * Entry names never become paths on disk: each regular file is written as
 * "<n>" (its number) and hashed while it is written; a table maps cleaned
 * archive names to those files, and symlinks and hard links to the names
 * they point at. A hostile name therefore cannot write outside the
 * directory; names that are absolute or contain ".." are refused anyway, as
 * `docker load` and `strata import` refuse them. The directory is on the
 * store's file system, so a verified file becomes a blob by rename.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define COPY_BLOCK (1u << 20)
/* Links followed at most when looking a name up (a loop ends there). */
#define MAX_HOPS 40

static void archive_freep(struct archive **a) {
  if (*a)
    archive_read_free(*a);
}
#define cleanup_archive __attribute__((cleanup(archive_freep)))

void st_xdir_free(st_xdir *x) {
  if (x == NULL)
    return;
  if (x->dirfd >= 0)
    close(x->dirfd);
  if (x->path) {
    st_error *ignored = NULL;
    st_rm_rf(x->path, &ignored);
    st_error_free(ignored);
  }
  for (size_t i = 0; i < x->n; i++) {
    free(x->files[i].name);
    free(x->files[i].link);
  }
  free(x->files);
  free(x->path);
  free(x);
}

static int xdir_new(st_store *s, st_xdir **out, st_error **err) {
  if (st_store_busy(s, err) < 0)
    return -1;
  st_xdir *x = calloc(1, sizeof(*x));
  if (x == NULL)
    return st_error_errno(err, ENOMEM, "load");
  x->dirfd = -1;
  if (asprintf(&x->path, "%s/tmp/load-XXXXXX", st_store_root(s)) < 0) {
    x->path = NULL;
    st_xdir_free(x);
    return st_error_errno(err, ENOMEM, "load");
  }
  if (mkdtemp(x->path) == NULL) {
    int e = errno;
    st_error_errno(err, e, "create `%s`", x->path);
    free(steal_pointer(&x->path));
    st_xdir_free(x);
    return -1;
  }
  x->dirfd = open(x->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (x->dirfd < 0) {
    int e = errno;
    st_error_errno(err, e, "open `%s`", x->path);
    st_xdir_free(x);
    return -1;
  }
  *out = x;
  return 0;
}

/* Appends an entry; name and link are taken over (freed on failure). */
static st_xfile *xdir_add(st_xdir *x, char *name, char *link, bool is_link,
                          st_error **err) {
  if (x->n == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 64;
    st_xfile *v = realloc(x->files, cap * sizeof(*v));
    if (v == NULL) {
      free(name);
      free(link);
      st_error_errno(err, ENOMEM, "load");
      return NULL;
    }
    x->files = v;
    x->cap = cap;
  }
  st_xfile *f = &x->files[x->n];
  memset(f, 0, sizeof(*f));
  f->name = name;
  f->link = link;
  f->is_link = is_link;
  f->idx = (unsigned)x->n;
  x->n++;
  return f;
}

/* Copies the current entry's data into file f. */
static int copy_entry(st_xdir *x, struct archive *a, st_xfile *f,
                      st_error **err) {
  char fname[32];
  snprintf(fname, sizeof(fname), "%u", f->idx);
  cleanup_close int fd =
      openat(x->dirfd, fname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return st_error_errno(err, errno, "create `%s/%s`", x->path, fname);
  cleanup_sha256 st_sha256 *h = st_sha256_new();
  cleanup_free char *buf = malloc(COPY_BLOCK);
  if (h == NULL || buf == NULL)
    return st_error_errno(err, ENOMEM, "load");
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf, COPY_BLOCK);
    if (n == 0)
      break;
    if (n < 0)
      return st_error_set(err, EIO, "truncated or corrupt archive (%s)",
                          archive_error_string(a) ? archive_error_string(a)
                                                  : "read error");
    if (st_write_all(fd, buf, (size_t)n, x->path, err) < 0)
      return -1;
    st_sha256_update(h, buf, (size_t)n);
    f->size += (uint64_t)n;
  }
  st_sha256_final(steal_pointer(&h), f->digest);
  return 0;
}

/* Records one tar entry. Returns 0, or < 0 with *err set. */
static int add_entry(st_xdir *x, struct archive *a, struct archive_entry *e,
                     st_error **err) {
  const char *raw = archive_entry_pathname(e);
  if (raw == NULL)
    raw = archive_entry_pathname_utf8(e);
  mode_t type = archive_entry_filetype(e);
  cleanup_free char *name = NULL;
  if (st_archive_clean_path(raw, &name, err) < 0)
    return -1;
  const char *hard = archive_entry_hardlink(e);
  if (hard) {
    cleanup_free char *target = NULL;
    if (st_archive_clean_path(hard, &target, err) < 0)
      return st_error_wrap(err, "hard link %s", name);
    return xdir_add(x, steal_pointer(&name), steal_pointer(&target), true, err)
               ? 0
               : -1;
  }
  if (name[0] == '\0')
    return 0; /* "./": the root directory */
  if (type == AE_IFLNK) {
    const char *to = archive_entry_symlink(e);
    char *target = st_archive_link_target(name, to ? to : "");
    if (target == NULL && errno == ENOMEM)
      return st_error_errno(err, ENOMEM, "load");
    /* A target outside the archive is kept as a dead link: looking it up
     * finds nothing. */
    return xdir_add(x, steal_pointer(&name), target, true, err) ? 0 : -1;
  }
  if (type != AE_IFREG)
    return 0; /* directories, devices, fifos: nothing a loader reads */
  st_xfile *f = xdir_add(x, steal_pointer(&name), NULL, false, err);
  if (f == NULL)
    return -1;
  if (copy_entry(x, a, f, err) < 0) {
    cleanup_buf st_buf b = ST_BUF_INIT;
    st_archive_quote(&b, f->name);
    return st_error_wrap(err, "archive entry %s", b.data ? b.data : "");
  }
  return 0;
}

/* The error for a failed archive_read_next_header. */
static int header_fail(struct archive *a, size_t entries, const char *last,
                       st_error **err) {
  const char *why = archive_error_string(a);
  if (why == NULL)
    why = "read error";
  if (entries == 0)
    return st_error_set(err, EINVAL, "not a tar archive (%s)", why);
  cleanup_buf st_buf b = ST_BUF_INIT;
  st_archive_quote(&b, last ? last : "");
  return st_error_set(err, EIO,
                      "truncated or corrupt archive after entry %s: %s",
                      b.data ? b.data : "", why);
}

static int read_entries(st_xdir *x, struct archive *a, st_error **err) {
  size_t entries = 0;
  cleanup_free char *last = NULL;
  for (;;) {
    struct archive_entry *e = NULL;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF)
      break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      return header_fail(a, entries, last, err);
    entries++;
    const char *raw = archive_entry_pathname(e);
    free(last);
    last = strdup(raw ? raw : "");
    if (add_entry(x, a, e, err) < 0)
      return -1;
  }
  if (entries == 0)
    return st_error_set(err, EINVAL, "not a tar archive (no entries)");
  return 0;
}

int st_xdir_extract(st_store *s, int fd, st_xdir **out, st_error **err) {
  cleanup_xdir st_xdir *x = NULL;
  if (xdir_new(s, &x, err) < 0)
    return -1;
  cleanup_archive struct archive *a = archive_read_new();
  if (a == NULL)
    return st_error_errno(err, ENOMEM, "libarchive");
  /* What `docker load` decompresses; not filter_all, which would also run
   * external programs (lrzip, lzop, grzip ...) on a crafted input. */
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_fd(a, fd, COPY_BLOCK) != ARCHIVE_OK)
    return st_error_set(err, EINVAL, "not a tar archive (%s)",
                        archive_error_string(a) ? archive_error_string(a)
                                                : "cannot read");
  if (read_entries(x, a, err) < 0)
    return -1;
  *out = steal_pointer(&x);
  return 0;
}

st_xfile *st_xdir_find(st_xdir *x, const char *name) {
  cleanup_free char *cur = NULL;
  st_error *ignored = NULL;
  if (st_archive_clean_path(name, &cur, &ignored) < 0) {
    st_error_free(ignored);
    return NULL;
  }
  for (int hop = 0; hop < MAX_HOPS; hop++) {
    st_xfile *found = NULL;
    for (size_t i = x->n; i-- > 0;)
      if (strcmp(x->files[i].name, cur) == 0) {
        found = &x->files[i]; /* the last entry of a name wins, as in tar */
        break;
      }
    if (found == NULL || !found->is_link)
      return found;
    if (found->link == NULL)
      return NULL;
    char *next = strdup(found->link);
    if (next == NULL)
      return NULL;
    free(cur);
    cur = next;
  }
  return NULL;
}

int st_xdir_open(st_xdir *x, const st_xfile *f, st_error **err) {
  char fname[32];
  snprintf(fname, sizeof(fname), "%u", f->idx);
  int fd = openat(x->dirfd, fname, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "open `%s` (extracted)", f->name);
  return fd;
}

int st_xdir_read(st_xdir *x, const st_xfile *f, char **buf, size_t *len,
                 st_error **err) {
  if (f->size > ST_ARCHIVE_JSON_MAX)
    return st_error_set(err, EINVAL,
                        "`%s` is too large for a JSON document (%llu bytes)",
                        f->name, (unsigned long long)f->size);
  cleanup_close int fd = st_xdir_open(x, f, err);
  if (fd < 0)
    return -1;
  size_t n = (size_t)f->size;
  cleanup_free char *b = malloc(n + 1);
  if (b == NULL)
    return st_error_errno(err, ENOMEM, "read `%s`", f->name);
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, b + got, n - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return st_error_errno(err, errno, "read `%s`", f->name);
    if (r == 0)
      return st_error_set(err, EIO, "read `%s`: file shrank", f->name);
    got += (size_t)r;
  }
  b[n] = '\0';
  *buf = steal_pointer(&b);
  *len = n;
  return 0;
}

int st_xdir_adopt(st_store *s, st_xdir *x, st_xfile *f, st_error **err) {
  if (f->adopted)
    return 0;
  cleanup_free char *dest = st_blob_path(s, f->digest);
  if (dest == NULL)
    return st_error_errno(err, ENOMEM, "store blob");
  if (access(dest, F_OK) == 0) {
    f->adopted = true; /* same digest, same bytes: keep the stored one */
    return 0;
  }
  char fname[32];
  snprintf(fname, sizeof(fname), "%u", f->idx);
  {
    cleanup_close int fd = st_xdir_open(x, f, err);
    if (fd < 0)
      return -1;
    if (fsync(fd) < 0)
      return st_error_errno(err, errno, "fsync `%s/%s`", x->path, fname);
  }
  if (renameat(x->dirfd, fname, AT_FDCWD, dest) < 0)
    return st_error_errno(err, errno, "rename blob to `%s`", dest);
  f->adopted = true;
  char *slash = strrchr(dest, '/');
  *slash = '\0';
  return st_fsync_dir(dest, err);
}
