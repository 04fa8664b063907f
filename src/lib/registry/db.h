/* What the registry code records in the store's database beyond
 * st_image_commit: repo digests, compressed forms of layers (push), and
 * which remote repositories hold a blob (cross-repository mounts).
 *
 * These use the store's tables directly (store/internal.h) so that a pull
 * records its image, tag and repo digest in one transaction; they belong in
 * the store's API once it grows one for them. */
#ifndef STRATA_REGISTRY_DB_H
#define STRATA_REGISTRY_DB_H

#include <stdint.h>

#include "store/store.h"

/* What the store knows about a layer blob: 1 with diff_id and size filled
 * when the blob is a recorded layer or a compressed form of one, 0 when it
 * knows nothing, < 0 on error. */
int st_reg_db_layer_info(st_store *s, const char *blob,
                         char diff_id[ST_DIGEST_LEN], int64_t *size,
                         st_error **err);

/* The compressed form of diff_id made with algorithm ("gzip", "zstd"):
 * 1 with blob, blob_size and media_type (malloc'd) when recorded and its
 * blob is present, 0 otherwise, < 0 on error. */
int st_reg_db_compressed_get(st_store *s, const char *diff_id,
                             const char *algorithm, char blob[ST_DIGEST_LEN],
                             int64_t *blob_size, char **media_type,
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

/* st_image_commit plus the repo digest (when repo and digest are set) and
 * the remote blob notes, in one transaction. */
int st_reg_db_commit_pull(st_store *s, const st_image_rec *rec, const char *tag,
                          const char *repo, const char *digest, st_error **err);

#endif
