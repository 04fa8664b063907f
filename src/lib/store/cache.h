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
 * before until, unix ns) and returns how many. With images non-NULL,
 * *images gets the distinct images those rows named (heap, *n_images of
 * them), for the caller to remove those that nothing else keeps. */
int64_t st_cache_prune(st_store *s, int64_t until,
                       char (**images)[ST_DIGEST_LEN], size_t *n_images,
                       st_error **err);

/* One build cache record as `system df -v` lists it: a row's step, the
 * bytes of the layer it added (0 for a step that only changed the
 * config), and whether that layer is also part of an image outside the
 * cache (a tagged image or a build's final image: then removing the row
 * frees nothing). */
typedef struct st_cache_record {
  char key[ST_DIGEST_LEN];
  char kind[16];         /* the instruction's keyword: RUN, COPY, ... */
  int64_t size;          /* bytes of the step's layer (content) */
  int64_t created, used; /* unix ns */
  bool shared;
  int64_t usage; /* images holding the step's layer (1 without a layer) */
  bool layer;    /* the step added a layer (else size is 0) */
} st_cache_record;

/* Every row, oldest first: *out (heap, *n of them). */
int st_cache_records(st_store *s, st_cache_record **out, size_t *n,
                     st_error **err);

/* Marks id as a build's final image: it is then an image of its own, not
 * build cache (st_image_row.build_cache), even when untagged. */
int st_cache_mark_output(st_store *s, const char *id, st_error **err);

/* Number of rows and of distinct images they name. */
int st_cache_count(st_store *s, int64_t *rows, st_error **err);

/* ---- file content digests (st_ctx_hashes for the build context) ----- */

typedef struct st_filehashes st_filehashes;

struct stat;

/* Prepares the lookups. Between begin and end, lookups and puts share one
 * transaction (one lock, not one per file); puts outside are dropped. */
int st_filehashes_open(st_store *s, st_filehashes **out, st_error **err);
/* True with digest filled when this exact version of the file (device,
 * inode, size, mtime, ctime) was hashed before. */
bool st_filehashes_get(st_filehashes *h, const struct stat *st,
                       char digest[ST_DIGEST_LEN]);
/* Remembers a digest, unless the file changed in the last 2 seconds: the
 * file system's clock is coarse, so a write right after could keep the
 * same times (git's "racy" entries). */
void st_filehashes_put(st_filehashes *h, const struct stat *st,
                       const char digest[ST_DIGEST_LEN]);
/* Whole-source checksums by stat fingerprint (build/context.h's sum_get
 * and sum_put): get fills sum when fp is known; put remembers fp -> sum
 * (only inside begin/end, like put). */
bool st_filehashes_sum_get(st_filehashes *h, const char *fp,
                           char sum[ST_DIGEST_LEN]);
void st_filehashes_sum_put(st_filehashes *h, const char *fp, const char *sum);
void st_filehashes_begin(st_filehashes *h);
void st_filehashes_end(st_filehashes *h);
void st_filehashes_close(st_filehashes *h);
/* Forgets them all (builder prune). */
int st_filehashes_clear(st_store *s, st_error **err);

#endif
