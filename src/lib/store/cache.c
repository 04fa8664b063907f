/* The build cache table (see cache.h). */
#include "store/cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
   * build that only reads the cache. */
  cleanup_stmt sqlite3_stmt *up = NULL;
  if (st_db_prepare(s,
                    "UPDATE build_cache SET used = ? WHERE parent = ? AND "
                    "key = ?",
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

int64_t st_cache_prune(st_store *s, int64_t until, st_error **err) {
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

int st_cache_count(st_store *s, int64_t *rows, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT count(*) FROM build_cache", &st, err) < 0)
    return -1;
  if (sqlite3_step(st) != SQLITE_ROW)
    return st_db_error(s, err, "count the build cache");
  *rows = sqlite3_column_int64(st, 0);
  return 0;
}
