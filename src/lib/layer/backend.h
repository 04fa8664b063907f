/* Layer backends: how a store keeps its unpacked layers.
 *
 *   dir    every layer is a directory tree, layers/<chain hex>/diff, one
 *          inode on the host file system per file of the image;
 *   erofs  every layer is one file, layers/<chain hex>/layer.erofs (an
 *          EROFS image written by layer/erofs.h), plus an EMPTY directory
 *          layers/<chain hex>/diff that is its mount point.
 *
 * Consumers never see the difference: they get the same diff paths either
 * way. Before a process reads them or stacks them in an overlay, it calls
 * st_layers_attach, which (erofs only) mounts each layer.erofs read-only
 * on its diff directory inside a private mount namespace of the calling
 * process (made on first use), so the mounts die with the last process of
 * that namespace and the host's mount table never sees them.
 *
 * A store's backend is chosen once and recorded (store/layers.h,
 * st_store_layer_driver); see docs/ARCHITECTURE.md, "Layer backends".
 */
#ifndef STRATA_LAYER_BACKEND_H
#define STRATA_LAYER_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef enum st_layer_driver {
  ST_LAYER_DIR,
  ST_LAYER_EROFS,
} st_layer_driver;

/* "dir" or "erofs". */
const char *st_layer_driver_name(st_layer_driver d);

/* Reads a backend name: "dir", "overlay2" or "overlay" (Docker's names for
 * directory layers stacked with overlayfs) mean ST_LAYER_DIR, "erofs"
 * ST_LAYER_EROFS. Returns 0, or < 0 with *err set (EINVAL naming `what`,
 * the setting it came from). */
int st_layer_driver_parse(const char *name, const char *what,
                          st_layer_driver *out, st_error **err);

/* The backend asked for, if any: $STRATA_STORAGE_DRIVER when set and not
 * empty, else "storage-driver" of the settings file (daemon.json). Returns
 * 1 with *out set and *what naming the source, 0 when nothing asks, < 0
 * with *err set for a bad value. */
int st_layer_driver_requested(st_layer_driver *out, const char **what,
                              st_error **err);

/* Whether this process may use the erofs backend: running as root and the
 * kernel mounts an EROFS image straight from a regular file (probed once
 * per process by writing a tiny image into tmp_dir and mounting it
 * detached). */
bool st_erofs_usable(const char *tmp_dir);

/* The automatic choice: erofs when st_erofs_usable, else dir. */
st_layer_driver st_layer_driver_auto(const char *tmp_dir);

/* Makes the n layer directories lower[] (".../layers/<hex>/diff") usable
 * in the current mount namespace: for each whose sibling layer.erofs
 * exists and that is not yet a mount point, mounts the image read-only
 * on it. The first such mount moves the process into a private mount
 * namespace of its own (unshare, with every mount made private), so it
 * must be called before the process starts threads that share its file
 * system context. Directory layers are left as they are. Returns 0, or
 * < 0 with *err set naming the layer. */
int st_layers_attach(char **lower, size_t n, st_error **err);

/* Paths through which a process that must stay in the host's mount
 * namespace (it mounts volumes the host sees) reads layers: for an erofs
 * layer, "/proc/self/fd/N" of a detached read-only mount of its image
 * (gone when the view is closed), else the diff path itself. Usable with
 * open() and as an overlay lowerdir+. */
typedef struct st_lower_view {
  char **path; /* n paths, NULL-terminated */
  int *fd;     /* n fds of detached mounts, -1 for directory layers */
  size_t n;
} st_lower_view;

/* Opens the view of the n layer directories lower[]. Returns 0, or < 0
 * with *err set naming the layer (nothing left open). */
int st_lower_view_open(char **lower, size_t n, st_lower_view *v,
                       st_error **err);
/* Closes the view's mounts and frees it; v may be zeroed. */
void st_lower_view_close(st_lower_view *v);

#endif
