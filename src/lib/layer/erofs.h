/* EROFS images from layer tars: one file per layer, written in one pass.
 *
 * A layer tar stream (plain, gzip, xz, bzip2 or zstd) becomes one
 * uncompressed EROFS image that the kernel mounts read-only straight from
 * the file (Linux 6.12+ file-backed mounts) as an overlayfs lower layer.
 * With whiteouts on, OCI whiteouts become overlay's: ".wh.NAME" a 0:0
 * character device NAME, ".wh..wh..opq" the xattr trusted.overlay.opaque=y
 * on its directory, exactly as st_layer_unpack_fd does for a directory.
 *
 * The entries are checked as the directory unpack checks them: no
 * absolute path, no ".." component, no trusted.overlay.* xattr, no hard
 * link to a missing entry or to a directory, no name component over 255
 * bytes; messages name the entry. An entry whose parent is a symlink is
 * refused (the directory unpack follows it inside the tree).
 *
 * The format and the crash-safety argument are in docs/ARCHITECTURE.md,
 * "EROFS layers".
 */
#ifndef STRATA_LAYER_EROFS_H
#define STRATA_LAYER_EROFS_H

#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

#include "util/error.h"

typedef struct st_erofs_opts {
  bool whiteouts; /* ".wh.*" names are OCI whiteouts (a layer) */
  bool no_sync;   /* skip the fsync (tests, fuzzing) */
  /* Tar-index mode: the image holds only the tree, and regular files'
   * data stays in the uncompressed tar itself, the image's extra device:
   * mount it with `device=TAR` (fd_in must then be that tar's bytes,
   * uncompressed). 512-byte blocks (the tar's grid); a file whose data is
   * not one run in the tar (a sparse entry) is copied into the image. */
  bool tar_index;         /* (a compressed input gets a full image) */
  const char *device_tag; /* tar index: the device slot's tag, or NULL */
  /* Storing the tar while indexing it (a pull): every decompressed byte
   * of fd_in, trailing padding included, goes to tap, in order; the index
   * then refers to those bytes (so fd_in may be compressed); after the
   * last, end gives the device tag (up to ST_EROFS_TAG_MAX characters,
   * NUL-terminated), which replaces device_tag. Either returns < 0 with
   * *err set to stop the conversion. */
  int (*tap)(void *ctx, const void *buf, size_t n, st_error **err);
  int (*end)(void *ctx, char *tag, st_error **err);
  void *ctx;
  /* When set, every entry passes st_tar_check_entry (layer/tar.h) too:
   * import's rules, and the sum of regular file sizes. */
  struct st_tar_check *check;
} st_erofs_opts;

#define ST_EROFS_TAG_MAX 64

/* What a conversion produced. */
typedef struct st_erofs_stats {
  uint64_t inodes;  /* inodes in the image */
  uint64_t blocks;  /* blocks in the image (4 KiB; 512 bytes for an index) */
  uint64_t entries; /* tar entries read */
} st_erofs_stats;

/* Reads the tar stream on fd_in (not closed) and writes the EROFS image to
 * path_out: to "<path_out>.tmp-XXXXXX" first, fsynced, then renamed to
 * path_out (and the directory fsynced), so path_out is either absent or a
 * complete image. opts may be NULL (whiteouts on); stats may be NULL.
 * Returns 0, or < 0 with *err set and no file left behind: EINVAL for a
 * refused entry (its name in the message), EIO for corrupt input, or the
 * errno of a failed write (ENOSPC). */
int st_erofs_from_tar(int fd_in, const char *path_out,
                      const st_erofs_opts *opts, st_erofs_stats *stats,
                      st_error **err);

/* As st_erofs_from_tar, writing the image into fd_out (an empty regular
 * file or memfd, from offset 0) with no rename and no sync. */
int st_erofs_write_fd(int fd_in, int fd_out, const st_erofs_opts *opts,
                      st_erofs_stats *stats, st_error **err);

/* Whether the image file at path is a tar index: 1 with tag set to its
 * device slot's tag (NUL-terminated), 0 for a full image, < 0 with *err
 * set when it cannot be read or is not an EROFS image (the message does
 * not name the file: the caller says which). */
int st_erofs_index_tag(const char *path, char tag[65], st_error **err);

#endif
