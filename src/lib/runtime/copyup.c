/* Copying what an image has at a path into a new volume (Docker copies the
 * image's content into an empty volume the first time it is mounted). The
 * image's layers are stacked in a detached, read-only overlay mount (no
 * mount point, nothing for another process to see); a single layer is
 * read as it is. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "layer/backend.h"
#include "runtime/mounts.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif

/* An fd of the image's merged root, or < 0 with errno. */
static int image_root(char **lower, size_t n) {
  if (n == 0)
    return errno = ENOENT, -1;
  if (n == 1)
    return open(lower[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int fs = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0)
    return -1;
  bool plus = true;
  for (size_t i = 0; plus && i < n; i++)
    plus = fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lower[i], 0) == 0;
  if (!plus) { /* before Linux 6.8: one string */
    cleanup_buf st_buf b = ST_BUF_INIT;
    for (size_t i = 0; i < n; i++)
      st_buf_printf(&b, "%s%s", i ? ":" : "", lower[i]);
    if (b.data == NULL ||
        fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", b.data, 0) < 0)
      return -1;
  }
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  return fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
}

static void copy_meta(int dfd, const char *name, const struct stat *st) {
  struct timespec t[2] = {st->st_atim, st->st_mtim};
  if (fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
    /* best effort: an owner the file system cannot hold */
  }
  if (!S_ISLNK(st->st_mode) &&
      fchmodat(dfd, name, st->st_mode & 07777, 0) < 0) {
    /* best effort as above */
  }
  utimensat(dfd, name, t, AT_SYMLINK_NOFOLLOW);
}

static int copy_file(int sfd, int dfd, const char *name, const struct stat *st,
                     st_error **err) {
  cleanup_close int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int out = openat(
      dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (in < 0 || out < 0)
    return st_error_errno(err, errno, "copy %s", name);
  off_t left = st->st_size;
  bool plain = false; /* copy_file_range cannot: read and write */
  while (left > 0) {
    ssize_t n = -1;
    if (!plain)
      n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
    if (n == 0)
      break;
    if (n < 0 && !plain && errno != EXDEV && errno != EINVAL &&
        errno != ENOSYS && errno != EOPNOTSUPP)
      return st_error_errno(err, errno, "copy %s", name);
    if (n < 0) {
      plain = true;
      char buf[65536];
      n = read(in, buf, sizeof(buf));
      if (n == 0)
        break;
      if (n < 0 || st_write_all(out, buf, (size_t)n, name, err) < 0)
        return n < 0 ? st_error_errno(err, errno, "copy %s", name) : -1;
    }
    left -= n;
  }
  return 0;
}

static int copy_tree(int sfd, int dfd, st_error **err);

static int copy_entry(int sfd, int dfd, const char *name, st_error **err) {
  struct stat st;
  if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return st_error_errno(err, errno, "copy %s", name);
  if (S_ISDIR(st.st_mode)) {
    if (mkdirat(dfd, name, 0700) < 0)
      return st_error_errno(err, errno, "copy %s", name);
    cleanup_close int s2 =
        openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    cleanup_close int d2 =
        openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s2 < 0 || d2 < 0)
      return st_error_errno(err, errno, "copy %s", name);
    if (copy_tree(s2, d2, err) < 0)
      return st_error_wrap(err, "%s", name);
  } else if (S_ISREG(st.st_mode)) {
    if (copy_file(sfd, dfd, name, &st, err) < 0)
      return -1;
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);
    if (n < 0)
      return st_error_errno(err, errno, "copy %s", name);
    target[n] = '\0';
    if (symlinkat(target, dfd, name) < 0)
      return st_error_errno(err, errno, "copy %s", name);
  } else if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 &&
             minor(st.st_rdev) == 0) {
    return 0; /* an overlay whiteout of a single layer: nothing */
  } else if (mknodat(dfd, name, st.st_mode, st.st_rdev) < 0) {
    return st_error_errno(err, errno, "copy %s", name);
  }
  copy_meta(dfd, name, &st);
  return 0;
}

static int copy_tree(int sfd, int dfd, st_error **err) {
  int fd = dup(sfd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    if (fd >= 0)
      close(fd);
    return st_error_errno(err, errno, "read directory");
  }
  struct dirent *e;
  int r = 0;
  while (r == 0 && (e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      r = copy_entry(sfd, dfd, e->d_name, err);
  closedir(d);
  return r;
}

int st_volume_copy_up(char **lower, size_t n_lower, const char *dest,
                      const char *data, st_error **err) {
  if (n_lower == 0)
    return 0; /* FROM scratch: nothing to copy */
  st_lower_view view;
  if (st_lower_view_open(lower, n_lower, &view, err) < 0)
    return -1;
  cleanup_close int root = image_root(view.path, n_lower);
  st_lower_view_close(&view); /* the overlay (or fd) holds the layers */
  if (root < 0)
    return st_error_errno(err, errno, "mount the image's layers");
  st_error *e = NULL;
  cleanup_close int src =
      st_open_in_root(root, dest, O_RDONLY | O_DIRECTORY, 0, &e);
  if (src < 0) { /* not in the image, or not a directory: nothing to copy */
    st_error_free(e);
    return 0;
  }
  cleanup_close int dst = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (dst < 0 || fstat(src, &st) < 0)
    return st_error_errno(err, errno, "open `%s`", data);
  if (copy_tree(src, dst, err) < 0)
    return -1;
  if (fchown(dst, st.st_uid, st.st_gid) < 0 ||
      fchmod(dst, st.st_mode & 07777) < 0)
    return st_error_errno(err, errno, "set the owner of `%s`", data);
  return 0;
}
