/* `system check`: blobs against their names, images against their blobs,
 * records against each other; and `--repair`. */
#include "store/fsck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/fsck_internal.h"
#include "store/internal.h"
#include "store/usage.h"
#include "store/volumes.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define HASH_CHUNK (64 * 1024)

/* ---- the report --------------------------------------------------------- */

int st_fsck_add_problem(st_fsck_report *r, st_fsck_kind kind,
                        const char *subject, st_error **err, const char *fmt,
                        ...) {
  st_fsck_problem *v =
      realloc(r->problems, (r->n_problems + 1) * sizeof(*r->problems));
  if (v == NULL)
    return st_error_errno(err, ENOMEM, "check store");
  r->problems = v;
  st_fsck_problem *p = &r->problems[r->n_problems];
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&p->msg, fmt, ap);
  va_end(ap);
  p->subject = subject ? strdup(subject) : NULL;
  if (n < 0 || (subject && p->subject == NULL)) {
    if (n >= 0)
      free(p->msg);
    free(p->subject);
    return st_error_errno(err, ENOMEM, "check store");
  }
  p->kind = kind;
  r->n_problems++;
  return 0;
}

void st_fsck_report_clear(st_fsck_report *r) {
  for (size_t i = 0; i < r->n_problems; i++) {
    free(r->problems[i].subject);
    free(r->problems[i].msg);
  }
  free(r->problems);
  memset(r, 0, sizeof(*r));
}

/* ---- blobs -------------------------------------------------------------- */

typedef struct blob_info {
  char digest[ST_DIGEST_LEN];
  int64_t size;
  bool intact;     /* its content has the digest it is named by */
  bool referenced; /* an image refers to it */
} blob_info;

typedef struct blob_table {
  blob_info *v;
  size_t n, cap;
} blob_table;

static int cmp_blob(const void *a, const void *b) {
  return strcmp(((const blob_info *)a)->digest, ((const blob_info *)b)->digest);
}

static blob_info *blob_find(const blob_table *t, const char *digest) {
  blob_info key;
  snprintf(key.digest, sizeof(key.digest), "%s", digest);
  return t->n ? bsearch(&key, t->v, t->n, sizeof(*t->v), cmp_blob) : NULL;
}

static bool is_hex64(const char *name) {
  size_t n = strspn(name, "0123456789abcdef");
  return n == ST_DIGEST_HEX_LEN && name[n] == '\0';
}

/* Streams the blob through sha256. Returns 1 when it matches its name, 0
 * when it does not or cannot be read (a problem is recorded), < 0 on
 * error. add_problem returns 0 or -1, which is what is returned then. */
static int verify_blob(int dirfd, const char *name, blob_info *b,
                       st_fsck_report *r, st_error **err) {
  cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return st_fsck_add_problem(r, ST_FSCK_BLOB, b->digest, err,
                               "blob %s cannot be opened: %s", b->digest,
                               strerror(errno));
  cleanup_free char *buf = malloc(HASH_CHUNK);
  st_sha256 *h = st_sha256_new();
  if (buf == NULL || h == NULL) {
    st_sha256_free(h);
    return st_error_errno(err, ENOMEM, "check blob %s", b->digest);
  }
  ssize_t n;
  while ((n = read(fd, buf, HASH_CHUNK)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      st_sha256_free(h);
      return st_fsck_add_problem(r, ST_FSCK_BLOB, b->digest, err,
                                 "blob %s cannot be read: %s", b->digest,
                                 strerror(e));
    }
    st_sha256_update(h, buf, (size_t)n);
  }
  char got[ST_DIGEST_LEN];
  st_sha256_final(h, got);
  if (strcmp(got, b->digest) == 0)
    return 1;
  return st_fsck_add_problem(r, ST_FSCK_BLOB, b->digest, err,
                             "blob %s is corrupt: its content has digest %s",
                             b->digest, got);
}

static int check_entry(DIR *d, const char *name, blob_table *t,
                       st_fsck_report *r, st_error **err) {
  struct stat sb;
  if (fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0
                           : st_error_errno(err, errno, "stat blob %s", name);
  if (!is_hex64(name) || !S_ISREG(sb.st_mode))
    return st_fsck_add_problem(
        r, ST_FSCK_STRAY, name, err, "stray %s `blobs/sha256/%s` is not a blob",
        S_ISDIR(sb.st_mode) ? "directory" : "file", name);
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    blob_info *v = realloc(t->v, cap * sizeof(*v));
    if (v == NULL)
      return st_error_errno(err, ENOMEM, "check store");
    t->v = v;
    t->cap = cap;
  }
  blob_info *b = &t->v[t->n];
  memset(b, 0, sizeof(*b));
  memcpy(b->digest, "sha256:", 7);
  memcpy(b->digest + 7, name, ST_DIGEST_HEX_LEN + 1); /* is_hex64 */
  b->size = sb.st_size;
  int ok = verify_blob(dirfd(d), name, b, r, err);
  if (ok < 0)
    return -1;
  b->intact = ok > 0;
  t->n++;
  r->n_blobs++;
  return 0;
}

static int scan_blobs(st_store *s, blob_table *t, st_fsck_report *r,
                      st_error **err) {
  cleanup_dir DIR *d = opendir(s->blobs_dir);
  if (d == NULL)
    return st_error_errno(err, errno, "open `%s`", s->blobs_dir);
  struct dirent *e;
  while ((errno = 0, e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (check_entry(d, e->d_name, t, r, err) < 0)
      return -1;
  }
  if (errno != 0)
    return st_error_errno(err, errno, "read `%s`", s->blobs_dir);
  if (t->n > 0)
    qsort(t->v, t->n, sizeof(*t->v), cmp_blob);
  return 0;
}

/* ---- images ------------------------------------------------------------- */

typedef struct image_ctx {
  st_store *s;
  blob_table *blobs;
  st_fsck_report *r;
  const char *id;
  bool broken;
} image_ctx;

static int image_problem(image_ctx *c, st_error **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int image_problem(image_ctx *c, st_error **err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *what = NULL;
  int n = vasprintf(&what, fmt, ap);
  va_end(ap);
  if (n < 0)
    return st_error_errno(err, ENOMEM, "check store");
  c->broken = true;
  return st_fsck_add_problem(c->r, ST_FSCK_IMAGE, c->id, err, "image %s: %s",
                             c->id, what);
}

/* Finds the blob `what` (e.g. "config", "layer 2") of the image refers to;
 * NULL (with a problem recorded, or *err on error) when it is unusable. */
static const blob_info *image_blob(image_ctx *c, const char *what,
                                   const char *digest, int *rc,
                                   st_error **err) {
  *rc = 0;
  if (!st_digest_valid(digest)) {
    *rc = image_problem(c, err, "%s digest \"%s\" is not a sha256 digest", what,
                        digest);
    return NULL;
  }
  blob_info *b = blob_find(c->blobs, digest);
  if (b == NULL) {
    *rc = image_problem(c, err, "%s blob %s is missing", what, digest);
    return NULL;
  }
  b->referenced = true;
  if (!b->intact) {
    *rc = image_problem(c, err, "%s blob %s is corrupt", what, digest);
    return NULL;
  }
  return b;
}

/* Loads a blob of the image as JSON; NULL (problem recorded) if not. */
static json_t *image_json(image_ctx *c, const char *what, const char *digest,
                          int *rc, st_error **err) {
  const blob_info *b = image_blob(c, what, digest, rc, err);
  if (b == NULL)
    return NULL;
  cleanup_free char *path = st_blob_path(c->s, digest);
  cleanup_free char *data = NULL;
  size_t len = 0;
  st_error *rerr = NULL;
  if (path == NULL || st_read_file(path, &data, &len, &rerr) < 0) {
    *rc = image_problem(c, err, "%s blob %s cannot be read: %s", what, digest,
                        rerr ? rerr->msg : "out of memory");
    st_error_free(rerr);
    return NULL;
  }
  json_error_t jerr;
  json_t *doc = json_loadb(data, len, 0, &jerr);
  if (!json_is_object(doc)) {
    json_decref(doc);
    *rc = image_problem(c, err, "%s blob %s is not a JSON object%s%s", what,
                        digest, doc ? "" : ": ", doc ? "" : jerr.text);
    return NULL;
  }
  return doc;
}

/* A recorded layer of an image (image_layers LEFT JOIN layers). */
typedef struct rec_layer {
  int64_t pos;
  char blob[ST_DIGEST_LEN];
  bool recorded; /* the layers row exists */
  char diff_id[ST_DIGEST_LEN];
  int64_t blob_size;
} rec_layer;

static int load_rec_layers(image_ctx *c, rec_layer **out, size_t *n,
                           st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(c->s,
                    "SELECT il.pos, il.blob, l.blob IS NOT NULL, l.diff_id,"
                    " l.blob_size FROM image_layers il LEFT JOIN layers l"
                    " ON l.blob = il.blob WHERE il.image = ? ORDER BY il.pos",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
  rec_layer *v = NULL;
  size_t count = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    rec_layer *nv = realloc(v, (count + 1) * sizeof(*v));
    if (nv == NULL) {
      free(v);
      return st_error_errno(err, ENOMEM, "check store");
    }
    v = nv;
    rec_layer *l = &v[count++];
    l->pos = sqlite3_column_int64(st, 0);
    st_db_digest(st, 1, l->blob);
    l->recorded = sqlite3_column_int(st, 2) != 0;
    st_db_digest(st, 3, l->diff_id);
    l->blob_size = sqlite3_column_int64(st, 4);
  }
  if (rc != SQLITE_DONE) {
    free(v);
    return st_db_error(c->s, err, "check store");
  }
  *out = v;
  *n = count;
  return 0;
}

static const char *json_str(json_t *obj, const char *key) {
  const char *v = json_string_value(json_object_get(obj, key));
  return v ? v : "";
}

/* The size recorded for the compressed form `blob` of the layer diff_id
 * (a pull that kept the layer's tar records the blob it came as): 1 with
 * *size, 0 when there is none, < 0 on error. */
static int compressed_form(image_ctx *c, const char *diff_id, const char *blob,
                           int64_t *size, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(c->s,
                    "SELECT blob_size FROM compressed"
                    " WHERE diff_id = ? AND blob = ? LIMIT 1",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, diff_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, blob, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return st_db_error(c->s, err, "check store");
  *size = sqlite3_column_int64(st, 0);
  return 1;
}

/* One recorded layer against its blob, the manifest entry and the
 * config's diff_id (either may be NULL when that document is unusable). */
static int check_layer(image_ctx *c, size_t i, const rec_layer *l,
                       json_t *mlayer, json_t *diff_id, st_error **err) {
  char what[64];
  snprintf(what, sizeof(what), "layer %zu", i + 1);
  if ((size_t)l->pos != i)
    return image_problem(c, err, "%s is recorded at position %lld", what,
                         (long long)l->pos + 1);
  if (!l->recorded)
    return image_problem(c, err, "%s blob %s has no layer record", what,
                         l->blob);
  int rc = 0;
  const blob_info *b = image_blob(c, what, l->blob, &rc, err);
  if (rc < 0)
    return -1;
  if (b && b->size != l->blob_size &&
      image_problem(c, err, "%s blob %s has %lld bytes, %lld recorded", what,
                    l->blob, (long long)b->size, (long long)l->blob_size) < 0)
    return -1;
  /* The manifest's blob, or the compressed form it names of a layer whose
   * tar the store kept instead. */
  int64_t want_size = l->blob_size;
  const char *mdigest = mlayer ? json_str(mlayer, "digest") : NULL;
  if (mdigest && strcmp(mdigest, l->blob) != 0) {
    int r = strcmp(l->blob, l->diff_id) == 0
                ? compressed_form(c, l->diff_id, mdigest, &want_size, err)
                : 0;
    if (r < 0)
      return -1;
    if (r == 0 &&
        image_problem(c, err, "%s: the manifest names blob %s, the store %s",
                      what, mdigest, l->blob) < 0)
      return -1;
  }
  json_t *msize = mlayer ? json_object_get(mlayer, "size") : NULL;
  if (json_is_integer(msize) && json_integer_value(msize) != want_size &&
      image_problem(c, err, "%s: the manifest gives %lld bytes, the store %lld",
                    what, (long long)json_integer_value(msize),
                    (long long)want_size) < 0)
    return -1;
  const char *d = json_string_value(diff_id);
  if (diff_id && (d == NULL || strcmp(d, l->diff_id) != 0) &&
      image_problem(c, err,
                    "%s: the config gives diff ID %s, the store records %s",
                    what, d ? d : "(not a string)", l->diff_id) < 0)
    return -1;
  return 0;
}

/* The manifest, the config's rootfs.diff_ids and the image_layers rows must
 * list the same layers. */
static int check_layers(image_ctx *c, json_t *manifest, json_t *config,
                        st_error **err) {
  rec_layer *rec = NULL;
  size_t n = 0;
  if (load_rec_layers(c, &rec, &n, err) < 0)
    return -1;
  json_t *mlayers = manifest ? json_object_get(manifest, "layers") : NULL;
  json_t *diff_ids =
      config ? json_object_get(json_object_get(config, "rootfs"), "diff_ids")
             : NULL;
  int ret = 0;
  if (manifest && !json_is_array(mlayers))
    ret = image_problem(c, err, "the manifest has no layers list");
  else if (manifest && json_array_size(mlayers) != n)
    ret = image_problem(c, err, "the manifest lists %zu layers, the store %zu",
                        json_array_size(mlayers), n);
  if (ret == 0 && config && !json_is_array(diff_ids))
    ret = image_problem(c, err, "the config has no rootfs.diff_ids list");
  else if (ret == 0 && config && json_array_size(diff_ids) != n)
    ret = image_problem(c, err, "the config lists %zu diff IDs, the store %zu",
                        json_array_size(diff_ids), n);
  if (!json_is_array(mlayers) || json_array_size(mlayers) != n)
    mlayers = NULL;
  if (!json_is_array(diff_ids) || json_array_size(diff_ids) != n)
    diff_ids = NULL;
  for (size_t i = 0; i < n && ret == 0; i++)
    ret = check_layer(c, i, &rec[i], json_array_get(mlayers, i),
                      json_array_get(diff_ids, i), err);
  free(rec);
  return ret;
}

static int check_image(image_ctx *c, const char *manifest_digest,
                       st_error **err) {
  int rc = 0;
  json_t *config = image_json(c, "config", c->id, &rc, err);
  if (rc < 0)
    return -1;
  json_t *manifest = image_json(c, "manifest", manifest_digest, &rc, err);
  int ret = rc;
  if (ret == 0 && manifest) {
    json_t *mc = json_object_get(manifest, "config");
    const char *cd = json_str(mc, "digest");
    json_t *size = json_object_get(mc, "size");
    const blob_info *cb = blob_find(c->blobs, c->id);
    if (strcmp(cd, c->id) != 0)
      ret =
          image_problem(c, err, "manifest %s names config %s, not the image ID",
                        manifest_digest, *cd ? cd : "(none)");
    else if (cb && json_is_integer(size) &&
             json_integer_value(size) != cb->size)
      ret = image_problem(c, err,
                          "manifest %s gives the config %lld bytes, "
                          "it has %lld",
                          manifest_digest, (long long)json_integer_value(size),
                          (long long)cb->size);
  }
  if (ret == 0)
    ret = check_layers(c, manifest, config, err);
  json_decref(config);
  json_decref(manifest);
  return ret;
}

typedef struct image_ref {
  char id[ST_DIGEST_LEN];
  char manifest[ST_DIGEST_LEN];
} image_ref;

static int load_images(st_store *s, image_ref **out, size_t *n,
                       st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT id, manifest FROM images ORDER BY id", &st,
                    err) < 0)
    return -1;
  image_ref *v = NULL;
  size_t count = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    image_ref *nv = realloc(v, (count + 1) * sizeof(*v));
    if (nv == NULL) {
      free(v);
      return st_error_errno(err, ENOMEM, "check store");
    }
    v = nv;
    st_db_digest(st, 0, v[count].id);
    st_db_digest(st, 1, v[count].manifest);
    count++;
  }
  if (rc != SQLITE_DONE) {
    free(v);
    return st_db_error(s, err, "check store");
  }
  *out = v;
  *n = count;
  return 0;
}

static int check_images(st_store *s, const image_ref *imgs, size_t n,
                        blob_table *blobs, st_fsck_report *r, st_error **err) {
  for (size_t i = 0; i < n; i++) {
    image_ctx c = {s, blobs, r, imgs[i].id, false};
    if (check_image(&c, imgs[i].manifest, err) < 0)
      return -1;
    r->n_images++;
  }
  return 0;
}

/* ---- records ------------------------------------------------------------ */

/* Tags and repo digests must point at images. */
static int check_references(st_store *s, st_fsck_report *r, st_error **err) {
  static const char sql[] =
      "SELECT 'tag', name, image FROM tags WHERE image NOT IN"
      " (SELECT id FROM images) UNION ALL"
      " SELECT 'digest', repo || '@' || digest, image FROM digests"
      " WHERE image NOT IN (SELECT id FROM images) ORDER BY 2";
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, sql, &st, err) < 0)
    return -1;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *kind = (const char *)sqlite3_column_text(st, 0);
    const char *name = (const char *)sqlite3_column_text(st, 1);
    const char *image = (const char *)sqlite3_column_text(st, 2);
    if (st_fsck_add_problem(r, ST_FSCK_REFERENCE, name ? name : "", err,
                            "%s %s points at image %s, which does not exist",
                            kind, name ? name : "",
                            image ? image : "(null)") < 0)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return st_db_error(s, err, "check store");
  return 0;
}

/* ---- parent links ------------------------------------------------------- */

/* An image with a parent link; only those can be on a cycle. */
typedef struct parent_link {
  char id[ST_DIGEST_LEN];
  char parent[ST_DIGEST_LEN];
  size_t up; /* index of the parent's row; SIZE_MAX when not in the table */
  int state; /* 0: not seen; 1: on the current walk; 2: done */
} parent_link;

static int cmp_link(const void *a, const void *b) {
  return strcmp(((const parent_link *)a)->id, ((const parent_link *)b)->id);
}

static int load_parent_links(st_store *s, parent_link **out, size_t *n,
                             st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT id, parent FROM images WHERE parent IS NOT NULL"
                    " AND parent != '' ORDER BY id",
                    &st, err) < 0)
    return -1;
  parent_link *v = NULL;
  size_t count = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    parent_link *nv = realloc(v, (count + 1) * sizeof(*v));
    if (nv == NULL) {
      free(v);
      return st_error_errno(err, ENOMEM, "check store");
    }
    v = nv;
    memset(&v[count], 0, sizeof(*v));
    st_db_digest(st, 0, v[count].id);
    st_db_digest(st, 1, v[count].parent);
    count++;
  }
  if (rc != SQLITE_DONE) {
    free(v);
    return st_db_error(s, err, "check store");
  }
  for (size_t i = 0; i < count; i++) {
    parent_link key;
    memcpy(key.id, v[i].parent, ST_DIGEST_LEN);
    const parent_link *p = bsearch(&key, v, count, sizeof(*v), cmp_link);
    v[i].up = p ? (size_t)(p - v) : SIZE_MAX;
  }
  *out = v;
  *n = count;
  return 0;
}

/* At most this many images are named in a cycle's message. */
#define CYCLE_NAMED 8

/* Records the cycle path[0..len): each entry's parent is the next, the
 * last's the first. The image with the smallest ID is the subject: repair
 * cuts its parent link. */
static int cycle_problem(const parent_link *v, const size_t *path, size_t len,
                         st_fsck_report *r, st_error **err) {
  size_t first = 0;
  for (size_t k = 1; k < len; k++)
    if (strcmp(v[path[k]].id, v[path[first]].id) < 0)
      first = k;
  cleanup_buf st_buf b = ST_BUF_INIT;
  for (size_t k = 0; k <= len && k <= CYCLE_NAMED; k++) {
    if (k == CYCLE_NAMED && k < len) {
      st_buf_printf(&b, " -> ... (%zu images)", len);
      break;
    }
    st_buf_printf(&b, "%s%s", k ? " -> " : "", v[path[(first + k) % len]].id);
  }
  if (b.data == NULL)
    return st_error_errno(err, ENOMEM, "check store");
  const char *id = v[path[first]].id;
  return st_fsck_add_problem(
      r, ST_FSCK_PARENT, id, err,
      "image %s: parent cycle (no image on it can be removed): "
      "%s",
      id, b.data);
}

/* Walks every chain of parent links once; a walk that meets itself found a
 * cycle. Returns 0, or < 0 with *err set. */
static int find_cycles(parent_link *v, size_t n, st_fsck_report *r,
                       st_error **err) {
  cleanup_free size_t *path = malloc((n ? n : 1) * sizeof(*path));
  if (path == NULL)
    return st_error_errno(err, ENOMEM, "check store");
  for (size_t i = 0; i < n; i++) {
    size_t len = 0;
    size_t j = i;
    for (; j != SIZE_MAX && v[j].state == 0; j = v[j].up) {
      v[j].state = 1;
      path[len++] = j;
    }
    size_t start = len;
    if (j != SIZE_MAX && v[j].state == 1)
      for (start = 0; path[start] != j; start++)
        ;
    for (size_t k = 0; k < len; k++)
      v[path[k]].state = 2;
    if (start < len && cycle_problem(v, path + start, len - start, r, err) < 0)
      return -1;
  }
  return 0;
}

/* Images that are their own ancestors: a child is never removed before its
 * parent, so no image on such a cycle could ever be removed. */
static int check_parents(st_store *s, st_fsck_report *r, st_error **err) {
  parent_link *v = NULL;
  size_t n = 0;
  if (load_parent_links(s, &v, &n, err) < 0)
    return -1;
  int ret = find_cycles(v, n, r, err);
  free(v);
  return ret;
}

/* PRAGMA integrity_check, and foreign_key_check for the links that the
 * image and reference checks do not already cover. */
static int check_database(st_store *s, st_fsck_report *r, st_error **err) {
  cleanup_stmt sqlite3_stmt *ic = NULL;
  if (st_db_prepare(s, "PRAGMA integrity_check(100)", &ic, err) < 0)
    return -1;
  int rc;
  while ((rc = sqlite3_step(ic)) == SQLITE_ROW) {
    const char *msg = (const char *)sqlite3_column_text(ic, 0);
    if (msg && strcmp(msg, "ok") != 0 &&
        st_fsck_add_problem(r, ST_FSCK_DATABASE, NULL, err,
                            "database `%s/strata.db`: %s", s->root, msg) < 0)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return st_db_error(s, err, "check store");
  cleanup_stmt sqlite3_stmt *fk = NULL;
  if (st_db_prepare(s, "PRAGMA foreign_key_check", &fk, err) < 0)
    return -1;
  while ((rc = sqlite3_step(fk)) == SQLITE_ROW) {
    const char *table = (const char *)sqlite3_column_text(fk, 0);
    const char *parent = (const char *)sqlite3_column_text(fk, 2);
    /* Dangling tags/digests are reported by name; an image_layers row
     * without its layer makes the image broken. */
    if (table && (strcmp(table, "tags") == 0 || strcmp(table, "digests") == 0 ||
                  (strcmp(table, "image_layers") == 0 && parent &&
                   strcmp(parent, "layers") == 0)))
      continue;
    if (st_fsck_add_problem(
            r, ST_FSCK_DATABASE, NULL, err,
            "database `%s/strata.db`: row %lld of table %s refers to "
            "a missing %s row",
            s->root, (long long)sqlite3_column_int64(fk, 1),
            table ? table : "?", parent ? parent : "?") < 0)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return st_db_error(s, err, "check store");
  return 0;
}

static int count_garbage_layers(st_store *s, st_fsck_report *r,
                                st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT count(*) FROM layers WHERE blob NOT IN"
                    " (SELECT blob FROM image_layers)",
                    &st, err) < 0)
    return -1;
  if (sqlite3_step(st) != SQLITE_ROW)
    return st_db_error(s, err, "check store");
  r->n_garbage_layers = (size_t)sqlite3_column_int64(st, 0);
  return 0;
}

/* Garbage by gc's rule: what gc would remove (blobs kept for other
 * reasons, e.g. compressed forms for push, are not garbage). */
static void count_garbage(st_store *s, const blob_table *t, st_fsck_report *r) {
  for (size_t i = 0; i < t->n; i++) {
    if (t->v[i].referenced || !t->v[i].intact)
      continue;
    st_error *ignored = NULL;
    int keep = st_blob_referenced(s, t->v[i].digest, &ignored);
    st_error_free(ignored);
    if (keep != 0)
      continue;
    r->n_garbage++;
    r->garbage_bytes += t->v[i].size;
  }
}

static int check_snapshot(st_store *s, bool deep, st_fsck_report *r,
                          st_error **err) {
  image_ref *imgs = NULL;
  size_t n = 0;
  blob_table blobs = {NULL, 0, 0};
  /* Images first: reading them starts the snapshot, and every blob a
   * recorded image needs was written before it was recorded. */
  int ret = load_images(s, &imgs, &n, err);
  if (ret == 0)
    ret = scan_blobs(s, &blobs, r, err);
  if (ret == 0)
    ret = check_images(s, imgs, n, &blobs, r, err);
  if (ret == 0)
    ret = check_references(s, r, err);
  if (ret == 0)
    ret = check_parents(s, r, err);
  if (ret == 0)
    ret = count_garbage_layers(s, r, err);
  if (ret == 0)
    ret = check_database(s, r, err);
  if (ret == 0)
    ret = st_volumes_check(s, r, err);
  if (ret == 0)
    ret = st_fsck_trees(s, deep, r, err);
  if (ret == 0)
    count_garbage(s, &blobs, r);
  free(imgs);
  free(blobs.v);
  return ret;
}

int st_store_check(st_store *s, st_fsck_report *r, st_error **err) {
  return st_store_check_deep(s, false, r, err);
}

int st_store_check_deep(st_store *s, bool deep, st_fsck_report *r,
                        st_error **err) {
  memset(r, 0, sizeof(*r));
  if (s->tx_depth > 0)
    return st_error_set(err, EINVAL, "check store: inside a transaction");
  /* No gc may remove what the snapshot names while it is checked. */
  if (st_store_busy(s, err) < 0)
    return st_error_wrap(err, "check store");
  if (st_db_exec(s, "BEGIN", err) < 0)
    return st_error_wrap(err, "check store");
  int ret = check_snapshot(s, deep, r, err);
  sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
  if (ret < 0) {
    st_fsck_report_clear(r);
    return st_error_wrap(err, "check store");
  }
  return 0;
}

/* ---- repair ------------------------------------------------------------- */

void st_fsck_repair_clear(st_fsck_repair *r) {
  st_strv_free(r->images, r->n_images);
  st_strv_free(r->references, r->n_references);
  st_strv_free(r->cut, r->n_cut);
  st_strv_free(r->trees, r->n_trees);
  st_strv_free(r->not_repaired, r->n_not_repaired);
  memset(r, 0, sizeof(*r));
}

int st_fsck_push_str(char ***v, size_t *n, const char *s, st_error **err) {
  char **nv = realloc(*v, (*n + 2) * sizeof(**v));
  if (nv == NULL)
    return st_error_errno(err, ENOMEM, "repair store");
  *v = nv;
  if ((nv[*n] = strdup(s)) == NULL)
    return st_error_errno(err, ENOMEM, "repair store");
  nv[++*n] = NULL;
  return 0;
}

static bool seen_before(const st_fsck_report *f, size_t i) {
  for (size_t j = 0; j < i; j++)
    if (f->problems[j].kind == f->problems[i].kind &&
        strcmp(f->problems[j].subject, f->problems[i].subject) == 0)
      return true;
  return false;
}

static int remove_image(st_store *s, const char *id, st_fsck_repair *out,
                        st_error **err) {
  if (st_image_container_count(s, id) > 0) {
    cleanup_free char *why = NULL;
    if (asprintf(&why,
                 "image %s is broken but containers use it: not removed "
                 "(remove its containers, then repair again)",
                 id) < 0)
      return st_error_errno(err, ENOMEM, "repair store");
    return st_fsck_push_str(&out->not_repaired, &out->n_not_repaired, why, err);
  }
  char **refs[2] = {NULL, NULL};
  size_t n[2] = {0, 0};
  int ret = 0;
  if (st_image_tags(s, id, &refs[0], &n[0], err) < 0 ||
      st_image_digests(s, id, &refs[1], &n[1], err) < 0)
    ret = -1;
  for (int k = 0; k < 2 && ret == 0; k++)
    for (size_t i = 0; i < n[k] && ret == 0; i++)
      ret = st_fsck_push_str(&out->references, &out->n_references, refs[k][i],
                             err);
  st_strv_free(refs[0], n[0]);
  st_strv_free(refs[1], n[1]);
  if (ret < 0)
    return -1;
  if (st_image_delete(s, id, true, err) < 0) {
    if (err && *err && (*err)->code == ENOENT) { /* gone meanwhile */
      st_error_free(*err);
      *err = NULL;
      return 0;
    }
    return -1;
  }
  return st_fsck_push_str(&out->images, &out->n_images, id, err);
}

static int remove_reference(st_store *s, const char *name, st_fsck_repair *out,
                            st_error **err) {
  cleanup_stmt sqlite3_stmt *t = NULL;
  cleanup_stmt sqlite3_stmt *d = NULL;
  if (st_db_prepare(s,
                    "DELETE FROM tags WHERE name = ?1 AND image NOT IN"
                    " (SELECT id FROM images)",
                    &t, err) < 0 ||
      st_db_prepare(s,
                    "DELETE FROM digests WHERE repo || '@' || digest = ?1"
                    " AND image NOT IN (SELECT id FROM images)",
                    &d, err) < 0)
    return -1;
  int changed = 0;
  sqlite3_stmt *sts[2] = {t, d};
  for (int k = 0; k < 2; k++) {
    sqlite3_bind_text(sts[k], 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(sts[k]) != SQLITE_DONE)
      return st_db_error(s, err, "remove reference");
    changed += sqlite3_changes(s->db);
  }
  return changed
             ? st_fsck_push_str(&out->references, &out->n_references, name, err)
             : 0;
}

/* Clears the parent link of the image `id` chose to break a cycle. */
static int cut_parent(st_store *s, const char *id, st_fsck_repair *out,
                      st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "UPDATE images SET parent = NULL WHERE id = ?", &st,
                    err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE)
    return st_db_error(s, err, "cut parent link");
  if (sqlite3_changes(s->db) == 0) /* removed as broken meanwhile */
    return 0;
  return st_fsck_push_str(&out->cut, &out->n_cut, id, err);
}

static int repair_records(st_store *s, const st_fsck_report *f,
                          st_fsck_repair *out, st_error **err) {
  if (st_tx_begin(s, err) < 0)
    return -1;
  for (size_t i = 0; i < f->n_problems; i++) {
    const st_fsck_problem *p = &f->problems[i];
    int ret = 0;
    if (p->kind == ST_FSCK_IMAGE && !seen_before(f, i))
      ret = remove_image(s, p->subject, out, err);
    else if (p->kind == ST_FSCK_REFERENCE)
      ret = remove_reference(s, p->subject, out, err);
    else if (p->kind == ST_FSCK_PARENT)
      ret = cut_parent(s, p->subject, out, err);
    else if (p->kind == ST_FSCK_VOLUME)
      ret = st_volume_repair(s, p->subject, err);
    if (ret < 0) {
      st_tx_rollback(s);
      return -1;
    }
  }
  if (st_db_exec(s,
                 "DELETE FROM image_layers WHERE image NOT IN"
                 " (SELECT id FROM images);"
                 "DELETE FROM layers WHERE blob NOT IN"
                 " (SELECT blob FROM image_layers)",
                 err) < 0) {
    st_tx_rollback(s);
    return -1;
  }
  return st_tx_commit(s, err);
}

static int remove_strays(st_store *s, const st_fsck_report *f,
                         st_fsck_repair *out, st_error **err) {
  for (size_t i = 0; i < f->n_problems; i++) {
    const st_fsck_problem *p = &f->problems[i];
    if (p->kind != ST_FSCK_STRAY || strchr(p->subject, '/') ||
        strcmp(p->subject, ".") == 0 || strcmp(p->subject, "..") == 0)
      continue;
    cleanup_free char *path = NULL;
    if (asprintf(&path, "%s/%s", s->blobs_dir, p->subject) < 0)
      return st_error_errno(err, ENOMEM, "repair store");
    if (st_rm_rf(path, err) < 0)
      return -1;
    out->n_stray++;
  }
  return 0;
}

int st_store_repair(st_store *s, const st_fsck_report *found,
                    st_fsck_repair *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  if (repair_records(s, found, out, err) < 0 ||
      remove_strays(s, found, out, err) < 0 ||
      st_fsck_repair_trees(s, found, out, err) < 0) {
    st_fsck_repair_clear(out);
    return st_error_wrap(err, "repair store");
  }
  /* The broken images' blobs, corrupt blobs and other garbage are now
   * unreferenced: the sweep removes them. */
  int64_t freed = st_store_gc(s, err);
  if (freed < 0) {
    st_fsck_repair_clear(out);
    return st_error_wrap(err, "repair store");
  }
  out->freed = freed;
  return 0;
}
