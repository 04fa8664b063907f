/* The build cache table (see cache.h). */
#include "store/cache.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store/containers.h"
#include "store/internal.h"
#include "util/cleanup.h"

void st_cache_entry_clear(st_cache_entry *e) {
  free(e->instr);
  free(e->inputs);
  memset(e, 0, sizeof(*e));
}

int st_cache_get(st_store *s, const char *parent, const char *key,
                 char image[ST_DIGEST_LEN], st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT c.image FROM build_cache c JOIN images i ON "
                    "i.id = c.image WHERE c.parent = ? AND c.key = ?",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_db_error(s, err, "build cache lookup");
  st_db_digest(st, 0, image);
  /* Marking it used is best effort: a read-only moment must not fail a
   * build that only reads the cache. At most once a minute per entry
   * (`builder prune --filter until=` counts in minutes and hours): an
   * UPDATE that matches no row writes nothing, so a warm rebuild repeated
   * at once writes no page to the WAL and causes no checkpoint fsync. */
  cleanup_stmt sqlite3_stmt *up = NULL;
  if (st_db_prepare(s,
                    "UPDATE build_cache SET used = ?1 WHERE parent = ?2 AND "
                    "key = ?3 AND used < ?1 - 60000000000",
                    &up, NULL) == 0) {
    sqlite3_bind_int64(up, 1, st_now_ns());
    sqlite3_bind_text(up, 2, parent, -1, SQLITE_STATIC);
    sqlite3_bind_text(up, 3, key, -1, SQLITE_STATIC);
    (void)sqlite3_step(up);
  }
  return 1;
}

int st_cache_put(st_store *s, const char *parent, const char *key,
                 const char *image, const char *instr, const char *inputs,
                 st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "INSERT OR REPLACE INTO build_cache (parent, key, image, "
                    "instr, inputs, created, used) VALUES (?,?,?,?,?,?,?)",
                    &st, err) < 0)
    return -1;
  int64_t now = st_now_ns();
  sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, image, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, instr, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, inputs, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, now);
  sqlite3_bind_int64(st, 7, now);
  if (sqlite3_step(st) != SQLITE_DONE)
    return st_db_error(s, err, "record build cache entry");
  return 0;
}

static int fill_entry(sqlite3_stmt *st, st_cache_entry *out) {
  st_db_digest(st, 0, out->parent);
  st_db_digest(st, 1, out->key);
  st_db_digest(st, 2, out->image);
  out->instr = st_db_strdup(st, 3);
  out->inputs = st_db_strdup(st, 4);
  out->created = sqlite3_column_int64(st, 5);
  out->used = sqlite3_column_int64(st, 6);
  return out->instr && out->inputs ? 1 : -1;
}

int st_cache_previous(st_store *s, const char *parent, const char *instr,
                      st_cache_entry *out, st_error **err) {
  const char *sp = strchr(instr, ' ');
  size_t kw = sp ? (size_t)(sp - instr) : strlen(instr);
  cleanup_stmt sqlite3_stmt *st = NULL;
  /* Same text first, then the same keyword (case-insensitively), then any;
   * newest first within each. */
  if (st_db_prepare(s,
                    "SELECT parent, key, image, instr, inputs, created, used "
                    "FROM build_cache WHERE parent = ? ORDER BY "
                    "(instr = ?) DESC, (upper(substr(instr, 1, ?)) = "
                    "upper(substr(?, 1, ?)) AND length(instr) >= ?) DESC, "
                    "used DESC LIMIT 1",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, instr, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, (int64_t)kw + 1);
  sqlite3_bind_text(st, 4, instr, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, (int64_t)kw + 1);
  sqlite3_bind_int64(st, 6, (int64_t)kw);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_db_error(s, err, "build cache lookup");
  memset(out, 0, sizeof(*out));
  if (fill_entry(st, out) < 0) {
    st_cache_entry_clear(out);
    return st_error_errno(err, ENOMEM, "build cache lookup");
  }
  return 1;
}

bool st_cache_known_parent(st_store *s, const char *parent) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT 1 FROM build_cache WHERE parent = ? LIMIT 1",
                    &st, NULL) < 0)
    return false;
  sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
  return sqlite3_step(st) == SQLITE_ROW;
}

static int pruned_images(st_store *s, int64_t until,
                         char (**images)[ST_DIGEST_LEN], size_t *n,
                         st_error **err) {
  *images = NULL;
  *n = 0;
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT DISTINCT image FROM build_cache WHERE used < ?"
                    " AND image NOT IN (SELECT image FROM build_outputs)",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_int64(st, 1, until > 0 ? until : INT64_MAX);
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    if (id == NULL || strlen(id) >= ST_DIGEST_LEN)
      continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 32;
      char(*nv)[ST_DIGEST_LEN] = realloc(*images, cap * ST_DIGEST_LEN);
      if (nv == NULL) {
        free(*images);
        *images = NULL;
        *n = 0;
        return st_error_errno(err, ENOMEM, "prune the build cache");
      }
      *images = nv;
    }
    snprintf((*images)[(*n)++], ST_DIGEST_LEN, "%s", id);
  }
  if (rc != SQLITE_DONE) {
    free(*images);
    *images = NULL;
    *n = 0;
    return st_db_error(s, err, "prune the build cache");
  }
  return 0;
}

int st_cache_mark_output(st_store *s, const char *id, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "INSERT OR IGNORE INTO build_outputs (image) VALUES (?)",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE)
    return st_db_error(s, err, "record the build's image");
  return 0;
}

int64_t st_cache_prune(st_store *s, int64_t until,
                       char (**images)[ST_DIGEST_LEN], size_t *n_images,
                       st_error **err) {
  if (images && pruned_images(s, until, images, n_images, err) < 0)
    return -1;
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    until > 0 ? "DELETE FROM build_cache WHERE used < ?"
                              : "DELETE FROM build_cache",
                    &st, err) < 0)
    return -1;
  if (until > 0)
    sqlite3_bind_int64(st, 1, until);
  if (sqlite3_step(st) != SQLITE_DONE)
    return st_db_error(s, err, "prune the build cache");
  return sqlite3_changes64(s->db);
}

int st_cache_records(st_store *s, st_cache_record **out, size_t *n,
                     st_error **err) {
  *out = NULL;
  *n = 0;
  /* the step's layer: the image's top layer when it has one more than the
   * parent (a step on scratch: any layer) */
  static const char sql[] =
      "SELECT bc.key, bc.instr, bc.created, bc.used,"
      " (SELECT count(*) FROM image_layers WHERE image = bc.image) >"
      "  (SELECT count(*) FROM image_layers WHERE image = bc.parent),"
      " l.size,"
      " EXISTS (SELECT 1 FROM image_layers o WHERE o.blob = top.blob"
      "  AND (o.image IN (SELECT image FROM tags)"
      "   OR o.image IN (SELECT image FROM build_outputs))),"
      " (SELECT count(DISTINCT o.image) FROM image_layers o"
      "  WHERE o.blob = top.blob)"
      " FROM build_cache bc"
      " LEFT JOIN image_layers top ON top.image = bc.image AND top.pos ="
      "  (SELECT max(pos) FROM image_layers WHERE image = bc.image)"
      " LEFT JOIN layers l ON l.blob = top.blob"
      " ORDER BY bc.created, bc.key";
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, sql, &st, err) < 0)
    return -1;
  st_cache_record *v = NULL;
  size_t count = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    st_cache_record *nv = realloc(v, (count + 1) * sizeof(*v));
    if (nv == NULL) {
      free(v);
      return st_error_errno(err, ENOMEM, "list the build cache");
    }
    v = nv;
    st_cache_record *r = &v[count++];
    memset(r, 0, sizeof(*r));
    st_db_digest(st, 0, r->key);
    const char *instr = (const char *)sqlite3_column_text(st, 1);
    size_t k = instr ? strcspn(instr, " \t\n") : 0;
    if (k >= sizeof(r->kind))
      k = sizeof(r->kind) - 1;
    for (size_t i = 0; i < k; i++)
      r->kind[i] = (char)toupper((unsigned char)instr[i]);
    r->created = sqlite3_column_int64(st, 2);
    r->used = sqlite3_column_int64(st, 3);
    bool layer = sqlite3_column_int(st, 4) != 0;
    r->size = layer ? sqlite3_column_int64(st, 5) : 0;
    r->shared = layer && sqlite3_column_int(st, 6) != 0;
    r->usage = layer ? sqlite3_column_int64(st, 7) : 1;
    r->layer = layer;
  }
  if (rc != SQLITE_DONE) {
    free(v);
    return st_db_error(s, err, "list the build cache");
  }
  *out = v;
  *n = count;
  return 0;
}

int st_cache_count(st_store *s, int64_t *rows, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT count(*) FROM build_cache", &st, err) < 0)
    return -1;
  if (sqlite3_step(st) != SQLITE_ROW)
    return st_db_error(s, err, "count the build cache");
  *rows = sqlite3_column_int64(st, 0);
  return 0;
}

struct st_filehashes {
  st_store *s;
  sqlite3_stmt *get, *put, *sum_get, *sum_put;
  bool in_tx;
};

int st_filehashes_open(st_store *s, st_filehashes **out, st_error **err) {
  st_filehashes *h = calloc(1, sizeof(*h));
  if (h == NULL)
    return st_error_errno(err, ENOMEM, "file hashes");
  h->s = s;
  if (st_db_prepare(s,
                    "SELECT digest FROM file_hashes WHERE dev = ? AND ino = ? "
                    "AND size = ? AND mtime = ? AND ctime = ?",
                    &h->get, err) < 0 ||
      st_db_prepare(s,
                    "INSERT OR REPLACE INTO file_hashes (dev, ino, size, "
                    "mtime, ctime, digest) VALUES (?,?,?,?,?,?)",
                    &h->put, err) < 0 ||
      st_db_prepare(s, "SELECT sum FROM copy_sums WHERE fp = ?", &h->sum_get,
                    err) < 0 ||
      st_db_prepare(s,
                    "INSERT OR REPLACE INTO copy_sums (fp, sum, used) "
                    "VALUES (?,?,?)",
                    &h->sum_put, err) < 0) {
    st_filehashes_close(h);
    return -1;
  }
  *out = h;
  return 0;
}

static int64_t ns(const struct timespec *t) {
  return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void bind_version(sqlite3_stmt *q, const struct stat *st) {
  sqlite3_reset(q);
  sqlite3_bind_int64(q, 1, (int64_t)st->st_dev);
  sqlite3_bind_int64(q, 2, (int64_t)st->st_ino);
  sqlite3_bind_int64(q, 3, (int64_t)st->st_size);
  sqlite3_bind_int64(q, 4, ns(&st->st_mtim));
  sqlite3_bind_int64(q, 5, ns(&st->st_ctim));
}

bool st_filehashes_get(st_filehashes *h, const struct stat *st,
                       char digest[ST_DIGEST_LEN]) {
  bind_version(h->get, st);
  if (sqlite3_step(h->get) != SQLITE_ROW)
    return false;
  const char *d = (const char *)sqlite3_column_text(h->get, 0);
  bool ok = d && strlen(d) < ST_DIGEST_LEN;
  if (ok)
    memcpy(digest, d, strlen(d) + 1);
  sqlite3_reset(h->get); /* ends the statement's read */
  return ok;
}

void st_filehashes_put(st_filehashes *h, const struct stat *st,
                       const char digest[ST_DIGEST_LEN]) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (!h->in_tx || st->st_ctim.tv_sec >= now.tv_sec - 2 ||
      st->st_mtim.tv_sec >= now.tv_sec - 2)
    return;
  bind_version(h->put, st);
  sqlite3_bind_text(h->put, 6, digest, -1, SQLITE_STATIC);
  (void)sqlite3_step(h->put);
}

bool st_filehashes_sum_get(st_filehashes *h, const char *fp,
                           char sum[ST_DIGEST_LEN]) {
  sqlite3_reset(h->sum_get);
  sqlite3_bind_text(h->sum_get, 1, fp, -1, SQLITE_STATIC);
  bool ok = false;
  if (sqlite3_step(h->sum_get) == SQLITE_ROW) {
    const char *d = (const char *)sqlite3_column_text(h->sum_get, 0);
    ok = d && strlen(d) < ST_DIGEST_LEN;
    if (ok)
      memcpy(sum, d, strlen(d) + 1);
  }
  sqlite3_reset(h->sum_get); /* ends the statement's read */
  return ok;
}

void st_filehashes_sum_put(st_filehashes *h, const char *fp, const char *sum) {
  if (!h->in_tx)
    return;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  sqlite3_reset(h->sum_put);
  sqlite3_bind_text(h->sum_put, 1, fp, -1, SQLITE_STATIC);
  sqlite3_bind_text(h->sum_put, 2, sum, -1, SQLITE_STATIC);
  sqlite3_bind_int64(h->sum_put, 3, ns(&now));
  (void)sqlite3_step(h->sum_put);
  sqlite3_reset(h->sum_put);
}

void st_filehashes_begin(st_filehashes *h) {
  st_error *e = NULL;
  if (h && !h->in_tx && st_tx_begin(h->s, &e) == 0)
    h->in_tx = true;
  st_error_free(e); /* busy: lookups still work, nothing is remembered */
}

void st_filehashes_end(st_filehashes *h) {
  if (h == NULL || !h->in_tx)
    return;
  sqlite3_reset(h->get);
  sqlite3_reset(h->put);
  st_error *e = NULL;
  if (st_tx_commit(h->s, &e) < 0) {
    st_error_free(e);
    st_tx_rollback(h->s);
  }
  h->in_tx = false;
}

void st_filehashes_close(st_filehashes *h) {
  if (h == NULL)
    return;
  st_filehashes_end(h);
  sqlite3_finalize(h->get);
  sqlite3_finalize(h->put);
  sqlite3_finalize(h->sum_get);
  sqlite3_finalize(h->sum_put);
  free(h);
}

int st_filehashes_clear(st_store *s, st_error **err) {
  return st_db_exec(s, "DELETE FROM file_hashes; DELETE FROM copy_sums", err);
}
