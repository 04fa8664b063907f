/* The container's root file system, set up by the child inside its new
 * mount namespace: the overlay, the spec's mounts (each target resolved
 * inside the root, then mounted through its fd), a minimal /dev, masked
 * and read-only paths, and pivot_root. Nothing here is visible on the host:
 * the whole tree is made private first. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "layer/backend.h"
#include "runtime/internal.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/safepath.h"

static void fd_path(int fd, char out[64]) {
  snprintf(out, 64, "/proc/self/fd/%d", fd);
}

/* ---- overlay --------------------------------------------------------- */

static int overlay_new_api(char **lower, const char *upper, const char *work,
                           bool volatile_upper, const char *target) {
  cleanup_close int fs = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0)
    return -1;
  for (size_t i = 0; lower[i]; i++)
    if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lower[i], 0) < 0)
      return -1;
  if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
      fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
      (volatile_upper &&
       fsconfig(fs, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0) ||
      fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  cleanup_close int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    return -1;
  return move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
}

/* The legacy mount string, with lower dirs as the short links
 * "l/<12 hex>" relative to the layers directory (Docker's trick to stay
 * under a page), which becomes the working directory. */
static int overlay_legacy(char **lower, const char *upper, const char *work,
                          bool volatile_upper, const char *target) {
  cleanup_buf st_buf opts = ST_BUF_INIT;
  cleanup_free char *layers = NULL;
  st_buf_puts(&opts, "lowerdir=");
  for (size_t i = 0; lower[i]; i++) {
    const char *l = strstr(lower[i], "/layers/");
    if (l == NULL)
      return errno = EINVAL, -1;
    if (layers == NULL)
      layers = strndup(lower[i], (size_t)(l - lower[i]) + strlen("/layers"));
    st_buf_printf(&opts, "%sl/%.12s", i ? ":" : "", l + strlen("/layers/"));
  }
  st_buf_printf(&opts, ",upperdir=%s,workdir=%s%s", upper, work,
                volatile_upper ? ",volatile" : "");
  if (layers == NULL || opts.data == NULL)
    return errno = ENOMEM, -1;
  cleanup_close int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (chdir(layers) < 0)
    return -1;
  int r = mount("overlay", target, "overlay", 0, opts.data);
  int saved = errno;
  if (cwd >= 0 && fchdir(cwd) < 0)
    return -1;
  errno = saved;
  return r;
}

int st_overlay_mount(char **lower, const char *upper, const char *work,
                     bool volatile_upper, const char *target, st_error **err) {
  size_t n = 0;
  while (lower[n])
    n++;
  if (st_layers_attach(lower, n, err) < 0)
    return -1;
  const char *legacy = getenv("STRATA_OVERLAY_LEGACY");
  if (!(legacy && *legacy == '1') &&
      overlay_new_api(lower, upper, work, volatile_upper, target) == 0)
    return 0;
  if (overlay_legacy(lower, upper, work, volatile_upper, target) < 0)
    return st_error_errno(err, errno, "mount overlay on `%s`", target);
  return 0;
}

/* ---- the spec's mounts --------------------------------------------------- */

/* The mount point inside the root: a directory, or a file when a file is
 * bind-mounted on it. Returns an O_PATH fd. */
static int mount_target(int rootfd, const st_mount_op *m, st_error **err) {
  struct stat st;
  bool file = m->bind && stat(m->source, &st) == 0 && !S_ISDIR(st.st_mode);
  if (!file) {
    int fd = st_mkdir_in_root(rootfd, m->dest, 0755, err);
    return fd < 0 ? st_error_wrap(err, "mount point") : fd;
  }
  st_error *e = NULL;
  int fd = st_open_in_root(rootfd, m->dest, O_PATH, 0, &e);
  if (fd >= 0)
    return fd;
  st_error_free(e);
  cleanup_free char *parent = strdup(m->dest);
  if (parent == NULL)
    return st_error_errno(err, ENOMEM, "mount point");
  *strrchr(parent, '/') = '\0';
  cleanup_close int dir = st_mkdir_in_root(rootfd, parent, 0755, err);
  if (dir < 0)
    return -1;
  cleanup_close int f =
      st_open_in_root(rootfd, m->dest, O_WRONLY | O_CREAT, 0644, err);
  if (f < 0)
    return -1;
  return st_open_in_root(rootfd, m->dest, O_PATH, 0, err);
}

/* Remounts what is now mounted at dest with flags (bind mounts take
 * MS_RDONLY and friends only through a remount). */
static int remount(int rootfd, const char *dest, unsigned long flags,
                   st_error **err) {
  cleanup_close int fd = st_open_in_root(rootfd, dest, O_PATH, 0, err);
  if (fd < 0)
    return -1;
  char p[64];
  fd_path(fd, p);
  if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
    return st_error_errno(err, errno, "remount `%s`", dest);
  return 0;
}

static int make_devices(int rootfd, st_error **err);

static int do_mount(int rootfd, const st_mount_op *m, st_error **err) {
  cleanup_close int fd = mount_target(rootfd, m, err);
  if (fd < 0)
    return -1;
  char target[64];
  fd_path(fd, target);
  unsigned long flags = m->flags;
  if (m->bind) {
    if (mount(m->source, target, NULL, MS_BIND | (flags & MS_REC), NULL) < 0)
      return st_error_errno(err, errno, "bind `%s` on `%s`", m->source,
                            m->dest);
    unsigned long extra = flags & ~(MS_BIND | MS_REC);
    if (extra && remount(rootfd, m->dest, extra, err) < 0)
      return -1;
  } else if (mount(m->source, target, m->type, flags,
                   *m->data ? m->data : NULL) < 0) {
    return st_error_errno(err, errno, "mount %s on `%s`", m->type, m->dest);
  }
  if (m->propagation) {
    cleanup_close int now = st_open_in_root(rootfd, m->dest, O_PATH, 0, err);
    fd_path(now, target);
    if (now < 0 || mount(NULL, target, NULL, m->propagation, NULL) < 0)
      return st_error_errno(err, errno, "propagation of `%s`", m->dest);
  }
  if (strcmp(m->dest, "/dev") == 0 && strcmp(m->type, "tmpfs") == 0)
    return make_devices(rootfd, err);
  return 0;
}

/* ---- /dev ------------------------------------------------------------- */

static int make_devices(int rootfd, st_error **err) {
  static const struct {
    const char *name;
    unsigned major, minor;
  } devs[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
              {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  static const struct {
    const char *name, *target;
  } links[] = {{"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"},
               {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
               {"ptmx", "pts/ptmx"},          {"core", "/proc/kcore"}};
  cleanup_close int dev =
      st_open_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY, 0, err);
  if (dev < 0)
    return -1;
  mode_t old = umask(0);
  for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
    if (mknodat(dev, devs[i].name, S_IFCHR | 0666,
                makedev(devs[i].major, devs[i].minor)) < 0) {
      umask(old);
      return st_error_errno(err, errno, "mknod /dev/%s", devs[i].name);
    }
  umask(old);
  for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
    if (symlinkat(links[i].target, dev, links[i].name) < 0)
      return st_error_errno(err, errno, "symlink /dev/%s", links[i].name);
  return 0;
}

/* linux.devices (every host device with --privileged). */
static int spec_devices(int rootfd, const st_spec *spec, st_error **err) {
  mode_t old = umask(0);
  int r = 0;
  for (size_t i = 0; r == 0 && i < spec->n_devices; i++) {
    const st_device *d = &spec->devices[i];
    cleanup_free char *parent = strdup(d->path);
    char *slash = parent ? strrchr(parent, '/') : NULL;
    if (slash == NULL || slash[1] == '\0')
      continue;
    *slash = '\0';
    cleanup_close int dir =
        st_mkdir_in_root(rootfd, *parent ? parent : "/", 0755, err);
    if (dir < 0) {
      r = -1;
      break;
    }
    /* one of the default nodes (--device /dev/zero:/dev/null) is
     * replaced */
    dev_t dev = makedev(d->major, d->minor);
    if (mknodat(dir, slash + 1, d->mode, dev) < 0 &&
        (errno != EEXIST || unlinkat(dir, slash + 1, 0) < 0 ||
         mknodat(dir, slash + 1, d->mode, dev) < 0))
      r = st_error_errno(err, errno, "mknod %s", d->path);
    else if (fchownat(dir, slash + 1, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
      r = st_error_errno(err, errno, "chown %s", d->path);
  }
  umask(old);
  return r;
}

/* ---- masked and read-only paths ------------------------------------------ */

static int mask_path(int rootfd, const char *path, st_error **err) {
  st_error *e = NULL;
  cleanup_close int fd = st_open_in_root(rootfd, path, O_PATH, 0, &e);
  if (fd < 0) {
    st_error_free(e);
    return 0; /* nothing to hide */
  }
  struct stat st;
  char p[64];
  fd_path(fd, p);
  if (fstat(fd, &st) < 0)
    return st_error_errno(err, errno, "mask `%s`", path);
  if (S_ISDIR(st.st_mode)) {
    if (mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0k") < 0)
      return st_error_errno(err, errno, "mask `%s`", path);
    return 0;
  }
  /* The container's own /dev/null (as runc does), not the host's. */
  cleanup_close int null = st_open_in_root(rootfd, "/dev/null", O_PATH, 0, err);
  if (null < 0)
    return st_error_wrap(err, "mask `%s`", path);
  char src[64];
  fd_path(null, src);
  if (mount(src, p, NULL, MS_BIND, NULL) < 0)
    return st_error_errno(err, errno, "mask `%s`", path);
  return 0;
}

static int readonly_path(int rootfd, const char *path, st_error **err) {
  st_error *e = NULL;
  cleanup_close int fd = st_open_in_root(rootfd, path, O_PATH, 0, &e);
  if (fd < 0) {
    st_error_free(e);
    return 0;
  }
  char p[64];
  fd_path(fd, p);
  if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
    return st_error_errno(err, errno, "bind `%s` read-only", path);
  return remount(rootfd, path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 err);
}

/* ---- the whole root -------------------------------------------------------
 */

static int mount_root(const st_spec *spec, st_error **err) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return st_error_errno(err, errno, "make mounts private");
  if (spec->lower && spec->lower[0])
    return st_overlay_mount(spec->lower, spec->upper, spec->work,
                            spec->volatile_upper, spec->rootfs, err);
  if (mount(spec->rootfs, spec->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return st_error_errno(err, errno, "bind `%s`", spec->rootfs);
  return 0;
}

static int pivot(const char *rootfs, st_error **err) {
  if (chdir(rootfs) < 0)
    return st_error_errno(err, errno, "chdir `%s`", rootfs);
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return st_error_errno(err, errno, "pivot_root `%s`", rootfs);
  if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
    return st_error_errno(err, errno, "detach the old root");
  return 0;
}

int st_rootfs_setup(const st_spec *spec, st_error **err) {
  if (mount_root(spec, err) < 0)
    return -1;
  cleanup_close int rootfd =
      open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return st_error_errno(err, errno, "open `%s`", spec->rootfs);
  for (size_t i = 0; i < spec->n_mounts; i++)
    if (do_mount(rootfd, &spec->mounts[i], err) < 0)
      return -1;
  if (spec_devices(rootfd, spec, err) < 0)
    return -1;
  cleanup_close int cwd = st_mkdir_in_root(rootfd, spec->cwd, 0755, err);
  if (cwd < 0)
    return st_error_wrap(err, "working directory");
  for (size_t i = 0; spec->masked[i]; i++)
    if (mask_path(rootfd, spec->masked[i], err) < 0)
      return -1;
  for (size_t i = 0; spec->readonly_paths[i]; i++)
    if (readonly_path(rootfd, spec->readonly_paths[i], err) < 0)
      return -1;
  if (spec->root_readonly && mount(NULL, spec->rootfs, NULL,
                                   MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
    return st_error_errno(err, errno, "make the root read-only");
  return pivot(spec->rootfs, err);
}
