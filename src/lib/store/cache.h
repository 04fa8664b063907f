/* The build cache: which image a build step produced from which parent.
 *
 * One row per (parent image, step key): the key is the sha256 of
 * everything the step's result depends on (build/cachekey.c), and the row
 * keeps the instruction text and those inputs as JSON, so that a later
 * miss can be explained by comparing with what was there before. Rows go
 * with their image (ON DELETE CASCADE) and with `builder prune`.
 */
#ifndef STRATA_STORE_CACHE_H
#define STRATA_STORE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* parent is an image ID, or "" for a step on `FROM scratch`. */
typedef struct st_cache_entry {
  char parent[ST_DIGEST_LEN];
  char key[ST_DIGEST_LEN];
  char image[ST_DIGEST_LEN];
  char *instr;           /* the instruction as written */
  char *inputs;          /* JSON object of the inputs */
  int64_t created, used; /* unix ns */
} st_cache_entry;

void st_cache_entry_clear(st_cache_entry *e);

/* Looks (parent, key) up. Returns 1 and fills image (and marks the row
 * used) when it is there and its image still exists, 0 when not, < 0 on
 * error. */
int st_cache_get(st_store *s, const char *parent, const char *key,
                 char image[ST_DIGEST_LEN], st_error **err);

/* Records a step's result (replacing a row with the same parent and key). */
int st_cache_put(st_store *s, const char *parent, const char *key,
                 const char *image, const char *instr, const char *inputs,
                 st_error **err);

/* The newest row of parent, preferring one whose instruction text is
 * instr, then one of the same instruction keyword (first word). Returns 1
 * with *out filled, 0 when parent has no row. */
int st_cache_previous(st_store *s, const char *parent, const char *instr,
                      st_cache_entry *out, st_error **err);

/* True when some row has parent as its parent (a step was built on it). */
bool st_cache_known_parent(st_store *s, const char *parent);

/* `builder prune`: deletes rows (all when until == 0, else those last used
 * before until, unix ns) and returns how many; the images they kept alive
 * are left to `image prune`. */
int64_t st_cache_prune(st_store *s, int64_t until, st_error **err);

/* Number of rows and of distinct images they name. */
int st_cache_count(st_store *s, int64_t *rows, st_error **err);

#endif
