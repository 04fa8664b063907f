/* Image, layer, tag and repo-digest records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ref/ref.h"
#include "store/internal.h"
#include "util/cleanup.h"

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int step_done(st_store *s, sqlite3_stmt *st, st_error **err,
                     const char *what) {
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return st_db_error(s, err, what);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v) {
  if (v)
    sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, i);
}

static int insert_layers(st_store *s, const st_image_rec *rec, st_error **err) {
  cleanup_stmt sqlite3_stmt *lay = NULL;
  cleanup_stmt sqlite3_stmt *link = NULL;
  if (st_db_prepare(s,
                    "INSERT OR IGNORE INTO layers(blob, diff_id, media_type,"
                    " blob_size, size) VALUES (?, ?, ?, ?, ?)",
                    &lay, err) < 0 ||
      st_db_prepare(s,
                    "INSERT OR REPLACE INTO image_layers(image, pos, blob)"
                    " VALUES (?, ?, ?)",
                    &link, err) < 0)
    return -1;
  for (size_t i = 0; i < rec->n_layers; i++) {
    const st_layer_rec *l = &rec->layers[i];
    bind_text(lay, 1, l->blob);
    bind_text(lay, 2, l->diff_id);
    bind_text(lay, 3, l->media_type);
    sqlite3_bind_int64(lay, 4, l->blob_size);
    sqlite3_bind_int64(lay, 5, l->size);
    if (step_done(s, lay, err, "record layer") < 0)
      return -1;
    bind_text(link, 1, rec->id);
    sqlite3_bind_int64(link, 2, (int64_t)i);
    bind_text(link, 3, l->blob);
    if (step_done(s, link, err, "record layer") < 0)
      return -1;
  }
  return 0;
}

/* Inserts the image row: returns 1 when added, 0 when it existed, < 0 on
 * error. */
static int insert_image(st_store *s, const st_image_rec *rec, int64_t size,
                        st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "INSERT OR IGNORE INTO images(id, manifest,"
                    " manifest_media_type, created, size, added, parent)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    &st, err) < 0)
    return -1;
  bind_text(st, 1, rec->id);
  bind_text(st, 2, rec->manifest);
  bind_text(st, 3, rec->manifest_media_type);
  sqlite3_bind_int64(st, 4, rec->created);
  sqlite3_bind_int64(st, 5, size);
  sqlite3_bind_int64(st, 6, now_ns());
  bind_text(st, 7, rec->parent);
  if (step_done(s, st, err, "record image") < 0)
    return -1;
  return sqlite3_changes(s->db) > 0 ? 1 : 0;
}

static int exec_with_id(st_store *s, const char *sql, const char *id,
                        const char *what, st_error **err);

/* An image `rmi -f` removed while a container used it is an image again
 * once pulled, loaded, built or tagged again. */
static int unhide(st_store *s, const char *id, st_error **err) {
  return exec_with_id(s, "DELETE FROM removed_images WHERE image = ?", id,
                      "record image", err) < 0
             ? -1
             : 0;
}

int st_image_commit(st_store *s, const st_image_rec *rec,
                    const char *const *tags, size_t n_tags, st_error **err) {
  int64_t size = 0;
  for (size_t i = 0; i < rec->n_layers; i++)
    size += rec->layers[i].size;
  if (st_tx_begin(s, err) < 0)
    return -1;
  /* An image that exists keeps its rows: same config bytes, and its
   * manifest and layer rows must keep agreeing with each other. */
  int added = insert_image(s, rec, size, err);
  if (added < 0 || (added > 0 && insert_layers(s, rec, err) < 0) ||
      unhide(s, rec->id, err) < 0)
    goto fail;
  for (size_t i = 0; i < n_tags; i++)
    if (st_tag_set(s, tags[i], rec->id, err) < 0)
      goto fail;
  return st_tx_commit(s, err);
fail:
  st_tx_rollback(s);
  return -1;
}

void st_image_clear(st_image *img) {
  free(img->manifest_media_type);
  free(img->parent);
  memset(img, 0, sizeof(*img));
}

#define IMAGE_COLS                                                             \
  "i.id, i.manifest, i.manifest_media_type, i.created, i.size, i.added,"       \
  " i.parent"

static void read_image(sqlite3_stmt *st, int col, st_image *out) {
  st_db_digest(st, col, out->id);
  st_db_digest(st, col + 1, out->manifest);
  out->manifest_media_type = st_db_strdup(st, col + 2);
  out->created = sqlite3_column_int64(st, col + 3);
  out->size = sqlite3_column_int64(st, col + 4);
  out->added = sqlite3_column_int64(st, col + 5);
  out->parent = st_db_strdup(st, col + 6);
}

/* Runs sql (one text parameter) expecting at most one image; returns 1 when
 * found, 0 when not, < 0 on error. */
static int query_one(st_store *s, const char *sql, const char *arg,
                     st_image *out, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, sql, &st, err) < 0)
    return -1;
  bind_text(st, 1, arg);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_db_error(s, err, "look up image");
  read_image(st, 0, out);
  return 1;
}

int st_image_get(st_store *s, const char *id, st_image *out, st_error **err) {
  int r = query_one(s, "SELECT " IMAGE_COLS " FROM images i WHERE i.id = ?", id,
                    out, err);
  if (r == 0)
    return st_error_set(err, ENOENT, "No such image: %s", id);
  return r < 0 ? -1 : 0;
}

/* By ID prefix: "sha256:abc", "abc". Ambiguous prefixes are an error. */
static int resolve_id_prefix(st_store *s, const char *ref, st_image *out,
                             st_error **err) {
  const char *hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT " IMAGE_COLS " FROM images i WHERE i.id >= ?1"
                    " AND i.id < ?1 || 'g' AND i.id NOT IN"
                    " (SELECT image FROM removed_images) LIMIT 2",
                    &st, err) < 0)
    return -1;
  cleanup_free char *lo = NULL;
  if (asprintf(&lo, "sha256:%s", hex) < 0)
    return st_error_errno(err, ENOMEM, "look up image");
  bind_text(st, 1, lo);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_db_error(s, err, "look up image");
  read_image(st, 0, out);
  if (sqlite3_step(st) == SQLITE_ROW) {
    st_image_clear(out);
    return st_error_set(err, EINVAL,
                        "image ID prefix \"%s\" is ambiguous: it matches "
                        "several images; give more digits",
                        ref);
  }
  return 1;
}

static int resolve_name(st_store *s, const st_ref *r, st_image *out,
                        st_error **err) {
  cleanup_free char *repo = st_ref_repo(r);
  if (repo == NULL)
    return st_error_errno(err, ENOMEM, "look up image");
  if (r->digest) {
    cleanup_free char *key = NULL;
    if (asprintf(&key, "%s@%s", repo, r->digest) < 0)
      return st_error_errno(err, ENOMEM, "look up image");
    return query_one(s,
                     "SELECT " IMAGE_COLS " FROM digests d JOIN images i"
                     " ON i.id = d.image WHERE d.repo || '@' || d.digest = ?"
                     " UNION SELECT " IMAGE_COLS " FROM images i JOIN tags t"
                     " ON t.image = i.id WHERE t.repo || '@' || i.manifest = ?1"
                     " LIMIT 1",
                     key, out, err);
  }
  cleanup_free char *name = NULL;
  if (asprintf(&name, "%s:%s", repo, r->tag) < 0)
    return st_error_errno(err, ENOMEM, "look up image");
  return query_one(s,
                   "SELECT " IMAGE_COLS " FROM tags t JOIN images i"
                   " ON i.id = t.image WHERE t.name = ?",
                   name, out, err);
}

int st_image_resolve(st_store *s, const char *ref, st_image *out,
                     st_error **err) {
  memset(out, 0, sizeof(*out));
  int r = 0;
  st_ref parsed = {0};
  st_error *perr = NULL;
  if (st_ref_parse(ref, &parsed, &perr) == 0) {
    r = resolve_name(s, &parsed, out, err);
    st_ref_clear(&parsed);
    if (r != 0) {
      st_error_free(perr);
      return r < 0 ? -1 : 0;
    }
  }
  if (st_ref_looks_like_id(ref)) {
    st_error_free(perr);
    r = resolve_id_prefix(s, ref, out, err);
    if (r != 0)
      return r < 0 ? -1 : 0;
  } else if (perr) {
    if (err && *err == NULL)
      *err = perr;
    else
      st_error_free(perr);
    return -1;
  }
  return st_error_set(err, ENOENT, "No such image: %s", ref);
}

int st_image_layers(st_store *s, const char *id, st_layer_rec **layers,
                    size_t *n, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT l.blob, l.diff_id, l.media_type, l.blob_size,"
                    " l.size FROM image_layers il JOIN layers l"
                    " ON l.blob = il.blob WHERE il.image = ? ORDER BY il.pos",
                    &st, err) < 0)
    return -1;
  bind_text(st, 1, id);
  st_layer_rec *v = NULL;
  size_t count = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    st_layer_rec *nv = realloc(v, (count + 1) * sizeof(*v));
    if (nv == NULL) {
      st_layers_free(v, count);
      return st_error_errno(err, ENOMEM, "list layers");
    }
    v = nv;
    st_layer_rec *l = &v[count++];
    st_db_digest(st, 0, l->blob);
    st_db_digest(st, 1, l->diff_id);
    l->media_type = st_db_strdup(st, 2);
    l->blob_size = sqlite3_column_int64(st, 3);
    l->size = sqlite3_column_int64(st, 4);
  }
  if (rc != SQLITE_DONE) {
    st_layers_free(v, count);
    return st_db_error(s, err, "list layers");
  }
  *layers = v;
  *n = count;
  return 0;
}

void st_layers_free(st_layer_rec *layers, size_t n) {
  for (size_t i = 0; i < n; i++)
    free((char *)layers[i].media_type);
  free(layers);
}

static int query_strings(st_store *s, const char *sql, const char *arg,
                         char ***out, size_t *n, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, sql, &st, err) < 0)
    return -1;
  bind_text(st, 1, arg);
  char **v = NULL;
  size_t count = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    char **nv = realloc(v, (count + 2) * sizeof(*v));
    if (nv == NULL) {
      st_strv_free(v, count);
      return st_error_errno(err, ENOMEM, "query");
    }
    v = nv;
    v[count++] = st_db_strdup(st, 0);
    v[count] = NULL;
  }
  if (rc != SQLITE_DONE) {
    st_strv_free(v, count);
    return st_db_error(s, err, "query");
  }
  *out = v;
  *n = count;
  return 0;
}

int st_image_tags(st_store *s, const char *id, char ***tags, size_t *n,
                  st_error **err) {
  return query_strings(s, "SELECT name FROM tags WHERE image = ? ORDER BY name",
                       id, tags, n, err);
}

int st_image_digests(st_store *s, const char *id, char ***digests, size_t *n,
                     st_error **err) {
  return query_strings(s,
                       "SELECT repo || '@' || digest FROM digests"
                       " WHERE image = ? ORDER BY 1",
                       id, digests, n, err);
}

void st_strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* True when the store has at least one row matching sql. */
static bool any_row(st_store *s, const char *sql) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, sql, &st, NULL) < 0)
    return true;
  return sqlite3_step(st) == SQLITE_ROW;
}

int st_image_list(st_store *s, st_image_row **rows, size_t *n, st_error **err) {
  /* Most stores have no repo digests or parent links: skipping the
   * per-row subqueries then halves the cost of a listing. */
  bool digests = any_row(s, "SELECT 1 FROM digests LIMIT 1");
  bool parents =
      any_row(s, "SELECT 1 FROM images WHERE parent IS NOT NULL LIMIT 1");
  bool cache = any_row(s, "SELECT 1 FROM build_cache LIMIT 1");
  cleanup_free char *sql = NULL;
  if (asprintf(&sql,
               "SELECT " IMAGE_COLS ", t.name, %s, %s, %s"
               " FROM images i LEFT JOIN tags t ON t.image = i.id"
               " WHERE i.id NOT IN (SELECT image FROM removed_images)"
               " ORDER BY i.created DESC, i.added DESC, t.name",
               digests ? "(SELECT d.repo || '@' || d.digest FROM digests d"
                         " WHERE d.image = i.id AND (t.repo IS NULL OR"
                         " d.repo = t.repo) ORDER BY d.digest LIMIT 1)"
                       : "NULL",
               parents ? "EXISTS (SELECT 1 FROM images c WHERE c.parent = "
                         "i.id)"
                       : "0",
               cache ? "t.name IS NULL AND EXISTS (SELECT 1 FROM build_cache"
                       " b WHERE b.image = i.id) AND NOT EXISTS (SELECT 1"
                       " FROM build_outputs o WHERE o.image = i.id)"
                     : "0") < 0)
    return st_error_errno(err, ENOMEM, "list images");
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, sql, &st, err) < 0)
    return -1;
  st_image_row *v = NULL;
  size_t count = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (count == cap) {
      cap = cap ? cap * 2 : 64;
      st_image_row *nv = realloc(v, cap * sizeof(*v));
      if (nv == NULL) {
        st_image_rows_free(v, count);
        return st_error_errno(err, ENOMEM, "list images");
      }
      v = nv;
    }
    st_image_row *row = &v[count++];
    memset(row, 0, sizeof(*row));
    read_image(st, 0, &row->img);
    row->name = st_db_strdup(st, 7);
    row->repo_digest = st_db_strdup(st, 8);
    row->has_children = sqlite3_column_int(st, 9) != 0;
    row->build_cache = sqlite3_column_int(st, 10) != 0;
  }
  if (rc != SQLITE_DONE) {
    st_image_rows_free(v, count);
    return st_db_error(s, err, "list images");
  }
  *rows = v;
  *n = count;
  return 0;
}

void st_image_rows_free(st_image_row *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    st_image_clear(&rows[i].img);
    free(rows[i].name);
    free(rows[i].repo_digest);
  }
  free(rows);
}

int st_tag_set(st_store *s, const char *tag, const char *id, st_error **err) {
  cleanup_free char *repo = NULL;
  cleanup_free char *t = NULL;
  if (st_ref_split_tag(tag, &repo, &t) < 0)
    return st_error_set(err, EINVAL, "tag \"%s\": expected REPOSITORY:TAG",
                        tag);
  cleanup_stmt sqlite3_stmt *st = NULL;
  cleanup_stmt sqlite3_stmt *same = NULL;
  if (st_tx_begin(s, err) < 0)
    return -1;
  /* A tag that already names the image is left as it is (as Docker does):
   * no write, so that a warm rebuild writes nothing to the database. */
  if (st_db_prepare(s, "SELECT 1 FROM tags WHERE name = ? AND image = ?", &same,
                    err) < 0)
    goto fail;
  bind_text(same, 1, tag);
  bind_text(same, 2, id);
  if (sqlite3_step(same) == SQLITE_ROW)
    return st_tx_commit(s, err);
  /* Inserting by SELECT makes "the image exists" part of the same
   * transaction: a concurrent rmi cannot leave a tag to nothing. */
  if (st_db_prepare(s,
                    "INSERT OR REPLACE INTO tags(name, repo, tag, image, time)"
                    " SELECT ?, ?, ?, id, ? FROM images WHERE id = ?",
                    &st, err) < 0)
    goto fail;
  bind_text(st, 1, tag);
  bind_text(st, 2, repo);
  bind_text(st, 3, t);
  sqlite3_bind_int64(st, 4, now_ns());
  bind_text(st, 5, id);
  if (sqlite3_step(st) != SQLITE_DONE) {
    st_db_error(s, err, "tag");
    goto fail;
  }
  if (sqlite3_changes(s->db) == 0) {
    st_error_set(err, ENOENT, "No such image: %s", id);
    goto fail;
  }
  if (unhide(s, id, err) < 0)
    goto fail;
  return st_tx_commit(s, err);
fail:
  st_tx_rollback(s);
  return -1;
}

int st_tag_remove(st_store *s, const char *tag, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "DELETE FROM tags WHERE name = ?", &st, err) < 0)
    return -1;
  bind_text(st, 1, tag);
  if (sqlite3_step(st) != SQLITE_DONE)
    return st_db_error(s, err, "untag");
  if (sqlite3_changes(s->db) == 0)
    return st_error_set(err, ENOENT, "No such image: %s", tag);
  return 0;
}

/* Runs one statement whose only parameter is id; returns the number of
 * rows it changed, or < 0 with *err set. */
static int exec_with_id(st_store *s, const char *sql, const char *id,
                        const char *what, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, sql, &st, err) < 0)
    return -1;
  bind_text(st, 1, id);
  if (sqlite3_step(st) != SQLITE_DONE)
    return st_db_error(s, err, what);
  return sqlite3_changes(s->db);
}

/* Removes the rows of the given layers that no image uses any more: only
 * the deleted image's layers are looked at (an index lookup each), so
 * pruning many images stays linear. */
static int delete_unused_layers(st_store *s, const st_layer_rec *layers,
                                size_t n, st_error **err) {
  for (size_t i = 0; i < n; i++)
    if (exec_with_id(s,
                     "DELETE FROM layers WHERE blob = ?1 AND NOT EXISTS"
                     " (SELECT 1 FROM image_layers WHERE blob = ?1)",
                     layers[i].blob, "delete layer", err) < 0)
      return -1;
  return 0;
}

static int delete_in_tx(st_store *s, const char *id, bool force,
                        st_error **err) {
  cleanup_stmt sqlite3_stmt *tags = NULL;
  if (st_db_prepare(s, "SELECT count(*) FROM tags WHERE image = ?", &tags,
                    err) < 0)
    return -1;
  bind_text(tags, 1, id);
  bool tagged =
      sqlite3_step(tags) == SQLITE_ROW && sqlite3_column_int(tags, 0) > 0;
  if (tagged && !force)
    return st_error_set(err, EBUSY, "image %s is still tagged", id);
  if (tagged &&
      exec_with_id(s, "DELETE FROM tags WHERE image = ?", id, "untag", err) < 0)
    return -1;
  st_layer_rec *layers = NULL;
  size_t n = 0;
  if (st_image_layers(s, id, &layers, &n, err) < 0)
    return -1;
  int r = exec_with_id(s, "DELETE FROM images WHERE id = ?", id, "delete image",
                       err);
  if (r == 0)
    r = st_error_set(err, ENOENT, "No such image: %s", id);
  if (r > 0)
    r = delete_unused_layers(s, layers, n, err);
  st_layers_free(layers, n);
  return r < 0 ? -1 : 0;
}

int st_image_delete(st_store *s, const char *id, bool force, st_error **err) {
  if (st_tx_begin(s, err) < 0)
    return -1;
  if (delete_in_tx(s, id, force, err) < 0) {
    st_tx_rollback(s);
    return -1;
  }
  return st_tx_commit(s, err);
}

int64_t st_image_last_tag_time(st_store *s, const char *id) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT max(time) FROM tags WHERE image = ?", &st,
                    NULL) < 0)
    return 0;
  bind_text(st, 1, id);
  return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
}

bool st_image_has_children(st_store *s, const char *id) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT 1 FROM images WHERE parent = ? LIMIT 1", &st,
                    NULL) < 0)
    return true; /* unknown: the safe answer for deletion */
  bind_text(st, 1, id);
  return sqlite3_step(st) == SQLITE_ROW;
}

int st_image_hide(st_store *s, const char *id, st_error **err) {
  if (st_tx_begin(s, err) < 0)
    return -1;
  if (exec_with_id(s, "DELETE FROM tags WHERE image = ?", id, "untag", err) <
          0 ||
      exec_with_id(s, "DELETE FROM digests WHERE image = ?", id, "untag", err) <
          0 ||
      exec_with_id(s,
                   "INSERT OR IGNORE INTO removed_images (image) SELECT id"
                   " FROM images WHERE id = ?",
                   id, "delete image", err) < 0) {
    st_tx_rollback(s);
    return -1;
  }
  return st_tx_commit(s, err);
}

/* The hidden images nothing uses any more, into *ids (*n of them). */
static int purgeable(st_store *s, char (**ids)[ST_DIGEST_LEN], size_t *n,
                     st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT image FROM removed_images r WHERE NOT EXISTS"
                    " (SELECT 1 FROM containers c WHERE c.image = r.image)"
                    " AND NOT EXISTS (SELECT 1 FROM images i WHERE"
                    " i.parent = r.image)",
                    &st, err) < 0)
    return -1;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    char(*v)[ST_DIGEST_LEN] = realloc(*ids, (*n + 1) * ST_DIGEST_LEN);
    if (v == NULL)
      return st_error_errno(err, ENOMEM, "delete removed images");
    *ids = v;
    st_db_digest(st, 0, v[(*n)++]);
  }
  return rc == SQLITE_DONE ? 0 : st_db_error(s, err, "delete removed images");
}

int st_images_purge_removed(st_store *s, st_error **err) {
  if (st_tx_begin(s, err) < 0)
    return -1;
  cleanup_free char(*ids)[ST_DIGEST_LEN] = NULL;
  size_t n = 0;
  int r = purgeable(s, &ids, &n, err);
  for (size_t i = 0; r == 0 && i < n; i++)
    r = delete_in_tx(s, ids[i], true, err);
  if (r < 0) {
    st_tx_rollback(s);
    return -1;
  }
  return st_tx_commit(s, err) < 0 ? -1 : (int)n;
}

int st_layer_recorded(st_store *s, const char *blob, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT 1 FROM layers WHERE blob = ?", &st, err) < 0)
    return -1;
  bind_text(st, 1, blob);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    return 1;
  return rc == SQLITE_DONE ? 0 : st_db_error(s, err, "look up layer");
}
