/* Content-addressed blobs: written to tmp/, fsynced, renamed into
 * blobs/sha256/<hex> under their digest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct st_blob_writer {
  st_store *store;
  int fd;
  char *tmp_path;
  st_sha256 *hash;
  uint64_t size;
  uint64_t flushed; /* bytes whose writeback has been started */
};

/* Writeback is started every this many bytes while a blob is written, so
 * the disk works while the rest is produced and the fsync at the commit
 * waits for the last chunk only, not for the whole blob (a 300 MiB layer:
 * one 0.3 s fsync before). */
#define WRITEBACK_CHUNK (8u << 20)

char *st_blob_path(const st_store *s, const char *digest) {
  char *p = NULL;
  if (asprintf(&p, "%s/%s", s->blobs_dir, st_digest_hex(digest)) < 0)
    return NULL;
  return p;
}

int st_blob_begin(st_store *s, st_blob_writer **out, st_error **err) {
  if (st_store_busy(s, err) < 0)
    return -1;
  st_blob_writer *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return st_error_errno(err, ENOMEM, "new blob");
  w->store = s;
  w->fd = -1;
  if (asprintf(&w->tmp_path, "%s/blob-XXXXXX", s->tmp_dir) < 0) {
    w->tmp_path = NULL;
    st_blob_abort(w);
    return st_error_errno(err, ENOMEM, "new blob");
  }
  w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
  if (w->fd < 0) {
    int e = errno;
    st_error_errno(err, e, "create `%s`", w->tmp_path);
    free(w->tmp_path);
    w->tmp_path = NULL;
    st_blob_abort(w);
    return -1;
  }
  if ((w->hash = st_sha256_new()) == NULL) {
    st_blob_abort(w);
    return st_error_errno(err, ENOMEM, "new blob");
  }
  *out = w;
  return 0;
}

int st_blob_write(st_blob_writer *w, const void *buf, size_t n,
                  st_error **err) {
  if (st_write_all(w->fd, buf, n, w->tmp_path, err) < 0)
    return -1;
  st_sha256_update(w->hash, buf, n);
  w->size += n;
  if (w->size - w->flushed >= WRITEBACK_CHUNK) {
    /* best effort: the fsync in st_blob_commit is what counts */
    (void)sync_file_range(w->fd, (off64_t)w->flushed,
                          (off64_t)(w->size - w->flushed),
                          SYNC_FILE_RANGE_WRITE);
    w->flushed = w->size;
  }
  return 0;
}

uint64_t st_blob_size(const st_blob_writer *w) {
  return w->size;
}

void st_blob_abort(st_blob_writer *w) {
  if (w == NULL)
    return;
  if (w->fd >= 0)
    close(w->fd);
  if (w->tmp_path)
    unlink(w->tmp_path);
  free(w->tmp_path);
  st_sha256_free(w->hash);
  free(w);
}

int st_blob_commit(st_blob_writer *w, const char *expect,
                   char digest_out[ST_DIGEST_LEN], st_error **err) {
  char digest[ST_DIGEST_LEN];
  st_sha256_final(w->hash, digest);
  w->hash = NULL;
  if (expect && strcmp(expect, digest) != 0) {
    st_error_set(err, EIO, "digest mismatch: expected %s, got %s", expect,
                 digest);
    st_blob_abort(w);
    return -1;
  }
  if (fsync(w->fd) < 0) {
    st_error_errno(err, errno, "fsync `%s`", w->tmp_path);
    st_blob_abort(w);
    return -1;
  }
  cleanup_free char *dest = st_blob_path(w->store, digest);
  if (dest == NULL) {
    st_blob_abort(w);
    return st_error_errno(err, ENOMEM, "store blob");
  }
  /* Always replace: the bytes are the same for a healthy blob, and a
   * corrupted one gets repaired by writing its content again. */
  if (rename(w->tmp_path, dest) < 0) {
    st_error_errno(err, errno, "rename blob to `%s`", dest);
    st_blob_abort(w);
    return -1;
  }
  st_store *s = w->store;
  st_blob_abort(w); /* closes; unlinks the tmp name if it was not moved */
  if (st_fsync_dir(s->blobs_dir, err) < 0)
    return -1;
  if (digest_out)
    memcpy(digest_out, digest, ST_DIGEST_LEN);
  return 0;
}

int st_blob_put(st_store *s, const void *buf, size_t n,
                char digest_out[ST_DIGEST_LEN], st_error **err) {
  char digest[ST_DIGEST_LEN];
  st_digest_of(buf, n, digest);
  if (digest_out)
    memcpy(digest_out, digest, ST_DIGEST_LEN);
  st_blob_writer *w = NULL;
  if (st_blob_begin(s, &w, err) < 0)
    return -1;
  if (st_blob_write(w, buf, n, err) < 0) {
    st_blob_abort(w);
    return -1;
  }
  return st_blob_commit(w, digest, NULL, err);
}

bool st_blob_exists(st_store *s, const char *digest) {
  cleanup_free char *p = st_blob_path(s, digest);
  return p && access(p, F_OK) == 0;
}

int st_blob_open(st_store *s, const char *digest, st_error **err) {
  if (st_digest_check(digest, "open blob", err) < 0 ||
      st_store_busy(s, err) < 0)
    return -1;
  cleanup_free char *p = st_blob_path(s, digest);
  if (p == NULL)
    return st_error_errno(err, ENOMEM, "open blob");
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "open blob `%s`", p);
  return fd;
}

int st_blob_get(st_store *s, const char *digest, char **buf, size_t *len,
                st_error **err) {
  if (st_digest_check(digest, "read blob", err) < 0 ||
      st_store_busy(s, err) < 0)
    return -1;
  cleanup_free char *p = st_blob_path(s, digest);
  if (p == NULL)
    return st_error_errno(err, ENOMEM, "read blob");
  cleanup_free char *data = NULL;
  size_t n = 0;
  if (st_read_file(p, &data, &n, err) < 0)
    return -1;
  char got[ST_DIGEST_LEN];
  st_digest_of(data, n, got);
  if (strcmp(got, digest) != 0)
    return st_error_set(err, EIO,
                        "blob `%s` is corrupt: its content has digest %s; "
                        "run `strata system check`",
                        p, got);
  *buf = steal_pointer(&data);
  if (len)
    *len = n;
  return 0;
}
