/* Volume rows in SQLite. */
#include "store/volumes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>

#include "store/fsck.h"
#include "store/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

void st_volume_clear(st_volume *v) {
  free(v->name);
  free(v->driver);
  free(v->labels);
  free(v->options);
  memset(v, 0, sizeof(*v));
}

void st_volumes_free(st_volume *v, size_t n) {
  for (size_t i = 0; i < n && v; i++)
    st_volume_clear(&v[i]);
  free(v);
}

bool st_volume_name_valid(const char *name) {
  static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  size_t len = strlen(name);
  return len >= 2 && strchr(alnum, name[0]) != NULL &&
         strspn(name + 1, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len - 1;
}

char *st_volume_dir(const st_store *s, const char *name) {
  char *p = NULL;
  if (asprintf(&p, "%s/volumes/%s", st_store_root(s), name) < 0)
    return NULL;
  return p;
}

static int read_row(sqlite3_stmt *st, st_volume *v) {
  memset(v, 0, sizeof(*v));
  v->name = st_db_strdup(st, 0);
  v->driver = st_db_strdup(st, 1);
  v->created = sqlite3_column_int64(st, 2);
  v->labels = st_db_strdup(st, 3);
  v->options = st_db_strdup(st, 4);
  if (!v->name || !v->driver || !v->labels || !v->options) {
    st_volume_clear(v);
    return -1;
  }
  return 0;
}

int st_volume_insert(st_store *s, const st_volume *v, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "INSERT INTO volumes (name, driver, created, labels, "
                    "options) VALUES (?,?,?,?,?)",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, v->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, v->driver, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, v->created);
  sqlite3_bind_text(st, 4, v->labels, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, v->options, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_CONSTRAINT)
    return st_error_set(err, EEXIST, "volume %s already exists", v->name);
  if (rc != SQLITE_DONE)
    return st_db_error(s, err, "record volume");
  return 0;
}

int st_volume_get(st_store *s, const char *name, st_volume *out,
                  st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT name, driver, created, labels, options FROM "
                    "volumes WHERE name = ?",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return st_error_set(err, ENOENT, "get %s: no such volume", name);
  if (rc != SQLITE_ROW)
    return st_db_error(s, err, "read volume");
  if (read_row(st, out) < 0)
    return st_error_errno(err, ENOMEM, "read volume %s", name);
  return 0;
}

int st_volume_list(st_store *s, st_volume **out, size_t *n, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  *out = NULL;
  *n = 0;
  if (st_db_prepare(s,
                    "SELECT name, driver, created, labels, options FROM "
                    "volumes ORDER BY name",
                    &st, err) < 0)
    return -1;
  st_volume *v = NULL;
  size_t len = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    st_volume *nv = realloc(v, (len + 1) * sizeof(*v));
    if (nv == NULL || read_row(st, &nv[len]) < 0) {
      st_volumes_free(nv ? nv : v, len);
      return st_error_errno(err, ENOMEM, "list volumes");
    }
    v = nv;
    len++;
  }
  if (rc != SQLITE_DONE) {
    st_volumes_free(v, len);
    return st_db_error(s, err, "list volumes");
  }
  *out = v;
  *n = len;
  return 0;
}

static int column_list(st_store *s, const char *sql, const char *arg,
                       char ***out, size_t *n, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  *out = NULL;
  *n = 0;
  if (st_db_prepare(s, sql, &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
  char **v = NULL;
  size_t len = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    char **nv = realloc(v, (len + 2) * sizeof(*v));
    if (nv == NULL || (nv[len] = st_db_strdup(st, 0)) == NULL) {
      st_strv_free(nv ? nv : v, len);
      return st_error_errno(err, ENOMEM, "list volumes");
    }
    v = nv;
    v[++len] = NULL;
  }
  if (rc != SQLITE_DONE) {
    st_strv_free(v, len);
    return st_db_error(s, err, "list volume users");
  }
  *out = v;
  *n = len;
  return 0;
}

int st_volume_users(st_store *s, const char *name, char ***ids, size_t *n,
                    st_error **err) {
  return column_list(s,
                     "SELECT DISTINCT container FROM container_volumes "
                     "WHERE volume = ? ORDER BY container",
                     name, ids, n, err);
}

int st_volume_anonymous_of(st_store *s, const char *container, char ***names,
                           size_t *n, st_error **err) {
  return column_list(s,
                     "SELECT DISTINCT cv.volume FROM container_volumes cv "
                     "JOIN volumes v ON v.name = cv.volume WHERE "
                     "cv.container = ? AND json_extract(v.labels, "
                     "'$.\"" ST_VOLUME_ANON_LABEL "\"') IS NOT NULL",
                     container, names, n, err);
}

int st_volume_attach(st_store *s, const char *container, const char *volume,
                     const char *dest, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "INSERT OR REPLACE INTO container_volumes (container, "
                    "volume, dest) VALUES (?,?,?)",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, container, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, volume, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, dest, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE)
    return st_db_error(s, err, "record the volumes of a container");
  return 0;
}

int st_volume_delete(st_store *s, const char *name, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "DELETE FROM volumes WHERE name = ?", &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_CONSTRAINT)
    return st_error_set(err, EBUSY, "remove %s: volume is in use", name);
  if (rc != SQLITE_DONE)
    return st_db_error(s, err, "remove volume");
  if (sqlite3_changes(s->db) == 0)
    return st_error_set(err, ENOENT, "get %s: no such volume", name);
  return 0;
}

static int volume_problem(st_fsck_report *r, const char *name, const char *msg,
                          st_error **err) {
  st_fsck_problem *v =
      realloc(r->problems, (r->n_problems + 1) * sizeof(*r->problems));
  if (v == NULL)
    return st_error_errno(err, ENOMEM, "check volumes");
  r->problems = v;
  st_fsck_problem *p = &r->problems[r->n_problems];
  p->kind = ST_FSCK_VOLUME;
  p->subject = strdup(name);
  p->msg = NULL;
  if (p->subject == NULL || asprintf(&p->msg, "volume %s: %s", name, msg) < 0) {
    free(p->subject);
    return st_error_errno(err, ENOMEM, "check volumes");
  }
  r->n_problems++;
  return 0;
}

static bool has_data_dir(const st_store *s, const char *name) {
  cleanup_free char *dir = st_volume_dir(s, name), *data = NULL;
  struct stat st;
  return dir && asprintf(&data, "%s/_data", dir) > 0 && stat(data, &st) == 0 &&
         S_ISDIR(st.st_mode);
}

int st_volumes_check(st_store *s, st_fsck_report *r, st_error **err) {
  st_volume *v = NULL;
  size_t n = 0;
  if (st_volume_list(s, &v, &n, err) < 0)
    return -1;
  int ret = 0;
  for (size_t i = 0; ret == 0 && i < n; i++) {
    cleanup_free char *msg = NULL;
    if (has_data_dir(s, v[i].name))
      continue;
    if (asprintf(&msg,
                 "recorded, but its directory volumes/%s/_data is "
                 "missing",
                 v[i].name) < 0)
      ret = st_error_errno(err, ENOMEM, "check volumes");
    else
      ret = volume_problem(r, v[i].name, msg, err);
  }
  st_volumes_free(v, n);
  cleanup_free char *root = NULL;
  if (ret < 0 || asprintf(&root, "%s/volumes", s->root) < 0)
    return ret < 0 ? -1 : st_error_errno(err, ENOMEM, "check volumes");
  DIR *d = opendir(root);
  struct dirent *e;
  while (ret == 0 && d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    st_volume one;
    st_error *ignored = NULL;
    if (st_volume_get(s, e->d_name, &one, &ignored) == 0) {
      st_volume_clear(&one);
      continue;
    }
    if (ignored->code == ENOENT)
      ret = volume_problem(r, e->d_name,
                           "a directory in volumes/ without a record", err);
    st_error_free(ignored);
  }
  if (d)
    closedir(d);
  return ret;
}

int st_volume_repair(st_store *s, const char *name, st_error **err) {
  cleanup_free char *dir = st_volume_dir(s, name), *data = NULL;
  if (dir == NULL || asprintf(&data, "%s/_data", dir) < 0)
    return st_error_errno(err, ENOMEM, "repair volume");
  st_volume v;
  st_error *e = NULL;
  if (st_volume_get(s, name, &v, &e) == 0) {
    st_volume_clear(&v);
    return st_mkdir_p(data, 0755, err);
  }
  bool missing = e->code == ENOENT;
  st_error_free(e);
  return missing ? st_rm_rf(dir, err) : 0;
}

int64_t st_container_volume_count(st_store *s, const char *container) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(
          s, "SELECT count(*) FROM container_volumes WHERE container = ?", &st,
          NULL) < 0)
    return 0;
  sqlite3_bind_text(st, 1, container, -1, SQLITE_STATIC);
  return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
}
