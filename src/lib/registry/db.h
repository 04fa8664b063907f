/* What the registry code records in the store's database beyond
 * st_image_commit: repo digests, compressed forms of layers (push), and
 * which remote repositories hold a blob (cross-repository mounts).
 *
 * These use the store's tables directly (store/internal.h) so that a pull
 * records its image, tag and repo digest in one transaction; they belong in
 * the store's API once it grows one for them. */
#ifndef STRATA_REGISTRY_DB_H
#define STRATA_REGISTRY_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* What the store knows about a layer blob as a registry names it: 1 when
 * the blob is a recorded layer or a compressed form of one, with out's
 * diff_id and size filled, and blob / blob_size those of the blob the store
 * keeps for it (the same blob, or the uncompressed tar a pull kept instead
 * of it; out->media_type is left alone); 0 when it knows nothing, < 0 on
 * error. */
int st_reg_db_layer_info(st_store *s, const char *blob, st_layer_rec *out,
                         st_error **err);

/* The compressed form of diff_id made with algorithm ("gzip", "zstd"):
 * 1 with blob, blob_size and media_type (malloc'd) when one is recorded,
 * 0 otherwise, < 0 on error. The blob itself may not be in the store (a
 * pull that kept only the uncompressed tar records the blob it came as):
 * *local says whether it is. */
int st_reg_db_compressed_get(st_store *s, const char *diff_id,
                             const char *algorithm, char blob[ST_DIGEST_LEN],
                             int64_t *blob_size, char **media_type, bool *local,
                             st_error **err);
/* The compressed form of diff_id recorded as blob, with its size: 1 when
 * there is one, 0 when not, < 0 on error. */
int st_reg_db_compressed_find(st_store *s, const char *diff_id,
                              const char *blob, int64_t *blob_size,
                              st_error **err);
int st_reg_db_compressed_put(st_store *s, const char *diff_id,
                             const char *algorithm, const char *blob,
                             int64_t blob_size, const char *media_type,
                             st_error **err);

/* Records repo@digest (repo normalized, "127.0.0.1:5000/x") for image. */
int st_reg_db_digest_put(st_store *s, const char *repo, const char *digest,
                         const char *image, st_error **err);

/* Notes that repo holds blob. */
int st_reg_db_remote_put(st_store *s, const char *repo, const char *blob,
                         st_error **err);
/* Another repository of domain known to hold blob (malloc'd, the full
 * normalized name), or NULL. */
char *st_reg_db_remote_find(st_store *s, const char *domain, const char *blob,
                            const char *not_repo);

/* The image ID a normalized tag points at, or "" when none. */
void st_reg_db_tag_image(st_store *s, const char *tag, char id[ST_DIGEST_LEN]);

/* A pulled layer's blob as the registry has it. */
typedef struct st_reg_pulled_blob {
  const char *digest; /* as the manifest names it */
  int64_t size;
  const char *media_type;
  /* "gzip" or "zstd" when the store kept the uncompressed tar instead of
   * this blob (recorded as its compressed form for push), else NULL */
  const char *algorithm;
} st_reg_pulled_blob;

/* st_image_commit plus the repo digest (when repo and digest are set), the
 * remote blob notes (pulled[i].digest, one per layer of rec) and the
 * compressed forms of layers kept uncompressed, in one transaction. */
int st_reg_db_commit_pull(st_store *s, const st_image_rec *rec,
                          const st_reg_pulled_blob *pulled, const char *tag,
                          const char *repo, const char *digest, st_error **err);

#endif
