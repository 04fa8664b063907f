/* The local image store: content-addressed blobs on the file system,
 * metadata (images, layers, tags, repo digests) in SQLite.
 *
 * Crash safety: every change writes its blobs first (tmp/ + fsync + rename)
 * and then records them in one SQLite transaction. A blob no row refers to
 * is garbage, never corruption; st_store_gc() removes it. Blob writers hold
 * the store lock shared; gc holds it exclusive, so gc never removes a blob
 * that a concurrent writer is about to commit.
 */
#ifndef STRATA_STORE_H
#define STRATA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest/digest.h"
#include "util/error.h"

typedef struct st_store st_store;

/* Opens (creating if needed) the store at root. */
int st_store_open(const char *root, st_store **out, st_error **err);
void st_store_close(st_store *s);
const char *st_store_root(const st_store *s);

/* ---- the store lock ------------------------------------------------------
 * gc (which removes unreferenced blobs, unused layer trees and everything
 * in tmp/) runs only when no other process is *busy*: a process becomes
 * busy (holds <root>/lock shared) before it puts anything in tmp/, blobs/,
 * layers/ or containers/ that is not recorded yet, and before it reads
 * blobs; it stays busy until it closes the store or says it is idle. A
 * process that has only recorded changes or does not touch blobs (rmi,
 * tag, ps, an attached `run` once its container is recorded) does not keep
 * gc from collecting what an interrupted command left. */
int st_store_busy(st_store *s, st_error **err);
/* Drops the busy state: the caller has recorded everything it wrote (no
 * blob writer or transaction open) and holds what it uses through records
 * (a container keeps its image). Reading a blob later makes it busy again. */
void st_store_idle(st_store *s);

/* ---- transactions ------------------------------------------------------
 * Write operations compose: st_tx_begin opens a write transaction (BEGIN
 * IMMEDIATE) or, inside one, a savepoint; each st_tx_begin is ended by
 * exactly one st_tx_commit or st_tx_rollback. Every primitive below that
 * writes runs in its own nested transaction, so a caller can group several
 * into one atomic change. */
int st_tx_begin(st_store *s, st_error **err);
int st_tx_commit(st_store *s, st_error **err);
void st_tx_rollback(st_store *s);

/* ---- blobs: blobs/sha256/<hex> ------------------------------------------ */

typedef struct st_blob_writer st_blob_writer;

/* Starts a blob in tmp/. Holds the store lock shared until commit/abort. */
int st_blob_begin(st_store *s, st_blob_writer **w, st_error **err);
int st_blob_write(st_blob_writer *w, const void *buf, size_t n, st_error **err);
/* Before the first write: the bytes come from a producer slower than the
 * disk (decompression, compression, the network), several at a time: the
 * blob goes through the page cache, not O_DIRECT (see blob.c). */
void st_blob_paced(st_blob_writer *w);
/* Bytes written so far. */
uint64_t st_blob_size(const st_blob_writer *w);
/* fsyncs and moves the blob into place under its digest (written to
 * digest_out). With `expect` set, a different digest is an EIO error and
 * nothing is kept. Frees w whatever happens. */
int st_blob_commit(st_blob_writer *w, const char *expect,
                   char digest_out[ST_DIGEST_LEN], st_error **err);
void st_blob_abort(st_blob_writer *w);

/* Stores buf as a blob (a no-op when it exists). */
int st_blob_put(st_store *s, const void *buf, size_t n,
                char digest_out[ST_DIGEST_LEN], st_error **err);
/* Reads a whole blob, verifying its digest. *buf is NUL-terminated. */
int st_blob_get(st_store *s, const char *digest, char **buf, size_t *len,
                st_error **err);
/* Opens a blob for reading (no verification). */
int st_blob_open(st_store *s, const char *digest, st_error **err);
bool st_blob_exists(st_store *s, const char *digest);
/* "<root>/blobs/sha256/<hex>", malloc'd; NULL when out of memory. */
char *st_blob_path(const st_store *s, const char *digest);

/* ---- images ------------------------------------------------------------- */

/* One layer of an image, as the manifest and config name it. */
typedef struct st_layer_rec {
  char blob[ST_DIGEST_LEN];    /* digest of the stored blob */
  char diff_id[ST_DIGEST_LEN]; /* digest of the uncompressed tar */
  const char *media_type;
  int64_t blob_size; /* bytes of the blob */
  int64_t size;      /* bytes of content once unpacked (Docker's SIZE) */
} st_layer_rec;

/* What st_image_commit records; the blobs must already be stored. */
typedef struct st_image_rec {
  char id[ST_DIGEST_LEN];       /* config digest == image ID */
  char manifest[ST_DIGEST_LEN]; /* manifest blob digest */
  const char *manifest_media_type;
  int64_t created;    /* config "created", unix seconds; 0 when absent */
  const char *parent; /* parent image ID (builds), or NULL */
  size_t n_layers;
  const st_layer_rec *layers;
} st_image_rec;

/* Records an image and points each of tags (normalized full names,
 * "docker.io/library/busybox:latest") at it, in one transaction. An image
 * that already exists keeps its row; tags move to it. */
int st_image_commit(st_store *s, const st_image_rec *rec,
                    const char *const *tags, size_t n_tags, st_error **err);

/* A row of the image table. */
typedef struct st_image {
  char id[ST_DIGEST_LEN];
  char manifest[ST_DIGEST_LEN];
  char *manifest_media_type;
  int64_t created;
  int64_t size;  /* sum of layer sizes */
  int64_t added; /* when this store got it, unix nanoseconds */
  char *parent;  /* or NULL */
} st_image;

void st_image_clear(st_image *img);

/* Finds an image by reference (name[:tag][@digest]), full ID ("sha256:..."
 * or 64 hex) or unique ID prefix (as `docker` accepts). ENOENT when none:
 * the message is "No such image: <ref>". */
int st_image_resolve(st_store *s, const char *ref, st_image *out,
                     st_error **err);
int st_image_get(st_store *s, const char *id, st_image *out, st_error **err);

/* Layers of an image, bottom first. */
int st_image_layers(st_store *s, const char *id, st_layer_rec **layers,
                    size_t *n, st_error **err);
void st_layers_free(st_layer_rec *layers, size_t n);

/* Tags ("docker.io/library/busybox:latest") pointing at id, sorted. */
int st_image_tags(st_store *s, const char *id, char ***tags, size_t *n,
                  st_error **err);
/* Repo digests ("docker.io/library/busybox@sha256:...") of id, sorted. */
int st_image_digests(st_store *s, const char *id, char ***digests, size_t *n,
                     st_error **err);
void st_strv_free(char **v, size_t n);

/* One line of `images`: an image with one of its tags, or with none. */
typedef struct st_image_row {
  st_image img;
  char *name;        /* normalized "repo:tag", or NULL for a dangling image */
  char *repo_digest; /* a digest of this repo, or NULL */
  bool has_children; /* another image names this one as its parent */
  /* A build step's result kept only by the build cache: untagged, named by
   * a build_cache row, never a build's final image (store/cache.h). */
  bool build_cache;
} st_image_row;

/* The one rule for "dangling", shared by `images -f dangling=true`, the
 * <none> rows and `image prune`: no tag, no child image (an untagged
 * parent of another image is an intermediate image, shown only by -a),
 * and not build cache (also shown only by -a, and left to `builder
 * prune`). */
static inline bool st_image_row_dangling(const st_image_row *r) {
  return r->name == NULL && !r->has_children && !r->build_cache;
}

/* Shown by `images -a` only: an intermediate image or build cache. */
static inline bool st_image_row_hidden(const st_image_row *r) {
  return r->name == NULL && (r->has_children || r->build_cache);
}

/* Every tag of every image, plus one row per untagged image; newest first
 * (by created, then added), then by name. */
int st_image_list(st_store *s, st_image_row **rows, size_t *n, st_error **err);
void st_image_rows_free(st_image_row *rows, size_t n);

/* True when another image names id as its parent. */
bool st_image_has_children(st_store *s, const char *id);

/* When id was last tagged (unix ns), 0 when never. */
int64_t st_image_last_tag_time(st_store *s, const char *id);

/* Points tag (normalized "repo:tag") at id. The image must exist at commit
 * time (ENOENT otherwise, e.g. removed by another process meanwhile). */
int st_tag_set(st_store *s, const char *tag, const char *id, st_error **err);
/* Removes a tag; ENOENT when it does not exist. */
int st_tag_remove(st_store *s, const char *tag, st_error **err);

/* Deletes an image row and its layers' rows (when unshared), in one
 * transaction; tags must already be gone unless force. Blobs are left to
 * st_store_gc(). */
int st_image_delete(st_store *s, const char *id, bool force, st_error **err);

/* `rmi -f` of an image containers use: removes its tags and repo digests
 * and hides it from every name, ID prefix and listing, while its rows (and
 * so its layers) stay for the containers. One transaction. */
int st_image_hide(st_store *s, const char *id, st_error **err);

/* Deletes the hidden images (st_image_hide) no container and no image uses
 * any more, with their unshared layers' rows; blobs are left to
 * st_store_gc(). Returns how many it deleted, or < 0 on error. */
int st_images_purge_removed(st_store *s, st_error **err);

/* 1 when some image still records the layer whose tar has digest blob, 0
 * when none does, < 0 on error. */
int st_layer_recorded(st_store *s, const char *blob, st_error **err);

/* gc's rule: 1 when some record keeps the blob, 0 when it is garbage. */
int st_blob_referenced(st_store *s, const char *digest, st_error **err);

/* Removes every blob no row refers to, and stale tmp/ files. Returns the
 * number of bytes freed (>= 0) or < 0 on error. */
int64_t st_store_gc(st_store *s, st_error **err);

#endif
