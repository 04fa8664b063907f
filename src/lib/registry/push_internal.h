/* Private to src/lib/registry: pieces of push. */
#ifndef STRATA_REGISTRY_PUSH_INTERNAL_H
#define STRATA_REGISTRY_PUSH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "registry/internal.h"
#include "store/store.h"

/* The algo ("gzip"/"zstd") form of an uncompressed stored layer: reuses the
 * one recorded by an earlier push when its blob is still there, else
 * compresses the layer into a new blob and records it (made = true).
 * media_type is what to record for it. */
int st_push_compressed(st_store *s, const st_layer_rec *l, const char *algo,
                       const char *media_type, char blob[ST_DIGEST_LEN],
                       int64_t *blob_size, bool *made, st_error **err);

/* Uploads a stored blob to the client's repository unless it is there:
 * returns 0 when uploaded, 1 when the registry had it, 2 when it was
 * mounted from mount_from (another repository path of the same registry
 * known to hold it, or NULL), < 0 on error. Blobs up to the chunk size
 * ($STRATA_PUSH_CHUNK_SIZE, default 64 MiB) go in one PUT; bigger ones in
 * PATCH chunks of that size, then a closing PUT. */
int st_push_blob(st_store *s, st_reg_client *c, const char *digest,
                 int64_t size, const char *mount_from, st_error **err);

#endif
