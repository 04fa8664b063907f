/* Garbage collection: blobs no record refers to, and stale tmp/ files.
 *
 * Runs only when it can take the store lock exclusively without waiting:
 * every busy store handle (st_store_busy) holds it shared, and might be
 * between writing a blob and recording it, or reading blobs. When another
 * process is busy, gc does nothing; the garbage waits for the next gc (it
 * is never corruption). Processes that are open but not busy (an attached
 * `run` of a recorded container, rmi, tag) do not hold gc back. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal.h"
#include "store/layers.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

static const char referenced_sql[] =
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM images WHERE id = ?1)"
    " OR EXISTS (SELECT 1 FROM images WHERE manifest = ?1)"
    " OR EXISTS (SELECT 1 FROM layers WHERE blob = ?1)"
    /* a compressed form of a layer still stored (kept for push) */
    " OR EXISTS (SELECT 1 FROM compressed c JOIN layers l"
    "  ON l.diff_id = c.diff_id WHERE c.blob = ?1)";

/* Returns 1 when digest is referenced, 0 when not, < 0 on error. */
static int is_referenced(st_store *s, sqlite3_stmt *st, const char *digest,
                         st_error **err) {
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, digest, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    return 1;
  if (rc == SQLITE_DONE)
    return 0;
  return st_db_error(s, err, "gc");
}

int st_blob_referenced(st_store *s, const char *digest, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, referenced_sql, &st, err) < 0)
    return -1;
  return is_referenced(s, st, digest, err);
}

static int64_t sweep_blobs(st_store *s, st_error **err) {
  cleanup_dir DIR *d = opendir(s->blobs_dir);
  if (d == NULL)
    return st_error_errno(err, errno, "open `%s`", s->blobs_dir);
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, referenced_sql, &st, err) < 0)
    return -1;
  int64_t freed = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char digest[ST_DIGEST_LEN + 256];
    snprintf(digest, sizeof(digest), "sha256:%s", e->d_name);
    int r = st_digest_valid(digest) ? is_referenced(s, st, digest, err) : 0;
    if (r < 0)
      return -1;
    if (r > 0)
      continue;
    struct stat sb;
    if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
        unlinkat(dirfd(d), e->d_name, 0) == 0)
      freed += sb.st_size;
  }
  return freed;
}

int64_t st_store_gc(st_store *s, st_error **err) {
  if (s->tx_depth > 0)
    return st_error_set(err, EINVAL, "gc inside a transaction");
  /* Only when no other process is busy; a failed conversion drops our
   * shared lock (flock(2)): take it back. */
  int after = s->busy ? LOCK_SH : LOCK_UN;
  if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
    int e = errno;
    flock(s->lock_fd, after);
    if (e == EWOULDBLOCK) {
      st_debug("gc: another process is using the store; garbage is left "
               "for the next gc");
      return 0;
    }
    return st_error_errno(err, e, "lock store `%s`", s->root);
  }
  int64_t freed = sweep_blobs(s, err);
  /* Unpacked trees of images that are gone (containers keep their image,
   * so no mounted tree is among them). */
  if (freed >= 0 && st_layers_prune(s, err) < 0)
    freed = -1;
  if (freed >= 0) {
    st_error *ignored = NULL;
    if (st_rm_rf(s->tmp_dir, &ignored) == 0)
      mkdir(s->tmp_dir, 0700);
    st_error_free(ignored);
  }
  flock(s->lock_fd, after);
  if (freed >= 0)
    st_debug("gc: %lld bytes of unreferenced blobs removed", (long long)freed);
  return freed;
}
