/* `system check` of containers and unpacked layer trees: every container's
 * image is stored and its layers' trees are there, and an unpacked tree
 * still holds what its tar says (a fresh unpack of the blob into tmp/ is
 * compared with it, entry by entry: names, types, modes, owners, sizes,
 * contents, link targets, device numbers, the overlay opaque flag). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/erofs.h"
#include "store/fsck_internal.h"
#include "store/internal.h"
#include "store/layers.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define CMP_CHUNK (64 * 1024)

/* One unpacked layer: its chain ID and the blob it comes from. */
typedef struct tree_ref {
  char chain[ST_DIGEST_LEN];
  char blob[ST_DIGEST_LEN];
} tree_ref;

typedef struct tree_set {
  tree_ref *v;
  size_t n, cap;
} tree_set;

static bool tree_set_has(const tree_set *t, const char *chain) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].chain, chain) == 0)
      return true;
  return false;
}

static int tree_set_add(tree_set *t, const char *chain, const char *blob,
                        st_error **err) {
  if (tree_set_has(t, chain))
    return 0;
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    tree_ref *v = realloc(t->v, cap * sizeof(*v));
    if (v == NULL)
      return st_error_errno(err, ENOMEM, "check layer trees");
    t->v = v;
    t->cap = cap;
  }
  snprintf(t->v[t->n].chain, ST_DIGEST_LEN, "%s", chain);
  snprintf(t->v[t->n].blob, ST_DIGEST_LEN, "%s", blob);
  t->n++;
  return 0;
}

static char *tree_path(st_store *s, const char *chain) {
  char *p = NULL;
  if (asprintf(&p, "%s/layers/%s/diff", s->root, st_digest_hex(chain)) < 0)
    return NULL;
  return p;
}

/* The chain IDs (and blobs) of image id's layers, added to t. */
static int image_trees(st_store *s, const char *id, tree_set *t,
                       st_error **err) {
  st_layer_rec *layers = NULL;
  size_t n = 0;
  if (st_image_layers(s, id, &layers, &n, err) < 0)
    return -1;
  char(*chain)[ST_DIGEST_LEN] = calloc(n ? n : 1, ST_DIGEST_LEN);
  int r = chain ? 0 : st_error_errno(err, ENOMEM, "check layer trees");
  if (chain)
    st_chain_ids(layers, n, chain);
  for (size_t i = 0; r == 0 && i < n; i++)
    r = tree_set_add(t, chain[i], layers[i].blob, err);
  free(chain);
  st_layers_free(layers, n);
  return r;
}

/* ---- containers ---------------------------------------------------------- */

static bool image_exists(st_store *s, const char *id) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT 1 FROM images WHERE id = ?", &st, NULL) < 0)
    return true; /* unknown: report nothing */
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  return sqlite3_step(st) != SQLITE_DONE;
}

static int check_container(st_store *s, const char *id, const char *name,
                           const char *image, st_fsck_report *r,
                           st_error **err) {
  if (!image_exists(s, image))
    return st_fsck_add_problem(
        r, ST_FSCK_CONTAINER, id, err,
        "container %.12s (%s): its image %s is missing: it cannot start "
        "or be committed again (cannot be repaired: remove it with "
        "`strata rm %s`)",
        id, name, image, name);
  tree_set t = {NULL, 0, 0};
  int ret = image_trees(s, image, &t, err);
  for (size_t i = 0; ret == 0 && i < t.n; i++) {
    cleanup_free char *diff = tree_path(s, t.v[i].chain);
    if (diff == NULL) {
      ret = st_error_errno(err, ENOMEM, "check layer trees");
      break;
    }
    if (access(diff, F_OK) == 0)
      continue;
    char subject[2 * ST_DIGEST_LEN + 1];
    snprintf(subject, sizeof(subject), "%s %s", t.v[i].chain, t.v[i].blob);
    ret = st_fsck_add_problem(
        r, ST_FSCK_TREE, subject, err,
        "container %.12s (%s): layer %zu/%zu of image %s: its tree `%s` "
        "(chain ID %s) is missing",
        id, name, i + 1, t.n, image, diff, t.v[i].chain);
  }
  free(t.v);
  return ret;
}

static int check_containers(st_store *s, st_fsck_report *r, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "SELECT id, name, image FROM containers ORDER BY id",
                    &st, err) < 0)
    return -1;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    const char *name = (const char *)sqlite3_column_text(st, 1);
    const char *image = (const char *)sqlite3_column_text(st, 2);
    if (id && name && image && check_container(s, id, name, image, r, err) < 0)
      return -1;
  }
  return rc == SQLITE_DONE ? 0 : st_db_error(s, err, "check containers");
}

/* ---- a tree against its tar ---------------------------------------------- */

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory fd (not closed), sorted. */
static int list_dir(int fd, char ***out, size_t *n) {
  int dfd = dup(fd);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (d == NULL) {
    if (dfd >= 0)
      close(dfd);
    return -1;
  }
  rewinddir(d);
  char **v = NULL;
  size_t len = 0, cap = 0;
  struct dirent *e;
  int r = 0;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (len == cap) {
      cap = cap ? cap * 2 : 32;
      char **nv = realloc(v, cap * sizeof(*nv));
      if (nv == NULL) {
        r = -1;
        break;
      }
      v = nv;
    }
    if ((v[len] = strdup(e->d_name)) == NULL) {
      r = -1;
      break;
    }
    len++;
  }
  closedir(d);
  if (r < 0) {
    st_strv_free(v, len);
    return -1;
  }
  if (len)
    qsort(v, len, sizeof(*v), cmp_names);
  *out = v;
  *n = len;
  return 0;
}

/* Reads up to n bytes (fewer only at the end of the file). */
static ssize_t read_full(int fd, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, buf + got, n - got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return -1;
    if (k == 0)
      break;
    got += (size_t)k;
  }
  return (ssize_t)got;
}

/* 1 when the files differ in content, 0 when equal, -1 on error. */
static int cmp_content(int da, int db, const char *name) {
  cleanup_close int a = openat(da, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int b = openat(db, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (a < 0 || b < 0)
    return -1;
  cleanup_free char *ba = malloc(CMP_CHUNK), *bb = malloc(CMP_CHUNK);
  if (ba == NULL || bb == NULL)
    return -1;
  for (;;) {
    ssize_t na = read_full(a, ba, CMP_CHUNK);
    ssize_t nb = read_full(b, bb, CMP_CHUNK);
    if (na < 0 || nb < 0)
      return -1;
    if (na != nb || memcmp(ba, bb, (size_t)na) != 0)
      return 1;
    if (na == 0)
      return 0;
  }
}

static bool opaque(int fd) {
  char v[4];
  ssize_t n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v));
  return n == 1 && v[0] == 'y';
}

static int cmp_dir(int da, int db, const char *path, char **why);

/* Compares entry name of the directories da (the stored tree) and db (the
 * fresh unpack). 1 with *why set when they differ. */
static int cmp_entry(int da, int db, const char *path, const char *name,
                     char **why) {
  struct stat a, b;
  if (fstatat(da, name, &a, AT_SYMLINK_NOFOLLOW) < 0 ||
      fstatat(db, name, &b, AT_SYMLINK_NOFOLLOW) < 0)
    return -1;
  const char *what = NULL;
  if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT))
    what = "type";
  else if (!S_ISLNK(a.st_mode) && a.st_mode != b.st_mode)
    what = "mode";
  else if (a.st_uid != b.st_uid || a.st_gid != b.st_gid)
    what = "owner";
  else if (S_ISREG(a.st_mode) && a.st_size != b.st_size)
    what = "size";
  else if ((S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode)) && a.st_rdev != b.st_rdev)
    what = "device number";
  if (what == NULL && S_ISLNK(a.st_mode)) {
    char la[4096], lb[4096];
    ssize_t na = readlinkat(da, name, la, sizeof(la));
    ssize_t nb = readlinkat(db, name, lb, sizeof(lb));
    if (na < 0 || nb < 0)
      return -1;
    if (na != nb || memcmp(la, lb, (size_t)na) != 0)
      what = "link target";
  }
  if (what == NULL && S_ISREG(a.st_mode)) {
    int c = cmp_content(da, db, name);
    if (c < 0)
      return -1;
    if (c > 0)
      what = "content";
  }
  if (what)
    return asprintf(why, "%s/%s: %s differs", path, name, what) < 0 ? -1 : 1;
  if (!S_ISDIR(a.st_mode))
    return 0;
  cleanup_close int sa =
      openat(da, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int sb =
      openat(db, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_free char *sub = NULL;
  if (sa < 0 || sb < 0 || asprintf(&sub, "%s/%s", path, name) < 0)
    return -1;
  return cmp_dir(sa, sb, sub, why);
}

static int cmp_dir(int da, int db, const char *path, char **why) {
  if (opaque(da) != opaque(db))
    return asprintf(why, "%s/: opaque flag differs", path) < 0 ? -1 : 1;
  char **na = NULL, **nb = NULL;
  size_t ca = 0, cb = 0;
  if (list_dir(da, &na, &ca) < 0)
    return -1;
  if (list_dir(db, &nb, &cb) < 0) {
    st_strv_free(na, ca);
    return -1;
  }
  int r = 0;
  size_t i = 0, j = 0;
  while (r == 0 && (i < ca || j < cb)) {
    int c = i == ca ? 1 : j == cb ? -1 : strcmp(na[i], nb[j]);
    if (c < 0)
      r = asprintf(why, "%s/%s: not in the tar", path, na[i]) < 0 ? -1 : 1;
    else if (c > 0)
      r = asprintf(why, "%s/%s: missing", path, nb[j]) < 0 ? -1 : 1;
    else
      r = cmp_entry(da, db, path, na[i], why);
    i++, j++;
  }
  st_strv_free(na, ca);
  st_strv_free(nb, cb);
  return r;
}

/* Compares the erofs layer file img with a fresh conversion of t's blob
 * (the writer is deterministic: the same tar gives the same bytes). 1
 * with *why when they differ, 0 when equal or when the blob cannot be
 * converted, < 0 on error. */
static int check_erofs(st_store *s, const tree_ref *t, const char *img,
                       char **why, st_error **err) {
  cleanup_close int stored = open(img, O_RDONLY | O_CLOEXEC);
  cleanup_close int fresh = memfd_create("strata-check", MFD_CLOEXEC);
  if (stored < 0 || fresh < 0)
    return st_error_errno(err, errno, "check `%s`", img);
  cleanup_close int blob = st_blob_open(s, t->blob, NULL);
  /* the same kind as stored: a tar index (of this blob) or a full image */
  char tag[65];
  st_error *ignored = NULL;
  int idx = st_erofs_index_tag(img, tag, &ignored);
  st_error_free(ignored);
  ignored = NULL;
  if (idx < 0)
    return asprintf(why, "layer.erofs is not an EROFS image") < 0 ? -1 : 1;
  st_erofs_opts o = {.whiteouts = true, .no_sync = true};
  if (idx > 0) {
    if (strcmp(tag, st_digest_hex(t->blob)) != 0)
      return asprintf(why,
                      "layer.erofs indexes blob %.12s, not the layer's "
                      "%.12s",
                      tag, st_digest_hex(t->blob)) < 0
                 ? -1
                 : 1;
    o.tar_index = true;
    o.device_tag = tag;
  }
  if (blob < 0 || st_erofs_write_fd(blob, fresh, &o, NULL, &ignored) < 0) {
    st_error_free(ignored);
    return 0;
  }
  struct stat a, b;
  if (fstat(stored, &a) < 0 || fstat(fresh, &b) < 0)
    return st_error_errno(err, errno, "check `%s`", img);
  if (a.st_size != b.st_size)
    return asprintf(why, "layer.erofs is %lld bytes, the tar gives %lld",
                    (long long)a.st_size, (long long)b.st_size) < 0
               ? -1
               : 1;
  static char ba[65536], bb[65536];
  for (off_t off = 0; off < a.st_size;) {
    ssize_t na = pread(stored, ba, sizeof(ba), off);
    ssize_t nb = pread(fresh, bb, sizeof(bb), off);
    if (na <= 0 || na != nb)
      return st_error_errno(err, na < 0 ? errno : EIO, "read `%s`", img);
    if (memcmp(ba, bb, (size_t)na) != 0) {
      size_t k = 0;
      while (ba[k] == bb[k])
        k++;
      return asprintf(why, "layer.erofs differs at byte %lld",
                      (long long)off + (long long)k) < 0
                 ? -1
                 : 1;
    }
    off += na;
  }
  return 0;
}

/* Unpacks t's blob under tmp/ and compares. 1 with *why when they differ,
 * 0 when equal or when the blob cannot be unpacked (a corrupt blob is
 * reported by the blob check), < 0 on error. */
static int check_tree(st_store *s, const tree_ref *t, const char *diff,
                      char **why, st_error **err) {
  cleanup_free char *tmp = NULL, *img = NULL;
  if (asprintf(&img, "%s/../layer.erofs", diff) < 0)
    return st_error_errno(err, ENOMEM, "check layer trees");
  if (access(img, F_OK) == 0)
    return check_erofs(s, t, img, why, err);
  if (asprintf(&tmp, "%s/check-XXXXXX", s->tmp_dir) < 0)
    return st_error_errno(err, ENOMEM, "check layer trees");
  if (mkdtemp(tmp) == NULL)
    return st_error_errno(err, errno, "mkdtemp `%s`", tmp);
  cleanup_close int fresh = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int stored = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int blob = st_blob_open(s, t->blob, NULL);
  int r = 0;
  st_error *ignored = NULL;
  if (fresh < 0 || stored < 0)
    r = st_error_errno(err, errno, "check `%s`", diff);
  else if (blob >= 0 &&
           st_layer_unpack_fd(blob, fresh, ST_UNPACK_LAYER, &ignored) == 0) {
    r = cmp_dir(stored, fresh, "", why);
    if (r < 0)
      r = st_error_errno(err, errno ? errno : EIO, "compare `%s`", diff);
  }
  st_error_free(ignored);
  ignored = NULL;
  st_rm_rf(tmp, &ignored);
  st_error_free(ignored);
  return r;
}

/* Keeps a random sample of k trees at the front of t. */
static void sample(tree_set *t, size_t k) {
  for (size_t i = 0; i < k && i < t->n; i++) {
    unsigned int rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
      rnd = (unsigned int)i;
    size_t j = i + rnd % (t->n - i);
    tree_ref tmp = t->v[i];
    t->v[i] = t->v[j];
    t->v[j] = tmp;
  }
  if (t->n > k)
    t->n = k;
}

/* The trees that are unpacked, of every stored image. */
static int unpacked_trees(st_store *s, tree_set *out, st_error **err) {
  tree_set all = {NULL, 0, 0};
  cleanup_stmt sqlite3_stmt *st = NULL;
  int ret = st_db_prepare(s, "SELECT id FROM images ORDER BY id", &st, err);
  while (ret == 0 && sqlite3_step(st) == SQLITE_ROW)
    ret = image_trees(s, (const char *)sqlite3_column_text(st, 0), &all, err);
  for (size_t i = 0; ret == 0 && i < all.n; i++) {
    cleanup_free char *diff = tree_path(s, all.v[i].chain);
    if (diff == NULL)
      ret = st_error_errno(err, ENOMEM, "check layer trees");
    else if (access(diff, F_OK) == 0)
      ret = tree_set_add(out, all.v[i].chain, all.v[i].blob, err);
  }
  free(all.v);
  return ret;
}

static int check_trees(st_store *s, bool deep, st_fsck_report *r,
                       st_error **err) {
  tree_set t = {NULL, 0, 0};
  int ret = unpacked_trees(s, &t, err);
  if (ret == 0 && !deep)
    sample(&t, ST_FSCK_TREE_SAMPLE);
  for (size_t i = 0; ret == 0 && i < t.n; i++) {
    cleanup_free char *diff = tree_path(s, t.v[i].chain), *why = NULL;
    if (diff == NULL) {
      ret = st_error_errno(err, ENOMEM, "check layer trees");
      break;
    }
    int c = check_tree(s, &t.v[i], diff, &why, err);
    if (c < 0)
      ret = -1;
    if (c <= 0)
      continue;
    char subject[2 * ST_DIGEST_LEN + 1];
    snprintf(subject, sizeof(subject), "%s %s", t.v[i].chain, t.v[i].blob);
    ret = st_fsck_add_problem(r, ST_FSCK_TREE, subject, err,
                              "layer tree `%s` (chain ID %s) differs from "
                              "its tar %s: %s",
                              diff, t.v[i].chain, t.v[i].blob, why);
  }
  free(t.v);
  return ret;
}

int st_fsck_trees(st_store *s, bool deep, st_fsck_report *r, st_error **err) {
  if (check_containers(s, r, err) < 0)
    return -1;
  return check_trees(s, deep, r, err);
}

/* ---- repair ---------------------------------------------------------------
 */

/* The running container (its name, malloc'd) whose image has chain, or
 * NULL. */
static char *running_user(st_store *s, const char *chain) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "SELECT name, image FROM containers WHERE state = "
                    "'running'",
                    &st, NULL) < 0)
    return NULL;
  while (sqlite3_step(st) == SQLITE_ROW) {
    tree_set t = {NULL, 0, 0};
    st_error *ignored = NULL;
    int r =
        image_trees(s, (const char *)sqlite3_column_text(st, 1), &t, &ignored);
    st_error_free(ignored);
    bool uses = r == 0 && tree_set_has(&t, chain);
    free(t.v);
    if (uses)
      return st_db_strdup(st, 0);
  }
  return NULL;
}

static bool tree_seen(const st_fsck_report *f, size_t i) {
  for (size_t j = 0; j < i; j++)
    if (f->problems[j].kind == ST_FSCK_TREE &&
        strcmp(f->problems[j].subject, f->problems[i].subject) == 0)
      return true;
  return false;
}

static int repair_tree(st_store *s, const char *subject, st_fsck_repair *out,
                       st_error **err) {
  char chain[ST_DIGEST_LEN], blob[ST_DIGEST_LEN];
  const char *sp = strchr(subject, ' ');
  if (sp == NULL || (size_t)(sp - subject) >= ST_DIGEST_LEN)
    return 0;
  snprintf(chain, sizeof(chain), "%.*s", (int)(sp - subject), subject);
  snprintf(blob, sizeof(blob), "%s", sp + 1);
  cleanup_free char *user = running_user(s, chain), *why = NULL;
  if (user) {
    if (asprintf(&why,
                 "layer tree %s is mounted by running container %s: not "
                 "unpacked again (stop the container, then repair again)",
                 chain, user) < 0)
      return st_error_errno(err, ENOMEM, "repair store");
    return st_fsck_push_str(&out->not_repaired, &out->n_not_repaired, why, err);
  }
  if (st_layer_unpack_again(s, chain, blob, err) < 0)
    return -1;
  return st_fsck_push_str(&out->trees, &out->n_trees, chain, err);
}

int st_fsck_repair_trees(st_store *s, const st_fsck_report *found,
                         st_fsck_repair *out, st_error **err) {
  for (size_t i = 0; i < found->n_problems; i++) {
    const st_fsck_problem *p = &found->problems[i];
    if (p->kind == ST_FSCK_CONTAINER) {
      cleanup_free char *why = NULL;
      if (asprintf(&why,
                   "container %.12s: its image is gone; remove it with "
                   "`strata rm %.12s`",
                   p->subject, p->subject) < 0)
        return st_error_errno(err, ENOMEM, "repair store");
      if (st_fsck_push_str(&out->not_repaired, &out->n_not_repaired, why, err) <
          0)
        return -1;
      continue;
    }
    if (p->kind != ST_FSCK_TREE || tree_seen(found, i))
      continue;
    if (repair_tree(s, p->subject, out, err) < 0)
      return -1;
  }
  return 0;
}
