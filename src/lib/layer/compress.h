/* A reader of decompressed bytes: gzip, xz, bzip2, zstd or plain data,
 * detected by content, read from an fd in large blocks.
 *
 * gzip is decoded with ISA-L's igzip (or zlib when STRATA_GZIP=zlib)
 * directly, not with libarchive, because libarchive (3.6 and later) does not
 * check the gzip trailer: a layer with a bad CRC or length would be
 * accepted; both decoders check it. xz, bzip2 and zstd go through
 * libarchive, whose decoders check their own checksums.
 */
#ifndef STRATA_LAYER_COMPRESS_H
#define STRATA_LAYER_COMPRESS_H

#include <stddef.h>

#include "util/error.h"

typedef struct st_decomp st_decomp;

/* Starts reading fd (not owned; it may be a pipe) and detects its
 * compression from the first bytes. Returns 0, or < 0 with *err set (out of
 * memory, read error, a decoder that cannot start). Empty input is not an
 * error here: the first st_decomp_read() returns 0. */
int st_decomp_open(int fd, st_decomp **out, st_error **err);

/* Produces the next block of decompressed bytes. Returns 1 with *buf and
 * *len (> 0) set; the block stays valid until the next call. Returns 0 at the
 * end of the data, or < 0 with *err set: EIO for corrupt or truncated
 * compressed data (the message says which), or the read's errno. */
int st_decomp_read(st_decomp *d, const void **buf, size_t *len, st_error **err);

/* "gzip", "xz", "bzip2", "zstd" or "none". */
const char *st_decomp_format(const st_decomp *d);

/* The gzip decoder in use: "isa-l", "zlib", or "none" (not gzip). */
const char *st_decomp_gzip_decoder(const st_decomp *d);

void st_decomp_free(st_decomp *d);
static inline void st_decomp_freep(st_decomp **d) {
  st_decomp_free(*d);
}
#define cleanup_decomp __attribute__((cleanup(st_decomp_freep)))

#endif
