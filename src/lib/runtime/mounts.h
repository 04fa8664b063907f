/* Private to src/lib/runtime: the mounts a new container gets from -v,
 * --mount, --volumes-from and the image's VOLUME list (mounts.c), and the
 * copy of an image's content into a new volume (copyup.c). */
#ifndef STRATA_RUNTIME_MOUNTS_H
#define STRATA_RUNTIME_MOUNTS_H

#include <jansson.h>
#include <stddef.h>

#include "runtime/runtime.h"

typedef struct st_ct_mounts {
  json_t *oci;      /* OCI mount objects for config.json */
  char **vol_names; /* volumes the container uses ... */
  char **vol_dests; /* ... and where */
  size_t n_vols;
  char **anon_created; /* anonymous volumes made for it */
  size_t n_anon_created;
  json_t *host_mounts; /* [{path, type, device, o}]: volume_mount.c */
} st_ct_mounts;

/* Parses the options' mount flags, creates the volumes they name (and
 * copies the image's content into a new empty one), and fills out. EINVAL
 * with Docker's messages for bad specifications. */
int st_mounts_resolve(st_store *s, const st_create_opts *o, json_t *image_cfg,
                      char **lower, size_t n_lower, st_ct_mounts *out,
                      st_error **err);
/* Records which volumes container id uses (after its row exists). */
int st_mounts_attach(st_store *s, const char *id, const st_ct_mounts *m,
                     st_error **err);
/* Removes the anonymous volumes resolve made (create failed). */
void st_mounts_rollback(st_store *s, st_ct_mounts *m);
void st_mounts_clear(st_ct_mounts *m);

/* volume_mount.c: mounts each {path, type, device, o} of the JSON array
 * text on the host at path (a volume's _data) unless something is mounted
 * there already, under an flock of the volume's directory; called before
 * a container that uses such volumes starts. */
int st_volume_host_mounts(const char *list, st_error **err);
/* Detaches what is mounted on a volume's _data (before it is removed). */
void st_volume_host_umount(const char *data);

/* Copies what the image (its layers, top first) has at dest into the
 * directory data (when dest is a directory in the image): files, links,
 * owners, modes, times; data gets dest's owner and mode. */
int st_volume_copy_up(char **lower, size_t n_lower, const char *dest,
                      const char *data, st_error **err);

#endif
