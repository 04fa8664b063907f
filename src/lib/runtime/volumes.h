/* Volumes of the local driver: create, remove, prune, inspect (Docker's
 * `volume` verbs), and the mounts a new container gets from -v, --mount,
 * --volumes-from and the image's VOLUME list.
 *
 * A volume is a directory, <root>/volumes/<name>/_data, and a row of the
 * volumes table. A volume created with -o type=... (tmpfs, a bind of
 * device, nfs...) is mounted with those options in each container that
 * uses it, instead of binding _data. */
#ifndef STRATA_RUNTIME_VOLUMES_H
#define STRATA_RUNTIME_VOLUMES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/volumes.h"

/* Creates a volume. name NULL: a random 64-hex name. labels and opts are
 * "K=V" strings (--label, -o). An existing volume of that name is not an
 * error (Docker). The name goes to *out (malloc). EINVAL: bad name (Docker's
 * message) or option. */
int st_volume_create(st_store *s, const char *name, char *const *labels,
                     size_t n_labels, char *const *opts, size_t n_opts,
                     char **out, st_error **err);

/* Removes a volume; EBUSY when a container uses it ("remove NAME: volume is
 * in use - [IDs]"), ENOENT when there is none ("get NAME: no such
 * volume"). */
int st_volume_remove(st_store *s, const char *name, st_error **err);

/* Removes the volumes no container uses: only anonymous ones unless all
 * (Docker 23+); label filters "label=K[=V]" / "label!=K[=V]". The removed
 * names (strv) and bytes they held go to *names, *n, *bytes. */
int st_volumes_prune(st_store *s, bool all, char *const *filters,
                     size_t n_filters, char ***names, size_t *n, int64_t *bytes,
                     st_error **err);

/* Docker's `volume inspect` object for v (CreatedAt, Driver, Labels,
 * Mountpoint, Name, Options, Scope). */
json_t *st_volume_json(st_store *s, const st_volume *v);

/* Number of containers using the volume (< 0 on error). */
int st_volume_use_count(st_store *s, const char *name);

/* Bytes of the files in the volume's _data. */
int64_t st_volume_size(st_store *s, const char *name);

/* Disk usage of the volumes (`system df`): counts, bytes, and one row per
 * volume {Name, Links (containers using it), Size (bytes), Driver,
 * Mountpoint, Scope}. Reclaimable: bytes of the volumes no container
 * uses. */
typedef struct st_volumes_usage {
  int64_t total, active, size, reclaimable;
  json_t *rows;
} st_volumes_usage;
int st_volumes_disk_usage(st_store *s, st_volumes_usage *u, st_error **err);

/* After removing a container: removes the volumes of names that no
 * container uses any more (the container's anonymous volumes, `rm -v`,
 * `run --rm`). Errors are ignored: a volume another container took is
 * kept. */
void st_volumes_release(st_store *s, char **names, size_t n);

#endif
