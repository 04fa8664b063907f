/* Disk usage of the store, as `system df` reports it.
 *
 * Sizes are layer content bytes (what Docker reports as an image's SIZE):
 * a layer shared by several images is counted once in the totals, and as
 * "shared" in each image that uses it. */
#ifndef STRATA_STORE_USAGE_H
#define STRATA_STORE_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The number of containers (any state) using image id; the one place that
 * asks. */
int64_t st_image_container_count(st_store *s, const char *id);

/* True when a container uses image id (prune -a keeps such images). */
static inline bool st_image_in_use(st_store *s, const char *id) {
  return st_image_container_count(s, id) > 0;
}

/* The container that holds image id (a running one first): 1 with its ID
 * in user and whether it runs, 0 when none does. */
#define ST_CT_ID_LEN 65
int st_image_user(st_store *s, const char *id, char user[ST_CT_ID_LEN],
                  bool *running);

typedef struct st_image_usage {
  st_image img;       /* img.size: bytes of all its layers */
  char *name;         /* its first tag, normalized; NULL when untagged */
  bool dangling;      /* st_image_row_dangling of its row */
  int64_t shared;     /* bytes of its layers that other images use too */
  int64_t containers; /* containers using it */
} st_image_usage;

typedef struct st_usage {
  st_image_usage *images; /* newest first, like `images` */
  size_t n_images;
  size_t active;       /* images some container uses */
  int64_t size;        /* bytes of all layers, each counted once */
  int64_t reclaimable; /* bytes no container needs */
} st_usage;

/* Fills *u (release it with st_usage_clear). */
int st_disk_usage(st_store *s, st_usage *u, st_error **err);
void st_usage_clear(st_usage *u);

#endif
