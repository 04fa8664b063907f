/* Layer tar import and inspection, in one pass: the decompressed stream
 * (layer/compress.h) feeds libarchive's tar reader through a read callback
 * that hands every block to a sink first (the blob writer, or a hash), so
 * the bytes are stored and hashed exactly as they are parsed, and entry data
 * skipped by the tar reader is still pulled through the sink. */
#include "layer/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <linux/limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "layer/compress.h"
#include "util/buf.h"
#include "util/cleanup.h"

#define NOT_TAR "not a tar archive (plain, gzip, xz, bzip2 or zstd)"

/* Where the decompressed bytes go. Returns 0, or < 0 with *err set. */
typedef int (*sink_fn)(void *ctx, const void *buf, size_t n, st_error **err);

/* The state of one pass over a tarball. */
typedef struct scan {
  sink_fn sink;
  void *sink_ctx;
  st_decomp *src;
  st_error *src_err;  /* reading or decompressing failed */
  st_error *sink_err; /* the sink failed */
  bool src_end;       /* the decompressed stream has ended */
  uint64_t bytes;     /* decompressed bytes handed to the sink */
  st_tar_check chk;   /* entries read, sum of regular file sizes */
  st_buf last;        /* path of the last entry read, for messages */
} scan;

static void scan_clear(scan *sc) {
  st_decomp_free(sc->src);
  st_error_free(sc->src_err);
  st_error_free(sc->sink_err);
  st_buf_free(&sc->last);
}
#define cleanup_scan __attribute__((cleanup(scan_clear)))

static void archive_freep(struct archive **a) {
  if (*a)
    archive_read_free(*a);
}
#define cleanup_archive __attribute__((cleanup(archive_freep)))

/* Moves a saved error into *err. Returns -1. */
static int pass_error(st_error **saved, st_error **err) {
  if (err && *err == NULL)
    *err = steal_pointer(saved);
  return -1;
}

/* ---- the byte stream --------------------------------------------------- */

/* Pulls the next decompressed block and gives it to the sink. Returns 1 with
 * a block, 0 at the end, -1 with sc->src_err or sc->sink_err set. */
static int scan_next(scan *sc, const void **buf, size_t *n) {
  if (sc->src_end)
    return 0;
  int r = st_decomp_read(sc->src, buf, n, &sc->src_err);
  if (r < 0)
    return -1;
  if (r == 0) {
    sc->src_end = true;
    return 0;
  }
  if (sc->sink(sc->sink_ctx, *buf, *n, &sc->sink_err) < 0)
    return -1;
  sc->bytes += *n;
  return 1;
}

/* libarchive's read callback for the tar reader. */
static la_ssize_t scan_pull(struct archive *a, void *data, const void **buf) {
  scan *sc = data;
  size_t n = 0;
  int r = scan_next(sc, buf, &n);
  if (r < 0) {
    st_error *e = sc->sink_err ? sc->sink_err : sc->src_err;
    archive_set_error(a, e ? e->code : EIO, "%s", e ? e->msg : "read");
    return -1;
  }
  return (la_ssize_t)n;
}

/* After the tar's end marker: stores the rest (padding) so that the blob is
 * exactly the decompressed input. Returns 0, or < 0 with *err set. */
static int scan_drain(scan *sc, st_error **err) {
  for (;;) {
    const void *buf = NULL;
    size_t n = 0;
    int r = scan_next(sc, &buf, &n);
    if (r == 0)
      return 0;
    if (r < 0)
      return pass_error(sc->sink_err ? &sc->sink_err : &sc->src_err, err);
  }
}

/* ---- messages ---------------------------------------------------------- */

/* Describes where in the archive the pass stopped. */
static void where(const scan *sc, bool in_entry, st_buf *b) {
  if (sc->chk.entries == 0) {
    st_buf_puts(b, "in the first entry");
    return;
  }
  st_buf_puts(b, in_entry ? "in entry " : "after entry ");
  st_buf_quote(b, sc->last.data ? sc->last.data : "");
}

/* Sets *err for a failed tar read. A sink or decompression failure is the
 * cause when there is one; otherwise the stream ending under the reader
 * means truncation. Returns -1. */
static int scan_fail(scan *sc, struct archive *tar, bool in_entry,
                     st_error **err) {
  if (sc->sink_err)
    return pass_error(&sc->sink_err, err);
  cleanup_buf st_buf at = ST_BUF_INIT;
  where(sc, in_entry, &at);
  const char *pos = at.data ? at.data : "";
  if (sc->src_err)
    return st_error_set(err, sc->src_err->code, "%s %s", sc->src_err->msg, pos);
  const char *why = archive_error_string(tar);
  if (why == NULL)
    why = "unknown error";
  if (sc->src_end)
    return st_error_set(err, EIO,
                        "truncated tar archive: unexpected end of data %s "
                        "(%s)",
                        pos, why);
  return st_error_set(err, EIO, "corrupt tar archive %s: %s", pos, why);
}

/* Sets *err when the tar reader cannot even start. Returns -1. */
static int open_fail(scan *sc, st_error **err) {
  if (sc->sink_err)
    return pass_error(&sc->sink_err, err);
  if (sc->src_err)
    return pass_error(&sc->src_err, err);
  const char *format = st_decomp_format(sc->src);
  if (sc->bytes == 0)
    return st_error_set(err, EINVAL, NOT_TAR ": no data");
  if (strcmp(format, "none") != 0)
    return st_error_set(err, EINVAL, NOT_TAR ": %s data without a tar inside",
                        format);
  return st_error_set(err, EINVAL, NOT_TAR);
}

/* ---- entries ----------------------------------------------------------- */

/* The check, remembering the entry's path for later messages. */
static int check_entry(scan *sc, struct archive_entry *e, st_error **err) {
  const char *path = archive_entry_pathname(e);
  if (path == NULL)
    path = archive_entry_pathname_utf8(e);
  sc->last.len = 0;
  if (sc->last.data)
    sc->last.data[0] = '\0';
  if (path && st_buf_puts(&sc->last, path) < 0)
    return st_error_errno(err, ENOMEM, "tar entry");
  return st_tar_check_entry(&sc->chk, e, err);
}

static bool read_failed(int r) {
  return r != ARCHIVE_OK && r != ARCHIVE_WARN;
}

/* Reads every entry up to the tar's end. Returns 0, or < 0 with *err set. */
static int scan_entries(scan *sc, struct archive *tar, st_error **err) {
  struct archive_entry *e = NULL;
  for (;;) {
    int r = archive_read_next_header(tar, &e);
    if (r == ARCHIVE_EOF)
      return 0;
    if (read_failed(r))
      return scan_fail(sc, tar, false, err);
    if (check_entry(sc, e, err) < 0)
      return -1;
    /* Not seeking: without a skip callback libarchive reads the data
     * through scan_pull, so it is stored and hashed. */
    if (read_failed(archive_read_data_skip(tar)))
      return scan_fail(sc, tar, true, err);
  }
}

/* One pass over the tarball in fd: checks entries, measures sc->size and
 * gives every decompressed byte to sc->sink. Returns 0, or < 0 with *err
 * set. */
static int scan_run(scan *sc, int fd, st_error **err) {
  if (st_decomp_open(fd, &sc->src, err) < 0)
    return -1;
  cleanup_archive struct archive *tar = archive_read_new();
  if (tar == NULL)
    return st_error_errno(err, ENOMEM, "libarchive");
  if (archive_read_support_format_tar(tar) != ARCHIVE_OK)
    return st_error_set(err, ENOTSUP, "libarchive: %s",
                        archive_error_string(tar));
  if (archive_read_open2(tar, sc, NULL, scan_pull, NULL, NULL) != ARCHIVE_OK)
    return open_fail(sc, err);
  if (scan_entries(sc, tar, err) < 0)
    return -1;
  return scan_drain(sc, err);
}

/* ---- import ------------------------------------------------------------ */

static int blob_sink(void *ctx, const void *buf, size_t n, st_error **err) {
  return st_blob_write(ctx, buf, n, err);
}

static void blob_abortp(st_blob_writer **w) {
  st_blob_abort(*w);
}
#define cleanup_blob __attribute__((cleanup(blob_abortp)))

/* Adds the input's name to *err; a full disk gets Docker's wording. */
static int import_fail(st_store *s, const char *name, st_error **err) {
  if (err && *err && (*err)->code == ENOSPC) {
    cleanup_free char *msg = steal_pointer(&(*err)->msg);
    st_error_freep(err);
    return st_error_set(err, ENOSPC,
                        "%s: no space left on device while storing the layer "
                        "in %s (%s)",
                        name, st_store_root(s), msg ? msg : "");
  }
  return st_error_wrap(err, "%s", name);
}

/* How messages name the input. */
static const char *input_name(const char *what) {
  if (what == NULL)
    return "layer";
  return strcmp(what, "-") == 0 ? "standard input" : what;
}

int st_layer_import(st_store *s, int fd, const char *what, st_layer_rec *out,
                    st_error **err) {
  const char *name = input_name(what);
  cleanup_blob st_blob_writer *w = NULL;
  if (st_blob_begin(s, &w, err) < 0)
    return import_fail(s, name, err);
  cleanup_scan scan sc = {.sink = blob_sink, .sink_ctx = w};
  if (scan_run(&sc, fd, err) < 0)
    return import_fail(s, name, err);
  int64_t blob_size = (int64_t)st_blob_size(w);
  if (st_blob_commit(steal_pointer(&w), NULL, out->blob, err) < 0)
    return import_fail(s, name, err);
  memcpy(out->diff_id, out->blob, ST_DIGEST_LEN);
  out->media_type = ST_LAYER_MEDIA_TYPE_TAR;
  out->blob_size = blob_size;
  out->size = sc.chk.size;
  return 0;
}

/* ---- inspect ----------------------------------------------------------- */

static int hash_sink(void *ctx, const void *buf, size_t n, st_error **err) {
  st_sha256_update(ctx, buf, n);
  return 0;
}

static void sha256_freep(st_sha256 **h) {
  st_sha256_free(*h);
}

static int inspect_fd(int fd, char diff_id[ST_DIGEST_LEN], int64_t *size,
                      st_error **err) {
  __attribute__((cleanup(sha256_freep))) st_sha256 *h = st_sha256_new();
  if (h == NULL)
    return st_error_errno(err, ENOMEM, "sha256");
  cleanup_scan scan sc = {.sink = hash_sink, .sink_ctx = h};
  if (scan_run(&sc, fd, err) < 0)
    return -1;
  char digest[ST_DIGEST_LEN];
  st_sha256_final(steal_pointer(&h), digest);
  if (diff_id)
    memcpy(diff_id, digest, ST_DIGEST_LEN);
  if (size)
    *size = sc.chk.size;
  return 0;
}

int st_layer_inspect_fd(int fd, const char *what, char diff_id[ST_DIGEST_LEN],
                        int64_t *size, st_error **err) {
  if (inspect_fd(fd, diff_id, size, err) < 0)
    return st_error_wrap(err, "%s", input_name(what));
  return 0;
}

int st_layer_inspect_blob(st_store *s, const char *blob_digest,
                          char diff_id[ST_DIGEST_LEN], int64_t *size,
                          st_error **err) {
  cleanup_close int fd = st_blob_open(s, blob_digest, err);
  if (fd < 0)
    return -1;
  if (inspect_fd(fd, diff_id, size, err) < 0)
    return st_error_wrap(err, "blob %s", blob_digest);
  return 0;
}
