/* `image prune`: removing dangling (or, with `all`, unused) images.
 *
 * Which images go is decided by the same rule `images -f dangling=true`
 * uses (st_image_row_dangling), so listing and pruning always agree. An
 * image that is a parent of a kept image is kept; removing a child can make
 * its untagged parent dangling, and prune then removes the parent too (as
 * Docker does), so after a prune no dangling image that passes the filters
 * is left. */
#ifndef STRATA_STORE_PRUNE_H
#define STRATA_STORE_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct st_prune_opts {
  bool all; /* every image no container uses, not only dangling ones */
  /* Docker's prune filters, "key=value": "until=24h", "until=<RFC3339 or
   * unix time>", "label=k", "label=k=v", "label!=k", "label!=k=v". */
  const char *const *filters;
  size_t n_filters;
  int64_t now; /* unix ns "until" durations count back from; 0: the clock */
  /* When n_only > 0: only these untagged, childless images may go (and,
   * as they go, their parents among them); `builder prune` uses it for the
   * images its deleted rows kept. */
  const char (*only)[ST_DIGEST_LEN];
  size_t n_only;
} st_prune_opts;

typedef enum st_prune_kind {
  ST_PRUNE_UNTAGGED, /* a tag or repo digest removed, familiar form */
  ST_PRUNE_DELETED,  /* an image ID, or the chain ID of a freed layer */
} st_prune_kind;

typedef struct st_prune_entry {
  st_prune_kind kind;
  char *what;
} st_prune_entry;

/* What a prune did, in Docker's order: for each image its untagged names,
 * then its ID, then the chain IDs of its layers that no remaining image
 * uses (top layer first). */
typedef struct st_prune_report {
  st_prune_entry *entries;
  size_t n_entries;
  size_t n_images;   /* images removed */
  int64_t reclaimed; /* content bytes of the layers no image uses anymore */
  /* Set when the images were removed but the blob sweep afterwards failed
   * (the blobs are garbage that the next gc removes); NULL otherwise. */
  char *warning;
} st_prune_report;

/* Removes the images the options select, all in one transaction, then
 * sweeps unreferenced blobs with st_store_gc. Returns 0 with *r filled (the
 * caller frees it with st_prune_report_clear), or < 0 with *err set and
 * nothing removed: EINVAL names a bad filter ("invalid filter 'x'"). */
int st_image_prune(st_store *s, const st_prune_opts *o, st_prune_report *r,
                   st_error **err);
void st_prune_report_clear(st_prune_report *r);

/* Parses a Docker timestamp as `--filter until=` takes it: a Go duration
 * counted back from now ("24h", "1h30m", "90s", "1.5h"), a unix time
 * ("1700000000", "1700000000.5"), or an RFC3339 date or date-time
 * ("2024-01-02", "2024-01-02T15:04", "2024-01-02T15:04:05.5Z",
 * "2024-01-02T15:04:05+02:00"; local time without a zone). *out is unix
 * nanoseconds. EINVAL names the value when it parses as none of these. */
int st_parse_timestamp(const char *value, int64_t now, int64_t *out,
                       st_error **err);

#endif
