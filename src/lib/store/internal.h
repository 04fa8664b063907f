/* Private to src/lib/store: the store handle and SQLite helpers. */
#ifndef STRATA_STORE_INTERNAL_H
#define STRATA_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

struct st_store {
  char *root;
  char *blobs_dir; /* <root>/blobs/sha256 */
  char *tmp_dir;   /* <root>/tmp */
  sqlite3 *db;
  int lock_fd;  /* <root>/lock: shared while busy, exclusive for gc */
  bool busy;    /* lock_fd held shared (st_store_busy) */
  int tx_depth; /* nesting of st_tx_begin */
  /* container locks this handle holds (store/containers.h) */
  struct st_ct_lock *ct_locks;
  size_t n_ct_locks;
};

struct st_ct_lock {
  char id[65]; /* container ID */
  int fd;      /* containers/<id>/, flock'ed exclusively */
};

/* Releases every container lock of the handle (st_store_close). */
void st_container_unlock_all(st_store *s);

/* Sets *err from the database's last error, with context. */
int st_db_error(st_store *s, st_error **err, const char *what);
/* Prepares sql; on failure sets *err. */
int st_db_prepare(st_store *s, const char *sql, sqlite3_stmt **stmt,
                  st_error **err);
/* Runs sql without results. */
int st_db_exec(st_store *s, const char *sql, st_error **err);

static inline void st_finalizep(sqlite3_stmt **stmt) {
  sqlite3_finalize(*stmt);
}
#define cleanup_stmt __attribute__((cleanup(st_finalizep)))

/* Column helpers: a copy of a text column (NULL for SQL NULL). */
char *st_db_strdup(sqlite3_stmt *stmt, int col);
void st_db_digest(sqlite3_stmt *stmt, int col, char out[ST_DIGEST_LEN]);

#endif
