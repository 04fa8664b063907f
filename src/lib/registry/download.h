/* Parallel layer downloads into the store (a pool of worker threads). */
#ifndef STRATA_REGISTRY_DOWNLOAD_H
#define STRATA_REGISTRY_DOWNLOAD_H

#include <stdbool.h>

#include "registry/internal.h"
#include "registry/manifest.h"
#include "store/store.h"

typedef struct st_dl_layer {
  const st_descriptor *d;
  bool fetch;    /* in: download it (else it is in the store) */
  bool known;    /* in: diff_id and size are already known */
  bool keep_tar; /* in (with fetch): store the uncompressed tar, not d's
                    compressed blob (see below) */
  char diff_id[ST_DIGEST_LEN]; /* out (or in when known) */
  int64_t size;                /* out (or in when known) */
  /* out with keep_tar: the stored blob is the tar, whose digest is diff_id,
   * of tar_size bytes; d's blob was verified but never written */
  bool kept_tar;
  int64_t tar_size;
  /* out with keep_tar when the store's backend indexes tars (erofs): the
   * layer made ready to mount while it downloaded, a directory to hand to
   * st_layer_stage_commit once the pull is recorded (the caller owns it:
   * commit or st_layer_stage_drop, then free), else NULL */
  char *stage;
} st_dl_layer;

/* Downloads every layer with fetch set, o->max_concurrent at a time, each
 * written through a blob writer and committed only when its digest and size
 * match the descriptor; a broken transfer resumes with a Range request after
 * a backoff, up to st_reg_max_attempts() tries. Each layer whose diff_id is
 * not known is then read back (in a thread per layer, while the others
 * download) to compute its diff ID and content size, checking its entries.
 * A layer with keep_tar set is stored once, as its uncompressed tar: the
 * compressed bytes are hashed (and checked against the descriptor) as they
 * arrive but not written; a thread decompresses them as they come, checks
 * the entries and writes the tar as a blob under its diff ID (the layer
 * backends that index the tar in place, erofs, need nothing else).
 * Returns 0, or < 0 with *err naming the layer; blobs committed before a
 * failure stay as garbage for gc. */
int st_download_layers(st_store *s, st_reg_client *c, const st_reg_opts *o,
                       st_dl_layer *layers, size_t n, st_error **err);

#endif
