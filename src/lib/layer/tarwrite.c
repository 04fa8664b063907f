/* Tar streams of file system trees (libarchive writer, pax format). */
#include "layer/tarwrite.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/cleanup.h"

static void entry_freep(struct archive_entry **e) {
  if (*e)
    archive_entry_free(*e);
}
#define cleanup_entry __attribute__((cleanup(entry_freep)))

static int tw_fail(st_tw *w, const char *what, st_error **err) {
  const char *m = archive_error_string(w->a);
  int code = archive_errno(w->a);
  return st_error_set(err, code > 0 ? code : EIO, "write tar entry \"%s\": %s",
                      what, m ? m : "unknown error");
}

int st_tw_open(st_tw *w, int fd, st_error **err) {
  memset(w, 0, sizeof(*w));
  w->clamp_mtime = -1;
  w->a = archive_write_new();
  if (w->a == NULL)
    return st_error_errno(err, ENOMEM, "tar writer");
  /* xattrs as SCHILY.xattr.* records only, as Go's archive/tar (Docker,
   * containerd) writes and reads them. */
  if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
      archive_write_set_format_option(w->a, "pax", "xattrheader", "SCHILY") !=
          ARCHIVE_OK ||
      archive_write_add_filter_none(w->a) != ARCHIVE_OK ||
      /* 256 KiB writes, not libarchive's default 10 KiB: a 300 MiB layer
       * is ~1,200 writes into the commit's pipe instead of ~30,000. The
       * bytes are the same (no padding of the last block). */
      archive_write_set_bytes_per_block(w->a, 256 * 1024) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
      archive_write_open_fd(w->a, fd) != ARCHIVE_OK) {
    int r = tw_fail(w, "-", err);
    st_tw_free(w);
    return r;
  }
  return 0;
}

void st_tw_free(st_tw *w) {
  if (w->a)
    archive_write_free(w->a);
  for (size_t i = 0; i < w->n_links; i++)
    free(w->links[i].name);
  free(w->links);
  memset(w, 0, sizeof(*w));
}

int st_tw_close(st_tw *w, st_error **err) {
  int r = 0;
  if (archive_write_close(w->a) != ARCHIVE_OK)
    r = tw_fail(w, "-", err);
  st_tw_free(w);
  return r;
}

/* The name a hard link of st should point at, or NULL (and st recorded
 * under tarname) when this is the first of its links. */
static const char *link_target(st_tw *w, const struct stat *st,
                               const char *tarname) {
  if (!S_ISREG(st->st_mode) || st->st_nlink < 2)
    return NULL;
  for (size_t i = 0; i < w->n_links; i++)
    if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino)
      return w->links[i].name;
  if (w->n_links == w->cap_links) {
    size_t cap = w->cap_links ? w->cap_links * 2 : 16;
    st_tw_link *n = realloc(w->links, cap * sizeof(*n));
    if (n == NULL)
      return NULL;
    w->links = n;
    w->cap_links = cap;
  }
  char *copy = strdup(tarname);
  if (copy)
    w->links[w->n_links++] = (st_tw_link){st->st_dev, st->st_ino, copy};
  return NULL;
}

/* Copies exactly size bytes, the size in the entry's header: a file that
 * grows while it is read (a running container's log, `commit
 * --pause=false`) is cut there, one that shrinks is padded with zeros,
 * as tar does, so the archive stays well formed. */
static int copy_data(st_tw *w, int fd, int64_t size, const char *tarname,
                     st_error **err) {
  char buf[65536];
  int64_t left = size;
  bool eof = false;
  while (left > 0) {
    size_t want = left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf);
    ssize_t n = 0;
    if (!eof) {
      n = read(fd, buf, want);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return st_error_errno(err, errno, "read \"%s\"", tarname);
      eof = n == 0;
    }
    if (eof) { /* shrank: zeros for the rest */
      memset(buf, 0, want);
      n = (ssize_t)want;
    }
    if (archive_write_data(w->a, buf, (size_t)n) != n)
      return tw_fail(w, tarname, err);
    left -= n;
  }
  return 0;
}

static void fill_entry(const st_tw *w, struct archive_entry *e,
                       const char *tarname, const struct stat *st) {
  archive_entry_set_pathname(e, tarname);
  archive_entry_set_mode(e, st->st_mode);
  archive_entry_set_uid(e, st->st_uid);
  archive_entry_set_gid(e, st->st_gid);
  if (w->clamp_mtime >= 0 && st->st_mtim.tv_sec >= w->clamp_mtime)
    archive_entry_set_mtime(e, (time_t)w->clamp_mtime, 0);
  else
    archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
    archive_entry_set_rdev(e, st->st_rdev);
  archive_entry_set_size(e, S_ISREG(st->st_mode) ? st->st_size : 0);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The extended attributes a tar keeps: user.* and security.capability,
 * what containers/storage writes (Docker keeps only the capability). Not
 * trusted.* (overlayfs keeps its own state there: opaque, origin,
 * redirect...) nor other security.* (host SELinux labels). */
static bool keep_xattr(const char *name) {
  return strncmp(name, "user.", 5) == 0 ||
         strcmp(name, "security.capability") == 0;
}

/* A file capability set in a user namespace (VFS_CAP_REVISION_3) carries
 * the namespace's root uid; as Docker does, the layer gets the
 * namespace-less revision 2, which is the same bytes without that uid. */
static void cap_to_v2(const char *name, char *value, ssize_t *size) {
  enum { V2_SIZE = 20, V3_SIZE = 24, REV_BYTE = 3, REV2 = 2, REV3 = 3 };
  if (strcmp(name, "security.capability") == 0 && *size == V3_SIZE &&
      value[REV_BYTE] == REV3) {
    value[REV_BYTE] = REV2;
    *size = V2_SIZE;
  }
}

static int add_xattr(struct archive_entry *e, int fd, const char *name,
                     const char *tarname, st_error **err) {
  ssize_t size = fgetxattr(fd, name, NULL, 0);
  if (size < 0)
    return errno == ENODATA ? 0 /* removed meanwhile */
                            : st_error_errno(err, errno, "xattr %s of \"%s\"",
                                             name, tarname);
  cleanup_free char *value = malloc(size ? (size_t)size : 1);
  if (value == NULL)
    return st_error_errno(err, ENOMEM, "xattr %s of \"%s\"", name, tarname);
  size = fgetxattr(fd, name, value, (size_t)size);
  if (size < 0)
    return st_error_errno(err, errno, "xattr %s of \"%s\"", name, tarname);
  cap_to_v2(name, value, &size);
  archive_entry_xattr_add_entry(e, name, value, (size_t)size);
  return 0;
}

/* Adds the xattrs of the open file fd that a tar keeps, sorted by name so
 * the same tree gives the same bytes. */
static int add_xattrs(struct archive_entry *e, int fd, const char *tarname,
                      st_error **err) {
  ssize_t len = flistxattr(fd, NULL, 0);
  if (len < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
    return 0;
  if (len < 0)
    return st_error_errno(err, errno, "list xattrs of \"%s\"", tarname);
  if (len == 0)
    return 0;
  cleanup_free char *list = malloc((size_t)len);
  if (list == NULL)
    return st_error_errno(err, ENOMEM, "list xattrs of \"%s\"", tarname);
  len = flistxattr(fd, list, (size_t)len);
  if (len < 0)
    return st_error_errno(err, errno, "list xattrs of \"%s\"", tarname);
  size_t n = 0, cap = 0;
  for (const char *p = list; p < list + len; p += strlen(p) + 1)
    cap++;
  cleanup_free const char **names = calloc(cap, sizeof(*names));
  if (names == NULL)
    return st_error_errno(err, ENOMEM, "list xattrs of \"%s\"", tarname);
  for (const char *p = list; p < list + len; p += strlen(p) + 1)
    if (keep_xattr(p))
      names[n++] = p;
  qsort(names, n, sizeof(*names), cmp_names);
  for (size_t i = 0; i < n; i++)
    if (add_xattr(e, fd, names[i], tarname, err) < 0)
      return -1;
  return 0;
}

/* Opens what an entry's xattrs are read from: regular files and
 * directories (user.* cannot be set on other types, and a capability only
 * means something on a regular file). Returns -1 with errno 0 when the
 * entry has none to read. */
static int open_for_xattrs(int dirfd, const char *name, const struct stat *st) {
  errno = 0;
  if (S_ISREG(st->st_mode))
    return openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (S_ISDIR(st->st_mode))
    return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return -1;
}

/* Writes the entry e describes: as a hard link, a symlink to target, or
 * with the content of datafd (a regular file; -1 for none). */
static int write_entry(st_tw *w, struct archive_entry *e, const char *tarname,
                       const char *hardlink, const char *target, int datafd,
                       st_error **err) {
  if (hardlink) {
    archive_entry_set_hardlink(e, hardlink);
    archive_entry_set_size(e, 0);
    datafd = -1;
  } else if (target) {
    archive_entry_set_symlink(e, target);
  }
  if (archive_write_header(w->a, e) != ARCHIVE_OK)
    return tw_fail(w, tarname, err);
  if (datafd >= 0 &&
      copy_data(w, datafd, archive_entry_size(e), tarname, err) < 0)
    return -1;
  return 0;
}

int st_tw_entry(st_tw *w, int dirfd, const char *name, const char *tarname,
                const struct stat *st, st_error **err) {
  cleanup_entry struct archive_entry *e = archive_entry_new();
  if (e == NULL)
    return st_error_errno(err, ENOMEM, "tar entry");
  fill_entry(w, e, tarname, st);
  const char *hardlink = link_target(w, st, tarname);
  cleanup_close int fd = -1;
  char buf[4097];
  const char *target = NULL;
  if (hardlink == NULL && S_ISLNK(st->st_mode)) {
    ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
    if (n < 0)
      return st_error_errno(err, errno, "readlink \"%s\"", tarname);
    buf[n] = '\0';
    target = buf;
  } else if (hardlink == NULL && (S_ISREG(st->st_mode) || w->xattrs)) {
    fd = open_for_xattrs(dirfd, name, st);
    if (fd < 0 && errno != 0)
      return st_error_errno(err, errno, "open \"%s\"", tarname);
    if (fd >= 0 && w->xattrs && add_xattrs(e, fd, tarname, err) < 0)
      return -1;
  }
  return write_entry(w, e, tarname, hardlink, target,
                     S_ISREG(st->st_mode) ? fd : -1, err);
}

int st_tw_entry_fd(st_tw *w, int fd, const char *tarname, const struct stat *st,
                   const char *hardlink, st_error **err) {
  cleanup_entry struct archive_entry *e = archive_entry_new();
  if (e == NULL)
    return st_error_errno(err, ENOMEM, "tar entry");
  fill_entry(w, e, tarname, st);
  char buf[4097];
  const char *target = NULL;
  if (hardlink == NULL && S_ISLNK(st->st_mode)) {
    ssize_t n = readlinkat(fd, "", buf, sizeof(buf) - 1);
    if (n < 0)
      return st_error_errno(err, errno, "readlink \"%s\"", tarname);
    buf[n] = '\0';
    target = buf;
  }
  if (w->xattrs && fd >= 0 && hardlink == NULL &&
      (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) &&
      add_xattrs(e, fd, tarname, err) < 0)
    return -1;
  return write_entry(w, e, tarname, hardlink, target,
                     S_ISREG(st->st_mode) ? fd : -1, err);
}

int st_tw_marker(st_tw *w, const char *tarname, st_error **err) {
  struct stat st = {.st_mode = S_IFREG | 0644};
  cleanup_entry struct archive_entry *e = archive_entry_new();
  if (e == NULL)
    return st_error_errno(err, ENOMEM, "tar entry");
  fill_entry(w, e, tarname, &st);
  if (archive_write_header(w->a, e) != ARCHIVE_OK)
    return tw_fail(w, tarname, err);
  return 0;
}

static void names_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* The sorted names in the directory fd (consumed). */
static int read_names(int fd, char ***out, size_t *n, st_error **err) {
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return st_error_errno(err, errno, "read directory");
  }
  char **v = NULL;
  size_t len = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    if (len == cap) {
      cap = cap ? cap * 2 : 32;
      char **nv = realloc(v, cap * sizeof(*nv));
      if (nv == NULL)
        break;
      v = nv;
    }
    if ((v[len] = strdup(de->d_name)) == NULL)
      break;
    len++;
  }
  bool failed = de != NULL;
  closedir(d);
  if (failed) {
    names_free(v, len);
    return st_error_errno(err, ENOMEM, "read directory");
  }
  if (len)
    qsort(v, len, sizeof(*v), cmp_names);
  *out = v;
  *n = len;
  return 0;
}

static bool other_mount(st_tw *w, int dirfd, const char *name) {
  struct statx sx;
  if (!w->only_mnt ||
      statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0 ||
      !(sx.stx_mask & STATX_MNT_ID))
    return false;
  return sx.stx_mnt_id != w->skip_mnt;
}

int st_tw_tree(st_tw *w, int dirfd, const char *name, const char *tarname,
               st_error **err) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return st_error_errno(err, errno, "stat \"%s\"", tarname);
  if (*tarname && strcmp(tarname, ".") != 0 &&
      st_tw_entry(w, dirfd, name, tarname, &st, err) < 0)
    return -1;
  if (!S_ISDIR(st.st_mode) || other_mount(w, dirfd, name))
    return 0;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "open \"%s\"", tarname);
  cleanup_close int dir = dup(fd);
  char **names = NULL;
  size_t n = 0;
  if (dir < 0 || read_names(fd, &names, &n, err) < 0)
    return dir < 0 ? st_error_errno(err, errno, "dup") : -1;
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    cleanup_free char *child = NULL;
    bool top = *tarname == '\0' || strcmp(tarname, ".") == 0;
    if (asprintf(&child, "%s%s%s", top ? "" : tarname, top ? "" : "/",
                 names[i]) < 0)
      r = st_error_errno(err, ENOMEM, "tar");
    else
      r = st_tw_tree(w, dir, names[i], child, err);
  }
  names_free(names, n);
  return r;
}
