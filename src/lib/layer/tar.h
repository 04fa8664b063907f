/* Importing layer tarballs into the store, and inspecting stored ones.
 *
 * Both read the tar in one streaming pass, whatever its compression (plain,
 * gzip, xz, bzip2 or zstd, detected by content), and check every entry: no
 * empty, absolute or ".."-containing path, no hard link whose target is
 * absolute or contains "..", and nothing the unpacker could never create
 * (so a layer that imports can run): no name component over NAME_MAX, no
 * path, hard link or symlink target of PATH_MAX bytes or more, no
 * trusted.overlay.* xattr, no security.capability Linux would refuse
 * (revision 2 of 20 bytes or 3 of 24 only). Messages name the entry
 * escaped and cut (st_buf_quote). Symlink targets are not otherwise
 * checked: they are only followed when a layer is unpacked, which resolves
 * them inside the root.
 */
#ifndef STRATA_LAYER_TAR_H
#define STRATA_LAYER_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

/* The entry-name rule every layer writer shares (directory unpack and
 * EROFS conversion): refuses an absolute name, a ".." component and a
 * component over 255 bytes; strips leading "./" prefixes and trailing
 * slashes and writes the rest to out (cap bytes, NUL included). Returns 0,
 * 1 for the layer's root itself ("", ".", "./", which callers skip), or
 * < 0 with *err set (EINVAL; the message does not name the entry: the
 * caller does). */
int st_tar_clean_name(const char *name, char *out, size_t cap, st_error **err);

/* The checks st_layer_import makes of each entry (see the top of this
 * file), for other readers of layer tars (the EROFS writer when it stores
 * a pulled layer): call st_tar_check_entry with each header in order. */
struct archive_entry;
typedef struct st_tar_check {
  uint64_t entries; /* entries seen */
  int64_t size;     /* sum of the regular files' sizes (Docker's SIZE) */
} st_tar_check;
/* Returns 0, or < 0 with *err set (EINVAL) naming the entry. */
int st_tar_check_entry(st_tar_check *c, struct archive_entry *e,
                       st_error **err);

/* Media type of an uncompressed OCI layer. */
#define ST_LAYER_MEDIA_TYPE_TAR "application/vnd.oci.image.layer.v1.tar"

/* Reads a layer or rootfs tarball from fd (a file or a pipe; not closed)
 * and stores its uncompressed tar bytes as a blob, exactly as decompressed,
 * trailing padding included. `what` names the input in messages ("-" reads
 * as "standard input").
 *
 * Returns 0 and fills *out: blob == diff_id (the sha256 of the uncompressed
 * tar), media_type ST_LAYER_MEDIA_TYPE_TAR, blob_size, and size (the sum of
 * the regular files' sizes, Docker's SIZE). Returns < 0 with *err set and
 * nothing left in the store:
 *   EINVAL  not a tar archive, or an entry that would leave the layer
 *           ("entry \"../etc/passwd\": path leaves the layer (\"..\"
 *           component)");
 *   EIO     corrupt or truncated data ("truncated tar archive: unexpected
 *           end of data in entry \"bin/busybox\"");
 *   ENOSPC  the store's file system is full ("no space left on device");
 *   other   errno values from reading fd or writing the store. */
int st_layer_import(st_store *s, int fd, const char *what, st_layer_rec *out,
                    st_error **err);

/* As st_layer_import, and in the same pass writes index_path: an EROFS
 * tar index of the stored blob (layer/erofs.h, the blob's hex digest as
 * its device tag), what the erofs backend mounts for the layer. A pull
 * uses it so that a layer is ready to run when it has downloaded. On
 * failure neither the blob nor index_path is left. */
int st_layer_import_indexed(st_store *s, int fd, const char *what,
                            const char *index_path, st_layer_rec *out,
                            st_error **err);

/* Reads the stored blob blob_digest (plain, gzip, xz, bzip2 or zstd tar),
 * checking it as st_layer_import does, and computes its diff ID (the sha256
 * of the decompressed bytes) and size (the sum of its regular files' sizes,
 * as st_layer_rec.size). Either output may be NULL. Returns 0, or < 0 with
 * *err set (ENOENT: no such blob; EINVAL, EIO as for st_layer_import). */
int st_layer_inspect_blob(st_store *s, const char *blob_digest,
                          char diff_id[ST_DIGEST_LEN], int64_t *size,
                          st_error **err);

/* As st_layer_inspect_blob, reading the layer (compressed or not) from fd,
 * a file or a pipe, up to its end; fd is not closed. `what` names the input
 * in messages. Used to compute a pulled layer's diff ID while it downloads. */
int st_layer_inspect_fd(int fd, const char *what, char diff_id[ST_DIGEST_LEN],
                        int64_t *size, st_error **err);

/* Stores as a layer the tar stream that produce(ctx, fd, err) writes to
 * fd (a pipe; produce must not close it), with produce running on a thread
 * of its own while the import reads the other end. The first failure is
 * reported: produce's, unless it is only the broken pipe of an import
 * that failed first. */
int st_layer_import_from(st_store *s,
                         int (*produce)(void *ctx, int fd, st_error **err),
                         void *ctx, const char *what, st_layer_rec *out,
                         st_error **err);

#endif
