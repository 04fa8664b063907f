/* Unpacked layers: extraction of a tar stream into a layer tree, and the
 * per-chain-ID cache of those trees under <root>/layers. */
#include "store/layers.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/backend.h"
#include "layer/compress.h"
#include "layer/erofs.h"
#include "layer/tar.h"
#include "store/internal.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META ".wh..wh."
#define OVERLAY_XATTR "trusted.overlay."

void st_chain_ids(const st_layer_rec *layers, size_t n,
                  char (*chain)[ST_DIGEST_LEN]) {
  for (size_t i = 0; i < n; i++) {
    if (i == 0) {
      snprintf(chain[0], ST_DIGEST_LEN, "%s", layers[0].diff_id);
      continue;
    }
    char in[2 * ST_DIGEST_LEN + 2];
    int len =
        snprintf(in, sizeof(in), "%s %s", chain[i - 1], layers[i].diff_id);
    st_digest_of(in, (size_t)len, chain[i]);
  }
}

/* ---- extraction ---------------------------------------------------------- */

typedef struct unpacker {
  int root;           /* the layer tree */
  st_decomp *src;     /* decompressed bytes of the tar */
  st_error *src_err;  /* a read error, kept for the message */
  struct archive *ar; /* tar reader pulling from src */
  bool root_owner;    /* we may chown (running as root) */
  bool whiteouts;     /* ST_UNPACK_LAYER: ".wh." names are whiteouts */
} unpacker;

static la_ssize_t pull(struct archive *a, void *data, const void **buf) {
  unpacker *u = data;
  size_t len = 0;
  int r = st_decomp_read(u->src, buf, &len, &u->src_err);
  if (r < 0) {
    archive_set_error(a, EIO, "%s", u->src_err->msg);
    return -1;
  }
  return r == 0 ? 0 : (la_ssize_t)len;
}

/* Splits a cleaned name into its parent ("" for the top) and base name. */
static const char *split_name(char *name) {
  char *slash = strrchr(name, '/');
  if (slash == NULL)
    return name;
  *slash = '\0';
  return slash + 1;
}

static int parent_dir(unpacker *u, const char *parent, st_error **err) {
  if (*parent == '\0')
    return st_open_in_root(u->root, ".", O_RDONLY | O_DIRECTORY, 0, err);
  return st_mkdir_in_root(u->root, parent, 0755, err);
}

static int rm_tree_at(int dirfd, const char *name);

static int rm_children(int fd) {
  cleanup_dir DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return -1;
  }
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    if (rm_tree_at(dirfd(d), de->d_name) < 0)
      return -1;
  }
  return 0;
}

/* Removes name (a file, or a directory and its contents) under dirfd,
 * never following symlinks. */
static int rm_tree_at(int dirfd, const char *name) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return -1;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || rm_children(fd) < 0)
    return -1;
  return unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Clears the way for a new entry: removes what is there, except a
 * directory when a directory comes. */
static int make_room(int dirfd, const char *name, bool for_dir) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : -1;
  if (for_dir && S_ISDIR(st.st_mode))
    return 0;
  return rm_tree_at(dirfd, name);
}

/* Sets *err for the xattr `name` (quoted: it comes from the tar too):
 * setting it failed with errnum, or (errnum 0) it is overlayfs's.
 * Returns -1. */
static int xattr_error(st_error **err, int errnum, const char *name) {
  cleanup_buf st_buf q = ST_BUF_INIT;
  st_buf_quote(&q, name);
  const char *n = q.data ? q.data : "";
  if (errnum)
    return st_error_errno(err, errnum, "set xattr %s", n);
  return st_error_set(err, EINVAL, "xattr %s is reserved for overlayfs", n);
}

static int set_xattrs(struct archive_entry *e, int fd, st_error **err) {
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (strncmp(name, OVERLAY_XATTR, strlen(OVERLAY_XATTR)) == 0)
      return xattr_error(err, 0, name);
    if (fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP)
      return xattr_error(err, errno, name);
  }
  return 0;
}

static int set_owner(unpacker *u, int dirfd, const char *name,
                     struct archive_entry *e, st_error **err) {
  uid_t uid = (uid_t)archive_entry_uid(e);
  gid_t gid = (gid_t)archive_entry_gid(e);
  if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 &&
      (u->root_owner || errno != EPERM))
    return st_error_errno(err, errno, "chown");
  return 0;
}

static int set_times(int dirfd, const char *name, struct archive_entry *e) {
  struct timespec ts[2] = {
      {archive_entry_atime(e), archive_entry_atime_nsec(e)},
      {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
  };
  if (!archive_entry_atime_is_set(e))
    ts[0] = ts[1];
  return utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* Owner, mode, xattrs and times of a node just made at dirfd/name. */
static int finish_node(unpacker *u, int dirfd, const char *name,
                       struct archive_entry *e, st_error **err) {
  if (set_owner(u, dirfd, name, e, err) < 0)
    return -1;
  mode_t mode = archive_entry_perm(e) & 07777;
  if (archive_entry_filetype(e) == AE_IFLNK)
    return set_times(dirfd, name, e) < 0 ? -1 : 0;
  cleanup_close int fd =
      openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && archive_entry_filetype(e) != AE_IFREG &&
      archive_entry_filetype(e) != AE_IFDIR) {
    /* A device node need not open; its mode is set by name. */
    if (fchmodat(dirfd, name, mode, 0) < 0)
      return st_error_errno(err, errno, "chmod");
    set_times(dirfd, name, e);
    return 0;
  }
  if (fd < 0)
    return st_error_errno(err, errno, "open");
  if (fchmod(fd, mode) < 0)
    return st_error_errno(err, errno, "chmod");
  if (set_xattrs(e, fd, err) < 0)
    return -1;
  set_times(dirfd, name, e);
  return 0;
}

/* Writes the entry's data to fd at the offsets the tar gives (the holes of
 * a sparse file stay holes), then sets its length. A failed write keeps
 * its errno (ENOSPC: the disk is full). */
static int copy_data(unpacker *u, int fd, struct archive_entry *e,
                     st_error **err) {
  for (;;) {
    const void *buf = NULL;
    size_t len = 0;
    la_int64_t off = 0;
    int r = archive_read_data_block(u->ar, &buf, &len, &off);
    if (r == ARCHIVE_EOF)
      break;
    if (r < ARCHIVE_WARN) {
      if (u->src_err)
        return st_error_set(err, u->src_err->code, "%s", u->src_err->msg);
      return st_error_set(err, EIO, "%s", archive_error_string(u->ar));
    }
    for (const char *p = buf; len > 0;) {
      ssize_t n = pwrite(fd, p, len, (off_t)off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return st_error_errno(err, errno, "write");
      p += n;
      len -= (size_t)n;
      off += n;
    }
  }
  if (ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
    return st_error_errno(err, errno, "write");
  return 0;
}

static int write_file(unpacker *u, int dirfd, const char *name,
                      struct archive_entry *e, st_error **err) {
  cleanup_close int fd = openat(
      dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return st_error_errno(err, errno, "create");
  if (archive_entry_size(e) > 0 && copy_data(u, fd, e, err) < 0)
    return -1;
  return finish_node(u, dirfd, name, e, err);
}

static int make_hardlink(unpacker *u, int dirfd, const char *name,
                         struct archive_entry *e, st_error **err) {
  char target[4096];
  if (st_tar_clean_name(archive_entry_hardlink(e), target, sizeof(target),
                        NULL) != 0)
    return st_error_set(err, EINVAL, "bad hard link target");
  const char *tname = split_name(target);
  const char *tparent = tname == target ? "." : target;
  cleanup_close int tdir =
      st_open_in_root(u->root, tparent, O_PATH | O_DIRECTORY, 0, err);
  if (tdir < 0)
    return st_error_wrap(err, "hard link target");
  if (linkat(tdir, tname, dirfd, name, 0) < 0) {
    int e_ = errno;
    cleanup_buf st_buf q = ST_BUF_INIT;
    st_buf_quote(&q, archive_entry_hardlink(e));
    return st_error_errno(err, e_, "hard link to %s", q.data ? q.data : "");
  }
  return 0;
}

static int make_node(unpacker *u, int dirfd, const char *name,
                     struct archive_entry *e, st_error **err) {
  mode_t type = archive_entry_filetype(e);
  int r = 0;
  switch (type) {
  case AE_IFDIR:
    r = mkdirat(dirfd, name, 0700);
    if (r < 0 && errno == EEXIST)
      r = 0;
    break;
  case AE_IFLNK:
    r = symlinkat(archive_entry_symlink(e), dirfd, name);
    break;
  case AE_IFCHR:
  case AE_IFBLK:
  case AE_IFIFO:
    r = mknodat(dirfd, name, type | 0600, archive_entry_rdev(e));
    break;
  case AE_IFSOCK:
    return 0; /* sockets are not kept in layers */
  default:
    return st_error_set(err, EINVAL, "unknown file type 0%o", (unsigned)type);
  }
  if (r < 0)
    return st_error_errno(err, errno, "create");
  return finish_node(u, dirfd, name, e, err);
}

static int opaque_dir(int dirfd, st_error **err) {
  if (fsetxattr(dirfd, OVERLAY_XATTR "opaque", "y", 1, 0) < 0)
    return st_error_errno(err, errno, "mark opaque");
  return 0;
}

static int whiteout(int dirfd, const char *name, st_error **err) {
  if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return st_error_set(err, EINVAL, "bad whiteout");
  if (make_room(dirfd, name, false) < 0 ||
      mknodat(dirfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
    return st_error_errno(err, errno, "whiteout");
  return 0;
}

/* A layer entry named ".wh.*" (base): the opaque marker, other AUFS
 * metadata (dropped), or the whiteout of a sibling. */
static int whiteout_entry(int dirfd, const char *base, st_error **err) {
  if (strcmp(base, WH_OPAQUE) == 0)
    return opaque_dir(dirfd, err);
  if (strncmp(base, WH_META, strlen(WH_META)) == 0)
    return 0; /* other AUFS metadata: not part of the tree */
  return whiteout(dirfd, base + strlen(WH_PREFIX), err);
}

/* Makes the entry named path; messages leave the name to the caller. */
static int place_entry(unpacker *u, struct archive_entry *e, const char *path,
                       st_error **err) {
  char name[4096];
  int clean = st_tar_clean_name(path, name, sizeof(name), err);
  if (clean != 0)
    return clean < 0 ? -1 : 0;
  const char *base = split_name(name);
  cleanup_close int dirfd = parent_dir(u, base == name ? "" : name, err);
  if (dirfd < 0)
    return -1;
  if (u->whiteouts && strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
    return whiteout_entry(dirfd, base, err);
  bool is_dir = archive_entry_filetype(e) == AE_IFDIR;
  if (make_room(dirfd, base, is_dir) < 0)
    return st_error_errno(err, errno, "replace");
  if (archive_entry_hardlink(e))
    return make_hardlink(u, dirfd, base, e, err);
  if (archive_entry_filetype(e) == AE_IFREG)
    return write_file(u, dirfd, base, e, err);
  return make_node(u, dirfd, base, e, err);
}

/* Every message names the entry, escaped and shortened (st_buf_quote):
 * names come from the tar and end up on terminals. */
static int unpack_entry(unpacker *u, struct archive_entry *e, st_error **err) {
  const char *path = archive_entry_pathname(e);
  if (path == NULL)
    return st_error_set(err, EINVAL, "entry without a name");
  if (place_entry(u, e, path, err) == 0)
    return 0;
  cleanup_buf st_buf q = ST_BUF_INIT;
  st_buf_quote(&q, path);
  return st_error_wrap(err, "entry %s", q.data ? q.data : "");
}

static int unpack_all(unpacker *u, st_error **err) {
  struct archive_entry *e;
  for (;;) {
    int r = archive_read_next_header(u->ar, &e);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r < ARCHIVE_WARN) {
      if (u->src_err)
        return st_error_set(err, u->src_err->code, "%s", u->src_err->msg);
      return st_error_set(err, EIO, "read tar: %s",
                          archive_error_string(u->ar));
    }
    if (unpack_entry(u, e, err) < 0)
      return -1;
  }
}

int st_layer_unpack_fd(int fd, int dirfd, st_unpack_mode mode, st_error **err) {
  unpacker u = {.root = dirfd,
                .root_owner = geteuid() == 0,
                .whiteouts = mode == ST_UNPACK_LAYER};
  if (st_decomp_open(fd, &u.src, err) < 0)
    return -1;
  u.ar = archive_read_new();
  int r = -1;
  if (u.ar == NULL) {
    st_error_errno(err, ENOMEM, "unpack layer");
    goto out;
  }
  archive_read_support_format_tar(u.ar);
  archive_read_support_format_gnutar(u.ar);
  if (archive_read_open2(u.ar, &u, NULL, pull, NULL, NULL) != ARCHIVE_OK) {
    st_error_set(err, EIO, "read tar: %s", archive_error_string(u.ar));
    goto out;
  }
  r = unpack_all(&u, err);
out:
  if (u.ar)
    archive_read_free(u.ar);
  st_decomp_free(u.src);
  st_error_free(u.src_err);
  return r;
}

/* ---- the per-chain-ID cache ------------------------------------------------
 */

static char *layers_path(const st_store *s, const char *hex,
                         const char *suffix) {
  char *p = NULL;
  if (asprintf(&p, "%s/layers/%s%s", s->root, hex, suffix) < 0)
    return NULL;
  return p;
}

char *st_layer_short_link(const st_store *s, const char *diff_dir) {
  /* diff_dir is "<root>/layers/<hex>/diff" */
  const char *hex = diff_dir + strlen(s->root) + strlen("/layers/");
  char *p = NULL;
  if (asprintf(&p, "%s/layers/l/%.12s", s->root, hex) < 0)
    return NULL;
  return p;
}

/* ---- the store's backend ------------------------------------------------ */

/* Whether layers/ holds a layer of either backend. */
static bool has_layers(const st_store *s) {
  cleanup_free char *dir = layers_path(s, "", "");
  cleanup_dir DIR *d = dir ? opendir(dir) : NULL;
  if (d == NULL)
    return false;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (strlen(de->d_name) == ST_DIGEST_HEX_LEN)
      return true;
  return false;
}

static int record_driver(const st_store *s, const char *path, st_layer_driver d,
                         st_error **err) {
  cleanup_free char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
    return st_error_errno(err, ENOMEM, "record the storage driver");
  cleanup_close int fd =
      open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const char *name = st_layer_driver_name(d);
  if (fd < 0 || write(fd, name, strlen(name)) != (ssize_t)strlen(name) ||
      write(fd, "\n", 1) != 1 || fsync(fd) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return st_error_errno(err, e, "write `%s`", path);
  }
  (void)s;
  return 0;
}

static int read_driver(const char *path, st_layer_driver *out, bool *found,
                       st_error **err) {
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  *found = fd >= 0;
  if (fd < 0)
    return errno == ENOENT ? 0 : st_error_errno(err, errno, "open `%s`", path);
  char buf[32] = "";
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n < 0)
    return st_error_errno(err, errno, "read `%s`", path);
  buf[n] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  return st_layer_driver_parse(buf, path, out, err);
}

st_layer_driver st_store_layer_driver_recorded(const st_store *s) {
  cleanup_free char *path = NULL;
  st_layer_driver d = ST_LAYER_DIR;
  bool found = false;
  st_error *e = NULL;
  if (asprintf(&path, "%s/storage-driver", s->root) < 0 ||
      read_driver(path, &d, &found, &e) < 0 || !found)
    d = ST_LAYER_DIR;
  st_error_free(e);
  return d;
}

int st_store_layer_driver(st_store *s, st_layer_driver *out, st_error **err) {
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/storage-driver", s->root) < 0)
    return st_error_errno(err, ENOMEM, "storage driver");
  st_layer_driver have = ST_LAYER_DIR, want = ST_LAYER_DIR;
  bool found = false;
  if (read_driver(path, &have, &found, err) < 0)
    return -1;
  const char *what = NULL;
  int asked = st_layer_driver_requested(&want, &what, err);
  if (asked < 0)
    return -1;
  bool layers = has_layers(s);
  if (found || layers) { /* no file but layers: a store older than this */
    if (asked && want != have && layers)
      return st_error_set(
          err, EINVAL,
          "%s asks for the %s storage driver, but the store %s holds layers "
          "of the %s driver: unset it, or remove the layers first (strata "
          "system prune -a)",
          what, st_layer_driver_name(want), s->root,
          st_layer_driver_name(have));
    bool change = asked && want != have;
    if (change && want == ST_LAYER_EROFS && !st_erofs_usable(s->tmp_dir))
      return st_error_set(err, EINVAL,
                          "%s asks for the erofs storage driver, but the "
                          "kernel cannot mount an EROFS image from a file in "
                          "%s: use \"overlay2\"",
                          what, s->root);
    if (change)
      have = want;
    if ((!found || change) && record_driver(s, path, have, err) < 0)
      return -1;
    *out = have;
    return 0;
  }
  if (!asked)
    want = st_layer_driver_auto(s->tmp_dir);
  else if (want == ST_LAYER_EROFS && !st_erofs_usable(s->tmp_dir))
    return st_error_set(err, EINVAL,
                        "%s asks for the erofs storage driver, but the kernel "
                        "cannot mount an EROFS image from a file in %s (needs "
                        "root, Linux 6.12+ with EROFS file-backed mounts, and "
                        "a store on a disk file system, not tmpfs): use "
                        "\"overlay2\"",
                        what, s->root);
  if (record_driver(s, path, want, err) < 0)
    return -1;
  *out = want;
  return 0;
}

static int make_short_link(st_store *s, const char *hex, st_error **err) {
  cleanup_free char *dir = layers_path(s, "l", "");
  cleanup_free char *link = NULL, *target = NULL;
  if (dir == NULL || asprintf(&link, "%s/%.12s", dir, hex) < 0 ||
      asprintf(&target, "../%s/diff", hex) < 0)
    return st_error_errno(err, ENOMEM, "unpack layer");
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return st_error_errno(err, errno, "mkdir `%s`", dir);
  if (symlink(target, link) < 0 && errno != EEXIST)
    return st_error_errno(err, errno, "symlink `%s`", link);
  return 0;
}

/* Unpacks blob into the empty directory diff and syncs it. */
static int unpack_blob_to(st_store *s, const char *blob, const char *diff,
                          st_error **err) {
  cleanup_close int dirfd = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return st_error_errno(err, errno, "open `%s`", diff);
  cleanup_close int blobfd = st_blob_open(s, blob, err);
  if (blobfd < 0 || st_layer_unpack_fd(blobfd, dirfd, ST_UNPACK_LAYER, err) < 0)
    return -1;
  if (syncfs(dirfd) < 0)
    return st_error_errno(err, errno, "sync `%s`", diff);
  return 0;
}

/* Converts blob into dir/layer.erofs (written under a temporary name,
 * fsynced and renamed by st_erofs_from_tar): a tar index whose device is
 * the blob itself when the blob is an uncompressed tar (its hex digest the
 * device tag, so the mount finds it), a full image otherwise. */
static int convert_blob_to(st_store *s, const char *blob, const char *dir,
                           st_error **err) {
  cleanup_free char *img = NULL;
  if (asprintf(&img, "%s/layer.erofs", dir) < 0)
    return st_error_errno(err, ENOMEM, "convert layer");
  cleanup_close int blobfd = st_blob_open(s, blob, err);
  st_erofs_opts o = {
      .whiteouts = true, .tar_index = true, .device_tag = st_digest_hex(blob)};
  if (blobfd < 0 || st_erofs_from_tar(blobfd, img, &o, NULL, err) < 0)
    return -1;
  return 0;
}

/* Unpacks blob into a fresh directory under tmp/ and renames it to
 * layers/<hex>. The caller holds the layer's lock. */
static int unpack_into_place(st_store *s, const char *hex, const char *blob,
                             st_error **err) {
  cleanup_free char *tmp = NULL, *diff = NULL, *dest = layers_path(s, hex, "");
  if (dest == NULL || asprintf(&tmp, "%s/layer-XXXXXX", s->tmp_dir) < 0)
    return st_error_errno(err, ENOMEM, "unpack layer");
  if (mkdtemp(tmp) == NULL)
    return st_error_errno(err, errno, "mkdtemp `%s`", tmp);
  int r = -1;
  st_layer_driver drv = ST_LAYER_DIR;
  if (st_store_layer_driver(s, &drv, err) < 0)
    ;
  else if (asprintf(&diff, "%s/diff", tmp) < 0 || mkdir(diff, 0755) < 0)
    st_error_errno(err, errno, "mkdir `%s/diff`", tmp);
  else if ((drv == ST_LAYER_EROFS ? convert_blob_to(s, blob, tmp, err)
                                  : unpack_blob_to(s, blob, diff, err)) == 0) {
    r = rename(tmp, dest);
    if (r < 0)
      st_error_errno(err, errno, "rename `%s` to `%s`", tmp, dest);
  }
  if (r < 0) {
    st_error *ignored = NULL;
    st_rm_rf(tmp, &ignored);
    st_error_free(ignored);
  }
  return r;
}

/* A layer is present when its directory is: it is renamed into place
 * complete (diff tree, or empty diff and layer.erofs). */
static bool layer_present(st_store *s, const char *hex) {
  cleanup_free char *diff = layers_path(s, hex, "/diff");
  return diff && access(diff, F_OK) == 0;
}

/* Takes the lock of layer hex (layers/<hex>.lock, made if missing):
 * returns its fd, or < 0 with *err set. */
static int lock_layer(st_store *s, const char *hex, st_error **err) {
  cleanup_free char *dir = layers_path(s, "", "");
  cleanup_free char *lock = layers_path(s, hex, ".lock");
  if (dir == NULL || lock == NULL)
    return st_error_errno(err, ENOMEM, "lock layer");
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return st_error_errno(err, errno, "mkdir `%s`", dir);
  int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || flock(fd, LOCK_EX) < 0) {
    st_error_errno(err, errno, "lock `%s`", lock);
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

static int ensure_layer(st_store *s, const char *chain, const char *blob,
                        st_error **err) {
  const char *hex = st_digest_hex(chain);
  if (st_store_busy(s, err) < 0)
    return -1;
  if (layer_present(s, hex))
    return 0;
  cleanup_close int fd = lock_layer(s, hex, err);
  if (fd < 0)
    return -1;
  if (!layer_present(s, hex) && unpack_into_place(s, hex, blob, err) < 0)
    return st_error_wrap(err, "unpack layer %.12s", hex);
  return make_short_link(s, hex, err);
}

int st_layer_stage_begin(st_store *s, char **dir, st_error **err) {
  *dir = NULL;
  cleanup_free char *tmp = NULL, *diff = NULL;
  if (st_store_busy(s, err) < 0)
    return -1;
  if (asprintf(&tmp, "%s/layer-XXXXXX", s->tmp_dir) < 0) {
    tmp = NULL;
    return st_error_errno(err, ENOMEM, "stage layer");
  }
  if (mkdtemp(tmp) == NULL)
    return st_error_errno(err, errno, "mkdtemp `%s`", tmp);
  if (asprintf(&diff, "%s/diff", tmp) < 0 || mkdir(diff, 0755) < 0) {
    st_error_errno(err, errno, "mkdir `%s/diff`", tmp);
    st_layer_stage_drop(tmp);
    return -1;
  }
  *dir = steal_pointer(&tmp);
  return 0;
}

void st_layer_stage_drop(const char *dir) {
  if (dir == NULL)
    return;
  st_error *ignored = NULL;
  st_rm_rf(dir, &ignored);
  st_error_free(ignored);
}

int st_layer_stage_commit(st_store *s, const char *chain, const char *dir,
                          st_error **err) {
  const char *hex = st_digest_hex(chain);
  cleanup_free char *dest = layers_path(s, hex, "");
  if (dest == NULL)
    return st_error_errno(err, ENOMEM, "stage layer");
  cleanup_close int fd = lock_layer(s, hex, err);
  if (fd < 0)
    return -1;
  if (layer_present(s, hex)) {
    st_layer_stage_drop(dir);
    return 0;
  }
  if (rename(dir, dest) < 0)
    return st_error_errno(err, errno, "rename `%s` to `%s`", dir, dest);
  return make_short_link(s, hex, err);
}

int st_layer_unpack_again(st_store *s, const char *chain, const char *blob,
                          st_error **err) {
  const char *hex = st_digest_hex(chain);
  cleanup_free char *dir = layers_path(s, "", "");
  cleanup_free char *lock = layers_path(s, hex, ".lock");
  cleanup_free char *dest = layers_path(s, hex, "");
  cleanup_free char *stale = NULL, *old = NULL;
  if (dir == NULL || lock == NULL || dest == NULL ||
      asprintf(&stale, "%s/stale-XXXXXX", s->tmp_dir) < 0)
    return st_error_errno(err, ENOMEM, "unpack layer");
  if (st_store_busy(s, err) < 0)
    return -1;
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return st_error_errno(err, errno, "mkdir `%s`", dir);
  cleanup_close int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || flock(fd, LOCK_EX) < 0)
    return st_error_errno(err, errno, "lock `%s`", lock);
  if (mkdtemp(stale) == NULL || asprintf(&old, "%s/old", stale) < 0)
    return st_error_errno(err, errno, "mkdtemp `%s`", stale);
  if (rename(dest, old) < 0 && errno != ENOENT)
    return st_error_errno(err, errno, "rename `%s`", dest);
  int r = unpack_into_place(s, hex, blob, err);
  if (r < 0)
    rename(old, dest); /* keep what was there */
  st_error *ignored = NULL;
  st_rm_rf(stale, &ignored);
  st_error_free(ignored);
  if (r < 0)
    return st_error_wrap(err, "unpack layer %.12s", hex);
  return make_short_link(s, hex, err);
}

/* Adds which layer failed to *err. A full disk (or quota) also says so in
 * words, with the layer's IDs and the directory it was going to: the
 * write's own message names only the entry. Returns -1. */
static int unpack_fail(st_store *s, size_t i, size_t n, const char *diff_id,
                       const char *chain, st_error **err) {
  int code = err && *err ? (*err)->code : 0;
  if (code != ENOSPC && code != EDQUOT)
    return st_error_wrap(err, "layer %zu/%zu", i + 1, n);
  cleanup_free char *msg = steal_pointer(&(*err)->msg);
  st_error_freep(err);
  cleanup_free char *dir = layers_path(s, st_digest_hex(chain), "");
  return st_error_set(err, code,
                      "layer %zu/%zu (diff ID %s, chain ID %s): %s while "
                      "unpacking it into %s (%s)",
                      i + 1, n, diff_id, chain,
                      code == ENOSPC ? "no space left on device"
                                     : "disk quota exceeded",
                      dir ? dir : s->root, msg ? msg : "");
}

/* The diff directories of image id, top first; with unpack, each layer is
 * unpacked first. */
static int layer_dirs(st_store *s, const char *id, bool unpack, char ***dirs,
                      size_t *n, st_error **err) {
  st_layer_rec *layers = NULL;
  size_t nl = 0;
  if (st_image_layers(s, id, &layers, &nl, err) < 0)
    return -1;
  char(*chain)[ST_DIGEST_LEN] = calloc(nl ? nl : 1, sizeof(*chain));
  char **out = calloc(nl + 1, sizeof(char *));
  int r = -1;
  if (chain == NULL || out == NULL) {
    st_error_errno(err, ENOMEM, "unpack image");
    goto done;
  }
  st_chain_ids(layers, nl, chain);
  st_layer_driver drv;
  if (unpack && nl > 0 && st_store_layer_driver(s, &drv, err) < 0)
    goto done;
  for (size_t i = 0; i < nl; i++) {
    if (unpack && ensure_layer(s, chain[i], layers[i].blob, err) < 0) {
      unpack_fail(s, i, nl, layers[i].diff_id, chain[i], err);
      goto done;
    }
    out[nl - 1 - i] = layers_path(s, st_digest_hex(chain[i]), "/diff");
    if (out[nl - 1 - i] == NULL) {
      st_error_errno(err, ENOMEM, "unpack image");
      goto done;
    }
  }
  *dirs = steal_pointer(&out);
  *n = nl;
  r = 0;
done:
  if (out)
    st_strv_free(out, nl);
  free(chain);
  st_layers_free(layers, nl);
  return r;
}

int st_image_unpack(st_store *s, const char *id, char ***dirs, size_t *n,
                    st_error **err) {
  return layer_dirs(s, id, true, dirs, n, err);
}

int st_image_layer_dirs(st_store *s, const char *id, char ***dirs, size_t *n,
                        st_error **err) {
  return layer_dirs(s, id, false, dirs, n, err);
}

/* ---- prune --------------------------------------------------------------- */

static int add_image_chains(st_store *s, const char *id, st_buf *keep,
                            st_error **err) {
  st_layer_rec *layers = NULL;
  size_t n = 0;
  if (st_image_layers(s, id, &layers, &n, err) < 0)
    return -1;
  char(*chain)[ST_DIGEST_LEN] = calloc(n ? n : 1, sizeof(*chain));
  int r = chain ? 0 : st_error_errno(err, ENOMEM, "prune layers");
  if (chain) {
    st_chain_ids(layers, n, chain);
    for (size_t i = 0; i < n && r == 0; i++)
      if (st_buf_printf(keep, " %s", st_digest_hex(chain[i])) < 0)
        r = st_error_errno(err, ENOMEM, "prune layers");
  }
  free(chain);
  st_layers_free(layers, n);
  return r;
}

static int remove_tree(st_store *s, const char *name, st_error **err) {
  cleanup_free char *path = layers_path(s, name, "");
  cleanup_free char *lock = layers_path(s, name, ".lock");
  cleanup_free char *link = NULL;
  if (path == NULL || lock == NULL ||
      asprintf(&link, "%s/layers/l/%.12s", s->root, name) < 0)
    return st_error_errno(err, ENOMEM, "prune layers");
  unlink(link);
  if (st_rm_rf(path, err) < 0)
    return -1;
  unlink(lock);
  return 0;
}

int st_layers_prune(st_store *s, st_error **err) {
  cleanup_buf st_buf keep = ST_BUF_INIT;
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT id FROM images", &st, err) < 0)
    return -1;
  while (sqlite3_step(st) == SQLITE_ROW)
    if (add_image_chains(s, (const char *)sqlite3_column_text(st, 0), &keep,
                         err) < 0)
      return -1;
  cleanup_free char *dir = layers_path(s, "", "");
  cleanup_dir DIR *d = dir ? opendir(dir) : NULL;
  if (d == NULL)
    return errno == ENOENT ? 0 : st_error_errno(err, errno, "open layers");
  int removed = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strlen(de->d_name) != ST_DIGEST_HEX_LEN)
      continue;
    if (keep.data && strstr(keep.data, de->d_name))
      continue;
    if (remove_tree(s, de->d_name, err) < 0)
      return -1;
    removed++;
  }
  return removed;
}
