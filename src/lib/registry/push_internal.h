/* Private to src/lib/registry: pieces of push. */
#ifndef STRATA_REGISTRY_PUSH_INTERNAL_H
#define STRATA_REGISTRY_PUSH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "registry/internal.h"
#include "store/store.h"

/* Compresses an uncompressed stored layer with algo ("gzip"/"zstd") into
 * a new blob, reading the layer once and hashing the compressed bytes as
 * they are written: 0 with its digest and size, < 0 on error (nothing is
 * kept). Touches no database: safe to call from a worker thread. */
int st_push_compress(st_store *s, const st_layer_rec *l, const char *algo,
                     char blob[ST_DIGEST_LEN], int64_t *blob_size,
                     st_error **err);

/* Uploads a stored blob to the client's repository unless it is there:
 * returns 0 when uploaded, 1 when the registry had it, 2 when it was
 * mounted from mount_from (another repository path of the same registry
 * known to hold it, or NULL), < 0 on error. Blobs up to the chunk size
 * ($STRATA_PUSH_CHUNK_SIZE, default 64 MiB) go in one PUT; bigger ones in
 * PATCH chunks of that size, then a closing PUT. */
int st_push_blob(st_store *s, st_reg_client *c, const char *digest,
                 int64_t size, const char *mount_from, st_error **err);

/* One layer as pushed. */
typedef struct st_push_layer {
  const st_layer_rec *l; /* the stored layer (set by the caller) */
  char blob[ST_DIGEST_LEN];
  int64_t size;
  const char *media_type;
  const char *diff_id; /* what progress names it by, as Docker does */
  bool foreign;
  /* private to push_layers.c */
  bool known;    /* blob known before the workers start */
  bool compress; /* no compressed form recorded: a worker makes it */
  bool remote;   /* the compressed form is not in the store (a pull kept
                    the tar): mounted, or else compressed again */
  bool made;     /* compressed by this push */
  bool done;     /* the repository has it now */
  int result;    /* of st_push_blob, or < 0 */
  char *from;    /* repository path to mount it from, or NULL */
  st_error *err;
} st_push_layer;

/* Pushes the layers ls[0..n) (each with l set) to c's repository (repo:
 * normalized, for the `remote_blobs` records): uncompressed ones as their
 * algo form (media type cmt), reusing the one an earlier push made. Emits
 * Preparing / Waiting / Pushed / Layer already exists / Mounted from;
 * o->max_concurrent (else daemon.json max-concurrent-uploads, else 3)
 * uploads run at once. On return each ls[i] says the blob, size and media
 * type it was pushed as. Returns 0, or < 0 with the first failure in push
 * order (top layer first). Free with st_push_layers_clear. */
int st_push_layers(st_store *s, st_reg_client *c, const st_reg_opts *o,
                   const char *repo, const char *algo, const char *cmt,
                   st_push_layer *ls, size_t n, st_error **err);
void st_push_layers_clear(st_push_layer *ls, size_t n);

/* HEAD of a blob in the client's repository: 1 when the registry has it,
 * 0 when not, < 0 on error. */
int st_push_blob_exists(st_reg_client *c, const char *digest, st_error **err);

/* Only the cross-repository mount of digest from mount_from (for a blob
 * the store does not keep): 2 when the registry mounted it, 0 when it did
 * not, < 0 on error. */
int st_push_blob_mount(st_reg_client *c, const char *digest,
                       const char *mount_from, st_error **err);
/* st_push_blob without the HEAD: mounts or uploads. Returns 0 when
 * uploaded, 2 when mounted, < 0 on error. */
int st_push_blob_send(st_store *s, st_reg_client *c, const char *digest,
                      int64_t size, const char *mount_from, st_error **err);

#endif
