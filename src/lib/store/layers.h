/* Unpacked layers: one per chain ID, <root>/layers/<chain hex>/diff, shared
 * by every container (and image) whose layer stack has that chain ID, and
 * used as an overlayfs lower dir: a directory tree (dir backend) or the
 * mount point of <root>/layers/<chain hex>/layer.erofs (erofs backend,
 * layer/backend.h).
 *
 * A tree is unpacked once: into tmp/ first, then renamed into place under a
 * per-layer lock, so a crash leaves only tmp/ garbage (emptied when the
 * store is next opened alone) and concurrent unpackers of one layer do the
 * work once. OCI whiteouts become overlay whiteouts: ".wh.NAME" a 0:0
 * character device NAME, ".wh..wh..opq" the trusted.overlay.opaque=y xattr
 * on its directory. The same extractor serves cp (ST_UNPACK_PLAIN), where
 * those names are ordinary files.
 *
 * Extraction cannot touch anything outside the tree: every entry's parent
 * is resolved inside it (util/safepath.h), so "..", absolute paths, and
 * symlinks planted by an earlier entry all stay inside; the last component
 * is never followed; hard links must name an entry inside the tree; xattrs
 * in the overlay's own namespace (trusted.overlay.*) are refused.
 */
#ifndef STRATA_STORE_LAYERS_H
#define STRATA_STORE_LAYERS_H

#include <stddef.h>

#include "layer/backend.h"
#include "store/store.h"

/* The store's layer backend (layer/backend.h), recorded in
 * <root>/storage-driver. A store without the file that already holds
 * layers is a directory store (made before backends existed) and is
 * recorded as such; a new one takes the backend asked for
 * ($STRATA_STORAGE_DRIVER, then "storage-driver" in the settings file),
 * else the automatic choice. Asking a store that holds layers for the
 * other backend is an error (EINVAL) saying so; a store without layers
 * follows the request. */
int st_store_layer_driver(st_store *s, st_layer_driver *out, st_error **err);
/* The backend recorded in the store, without choosing one: ST_LAYER_DIR
 * when none is recorded (or the file cannot be read). */
st_layer_driver st_store_layer_driver_recorded(const st_store *s);

/* Chain IDs of a stack of layers, bottom first: chain[0] = diff_id[0],
 * chain[i] = sha256(chain[i-1] + " " + diff_id[i]). */
void st_chain_ids(const st_layer_rec *layers, size_t n,
                  char (*chain)[ST_DIGEST_LEN]);

/* How a tar's names are read. Only a layer being applied has whiteouts: a
 * tar copied into or out of a container (cp) is plain files, and a file
 * named ".wh.x" there is a file named ".wh.x", never the deletion of "x"
 * (Docker's cp does the same). */
typedef enum st_unpack_mode {
  ST_UNPACK_LAYER, /* OCI layer: ".wh.*" entries become overlay whiteouts */
  ST_UNPACK_PLAIN, /* cp: every name is an ordinary name */
} st_unpack_mode;

/* Unpacks the tar stream on fd (plain, gzip, xz, bzip2 or zstd; not closed)
 * into the directory dirfd, reading whiteouts as mode says. Returns 0, or
 * < 0 with *err set: EINVAL for an entry that is refused (its name in the
 * message), EIO for corrupt data, or the errno of a failed file system
 * call. */
int st_layer_unpack_fd(int fd, int dirfd, st_unpack_mode mode, st_error **err);

/* Makes sure every layer of image id is unpacked (or converted, with the
 * erofs backend) and returns their diff directories (for erofs layers,
 * empty mount points: see layer/backend.h for making them readable), top layer
 * first (overlay's lowerdir order), as a heap array of n heap strings (free
 * with st_strv_free). */
int st_image_unpack(st_store *s, const char *id, char ***dirs, size_t *n,
                    st_error **err);

/* Unpacks the layer tree of chain ID chain from blob again, in place of
 * the tree that is there (or is missing), under the layer's lock: the old
 * tree is moved aside first and put back if the unpack fails. `system
 * check --repair` uses it for a tree that differs from its tar. */
int st_layer_unpack_again(st_store *s, const char *chain, const char *blob,
                          st_error **err);
/* A layer made elsewhere than st_image_unpack (a pull converts each layer
 * while it downloads): st_layer_stage_begin makes an empty directory under
 * the store's tmp/ (with an empty diff/), *dir a heap string; the caller
 * puts the backend's files in it (layer.erofs); st_layer_stage_commit
 * then renames it to layers/<chain hex> under the layer's lock, or drops
 * it when that layer is already there. Until then it is tmp/ garbage that
 * gc removes if the process dies; st_layer_stage_drop removes it. Only
 * for layers recorded in the database: commit after the transaction. */
int st_layer_stage_begin(st_store *s, char **dir, st_error **err);
int st_layer_stage_commit(st_store *s, const char *chain, const char *dir,
                          st_error **err);
void st_layer_stage_drop(const char *dir);

/* The same directories without unpacking anything (they exist once a
 * container has used the image). */
int st_image_layer_dirs(st_store *s, const char *id, char ***dirs, size_t *n,
                        st_error **err);

/* The short link of an unpacked layer, "<root>/layers/l/<12 hex>", pointing
 * at "../<chain hex>/diff"; made with the layer. Used to keep a legacy
 * overlay mount string short. Returns a heap string, NULL when out of
 * memory. */
char *st_layer_short_link(const st_store *s, const char *diff_dir);

/* Removes the unpacked trees that no stored image uses (chain IDs computed
 * from every image's layers). Returns the number of trees removed, or < 0
 * with *err set. */
int st_layers_prune(st_store *s, st_error **err);

#endif
