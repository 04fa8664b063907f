/* Writing a save's tar: entries in sorted order with Docker's fixed
 * metadata (0:0, mtime 0, 0644/0755), layer blobs streamed from the store
 * and checked against the sizes and digests the plan announced. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/archive_internal.h"
#include "layer/compress.h"
#include "util/cleanup.h"

#define COPY_BLOCK (1u << 20)

static void write_freep(struct archive **a) {
  if (*a)
    archive_write_free(*a);
}

static void entry_freep(struct archive_entry **e) {
  if (*e)
    archive_entry_free(*e);
}

static int write_fail(struct archive *a, st_error **err) {
  int e = archive_errno(a);
  const char *why = archive_error_string(a);
  return st_error_set(err, e > 0 ? e : EIO, "write archive: %s",
                      why ? why : "error");
}

/* A header with Docker's deterministic fields: 0:0, mtime 0. */
static int write_header(struct archive *a, const char *path, bool dir,
                        uint64_t size, st_error **err) {
  __attribute__((cleanup(entry_freep))) struct archive_entry *e =
      archive_entry_new();
  if (e == NULL)
    return st_error_errno(err, ENOMEM, "save");
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e, dir ? 0755 : 0644);
  archive_entry_set_size(e, dir ? 0 : (la_int64_t)size);
  archive_entry_set_mtime(e, 0, 0);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  if (archive_write_header(a, e) != ARCHIVE_OK)
    return write_fail(a, err);
  return 0;
}

static int write_data(struct archive *a, const void *buf, size_t n,
                      st_error **err) {
  la_ssize_t w = archive_write_data(a, buf, n);
  if (w < 0 || (size_t)w != n)
    return write_fail(a, err);
  return 0;
}

static int write_mem(struct archive *a, const char *path, const char *data,
                     size_t len, st_error **err) {
  if (write_header(a, path, false, len, err) < 0 ||
      write_data(a, data, len, err) < 0)
    return -1;
  return 0;
}

/* Checks that what was streamed is what the header announced. */
static int check_streamed(const sv_blob *b, st_sha256 *h, uint64_t n,
                          st_error **err) {
  char got[ST_DIGEST_LEN];
  st_sha256_final(h, got);
  if (n != b->size || strcmp(got, b->digest) != 0)
    return st_error_set(err, EIO,
                        "layer blob %s changed or is corrupt: %llu bytes with "
                        "digest %s, expected %llu bytes with digest %s; run "
                        "`strata system check`",
                        b->blob, (unsigned long long)n, got,
                        (unsigned long long)b->size, b->digest);
  return 0;
}

static int stream_plain(st_store *s, struct archive *a, const sv_blob *b,
                        st_error **err) {
  cleanup_close int fd = st_blob_open(s, b->blob, err);
  cleanup_free char *buf = malloc(COPY_BLOCK);
  st_sha256 *h = st_sha256_new();
  if (fd < 0 || buf == NULL || h == NULL) {
    st_sha256_free(h);
    return fd < 0 ? -1 : st_error_errno(err, ENOMEM, "save");
  }
  uint64_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf, COPY_BLOCK);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 || (r > 0 && n + (uint64_t)r > b->size)) {
      int e = r < 0 ? errno : EIO;
      st_sha256_free(h);
      return st_error_errno(err, e, "read layer blob %s", b->blob);
    }
    if (r == 0)
      break;
    st_sha256_update(h, buf, (size_t)r);
    n += (uint64_t)r;
    if (write_data(a, buf, (size_t)r, err) < 0) {
      st_sha256_free(h);
      return -1;
    }
  }
  return check_streamed(b, h, n, err);
}

static int stream_decomp(st_store *s, struct archive *a, const sv_blob *b,
                         st_error **err) {
  cleanup_close int fd = st_blob_open(s, b->blob, err);
  if (fd < 0)
    return -1;
  cleanup_decomp st_decomp *d = NULL;
  if (st_decomp_open(fd, &d, err) < 0)
    return st_error_wrap(err, "layer %s", b->blob);
  st_sha256 *h = st_sha256_new();
  if (h == NULL)
    return st_error_errno(err, ENOMEM, "save");
  uint64_t n = 0;
  for (;;) {
    const void *buf = NULL;
    size_t len = 0;
    int r = st_decomp_read(d, &buf, &len, err);
    if (r == 0)
      break;
    if (r < 0 || n + len > b->size) {
      st_sha256_free(h);
      return r < 0 ? st_error_wrap(err, "layer %s", b->blob)
                   : st_error_set(err, EIO,
                                  "layer blob %s changed while "
                                  "saving",
                                  b->blob);
    }
    st_sha256_update(h, buf, len);
    n += len;
    if (write_data(a, buf, len, err) < 0) {
      st_sha256_free(h);
      return -1;
    }
  }
  return check_streamed(b, h, n, err);
}

static int write_blob(st_store *s, struct archive *a, const sv_blob *b,
                      st_error **err) {
  cleanup_free char *path = st_archive_blob_path(b->digest);
  if (path == NULL)
    return st_error_errno(err, ENOMEM, "save");
  if (write_header(a, path, false, b->size, err) < 0)
    return -1;
  switch (b->kind) {
  case SRC_MEM:
    return write_data(a, b->data, b->size, err);
  case SRC_BLOB:
    return stream_plain(s, a, b, err);
  case SRC_DECOMP:
    return stream_decomp(s, a, b, err);
  default:
    return st_error_set(err, EINVAL, "save: bad entry kind");
  }
}

static int cmp_blob(const void *a, const void *b) {
  return strcmp(((const sv_blob *)a)->digest, ((const sv_blob *)b)->digest);
}

int st_sv_write_tar(st_store *s, sv_plan *p, const sv_docs *docs, int fd,
                    st_error **err) {
  __attribute__((cleanup(write_freep))) struct archive *a = archive_write_new();
  if (a == NULL)
    return st_error_errno(err, ENOMEM, "save");
  if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      archive_write_add_filter_none(a) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
      archive_write_open_fd(a, fd) != ARCHIVE_OK)
    return write_fail(a, err);
  /* Sorted, as Docker's walk of its export directory gives them. */
  qsort(p->blobs, p->n_blobs, sizeof(*p->blobs), cmp_blob);
  if (write_header(a, "blobs/", true, 0, err) < 0 ||
      write_header(a, "blobs/sha256/", true, 0, err) < 0)
    return -1;
  for (size_t i = 0; i < p->n_blobs; i++)
    if (write_blob(s, a, &p->blobs[i], err) < 0)
      return -1;
  if (write_mem(a, ST_ARCHIVE_INDEX_FILE, docs->index, strlen(docs->index),
                err) < 0 ||
      write_mem(a, ST_ARCHIVE_MANIFEST_FILE, docs->manifest,
                strlen(docs->manifest), err) < 0 ||
      write_mem(a, ST_ARCHIVE_LAYOUT_FILE, ST_ARCHIVE_LAYOUT_CONTENT,
                strlen(ST_ARCHIVE_LAYOUT_CONTENT), err) < 0)
    return -1;
  if (docs->repositories &&
      write_mem(a, ST_ARCHIVE_REPOSITORIES_FILE, docs->repositories,
                strlen(docs->repositories), err) < 0)
    return -1;
  if (archive_write_close(a) != ARCHIVE_OK)
    return write_fail(a, err);
  return 0;
}
