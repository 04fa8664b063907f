/* Container rows in SQLite. */
#include "store/containers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/events.h"
#include "store/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define COLUMNS                                                                \
  "id, name, image, image_ref, command, created, state, pid, pid_start, "      \
  "monitor, exit_code, started, finished, auto_remove"

static const char *const state_names[] = {"created", "running", "exited"};

const char *st_ct_state_name(st_ct_state s) {
  return (unsigned)s < 3 ? state_names[s] : "unknown";
}

static st_ct_state parse_state(const char *s) {
  for (int i = 0; i < 3; i++)
    if (s && strcmp(s, state_names[i]) == 0)
      return (st_ct_state)i;
  return ST_CT_EXITED;
}

int64_t st_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void st_container_clear(st_container *c) {
  free(c->name);
  free(c->image_ref);
  free(c->command);
  memset(c, 0, sizeof(*c));
}

void st_containers_free(st_container *c, size_t n) {
  for (size_t i = 0; i < n && c; i++)
    st_container_clear(&c[i]);
  free(c);
}

char *st_container_dir(const st_store *s, const char *id) {
  char *p = NULL;
  if (asprintf(&p, "%s/containers/%s", st_store_root(s), id) < 0)
    return NULL;
  return p;
}

static int read_row(sqlite3_stmt *st, st_container *c) {
  memset(c, 0, sizeof(*c));
  snprintf(c->id, sizeof(c->id), "%s", sqlite3_column_text(st, 0));
  c->name = st_db_strdup(st, 1);
  st_db_digest(st, 2, c->image);
  c->image_ref = st_db_strdup(st, 3);
  c->command = st_db_strdup(st, 4);
  c->created = sqlite3_column_int64(st, 5);
  c->state = parse_state((const char *)sqlite3_column_text(st, 6));
  c->pid = (pid_t)sqlite3_column_int64(st, 7);
  c->pid_start = (uint64_t)sqlite3_column_int64(st, 8);
  c->monitor = (pid_t)sqlite3_column_int64(st, 9);
  c->exit_code = sqlite3_column_int(st, 10);
  c->started = sqlite3_column_int64(st, 11);
  c->finished = sqlite3_column_int64(st, 12);
  c->auto_remove = sqlite3_column_int(st, 13) != 0;
  if (!c->name || !c->image_ref || !c->command) {
    st_container_clear(c);
    return -1;
  }
  return 0;
}

bool st_container_name_taken(st_store *s, const char *name) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT 1 FROM containers WHERE name = ?", &st, NULL) <
      0)
    return false;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  return sqlite3_step(st) == SQLITE_ROW;
}

static int name_conflict(st_store *s, const char *name, st_error **err) {
  st_container other;
  st_error *ignored = NULL;
  if (st_container_find(s, name, &other, &ignored) < 0) {
    st_error_free(ignored);
    return st_error_set(err, EEXIST,
                        "Conflict. The container name \"/%s\" "
                        "is already in use",
                        name);
  }
  st_error_set(err, EEXIST,
               "Conflict. The container name \"/%s\" is already in use by "
               "container \"%s\". You have to remove (or rename) that "
               "container to be able to reuse that name.",
               name, other.id);
  st_container_clear(&other);
  return -1;
}

int st_container_insert(st_store *s, const st_container *c, st_error **err) {
  if (st_container_name_taken(s, c->name))
    return name_conflict(s, c->name, err);
  cleanup_stmt sqlite3_stmt *st = NULL;
  /* The image must still exist when the row goes in: rmi and prune check
   * for containers inside their write transaction, and this statement is
   * one (serialized with theirs). */
  if (st_db_prepare(s,
                    "INSERT INTO containers (" COLUMNS ") SELECT "
                    "?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14 "
                    "WHERE EXISTS (SELECT 1 FROM images WHERE id = ?3)",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, c->image, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, c->image_ref, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, c->command, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, c->created);
  sqlite3_bind_text(st, 7, st_ct_state_name(c->state), -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 8, c->pid);
  sqlite3_bind_int64(st, 9, (int64_t)c->pid_start);
  sqlite3_bind_int64(st, 10, c->monitor);
  sqlite3_bind_int(st, 11, c->exit_code);
  sqlite3_bind_int64(st, 12, c->started);
  sqlite3_bind_int64(st, 13, c->finished);
  sqlite3_bind_int(st, 14, c->auto_remove);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_CONSTRAINT)
    return name_conflict(s, c->name, err);
  if (rc != SQLITE_DONE)
    return st_db_error(s, err, "record container");
  if (sqlite3_changes(s->db) == 0)
    return st_error_set(err, ENOENT,
                        "image %s (%.12s) was removed by another command "
                        "while the container was being created",
                        c->image_ref, st_digest_hex(c->image));
  st_event_emit(
      s, "container", "create", c->id,
      json_pack("{s:s, s:s}", "image", c->image_ref, "name", c->name));
  return 0;
}

static int find_by(st_store *s, const char *sql, const char *arg,
                   st_container *out, int *found, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, sql, &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
  *found = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (++*found > 1) {
      st_container_clear(out);
      return 0;
    }
    if (read_row(st, out) < 0)
      return st_error_errno(err, ENOMEM, "read container");
  }
  if (rc != SQLITE_DONE) {
    if (*found)
      st_container_clear(out);
    return st_db_error(s, err, "find container");
  }
  return 0;
}

static bool hex_prefix(const char *ref) {
  size_t n = strlen(ref);
  return n > 0 && n <= 64 && strspn(ref, "0123456789abcdef") == n;
}

int st_container_find(st_store *s, const char *ref, st_container *out,
                      st_error **err) {
  int found = 0;
  const char *name = ref[0] == '/' ? ref + 1 : ref;
  if (find_by(s,
              "SELECT " COLUMNS " FROM containers WHERE id = ?1 OR "
              "name = ?1",
              name, out, &found, err) < 0)
    return -1;
  if (found == 1)
    return 0;
  if (found == 0 && hex_prefix(ref)) {
    cleanup_free char *pat = NULL;
    if (asprintf(&pat, "%s*", ref) < 0)
      return st_error_errno(err, ENOMEM, "find container");
    if (find_by(s, "SELECT " COLUMNS " FROM containers WHERE id GLOB ?", pat,
                out, &found, err) < 0)
      return -1;
    if (found == 1)
      return 0;
  }
  if (found > 1)
    return st_error_set(
        err, EINVAL, "multiple containers found with provided prefix: %s", ref);
  return st_error_set(err, ENOENT, "No such container: %s", ref);
}

int st_container_list(st_store *s, st_container **out, size_t *n,
                      st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(
          s, "SELECT " COLUMNS " FROM containers ORDER BY created DESC, id",
          &st, err) < 0)
    return -1;
  st_container *v = NULL;
  size_t len = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (len == cap) {
      cap = cap ? cap * 2 : 16;
      st_container *nv = realloc(v, cap * sizeof(*nv));
      if (nv == NULL)
        break;
      v = nv;
    }
    if (read_row(st, &v[len]) < 0)
      break;
    len++;
  }
  if (rc != SQLITE_DONE) {
    st_containers_free(v, len);
    return rc == SQLITE_ROW ? st_error_errno(err, ENOMEM, "list containers")
                            : st_db_error(s, err, "list containers");
  }
  *out = v;
  *n = len;
  return 0;
}

/* Runs an UPDATE/DELETE binding id as ?1; ENOENT when no row changed. */
static int update(st_store *s, const char *sql, const char *id,
                  sqlite3_stmt **keep, st_error **err) {
  if (sqlite3_step(*keep) != SQLITE_DONE)
    return st_db_error(s, err, sql);
  if (sqlite3_changes(s->db) == 0)
    return st_error_set(err, ENOENT, "No such container: %s", id);
  return 0;
}

int st_container_set_running(st_store *s, const char *id, pid_t pid,
                             uint64_t pid_start, pid_t monitor,
                             st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  const char *sql = "UPDATE containers SET state = 'running', pid = ?2, "
                    "pid_start = ?3, monitor = ?4, started = ?5, "
                    "finished = 0, exit_code = 0 WHERE id = ?1";
  if (st_db_prepare(s, sql, &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, pid);
  sqlite3_bind_int64(st, 3, (int64_t)pid_start);
  sqlite3_bind_int64(st, 4, monitor);
  sqlite3_bind_int64(st, 5, st_now_ns());
  if (update(s, "start container", id, &st, err) < 0)
    return -1;
  st_event_container(s, id, "start", NULL, NULL);
  return 0;
}

int st_container_set_exited(st_store *s, const char *id, int exit_code,
                            int64_t finished, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  const char *sql = "UPDATE containers SET state = 'exited', pid = 0, "
                    "monitor = 0, exit_code = ?2, finished = ?3 "
                    "WHERE id = ?1";
  if (st_db_prepare(s, sql, &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, exit_code);
  sqlite3_bind_int64(st, 3, finished > 0 ? finished : st_now_ns());
  if (update(s, "stop container", id, &st, err) < 0)
    return -1;
  char code[16];
  snprintf(code, sizeof(code), "%d", exit_code);
  st_event_container(s, id, "die", "exitCode", code);
  return 0;
}

int st_container_rename(st_store *s, const char *id, const char *name,
                        st_error **err) {
  if (st_container_name_taken(s, name))
    return name_conflict(s, name, err);
  st_container old = {0};
  if (st_container_find(s, id, &old, err) < 0)
    return -1;
  cleanup_free char *old_name = old.name ? strdup(old.name) : NULL;
  st_container_clear(&old);
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "UPDATE containers SET name = ?2 WHERE id = ?1", &st,
                    err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
  if (update(s, "rename container", id, &st, err) < 0)
    return -1;
  st_event_container(s, id, "rename", "oldName", old_name ? old_name : "");
  return 0;
}

int st_container_delete(st_store *s, const char *id, st_error **err) {
  st_container c = {0};
  st_error *e = NULL;
  json_t *a = NULL;
  if (st_container_find(s, id, &c, &e) == 0)
    a = json_pack("{s:s, s:s}", "image", c.image_ref, "name", c.name);
  st_container_clear(&c);
  st_error_free(e);
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "DELETE FROM containers WHERE id = ?1", &st, err) < 0) {
    json_decref(a);
    return -1;
  }
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  if (update(s, "remove container", id, &st, err) < 0) {
    json_decref(a);
    return -1;
  }
  st_event_emit(s, "container", "destroy", id, a);
  return 0;
}

/* ---- the container lock ------------------------------------------------ */

static struct st_ct_lock *held(st_store *s, const char *id) {
  for (size_t i = 0; i < s->n_ct_locks; i++)
    if (strcmp(s->ct_locks[i].id, id) == 0)
      return &s->ct_locks[i];
  return NULL;
}

/* flock with LOCK_NB, retried every 10 ms up to a minute when wait. */
static int lock_dir(int fd, bool wait) {
  for (int i = 0;; i++) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
      return 0;
    if (errno != EWOULDBLOCK && errno != EINTR)
      return -1;
    if (!wait || i >= 6000) {
      errno = EBUSY;
      return -1;
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

int st_container_lock(st_store *s, const char *id, bool wait, st_error **err) {
  if (held(s, id))
    return 0;
  cleanup_free char *dir = st_container_dir(s, id);
  if (dir == NULL)
    return st_error_errno(err, ENOMEM, "lock container");
  struct st_ct_lock *v = realloc(s->ct_locks, (s->n_ct_locks + 1) * sizeof(*v));
  if (v == NULL)
    return st_error_errno(err, ENOMEM, "lock container");
  s->ct_locks = v;
  cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* No directory (a row a crash left): nothing to hold; the caller reads
   * the row again anyway. */
  if (fd < 0 && errno == ENOENT)
    return 0;
  if (fd < 0)
    return st_error_errno(err, errno, "open `%s`", dir);
  if (lock_dir(fd, wait) < 0) {
    if (errno == EBUSY)
      return st_error_set(err, EBUSY,
                          "container %.12s is being started or removed by "
                          "another command",
                          id);
    return st_error_errno(err, errno, "lock `%s`", dir);
  }
  /* Removed while we waited: the directory is unlinked. */
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_nlink == 0)
    return st_error_set(err, ENOENT, "No such container: %s", id);
  struct st_ct_lock *l = &s->ct_locks[s->n_ct_locks++];
  snprintf(l->id, sizeof(l->id), "%s", id);
  l->fd = fd;
  fd = -1;
  return 0;
}

bool st_container_lock_held(st_store *s, const char *id) {
  return held(s, id) != NULL;
}

void st_container_unlock(st_store *s, const char *id) {
  struct st_ct_lock *l = held(s, id);
  if (l == NULL)
    return;
  close(l->fd);
  *l = s->ct_locks[--s->n_ct_locks];
}

void st_container_unlock_all(st_store *s) {
  for (size_t i = 0; i < s->n_ct_locks; i++)
    close(s->ct_locks[i].fd);
  free(s->ct_locks);
  s->ct_locks = NULL;
  s->n_ct_locks = 0;
}

/* ---- crash leftovers ----------------------------------------------------- */

static bool id_like(const char *name) {
  return strlen(name) == 64 && strspn(name, "0123456789abcdef") == 64;
}

static void sweep_dirs(st_store *s, const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  cleanup_stmt sqlite3_stmt *st = NULL;
  while ((e = readdir(d)) != NULL) {
    if (!id_like(e->d_name))
      continue;
    if (st == NULL && st_db_prepare(s, "SELECT 1 FROM containers WHERE id = ?",
                                    &st, NULL) < 0)
      break;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, e->d_name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
      continue; /* it has a row (or the database is busy: keep it) */
    cleanup_free char *p = NULL;
    st_error *ignored = NULL;
    if (asprintf(&p, "%s/%s", dir, e->d_name) > 0 && st_rm_rf(p, &ignored) < 0)
      st_error_free(ignored);
  }
  closedir(d);
}

static void sweep_rows(st_store *s, const char *dir) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT id FROM containers WHERE state != 'running'",
                    &st, NULL) < 0)
    return;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    cleanup_free char *p = NULL;
    if (id == NULL || asprintf(&p, "%s/%s", dir, id) < 0 ||
        access(p, F_OK) == 0)
      continue;
    st_error *ignored = NULL;
    if (st_container_delete(s, id, &ignored) < 0)
      st_error_free(ignored);
  }
}

void st_containers_sweep(st_store *s) {
  cleanup_free char *dir = NULL;
  if (asprintf(&dir, "%s/containers", st_store_root(s)) < 0)
    return;
  sweep_dirs(s, dir);
  sweep_rows(s, dir);
}
