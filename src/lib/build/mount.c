/* File systems of images, for COPY --from and RUN --mount=from=: the one
 * layer directory of a single-layer image as it is, else an overlay of its
 * layers with a throwaway upper dir, mounted in a mount namespace private
 * to the build process (so nothing stays mounted when it exits, whatever
 * way it exits). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/internal.h"
#include "layer/backend.h"
#include "runtime/internal.h"
#include "store/layers.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int ensure_tmp(st_bctx *b, st_error **err) {
  if (b->tmp)
    return 0;
  if (st_store_busy(b->s, err) < 0)
    return -1;
  if (asprintf(&b->tmp, "%s/tmp/build-XXXXXX", st_store_root(b->s)) < 0)
    return st_error_errno(err, ENOMEM, "build");
  if (mkdtemp(b->tmp) == NULL) {
    int e = errno;
    free(b->tmp);
    b->tmp = NULL;
    return st_error_errno(err, e, "make a build directory under tmp/");
  }
  return 0;
}

int st_bprivate_dir(st_bctx *b, char **path, st_error **err) {
  if (ensure_tmp(b, err) < 0)
    return -1;
  *path = b->tmp;
  return 0;
}

static int private_ns(st_bctx *b, st_error **err) {
  if (b->ns_ready)
    return 0;
  if (unshare(CLONE_NEWNS) < 0)
    return st_error_errno(err, errno,
                          "unshare a mount namespace for the "
                          "build");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return st_error_errno(err, errno, "make the build's mounts private");
  b->ns_ready = true;
  return 0;
}

static int mount_layers(st_bctx *b, char **dirs, size_t n, char **path,
                        st_error **err) {
  cleanup_free char *base = NULL, *up = NULL, *work = NULL, *mnt = NULL;
  if (asprintf(&base, "%s/root-%d", b->tmp, ++b->n_mounts) < 0 ||
      asprintf(&up, "%s/upper", base) < 0 ||
      asprintf(&work, "%s/work", base) < 0 ||
      asprintf(&mnt, "%s/merged", base) < 0)
    return st_error_errno(err, ENOMEM, "mount image");
  if (mkdir(base, 0700) < 0 || mkdir(up, 0755) < 0 || mkdir(work, 0700) < 0 ||
      mkdir(mnt, 0755) < 0)
    return st_error_errno(err, errno, "mkdir under `%s`", base);
  cleanup_free char **lower = calloc(n + 1, sizeof(char *));
  if (lower == NULL)
    return st_error_errno(err, ENOMEM, "mount image");
  memcpy(lower, dirs, n * sizeof(char *));
  if (private_ns(b, err) < 0 ||
      st_overlay_mount(lower, up, work, true, mnt, err) < 0)
    return -1;
  *path = steal_pointer(&mnt);
  return 0;
}

int st_bimage_root(st_bctx *b, const char *id, char **path, st_error **err) {
  char **dirs = NULL;
  size_t n = 0;
  if (ensure_tmp(b, err) < 0 || st_image_unpack(b->s, id, &dirs, &n, err) < 0)
    return -1;
  int r = 0;
  if (n == 1 &&
      (private_ns(b, err) < 0 || st_layers_attach(dirs, n, err) < 0)) {
    r = -1;
  } else if (n == 1) {
    *path = steal_pointer(&dirs[0]);
  } else if (n == 0) {
    if (asprintf(path, "%s/empty-%d", b->tmp, ++b->n_mounts) < 0)
      r = st_error_errno(err, ENOMEM, "mount image");
    else if (mkdir(*path, 0755) < 0)
      r = st_error_errno(err, errno, "mkdir `%s`", *path);
  } else {
    r = mount_layers(b, dirs, n, path, err);
  }
  st_strv_free(dirs, n);
  return r;
}

int st_bis_dir_in_image(st_bstate *st, const char *path, st_error **err) {
  if (*st->image == '\0')
    return 0;
  char **dirs = NULL;
  size_t n = 0;
  if (st_image_unpack(st->b->s, st->image, &dirs, &n, err) < 0)
    return -1;
  if (private_ns(st->b, err) < 0 || st_layers_attach(dirs, n, err) < 0) {
    st_strv_free(dirs, n);
    return -1;
  }
  int r = 0;
  for (size_t i = 0; i < n; i++) { /* top first */
    cleanup_free char *p = NULL;
    struct stat sb;
    if (asprintf(&p, "%s%s", dirs[i], path) < 0) {
      r = st_error_errno(err, ENOMEM, "COPY");
      break;
    }
    if (lstat(p, &sb) == 0) {
      r = S_ISDIR(sb.st_mode) ? 1 : 0; /* a whiteout is a char device */
      break;
    }
  }
  st_strv_free(dirs, n);
  return r;
}

void st_bcleanup(st_bctx *b) {
  if (b->tmp == NULL)
    return;
  /* mounts made here go with the private namespace; detach them first so
   * the tree can be removed now */
  for (int i = 1; b->ns_ready && i <= b->n_mounts; i++) {
    cleanup_free char *m = NULL;
    if (asprintf(&m, "%s/root-%d/merged", b->tmp, i) > 0)
      umount2(m, MNT_DETACH);
  }
  st_error *ignored = NULL;
  if (st_rm_rf(b->tmp, &ignored) < 0)
    st_error_free(ignored);
  free(b->tmp);
  b->tmp = NULL;
}
