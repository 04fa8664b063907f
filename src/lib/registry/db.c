/* Registry records in the store's database (see db.h). */
#include "registry/db.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util/cleanup.h"

static void bind(sqlite3_stmt *st, int i, const char *v) {
  sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

int st_reg_db_layer_info(st_store *s, const char *blob, st_layer_rec *out,
                         st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT blob, diff_id, blob_size, size FROM layers"
                    " WHERE blob = ?1"
                    " UNION ALL SELECT l.blob, l.diff_id, l.blob_size, l.size"
                    " FROM compressed c JOIN layers l ON l.diff_id = c.diff_id"
                    " WHERE c.blob = ?1 LIMIT 1",
                    &st, err) < 0)
    return -1;
  bind(st, 1, blob);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_db_error(s, err, "look up layer");
  st_db_digest(st, 0, out->blob);
  st_db_digest(st, 1, out->diff_id);
  out->blob_size = sqlite3_column_int64(st, 2);
  out->size = sqlite3_column_int64(st, 3);
  return 1;
}

int st_reg_db_compressed_get(st_store *s, const char *diff_id,
                             const char *algorithm, char blob[ST_DIGEST_LEN],
                             int64_t *blob_size, char **media_type, bool *local,
                             st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT blob, blob_size, media_type FROM compressed"
                    " WHERE diff_id = ? AND algorithm = ?",
                    &st, err) < 0)
    return -1;
  bind(st, 1, diff_id);
  bind(st, 2, algorithm);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_db_error(s, err, "look up compressed layer");
  st_db_digest(st, 0, blob);
  *local = st_blob_exists(s, blob);
  *blob_size = sqlite3_column_int64(st, 1);
  if ((*media_type = st_db_strdup(st, 2)) == NULL)
    return st_error_errno(err, ENOMEM, "look up compressed layer");
  return 1;
}

int st_reg_db_compressed_find(st_store *s, const char *diff_id,
                              const char *blob, int64_t *blob_size,
                              st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT blob_size FROM compressed"
                    " WHERE diff_id = ? AND blob = ? LIMIT 1",
                    &st, err) < 0)
    return -1;
  bind(st, 1, diff_id);
  bind(st, 2, blob);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_db_error(s, err, "look up compressed layer");
  *blob_size = sqlite3_column_int64(st, 0);
  return 1;
}

static int exec_bound(st_store *s, const char *sql, const char *const *args,
                      size_t n, const int64_t *num, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, sql, &st, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    bind(st, (int)i + 1, args[i]);
  if (num)
    sqlite3_bind_int64(st, (int)n + 1, *num);
  if (sqlite3_step(st) != SQLITE_DONE)
    return st_db_error(s, err, "record");
  return 0;
}

int st_reg_db_compressed_put(st_store *s, const char *diff_id,
                             const char *algorithm, const char *blob,
                             int64_t blob_size, const char *media_type,
                             st_error **err) {
  const char *args[] = {diff_id, algorithm, blob, media_type};
  return exec_bound(s,
                    "INSERT OR REPLACE INTO compressed(diff_id, algorithm,"
                    " blob, media_type, blob_size) VALUES (?, ?, ?, ?, ?)",
                    args, 4, &blob_size, err);
}

int st_reg_db_digest_put(st_store *s, const char *repo, const char *digest,
                         const char *image, st_error **err) {
  const char *args[] = {repo, digest, image};
  return exec_bound(s,
                    "INSERT OR REPLACE INTO digests(repo, digest, image)"
                    " VALUES (?, ?, ?)",
                    args, 3, NULL, err);
}

int st_reg_db_remote_put(st_store *s, const char *repo, const char *blob,
                         st_error **err) {
  const char *args[] = {repo, blob};
  return exec_bound(s,
                    "INSERT OR IGNORE INTO remote_blobs(repo, blob)"
                    " VALUES (?, ?)",
                    args, 2, NULL, err);
}

char *st_reg_db_remote_find(st_store *s, const char *domain, const char *blob,
                            const char *not_repo) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  st_error *ignored = NULL;
  if (st_db_prepare(s,
                    "SELECT repo FROM remote_blobs WHERE blob = ?1"
                    " AND repo != ?2 AND substr(repo, 1, length(?3) + 1)"
                    " = ?3 || '/' ORDER BY repo LIMIT 1",
                    &st, &ignored) < 0) {
    st_error_free(ignored);
    return NULL;
  }
  bind(st, 1, blob);
  bind(st, 2, not_repo);
  bind(st, 3, domain);
  if (sqlite3_step(st) != SQLITE_ROW)
    return NULL;
  return st_db_strdup(st, 0);
}

void st_reg_db_tag_image(st_store *s, const char *tag, char id[ST_DIGEST_LEN]) {
  id[0] = '\0';
  cleanup_stmt sqlite3_stmt *st = NULL;
  st_error *ignored = NULL;
  if (st_db_prepare(s, "SELECT image FROM tags WHERE name = ?", &st, &ignored) <
      0) {
    st_error_free(ignored);
    return;
  }
  bind(st, 1, tag);
  if (sqlite3_step(st) == SQLITE_ROW)
    st_db_digest(st, 0, id);
}

int st_reg_db_commit_pull(st_store *s, const st_image_rec *rec,
                          const st_reg_pulled_blob *pulled, const char *tag,
                          const char *repo, const char *digest,
                          st_error **err) {
  st_image existing = {0};
  st_error *ignored = NULL;
  bool exists = st_image_get(s, rec->id, &existing, &ignored) == 0;
  st_image_clear(&existing);
  st_error_free(ignored);
  if (st_tx_begin(s, err) < 0)
    return -1;
  const char *tags[] = {tag};
  /* An image the store has keeps its records (its manifest may list other
   * blobs for the same layers); only the name moves. */
  if (exists) {
    if (tag && st_tag_set(s, tag, rec->id, err) < 0)
      goto fail;
  } else if (st_image_commit(s, rec, tags, tag ? 1 : 0, err) < 0) {
    goto fail;
  }
  if (repo && digest && st_reg_db_digest_put(s, repo, digest, rec->id, err) < 0)
    goto fail;
  for (size_t i = 0; i < rec->n_layers; i++) {
    const st_reg_pulled_blob *p = &pulled[i];
    if (repo && st_reg_db_remote_put(s, repo, p->digest, err) < 0)
      goto fail;
    if (p->algorithm &&
        st_reg_db_compressed_put(s, rec->layers[i].diff_id, p->algorithm,
                                 p->digest, p->size, p->media_type, err) < 0)
      goto fail;
  }
  return st_tx_commit(s, err);
fail:
  st_tx_rollback(s);
  return -1;
}
