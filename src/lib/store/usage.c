/* `system df`: how many bytes the images take, shared and unique. */
#include "store/usage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util/cleanup.h"

int64_t st_image_container_count(st_store *s, const char *id) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT count(*) FROM containers WHERE image = ?", &st,
                    NULL) < 0)
    return 0;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
}

int st_image_user(st_store *s, const char *id, char user[ST_CT_ID_LEN],
                  bool *running) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT id, state = 'running' FROM containers WHERE "
                    "image = ? ORDER BY state = 'running' DESC, created "
                    "LIMIT 1",
                    &st, NULL) < 0)
    return 0;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW)
    return 0;
  snprintf(user, ST_CT_ID_LEN, "%s", (const char *)sqlite3_column_text(st, 0));
  *running = sqlite3_column_int(st, 1) != 0;
  return 1;
}

void st_usage_clear(st_usage *u) {
  for (size_t i = 0; i < u->n_images; i++) {
    st_image_clear(&u->images[i].img);
    free(u->images[i].name);
  }
  free(u->images);
  memset(u, 0, sizeof(*u));
}

static int cmp_row_index(const void *a, const void *b, void *arg) {
  const st_image_row *rows = arg;
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  int c = strcmp(rows[i].img.id, rows[j].img.id);
  return c ? c : (i > j) - (i < j);
}

/* One entry per image, in listing order, from the listing's rows (one per
 * tag; an image's first row carries its first tag). Takes the strings of
 * the rows it keeps. */
static int images_from_rows(st_image_row *rows, size_t n, st_usage *u,
                            st_error **err) {
  cleanup_free size_t *order = calloc(n ? n : 1, sizeof(*order));
  cleanup_free bool *first = calloc(n ? n : 1, sizeof(*first));
  u->images = calloc(n ? n : 1, sizeof(*u->images));
  if (order == NULL || first == NULL || u->images == NULL)
    return st_error_errno(err, ENOMEM, "disk usage");
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  qsort_r(order, n, sizeof(*order), cmp_row_index, rows);
  for (size_t k = 0; k < n; k++)
    first[order[k]] =
        k == 0 || strcmp(rows[order[k - 1]].img.id, rows[order[k]].img.id);
  for (size_t i = 0; i < n; i++) {
    if (!first[i])
      continue;
    st_image_usage *iu = &u->images[u->n_images++];
    iu->dangling = st_image_row_dangling(&rows[i]);
    iu->img = rows[i].img;
    memset(&rows[i].img, 0, sizeof(rows[i].img));
    iu->name = steal_pointer(&rows[i].name);
  }
  return 0;
}

static int cmp_usage_ptr(const void *a, const void *b) {
  const st_image_usage *x = *(const st_image_usage *const *)a;
  const st_image_usage *y = *(const st_image_usage *const *)b;
  return strcmp(x->img.id, y->img.id);
}

/* Per image, the bytes of its layers that another image uses as well. */
static const char shared_sql[] =
    "WITH uses AS (SELECT DISTINCT image, blob FROM image_layers),"
    " shared AS (SELECT blob FROM uses GROUP BY blob HAVING count(*) > 1)"
    " SELECT u.image, sum(l.size) FROM uses u JOIN layers l"
    " ON l.blob = u.blob WHERE u.blob IN shared GROUP BY u.image";

static int fill_shared(st_store *s, st_usage *u, st_error **err) {
  cleanup_free st_image_usage **by_id =
      calloc(u->n_images ? u->n_images : 1, sizeof(*by_id));
  if (by_id == NULL)
    return st_error_errno(err, ENOMEM, "disk usage");
  for (size_t i = 0; i < u->n_images; i++)
    by_id[i] = &u->images[i];
  qsort(by_id, u->n_images, sizeof(*by_id), cmp_usage_ptr);
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, shared_sql, &st, err) < 0)
    return -1;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    st_image_usage key = {0};
    st_image_usage *pkey = &key;
    st_db_digest(st, 0, key.img.id);
    st_image_usage **hit =
        bsearch(&pkey, by_id, u->n_images, sizeof(*by_id), cmp_usage_ptr);
    if (hit)
      (*hit)->shared = sqlite3_column_int64(st, 1);
  }
  if (rc != SQLITE_DONE)
    return st_db_error(s, err, "disk usage");
  return 0;
}

static bool blob_in(const st_layer_rec *v, size_t n, const char *blob) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].blob, blob) == 0)
      return true;
  return false;
}

/* Bytes of the layers some image in use needs, each counted once. */
static int in_use_bytes(st_store *s, st_usage *u, int64_t *out,
                        st_error **err) {
  *out = 0;
  cleanup_free st_layer_rec *seen = NULL;
  size_t n_seen = 0;
  for (size_t i = 0; i < u->n_images; i++) {
    if (u->images[i].containers == 0)
      continue;
    st_layer_rec *l = NULL;
    size_t n = 0;
    if (st_image_layers(s, u->images[i].img.id, &l, &n, err) < 0)
      return -1;
    st_layer_rec *v = realloc(seen, (n_seen + n + 1) * sizeof(*v));
    if (v == NULL) {
      st_layers_free(l, n);
      return st_error_errno(err, ENOMEM, "disk usage");
    }
    seen = v;
    for (size_t j = 0; j < n; j++) {
      if (blob_in(seen, n_seen, l[j].blob))
        continue;
      seen[n_seen] = l[j];
      seen[n_seen++].media_type = NULL;
      *out += l[j].size;
    }
    st_layers_free(l, n);
  }
  return 0;
}

static int total_bytes(st_store *s, int64_t *out, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT coalesce(sum(size), 0) FROM layers WHERE blob IN"
                    " (SELECT blob FROM image_layers)",
                    &st, err) < 0)
    return -1;
  if (sqlite3_step(st) != SQLITE_ROW)
    return st_db_error(s, err, "disk usage");
  *out = sqlite3_column_int64(st, 0);
  return 0;
}

static int usage_read(st_store *s, st_usage *u, st_error **err) {
  st_image_row *rows = NULL;
  size_t n = 0;
  if (st_image_list(s, &rows, &n, err) < 0)
    return -1;
  int r = images_from_rows(rows, n, u, err);
  st_image_rows_free(rows, n);
  if (r < 0)
    return -1;
  for (size_t i = 0; i < u->n_images; i++) {
    st_image_usage *iu = &u->images[i];
    iu->containers = st_image_container_count(s, iu->img.id);
    if (iu->containers > 0)
      u->active++;
  }
  int64_t used = 0;
  if (fill_shared(s, u, err) < 0 || total_bytes(s, &u->size, err) < 0 ||
      in_use_bytes(s, u, &used, err) < 0)
    return -1;
  u->reclaimable = u->size - used;
  return 0;
}

int st_disk_usage(st_store *s, st_usage *u, st_error **err) {
  memset(u, 0, sizeof(*u));
  /* One read snapshot, so that the numbers add up while others write. */
  bool own_tx = s->tx_depth == 0;
  if (own_tx && st_db_exec(s, "BEGIN", err) < 0)
    return st_error_wrap(err, "disk usage");
  int r = usage_read(s, u, err);
  if (own_tx)
    sqlite3_exec(s->db, r < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
  if (r < 0) {
    st_usage_clear(u);
    return st_error_wrap(err, "disk usage");
  }
  return 0;
}
