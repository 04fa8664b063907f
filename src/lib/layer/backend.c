/* Layer backends (see backend.h): the choice of one, and mounting erofs
 * layers on their diff directories in a private mount namespace. */
#include "layer/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/erofs.h"
#include "registry/config.h"
#include "util/cleanup.h"

const char *st_layer_driver_name(st_layer_driver d) {
  switch (d) {
  case ST_LAYER_DIR:
    return "dir";
  case ST_LAYER_EROFS:
    return "erofs";
  default:
    return "dir";
  }
}

int st_layer_driver_parse(const char *name, const char *what,
                          st_layer_driver *out, st_error **err) {
  if (strcmp(name, "dir") == 0 || strcmp(name, "overlay2") == 0 ||
      strcmp(name, "overlay") == 0) {
    *out = ST_LAYER_DIR;
    return 0;
  }
  if (strcmp(name, "erofs") == 0) {
    *out = ST_LAYER_EROFS;
    return 0;
  }
  return st_error_set(err, EINVAL,
                      "%s: unknown storage driver \"%s\" (use \"erofs\", or "
                      "\"overlay2\" or \"dir\" for directory layers)",
                      what, name);
}

int st_layer_driver_requested(st_layer_driver *out, const char **what,
                              st_error **err) {
  const char *env = getenv("STRATA_STORAGE_DRIVER");
  if (env && *env) {
    *what = "STRATA_STORAGE_DRIVER";
    return st_layer_driver_parse(env, *what, out, err) < 0 ? -1 : 1;
  }
  const st_reg_config *c = NULL;
  if (st_reg_config_get(&c, err) < 0)
    return -1;
  if (c->storage_driver == NULL)
    return 0;
  *what = "\"storage-driver\" in the settings file";
  return st_layer_driver_parse(c->storage_driver, *what, out, err) < 0 ? -1 : 1;
}

/* ---- the probe ------------------------------------------------------------
 */

/* Mounts the EROFS image at path detached, read-only. Returns the mount's
 * fd, or < 0 with errno set. */
static int erofs_mount_detached(const char *path, const char *device) {
  cleanup_close int fs = fsopen("erofs", FSOPEN_CLOEXEC);
  if (fs < 0)
    return -1;
  if (fsconfig(fs, FSCONFIG_SET_STRING, "source", path, 0) < 0 ||
      (device && fsconfig(fs, FSCONFIG_SET_STRING, "device", device, 0) < 0) ||
      fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  return fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
}

static bool probe(const char *tmp_dir) {
  if (geteuid() != 0)
    return false;
  cleanup_close int tar = memfd_create("strata-probe", MFD_CLOEXEC);
  static const char empty_tar[1024];
  if (tar < 0 || write(tar, empty_tar, sizeof(empty_tar)) != sizeof(empty_tar))
    return false;
  lseek(tar, 0, SEEK_SET);
  cleanup_free char *img = NULL;
  if (asprintf(&img, "%s/erofs-probe-XXXXXX", tmp_dir) < 0)
    return false;
  cleanup_close int out = mkostemp(img, O_CLOEXEC);
  if (out < 0)
    return false;
  st_erofs_opts o = {.whiteouts = true, .no_sync = true};
  st_error *e = NULL;
  bool ok = st_erofs_write_fd(tar, out, &o, NULL, &e) == 0;
  st_error_free(e);
  if (ok) {
    int mnt = erofs_mount_detached(img, NULL);
    ok = mnt >= 0;
    if (mnt >= 0)
      close(mnt);
  }
  unlink(img);
  return ok;
}

bool st_erofs_usable(const char *tmp_dir) {
  static int cached = -1;
  if (cached < 0)
    cached = probe(tmp_dir);
  return cached == 1;
}

st_layer_driver st_layer_driver_auto(const char *tmp_dir) {
  return st_erofs_usable(tmp_dir) ? ST_LAYER_EROFS : ST_LAYER_DIR;
}

/* ---- attaching ------------------------------------------------------------
 */

static int private_ns(st_error **err) {
  static bool done;
  if (done)
    return 0;
  if (unshare(CLONE_NEWNS) < 0)
    return st_error_errno(err, errno,
                          "make a private mount namespace for the erofs "
                          "layers");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return st_error_errno(err, errno, "make mounts private");
  done = true;
  return 0;
}

/* Whether dir is the root of a mount (its device differs from its
 * parent's). */
static bool is_mount_point(const char *dir, const char *parent) {
  struct stat a, b;
  return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* The image file of the erofs layer whose mount point is diff: 1 with
 * *img, *parent and *dev set (heap strings; *dev NULL for a full image,
 * else the blob a tar index indexes: <root>/blobs/sha256/<its tag>, the
 * layer being <root>/layers/<chain>/diff), 0 for a directory layer, < 0
 * with *err set. */
static int layer_image(const char *diff, char **img, char **parent, char **dev,
                       st_error **err) {
  const char *slash = strrchr(diff, '/');
  if (slash == NULL)
    return 0;
  cleanup_free char *dir = strndup(diff, (size_t)(slash - diff));
  cleanup_free char *file = NULL;
  if (dir == NULL || asprintf(&file, "%s/layer.erofs", dir) < 0)
    return st_error_errno(err, ENOMEM, "attach layer");
  struct stat st;
  if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
    return 0; /* a directory layer */
  char tag[65];
  int idx = st_erofs_index_tag(file, tag, err);
  if (idx < 0)
    return st_error_wrap(err, "mount the erofs layer `%s`", file);
  *dev = NULL;
  if (idx > 0) {
    if (strlen(tag) != 64 || strspn(tag, "0123456789abcdef") != 64)
      return st_error_set(err, EIO,
                          "`%s` indexes a blob with a bad name; run `strata "
                          "system check --repair`",
                          file);
    if (asprintf(dev, "%s/../../blobs/sha256/%s", dir, tag) < 0) {
      *dev = NULL;
      return st_error_errno(err, ENOMEM, "attach layer");
    }
  }
  *img = steal_pointer(&file);
  *parent = steal_pointer(&dir);
  return 1;
}

static int attach_one(const char *diff, st_error **err) {
  cleanup_free char *img = NULL, *parent = NULL, *dev = NULL;
  int r = layer_image(diff, &img, &parent, &dev, err);
  if (r <= 0)
    return r;
  if (is_mount_point(diff, parent))
    return 0;
  if (private_ns(err) < 0)
    return -1;
  cleanup_close int mnt = erofs_mount_detached(img, dev);
  if (mnt < 0)
    return st_error_errno(err, errno, "mount the erofs layer `%s`", img);
  if (move_mount(mnt, "", AT_FDCWD, diff, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return st_error_errno(err, errno, "mount `%s` on `%s`", img, diff);
  return 0;
}

int st_layers_attach(char **lower, size_t n, st_error **err) {
  for (size_t i = 0; i < n; i++)
    if (lower[i] && attach_one(lower[i], err) < 0)
      return -1;
  return 0;
}

void st_lower_view_close(st_lower_view *v) {
  for (size_t i = 0; i < v->n; i++) {
    if (v->path)
      free(v->path[i]);
    if (v->fd && v->fd[i] >= 0)
      close(v->fd[i]);
  }
  free(v->path);
  free(v->fd);
  memset(v, 0, sizeof(*v));
}

int st_lower_view_open(char **lower, size_t n, st_lower_view *v,
                       st_error **err) {
  memset(v, 0, sizeof(*v));
  v->path = calloc(n + 1, sizeof(char *));
  v->fd = calloc(n + 1, sizeof(int));
  if (v->path == NULL || v->fd == NULL) {
    st_lower_view_close(v);
    return st_error_errno(err, ENOMEM, "open layers");
  }
  for (; v->n < n; v->n++) {
    size_t i = v->n;
    v->fd[i] = -1;
    cleanup_free char *img = NULL, *parent = NULL, *dev = NULL;
    int r = layer_image(lower[i], &img, &parent, &dev, err);
    if (r == 0)
      v->path[i] = strdup(lower[i]);
    if (r > 0) {
      v->fd[i] = erofs_mount_detached(img, dev);
      if (v->fd[i] < 0) {
        st_error_errno(err, errno, "mount the erofs layer `%s`", img);
        r = -1;
      } else if (asprintf(&v->path[i], "/proc/self/fd/%d", v->fd[i]) < 0) {
        v->path[i] = NULL;
      }
    }
    if (r < 0 || v->path[i] == NULL) {
      if (r >= 0)
        st_error_errno(err, ENOMEM, "open layers");
      v->n++;
      st_lower_view_close(v);
      return -1;
    }
  }
  return 0;
}
