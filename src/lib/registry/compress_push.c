/* Compressing a stored layer for push, in one pass: the uncompressed blob
 * is read once, compressed, and the compressed bytes hashed while they are
 * written to the store (push.c records the result in the `compressed`
 * table so that the next push reuses the blob). */
#include "registry/push_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "image/image.h"
#include "util/cleanup.h"

#define CHUNK (256u << 10)

/* Docker's level (gzip.DefaultCompression, 6): see docs/ARCHITECTURE.md,
 * Registries, for level 1 against 6 measured. */
static int gzip_level(void) {
  const char *e = getenv("STRATA_GZIP_LEVEL");
  int l = e ? atoi(e) : Z_DEFAULT_COMPRESSION;
  return l >= -1 && l <= 9 ? l : Z_DEFAULT_COMPRESSION;
}

/* gzip (deterministic header: no name, mtime 0) of fd into w. */
static int gzip_into(int fd, st_blob_writer *w, const char *what,
                     st_error **err) {
  z_stream z = {0};
  if (deflateInit2(&z, gzip_level(), Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return st_error_errno(err, ENOMEM, "gzip %s", what);
  cleanup_free unsigned char *in = malloc(CHUNK);
  cleanup_free unsigned char *out = malloc(CHUNK);
  int ret = 0;
  if (in == NULL || out == NULL) {
    ret = st_error_errno(err, ENOMEM, "gzip %s", what);
    goto done;
  }
  for (int flush = Z_NO_FLUSH; flush != Z_FINISH;) {
    ssize_t n = read(fd, in, CHUNK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ret = st_error_errno(err, errno, "read %s", what);
      goto done;
    }
    flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
    z.next_in = in;
    z.avail_in = (uInt)n;
    do {
      z.next_out = out;
      z.avail_out = CHUNK;
      deflate(&z, flush);
      size_t have = CHUNK - z.avail_out;
      if (have && st_blob_write(w, out, have, err) < 0) {
        ret = -1;
        goto done;
      }
    } while (z.avail_out == 0);
  }
done:
  deflateEnd(&z);
  return ret;
}

typedef struct zstd_sink {
  st_blob_writer *w;
  st_error *err;
} zstd_sink;

static la_ssize_t zstd_write_cb(struct archive *a, void *ctx, const void *buf,
                                size_t n) {
  zstd_sink *z = ctx;
  if (st_blob_write(z->w, buf, n, &z->err) < 0)
    return -1;
  return (la_ssize_t)n;
}

/* zstd of fd into w, through libarchive's raw writer with a zstd filter. */
static int zstd_into(int fd, st_blob_writer *w, const char *what,
                     st_error **err) {
  struct archive *a = archive_write_new();
  if (a == NULL)
    return st_error_errno(err, ENOMEM, "zstd %s", what);
  zstd_sink sink = {.w = w};
  struct archive_entry *e = archive_entry_new();
  cleanup_free char *buf = malloc(CHUNK);
  int ret = 0;
  if (e == NULL || buf == NULL) {
    ret = st_error_errno(err, ENOMEM, "zstd %s", what);
    goto done;
  }
  archive_entry_set_pathname(e, "layer.tar");
  archive_entry_set_filetype(e, AE_IFREG);
  if (archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
      archive_write_set_format_raw(a) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
      archive_write_open(a, &sink, NULL, zstd_write_cb, NULL) != ARCHIVE_OK ||
      archive_write_header(a, e) != ARCHIVE_OK) {
    ret = st_error_set(err, EIO, "zstd %s: %s", what, archive_error_string(a));
    goto done;
  }
  for (;;) {
    ssize_t n = read(fd, buf, CHUNK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ret = st_error_errno(err, errno, "read %s", what);
      goto done;
    }
    if (n == 0)
      break;
    if (archive_write_data(a, buf, (size_t)n) != n) {
      ret = sink.err ? -1
                     : st_error_set(err, EIO, "zstd %s: %s", what,
                                    archive_error_string(a));
      goto done;
    }
  }
  if (archive_write_close(a) != ARCHIVE_OK)
    ret = sink.err ? -1
                   : st_error_set(err, EIO, "zstd %s: %s", what,
                                  archive_error_string(a));
done:
  if (sink.err) {
    if (err && *err == NULL)
      *err = sink.err;
    else
      st_error_free(sink.err);
  }
  archive_entry_free(e);
  archive_write_free(a);
  return ret;
}

int st_push_compress(st_store *s, const st_layer_rec *l, const char *algo,
                     char blob[ST_DIGEST_LEN], int64_t *blob_size,
                     st_error **err) {
  cleanup_close int fd = st_blob_open(s, l->blob, err);
  if (fd < 0)
    return -1;
  /* Read ahead: the layer is read once, start to end. */
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  st_blob_writer *w = NULL;
  if (st_blob_begin(s, &w, err) < 0)
    return -1;
  st_blob_paced(w); /* compression feeds it */
  bool zstd = strcmp(algo, "zstd") == 0;
  if ((zstd ? zstd_into(fd, w, l->blob, err) : gzip_into(fd, w, l->blob, err)) <
      0) {
    st_blob_abort(w);
    return -1;
  }
  *blob_size = (int64_t)st_blob_size(w);
  return st_blob_commit(w, NULL, blob, err);
}
