/* Opening the store: directories, the lock file and the SQLite schema. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/containers.h"
#include "store/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

static const char schema_v1[] =
    "CREATE TABLE images ("
    " id TEXT PRIMARY KEY,"    /* sha256 of the config bytes */
    " manifest TEXT NOT NULL," /* digest of the manifest blob */
    " manifest_media_type TEXT NOT NULL,"
    " created INTEGER NOT NULL," /* config created, unix seconds */
    " size INTEGER NOT NULL,"    /* sum of the layers' sizes */
    " added INTEGER NOT NULL,"   /* unix ns this store got it */
    " parent TEXT);"
    "CREATE INDEX images_created ON images(created, added);"
    "CREATE INDEX images_parent ON images(parent);"
    "CREATE TABLE layers ("
    " blob TEXT PRIMARY KEY," /* the stored (maybe compressed) tar */
    " diff_id TEXT NOT NULL," /* sha256 of the uncompressed tar */
    " media_type TEXT NOT NULL,"
    " blob_size INTEGER NOT NULL,"
    " size INTEGER NOT NULL);" /* content bytes once unpacked */
    "CREATE INDEX layers_diff_id ON layers(diff_id);"
    "CREATE TABLE image_layers ("
    " image TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    " pos INTEGER NOT NULL,"
    " blob TEXT NOT NULL REFERENCES layers(blob),"
    " PRIMARY KEY (image, pos));"
    "CREATE INDEX image_layers_blob ON image_layers(blob);"
    "CREATE TABLE tags ("
    " name TEXT PRIMARY KEY," /* docker.io/library/busybox:latest */
    " repo TEXT NOT NULL,"    /* docker.io/library/busybox */
    " tag TEXT NOT NULL,"
    " image TEXT NOT NULL REFERENCES images(id),"
    " time INTEGER NOT NULL DEFAULT 0);" /* unix ns of the last tagging */
    "CREATE INDEX tags_image ON tags(image);"
    "CREATE TABLE digests ("
    " repo TEXT NOT NULL,"
    " digest TEXT NOT NULL," /* manifest digest in that repo */
    " image TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    " PRIMARY KEY (repo, digest));"
    "CREATE INDEX digests_image ON digests(image);";

/* Registries: compressed forms of stored layers, made at push and kept so
 * that the next push does not compress again; and which repositories of a
 * registry are known to hold a blob (cross-repository mounts). */
static const char schema_registry[] =
    "CREATE TABLE compressed ("
    " diff_id TEXT NOT NULL,"   /* the uncompressed layer */
    " algorithm TEXT NOT NULL," /* gzip, zstd */
    " blob TEXT NOT NULL,"      /* the compressed blob */
    " blob_size INTEGER NOT NULL,"
    " media_type TEXT NOT NULL,"
    " PRIMARY KEY (diff_id, algorithm));"
    "CREATE INDEX compressed_blob ON compressed(blob);"
    "CREATE TABLE remote_blobs ("
    " repo TEXT NOT NULL," /* 127.0.0.1:5000/team/app */
    " blob TEXT NOT NULL,"
    " PRIMARY KEY (blob, repo));";

/* Containers (issue 3): one row per container; its files live in
 * containers/<id>/. */
static const char schema_containers[] =
    "CREATE TABLE containers ("
    " id TEXT PRIMARY KEY,"       /* 64 hex digits */
    " name TEXT NOT NULL UNIQUE," /* without Docker's leading "/" */
    " image TEXT NOT NULL,"       /* image ID */
    " image_ref TEXT NOT NULL,"   /* the image as the user named it */
    " command TEXT NOT NULL,"     /* entrypoint + cmd, for display */
    " created INTEGER NOT NULL,"  /* unix ns */
    " state TEXT NOT NULL,"       /* created | running | exited */
    " pid INTEGER NOT NULL DEFAULT 0,"
    " pid_start INTEGER NOT NULL DEFAULT 0," /* start time of pid (ticks) */
    " monitor INTEGER NOT NULL DEFAULT 0,"   /* pid of the waiting process */
    " exit_code INTEGER NOT NULL DEFAULT 0,"
    " started INTEGER NOT NULL DEFAULT 0,"  /* unix ns */
    " finished INTEGER NOT NULL DEFAULT 0," /* unix ns */
    " auto_remove INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX containers_image ON containers(image);";

/* The build cache (store/cache.h): (parent image, step key) -> the image
 * the step made; parent "" for a step on `FROM scratch`. */
static const char schema_build_cache[] =
    "CREATE TABLE build_cache ("
    " parent TEXT NOT NULL,"
    " key TEXT NOT NULL," /* sha256 of the step's inputs */
    " image TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    " instr TEXT NOT NULL,"      /* the instruction as written */
    " inputs TEXT NOT NULL,"     /* JSON: what the key was made of */
    " created INTEGER NOT NULL," /* unix ns */
    " used INTEGER NOT NULL,"    /* unix ns of the last hit */
    " PRIMARY KEY (parent, key));"
    "CREATE INDEX build_cache_image ON build_cache(image);";

/* Content digests of build-context files by file version (store/cache.h),
 * so an unchanged context is not read again. */
static const char schema_file_hashes[] = "CREATE TABLE file_hashes ("
                                         " dev INTEGER NOT NULL,"
                                         " ino INTEGER NOT NULL,"
                                         " size INTEGER NOT NULL,"
                                         " mtime INTEGER NOT NULL," /* ns */
                                         " ctime INTEGER NOT NULL," /* ns */
                                         " digest TEXT NOT NULL,"
                                         " PRIMARY KEY (dev, ino));";

/* Volumes (issue 11, store/volumes.h): one row per volume, its files in
 * volumes/<name>/_data; container_volumes says which container uses which
 * volume (gone with the container's row; a used volume cannot go). */
static const char schema_volumes[] =
    "CREATE TABLE volumes ("
    " name TEXT PRIMARY KEY,"
    " driver TEXT NOT NULL,"     /* local */
    " created INTEGER NOT NULL," /* unix ns */
    " labels TEXT NOT NULL,"     /* JSON object */
    " options TEXT NOT NULL);"   /* JSON object: type, device, o */
    "CREATE TABLE container_volumes ("
    " container TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,"
    " volume TEXT NOT NULL REFERENCES volumes(name),"
    " dest TEXT NOT NULL,"
    " PRIMARY KEY (container, dest));"
    "CREATE INDEX container_volumes_volume ON container_volumes(volume);";

/* The images builds handed to the user (the final image of each build).
 * Every other image a build step made, untagged and childless, belongs to
 * the build cache: hidden by `images`, not dangling, left by `image prune`
 * and removed by `builder prune` (BuildKit keeps its cache out of the image
 * list the same way). */
static const char schema_build_outputs[] =
    "CREATE TABLE build_outputs ("
    " image TEXT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE);";

/* Checksums of whole COPY sources by a fingerprint of their stat data
 * (store/cache.h, st_filehashes_sum_get), so a warm COPY of an unchanged
 * context neither re-hashes nor re-lists its files' records. */
static const char schema_copy_sums[] = "CREATE TABLE copy_sums ("
                                       " fp TEXT PRIMARY KEY,"
                                       " sum TEXT NOT NULL,"
                                       " used INTEGER NOT NULL);"; /* ns */

/* Images `rmi -f` deleted while containers still use them. Docker deletes
 * the image record and the containers keep their layers: here the row
 * stays, without tags or repo digests, so the containers keep their layer
 * chain (rows, blobs, unpacked trees), but no name, ID, listing or prune
 * sees it. It goes for good with the last container that uses it
 * (st_images_purge_removed); pulling, loading or building it again brings
 * it back. */
static const char schema_removed_images[] =
    "CREATE TABLE removed_images ("
    " image TEXT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE);";

/* Networks (store/networks.h): a bridge network's subnet and gateway, and
 * the address of each container attached to it (freed with the
 * container's row). UNIQUE(network, ip) makes a race between two
 * allocations fail rather than share an address. */
static const char schema_networks[] =
    "CREATE TABLE networks ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " driver TEXT NOT NULL," /* bridge | host | null */
    " bridge TEXT NOT NULL," /* device, "" for host and null */
    " subnet TEXT NOT NULL,"
    " gateway TEXT NOT NULL,"
    " internal INTEGER NOT NULL DEFAULT 0,"
    " labels TEXT NOT NULL DEFAULT '{}',"
    " created INTEGER NOT NULL);" /* unix ns */
    "CREATE TABLE network_addrs ("
    " network TEXT NOT NULL REFERENCES networks(id),"
    " container TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,"
    " ip INTEGER NOT NULL," /* host byte order */
    " aliases TEXT NOT NULL DEFAULT '[]',"
    " PRIMARY KEY (network, container),"
    " UNIQUE (network, ip));"
    "CREATE INDEX network_addrs_container ON network_addrs(container);";

/* Schema migrations, applied in order in one transaction: migrations[i]
 * takes the schema from version i to i + 1. Append; never edit a released
 * entry. */
static const char *const migrations[] = {
    schema_v1,
    schema_registry,
    schema_containers,
    schema_build_cache,
    schema_file_hashes,
    schema_volumes,
    schema_build_outputs,
    schema_copy_sums,
    schema_removed_images,
    schema_networks,
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

int st_db_error(st_store *s, st_error **err, const char *what) {
  int rc = sqlite3_errcode(s->db);
  int code = EIO;
  if (rc == SQLITE_FULL)
    code = ENOSPC;
  else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
    code = EBUSY;
  else if (rc == SQLITE_CONSTRAINT)
    code = EEXIST;
  return st_error_set(err, code, "%s: database `%s/strata.db`: %s", what,
                      s->root, sqlite3_errmsg(s->db));
}

int st_db_prepare(st_store *s, const char *sql, sqlite3_stmt **stmt,
                  st_error **err) {
  if (sqlite3_prepare_v2(s->db, sql, -1, stmt, NULL) != SQLITE_OK)
    return st_db_error(s, err, "prepare");
  return 0;
}

int st_db_exec(st_store *s, const char *sql, st_error **err) {
  if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return st_db_error(s, err, "exec");
  return 0;
}

char *st_db_strdup(sqlite3_stmt *stmt, int col) {
  const unsigned char *t = sqlite3_column_text(stmt, col);
  return t ? strdup((const char *)t) : NULL;
}

void st_db_digest(sqlite3_stmt *stmt, int col, char out[ST_DIGEST_LEN]) {
  const unsigned char *t = sqlite3_column_text(stmt, col);
  size_t n = t ? (size_t)sqlite3_column_bytes(stmt, col) : 0;
  if (n >= ST_DIGEST_LEN)
    n = ST_DIGEST_LEN - 1;
  if (n)
    memcpy(out, t, n);
  out[n] = '\0';
}

int st_tx_begin(st_store *s, st_error **err) {
  const char *sql = s->tx_depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT nested";
  if (st_db_exec(s, sql, err) < 0)
    return -1;
  s->tx_depth++;
  return 0;
}

int st_tx_commit(st_store *s, st_error **err) {
  const char *sql = s->tx_depth == 1 ? "COMMIT" : "RELEASE nested";
  if (st_db_exec(s, sql, err) < 0) {
    st_tx_rollback(s);
    return -1;
  }
  s->tx_depth--;
  return 0;
}

void st_tx_rollback(st_store *s) {
  if (s->tx_depth == 0)
    return;
  if (s->tx_depth == 1)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  else
    sqlite3_exec(s->db, "ROLLBACK TO nested; RELEASE nested", NULL, NULL, NULL);
  s->tx_depth--;
}

static int schema_version(st_store *s, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "PRAGMA user_version", &st, err) < 0)
    return -1;
  if (sqlite3_step(st) != SQLITE_ROW)
    return st_db_error(s, err, "read schema version");
  return sqlite3_column_int(st, 0);
}

static int init_schema(st_store *s, st_error **err) {
  int version = schema_version(s, err);
  if (version < 0 || version == SCHEMA_VERSION)
    return version < 0 ? -1 : 0;
  if (version > SCHEMA_VERSION)
    return st_error_set(err, EINVAL,
                        "store `%s` has schema version %d; this strata "
                        "knows up to %d: upgrade strata",
                        s->root, version, SCHEMA_VERSION);
  if (st_db_exec(s, "PRAGMA journal_mode=WAL", err) < 0 ||
      st_tx_begin(s, err) < 0)
    return -1;
  /* Another process may have created it while we waited for the lock. */
  version = schema_version(s, err);
  if (version < 0)
    goto fail;
  if (version < SCHEMA_VERSION)
    st_debug("store %s: schema version %d -> %d", s->root, version,
             SCHEMA_VERSION);
  for (; version < SCHEMA_VERSION; version++)
    if (st_db_exec(s, migrations[version], err) < 0)
      goto fail;
  char sql[64];
  snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", SCHEMA_VERSION);
  if (st_db_exec(s, sql, err) < 0)
    goto fail;
  return st_tx_commit(s, err);
fail:
  st_tx_rollback(s);
  return st_error_wrap(err, "create the store schema");
}

/* The WAL is not bounded by the automatic checkpoint alone. A checkpoint
 * copies the WAL into the database but leaves the file as it is; only a
 * writer that starts after a complete checkpoint, in the same session of
 * the WAL, writes from its start again. Each command is a new process that
 * rebuilds the WAL index from the file (reading all of it) and commits
 * once or twice, so the WAL only ever grew: 14 MB after 1,000 `tag`s, read
 * again by every command. So the WAL is kept under WAL_LIMIT bytes: that
 * is journal_size_limit for restarts within a process, and at close a
 * TRUNCATE checkpoint (copy back, then empty the file) when the file has
 * grown past it. That checkpoint never waits: with another process
 * reading or writing it gives up, and a later close does it. */
#define WAL_LIMIT (1024 * 1024)

static void bound_wal(st_store *s) {
  const char *db = sqlite3_db_filename(s->db, "main");
  cleanup_free char *wal = NULL;
  struct stat st;
  if (db == NULL || *db == '\0' || asprintf(&wal, "%s-wal", db) < 0 ||
      stat(wal, &st) < 0 || st.st_size <= WAL_LIMIT)
    return;
  sqlite3_busy_timeout(s->db, 0);
  sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL,
                            NULL);
}

static int open_db(st_store *s, st_error **err) {
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/strata.db", s->root) < 0)
    return st_error_errno(err, ENOMEM, "open store");
  int rc = sqlite3_open_v2(
      path, &s->db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    return st_error_set(err, EIO, "open database `%s`: %s", path,
                        s->db ? sqlite3_errmsg(s->db) : "out of memory");
  sqlite3_busy_timeout(s->db, 30000);
  /* Every command is a short process. By default the last connection to
   * close checkpoints the WAL into the database (two fsyncs) and deletes
   * the -wal and -shm files, which the next command creates again (another
   * fsync): most of the I/O of a `run`. The WAL is kept instead and
   * checkpointed by SQLite's automatic checkpoint every 100 pages (the
   * first connection to open reads the valid part of the WAL to rebuild
   * its index, so the WAL is kept short). Durability is unchanged for
   * synchronous=NORMAL: a commit is always consistent, and the last ones
   * may be lost on power failure. */
  int one = 1;
  sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
  sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
  char sql[192];
  snprintf(sql, sizeof(sql),
           "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;"
           "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=100;"
           "PRAGMA journal_size_limit=%d",
           WAL_LIMIT);
  if (st_db_exec(s, sql, err) < 0)
    return -1;
  return init_schema(s, err);
}

/* Takes the store lock: exclusive (*alone) when nobody else holds it, then
 * nobody is writing and stale tmp/ files can go; the caller downgrades it
 * to shared (lock_shared) for the life of the handle. */
static int take_lock(st_store *s, bool *alone, st_error **err) {
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/lock", s->root) < 0)
    return st_error_errno(err, ENOMEM, "open store");
  s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lock_fd < 0)
    return st_error_errno(err, errno, "open `%s`", path);
  *alone = flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0;
  if (*alone && !st_dir_is_empty(s->tmp_dir)) {
    st_error *ignored = NULL;
    st_rm_rf(s->tmp_dir, &ignored);
    st_error_free(ignored);
    if (mkdir(s->tmp_dir, 0700) < 0 && errno != EEXIST)
      return st_error_errno(err, errno, "mkdir `%s`", s->tmp_dir);
  }
  return 0;
}

int st_store_busy(st_store *s, st_error **err) {
  /* Push's worker threads write blobs too: the flag is read atomically
   * (taking the shared lock twice is harmless). */
  if (__atomic_load_n(&s->busy, __ATOMIC_ACQUIRE))
    return 0;
  /* Waits while a gc holds it exclusively (a gc is short). */
  while (flock(s->lock_fd, LOCK_SH) < 0)
    if (errno != EINTR)
      return st_error_errno(err, errno, "lock `%s/lock`", s->root);
  __atomic_store_n(&s->busy, true, __ATOMIC_RELEASE);
  return 0;
}

void st_store_idle(st_store *s) {
  if (!s->busy || s->tx_depth > 0)
    return;
  flock(s->lock_fd, LOCK_UN);
  s->busy = false;
}

int st_store_open(const char *root, st_store **out, st_error **err) {
  st_store *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return st_error_errno(err, ENOMEM, "open store");
  s->lock_fd = -1;
  if ((s->root = strdup(root)) == NULL ||
      asprintf(&s->blobs_dir, "%s/blobs/sha256", root) < 0 ||
      asprintf(&s->tmp_dir, "%s/tmp", root) < 0) {
    st_store_close(s);
    return st_error_errno(err, ENOMEM, "open store");
  }
  bool alone = false;
  if (st_mkdir_p(s->blobs_dir, 0700, err) < 0 ||
      st_mkdir_p(s->tmp_dir, 0700, err) < 0 || take_lock(s, &alone, err) < 0) {
    st_store_close(s);
    return st_error_wrap(err, "open store `%s`", root);
  }
  /* Not alone: the database is opened under the shared lock, so never
   * while the process that is alone creates or migrates the schema (two
   * processes doing it at once saw "database is locked" from SQLite's
   * switch to WAL, which does not wait on its busy handler). */
  if (!alone)
    while (flock(s->lock_fd, LOCK_SH) < 0 && errno == EINTR)
      ;
  int r = open_db(s, err);
  if (!alone)
    flock(s->lock_fd, LOCK_UN);
  if (r < 0) {
    st_store_close(s);
    return st_error_wrap(err, "open store `%s`", root);
  }
  /* Alone: a container directory without a row (or a row without its
   * directory) is what a killed `run`/`create`/`rm` left; nobody can be
   * between the two steps now. */
  st_debug("store %s opened%s", root,
           alone ? " (no other process uses it: sweeping leftovers)" : "");
  if (alone)
    st_containers_sweep(s);
  /* Not busy until it writes or reads blobs (st_store_busy). */
  if (alone)
    flock(s->lock_fd, LOCK_UN);
  *out = s;
  return 0;
}

void st_store_close(st_store *s) {
  if (s == NULL)
    return;
  while (s->tx_depth > 0)
    st_tx_rollback(s);
  if (s->db) {
    bound_wal(s);
    sqlite3_close(s->db);
  }
  st_container_unlock_all(s);
  if (s->lock_fd >= 0)
    close(s->lock_fd);
  free(s->root);
  free(s->blobs_dir);
  free(s->tmp_dir);
  free(s);
}

const char *st_store_root(const st_store *s) {
  return s->root;
}
