/* Build context: matching COPY sources, the tar a COPY writes (read back
 * with libarchive) and the cache checksum, on a fixture tree made under a
 * mkdtemp directory with a .dockerignore. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "build/context.h"
#include "build/ignore.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"

static const char ignore_text[] = "*.tmp\n"
                                  "secret.txt\n"
                                  "junk/*.tmp\n"
                                  "logs\n"
                                  "!logs/keep.log\n";

typedef struct fixture {
  char dir[64];  /* mkdtemp */
  char root[96]; /* dir/ctx: the context */
  st_ignore *ig;
  st_ctx *ctx;
} fixture;

/* ---- the fixture tree ------------------------------------------------ */

static void put(const char *root, const char *rel, const char *text,
                mode_t mode) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", root, rel);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
}

static void mkdir_at(const char *root, const char *rel, mode_t mode) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", root, rel);
  assert_int_equal(mkdir(path, mode), 0);
  assert_int_equal(chmod(path, mode), 0);
}

static void symlink_at(const char *root, const char *rel, const char *target) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", root, rel);
  assert_int_equal(symlink(target, path), 0);
}

static void link_at(const char *root, const char *from, const char *to) {
  char a[512], b[512];
  snprintf(a, sizeof(a), "%s/%s", root, from);
  snprintf(b, sizeof(b), "%s/%s", root, to);
  assert_int_equal(link(a, b), 0);
}

/* The context every test starts from. */
static void make_tree(const char *root) {
  assert_int_equal(mkdir(root, 0755), 0);
  put(root, "a.txt", "alpha", 0644);
  put(root, "b.txt", "bravo", 0600);
  put(root, "c.md", "charlie", 0644);
  put(root, ".wh.x", "w", 0644);
  put(root, "skip.tmp", "tmp", 0644);
  put(root, "secret.txt", "secret", 0644);
  mkdir_at(root, "dir", 0750);
  put(root, "dir/f1", "one", 0755);
  link_at(root, "dir/f1", "dir/hl");
  symlink_at(root, "dir/link", "f1");
  mkdir_at(root, "dir/sub", 0755);
  put(root, "dir/sub/f2", "two", 0644);
  put(root, "dir/sub/x.tmp", "tmp", 0644);
  mkdir_at(root, "logs", 0755);
  put(root, "logs/a.log", "a", 0644);
  put(root, "logs/keep.log", "keep", 0644);
  mkdir_at(root, "junk", 0755);
  put(root, "junk/j.tmp", "j", 0644);
  symlink_at(root, "alink", "a.txt");
  symlink_at(root, "esc", "../outside");
  symlink_at(root, "up", "../../../../..");
  symlink_at(root, "abs", "/etc");
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/strata-ctx-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->root, sizeof(f->root), "%s/ctx", f->dir);
  make_tree(f->root);
  /* Outside the context: never to be read through it. */
  char out[128];
  snprintf(out, sizeof(out), "%s/outside", f->dir);
  assert_int_equal(mkdir(out, 0755), 0);
  put(out, "secret", "outside!", 0644);
  assert_int_equal(
      st_ignore_compile(ignore_text, strlen(ignore_text), &f->ig, NULL), 0);
  assert_int_equal(st_ctx_open(f->root, f->ig, &f->ctx, NULL), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  st_ctx_free(f->ctx);
  st_ignore_free(f->ig);
  st_safepath_fallback(false);
  assert_int_equal(st_rm_rf(f->dir, NULL), 0);
  free(f);
  return 0;
}

static void path_in(const fixture *f, const char *rel, char *out, size_t n) {
  snprintf(out, n, "%s/%s", f->root, rel);
}

/* ---- matching -------------------------------------------------------- */

static void free_paths(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Matches source and compares the results, joined with ' ', to want. */
static void expect_match(st_ctx *c, const char *source, const char *want) {
  char **v = NULL;
  size_t n = 0;
  cleanup_error st_error *err = NULL;
  int r = st_ctx_match(c, source, &v, &n, &err);
  if (r < 0)
    fail_msg("match %s: %s", source, err->msg);
  char got[1024] = "";
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s", i ? " " : "",
                            v[i]);
  assert_string_equal(got, want);
  free_paths(v, n);
}

static void expect_no_match(st_ctx *c, const char *source, int code,
                            const char *msg) {
  char **v = NULL;
  size_t n = 0;
  cleanup_error st_error *err = NULL;
  assert_true(st_ctx_match(c, source, &v, &n, &err) < 0);
  assert_non_null(err);
  assert_int_equal(err->code, code);
  if (msg)
    assert_string_equal(err->msg, msg);
  assert_int_equal(n, 0);
  free_paths(v, n);
}

static void test_match_plain(void **state) {
  fixture *f = *state;
  expect_match(f->ctx, "a.txt", "a.txt");
  expect_match(f->ctx, "/a.txt", "a.txt");
  expect_match(f->ctx, "./dir/f1", "dir/f1");
  expect_match(f->ctx, "dir//sub/", "dir/sub");
  expect_match(f->ctx, "dir/sub/../f1", "dir/f1");
  expect_match(f->ctx, ".", ".");
  expect_match(f->ctx, "/", ".");
  expect_match(f->ctx, "./", ".");
  expect_match(f->ctx, "alink", "alink");
  /* Results are appended to what the array holds. */
  char **v = NULL;
  size_t n = 0;
  assert_int_equal(st_ctx_match(f->ctx, "c.md", &v, &n, NULL), 0);
  assert_int_equal(st_ctx_match(f->ctx, "*.txt", &v, &n, NULL), 0);
  assert_int_equal(n, 3);
  assert_string_equal(v[0], "c.md");
  assert_string_equal(v[1], "a.txt");
  assert_string_equal(v[2], "b.txt");
  free_paths(v, n);
}

static void test_match_globs(void **state) {
  fixture *f = *state;
  expect_match(f->ctx, "*.txt", "a.txt b.txt"); /* secret.txt is excluded */
  expect_match(f->ctx, "?.md", "c.md");
  expect_match(f->ctx, "[ab].txt", "a.txt b.txt");
  expect_match(f->ctx, "[^a].txt", "b.txt");
  /* Symlinks resolve in the context: abs (to /etc) and esc lead nowhere. */
  expect_match(f->ctx, "[a-b]*", "a.txt alink b.txt");
  expect_match(f->ctx, "dir/*", "dir/f1 dir/hl dir/link dir/sub");
  expect_match(f->ctx, "*/f?", "dir/f1");
  expect_match(f->ctx, "d*/s*/*", "dir/sub/f2 dir/sub/x.tmp");
  expect_match(f->ctx, "*/*.log", "logs/keep.log");
  expect_match(f->ctx, "\\a.txt", "a.txt");
  expect_match(f->ctx, ".wh.*", ".wh.x");
  expect_match(f->ctx, "*", ".wh.x a.txt alink b.txt c.md dir junk logs up");
  expect_no_match(f->ctx, "[", EINVAL, "COPY failed: bad pattern: [");
  expect_no_match(f->ctx, "dir/[]x", EINVAL, NULL);
  expect_no_match(f->ctx, "x\\", EINVAL, NULL);
}

static void test_match_missing(void **state) {
  fixture *f = *state;
  expect_no_match(f->ctx, "nope", ENOENT,
                  "COPY failed: file not found in build context or excluded "
                  "by .dockerignore: stat nope: file does not exist");
  expect_no_match(f->ctx, "/dir/./nope", ENOENT,
                  "COPY failed: file not found in build context or excluded "
                  "by .dockerignore: stat dir/nope: file does not exist");
  expect_no_match(f->ctx, "*.nothing", ENOENT, NULL);
  expect_no_match(f->ctx, "a.txt/x", ENOENT, NULL);
  /* Excluded files do not exist. */
  expect_no_match(f->ctx, "secret.txt", ENOENT, NULL);
  expect_no_match(f->ctx, "skip.tmp", ENOENT, NULL);
  expect_no_match(f->ctx, "*.tmp", ENOENT, NULL);
  expect_no_match(f->ctx, "logs/a.log", ENOENT, NULL);
  expect_no_match(f->ctx, "junk/*", ENOENT, NULL);
  /* ... unless an exception brings them back. */
  expect_match(f->ctx, "logs/keep.log", "logs/keep.log");
  expect_match(f->ctx, "logs", "logs");
  expect_match(f->ctx, "logs/*", "logs/keep.log");
}

static void test_match_outside(void **state) {
  fixture *f = *state;
  for (int fallback = 0; fallback < 2; fallback++) {
    st_safepath_fallback(fallback);
    expect_no_match(
        f->ctx, "../x", EINVAL,
        "COPY failed: forbidden path outside the build context: ../x");
    expect_no_match(f->ctx, "dir/../../outside/secret", EINVAL, NULL);
    expect_no_match(f->ctx, "/../x", EINVAL, NULL);
    expect_no_match(f->ctx, "..", EINVAL, NULL);
    /* Symlinks resolve inside the context, as if it were "/": the file
     * outside is never found through them. */
    expect_no_match(f->ctx, "esc/secret", ENOENT, NULL);
    expect_no_match(f->ctx, "esc", ENOENT, NULL);
    expect_no_match(f->ctx, "up/outside/secret", ENOENT, NULL);
    expect_no_match(f->ctx, "up/*/secret", ENOENT, NULL);
    expect_match(f->ctx, "up/a.txt", "up/a.txt");
    expect_match(f->ctx, "up/dir/sub/f*", "up/dir/sub/f2");
  }
}

/* COPY sources are plain char * (st_ctx_match's); literals are never
 * written through them. */
#define S(literal) ((char *)(literal))

/* ---- tar output ------------------------------------------------------ */

typedef struct tentry {
  char *name;
  mode_t mode; /* type and permission bits */
  unsigned uid, gid;
  long long mtime;
  char *symlink, *hardlink;
  char *data;
  char *xattrs; /* "name=value;" for each */
} tentry;

typedef struct tlist {
  tentry v[64];
  size_t n;
} tlist;

static void tlist_free(tlist *t) {
  for (size_t i = 0; i < t->n; i++) {
    free(t->v[i].name);
    free(t->v[i].symlink);
    free(t->v[i].hardlink);
    free(t->v[i].data);
    free(t->v[i].xattrs);
  }
  t->n = 0;
}

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

static void read_back(int fd, tlist *t) {
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_fd(a, fd, 16384), ARCHIVE_OK);
  struct archive_entry *e;
  memset(t, 0, sizeof(*t));
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    assert_true(t->n < 64);
    tentry *x = &t->v[t->n++];
    x->name = strdup(archive_entry_pathname(e));
    size_t l = strlen(x->name); /* the pax writer ends directories in '/' */
    if (l > 1 && x->name[l - 1] == '/')
      x->name[l - 1] = '\0';
    x->mode = archive_entry_mode(e);
    x->uid = (unsigned)archive_entry_uid(e);
    x->gid = (unsigned)archive_entry_gid(e);
    x->mtime = archive_entry_mtime(e);
    x->symlink = dup_or_null(archive_entry_symlink(e));
    x->hardlink = dup_or_null(archive_entry_hardlink(e));
    char xa[256] = "";
    size_t xl = 0;
    const char *xn;
    const void *xv;
    size_t xs;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK)
      xl += (size_t)snprintf(xa + xl, sizeof(xa) - xl, "%s=%.*s;", xn, (int)xs,
                             (const char *)xv);
    x->xattrs = strdup(xa);
    size_t size = (size_t)archive_entry_size(e);
    x->data = calloc(1, size + 1);
    if (size)
      assert_int_equal(archive_read_data(a, x->data, size), (ssize_t)size);
  }
  archive_read_free(a);
}

/* Writes the tar of spec and reads it back. */
static void copy_tar(st_ctx *c, const st_copy_spec *spec, tlist *t) {
  int fd = memfd_create("tar", MFD_CLOEXEC);
  assert_true(fd >= 0);
  cleanup_error st_error *err = NULL;
  if (st_ctx_write_tar(c, spec, fd, &err) < 0)
    fail_msg("write tar: %s", err->msg);
  read_back(fd, t);
  close(fd);
}

static const tentry *find(const tlist *t, const char *name) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].name, name) == 0)
      return &t->v[i];
  return NULL;
}

static void expect_names(const tlist *t, const char *want) {
  char got[2048] = "";
  size_t len = 0;
  for (size_t i = 0; i < t->n; i++)
    len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s", i ? " " : "",
                            t->v[i].name);
  assert_string_equal(got, want);
  for (size_t i = 1; i < t->n; i++)
    assert_true(strcmp(t->v[i - 1].name, t->v[i].name) < 0);
}

static st_copy_spec spec_of(char *const *srcs, size_t n, const char *dest,
                            bool dest_is_dir) {
  return (st_copy_spec){.srcs = srcs,
                        .n_srcs = n,
                        .dest = dest,
                        .dest_is_dir = dest_is_dir,
                        .mode = -1,
                        .mtime = -1};
}

static void test_tar_file_into_dir(void **state) {
  fixture *f = *state;
  char *srcs[] = {S("a.txt")};
  st_copy_spec spec = spec_of(srcs, 1, "/app/bin/", true);
  tlist t;
  copy_tar(f->ctx, &spec, &t);
  expect_names(&t, "app app/bin app/bin/a.txt");
  const tentry *p = find(&t, "app/bin");
  assert_int_equal(p->mode, S_IFDIR | 0755);
  assert_int_equal(p->uid, 0);
  const tentry *x = find(&t, "app/bin/a.txt");
  assert_int_equal(x->mode, S_IFREG | 0644);
  assert_string_equal(x->data, "alpha");
  struct stat st;
  char path[256];
  snprintf(path, sizeof(path), "%s/a.txt", f->root);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(x->mtime, st.st_mtim.tv_sec); /* kept, as Docker */
  tlist_free(&t);
}

static void test_tar_file_as_dest(void **state) {
  fixture *f = *state;
  char *srcs[] = {S("b.txt")};
  st_copy_spec spec = spec_of(srcs, 1, "/etc/conf", false);
  tlist t;
  copy_tar(f->ctx, &spec, &t);
  expect_names(&t, "etc etc/conf");
  assert_int_equal(find(&t, "etc/conf")->mode, S_IFREG | 0600);
  assert_string_equal(find(&t, "etc/conf")->data, "bravo");
  tlist_free(&t);
  /* A file at the root needs no parent. */
  spec.dest = "/conf";
  copy_tar(f->ctx, &spec, &t);
  expect_names(&t, "conf");
  tlist_free(&t);
}

static void test_tar_directory_contents(void **state) {
  fixture *f = *state;
  char *srcs[] = {S("dir")};
  for (int as_dir = 0; as_dir < 2; as_dir++) {
    st_copy_spec spec = spec_of(srcs, 1, as_dir ? "/d/" : "/d", as_dir);
    tlist t;
    copy_tar(f->ctx, &spec, &t);
    /* The contents, not the directory; dir/sub/x.tmp is not excluded
     * ("*.tmp" is anchored at the root). */
    expect_names(&t, "d d/f1 d/hl d/link d/sub d/sub/f2 d/sub/x.tmp");
    assert_int_equal(find(&t, "d")->mode, S_IFDIR | 0750);
    const tentry *link = find(&t, "d/link");
    assert_int_equal(link->mode & S_IFMT, S_IFLNK);
    assert_string_equal(link->symlink, "f1");
    const tentry *hl = find(&t, "d/hl");
    assert_string_equal(hl->hardlink, "d/f1");
    assert_string_equal(find(&t, "d/f1")->data, "one");
    assert_int_equal(find(&t, "d/f1")->mode, S_IFREG | 0755);
    tlist_free(&t);
  }
}

static void test_tar_root_with_ignore(void **state) {
  fixture *f = *state;
  char *srcs[] = {S(".")};
  st_copy_spec spec = spec_of(srcs, 1, "/", true);
  tlist t;
  copy_tar(f->ctx, &spec, &t);
  expect_names(&t, ".wh.x a.txt abs alink b.txt c.md dir dir/f1 dir/hl "
                   "dir/link dir/sub dir/sub/f2 dir/sub/x.tmp esc junk logs "
                   "logs/keep.log up");
  /* Whiteout-looking names are plain files. */
  const tentry *wh = find(&t, ".wh.x");
  assert_int_equal(wh->mode, S_IFREG | 0644);
  assert_string_equal(wh->data, "w");
  /* Symlinks inside a copied tree are kept, whatever they point at. */
  assert_string_equal(find(&t, "esc")->symlink, "../outside");
  assert_string_equal(find(&t, "abs")->symlink, "/etc");
  tlist_free(&t);
}

static void sum(st_ctx *c, const st_copy_spec *spec, char out[ST_DIGEST_LEN]);

/* --exclude: a directory source's entries by their path inside it, a
 * file source by its name; neither in the tar nor in the checksum. */
static void test_tar_exclude(void **state) {
  fixture *f = *state;
  st_ignore *ex = NULL;
  const char pats[] = "sub\n**/f1\nb.*\n";
  assert_int_equal(st_ignore_compile(pats, sizeof(pats) - 1, &ex, NULL), 0);
  char *srcs[] = {S("dir"), S("a.txt"), S("b.txt")};
  st_copy_spec spec = spec_of(srcs, 3, "/opt/", true);
  char all[ST_DIGEST_LEN], some[ST_DIGEST_LEN], again[ST_DIGEST_LEN];
  sum(f->ctx, &spec, all);
  spec.exclude = ex;
  tlist t;
  copy_tar(f->ctx, &spec, &t);
  expect_names(&t, "opt opt/a.txt opt/hl opt/link");
  tlist_free(&t);
  sum(f->ctx, &spec, some);
  assert_string_not_equal(all, some);
  /* a change below an excluded path leaves the checksum as it was */
  put(f->root, "dir/sub/f2", "changed", 0644);
  put(f->root, "b.txt", "changed too", 0600);
  sum(f->ctx, &spec, again);
  assert_string_equal(some, again);
  st_ignore_free(ex);
}

/* --parents: each source under dest by its path from the pivot on, the
 * directories between made 0755. */
static void test_tar_parents(void **state) {
  fixture *f = *state;
  char *srcs[] = {S("dir/sub/f2"), S("dir/sub"), S("a.txt")};
  size_t pivots[] = {0, 4, 0};
  st_copy_spec spec = spec_of(srcs, 3, "/opt/", true);
  spec.pivots = pivots;
  tlist t;
  copy_tar(f->ctx, &spec, &t);
  expect_names(&t, "opt opt/a.txt opt/dir opt/dir/sub opt/dir/sub/f2 opt/sub "
                   "opt/sub/f2 opt/sub/x.tmp");
  assert_int_equal(find(&t, "opt/dir")->mode, S_IFDIR | 0755);
  tlist_free(&t);
}

static void test_tar_chown_chmod_mtime(void **state) {
  fixture *f = *state;
  char *srcs[] = {S("dir"), S("a.txt")};
  st_copy_spec spec = spec_of(srcs, 2, "/opt/app/", true);
  spec.uid = 1000;
  spec.gid = 1001;
  spec.mode = 0640;
  spec.mtime = 1234567890;
  tlist t;
  copy_tar(f->ctx, &spec, &t);
  expect_names(&t, "opt opt/app opt/app/a.txt opt/app/f1 opt/app/hl "
                   "opt/app/link opt/app/sub opt/app/sub/f2 "
                   "opt/app/sub/x.tmp");
  for (size_t i = 0; i < t.n; i++) {
    const tentry *x = &t.v[i];
    assert_int_equal(x->mtime, 1234567890);
    if (strcmp(x->name, "opt") == 0) {
      /* A made-up parent: root's, 0755. */
      assert_int_equal(x->uid, 0);
      assert_int_equal(x->mode, S_IFDIR | 0755);
      continue;
    }
    assert_int_equal(x->uid, 1000);
    assert_int_equal(x->gid, 1001);
    if (S_ISLNK(x->mode))
      assert_int_equal(x->mode & 07777, 0777);
    else
      assert_int_equal(x->mode & 07777, 0640);
  }
  tlist_free(&t);
}

static void test_tar_symlink_named(void **state) {
  fixture *f = *state;
  /* A symlink named directly is followed: its file is copied under the
   * symlink's name. */
  char *srcs[] = {S("alink"), S("up/c.md")};
  st_copy_spec spec = spec_of(srcs, 2, "/x/", true);
  tlist t;
  copy_tar(f->ctx, &spec, &t);
  expect_names(&t, "x x/alink x/c.md");
  assert_int_equal(find(&t, "x/alink")->mode, S_IFREG | 0644);
  assert_string_equal(find(&t, "x/alink")->data, "alpha");
  assert_string_equal(find(&t, "x/c.md")->data, "charlie");
  tlist_free(&t);
  /* A symlink escaping the context is not a source. */
  char *esc[] = {S("esc/secret")};
  spec = spec_of(esc, 1, "/x/", true);
  int fd = memfd_create("tar", MFD_CLOEXEC);
  cleanup_error st_error *err = NULL;
  assert_true(st_ctx_write_tar(f->ctx, &spec, fd, &err) < 0);
  assert_int_equal(err->code, ENOENT);
  close(fd);
}

static void test_tar_later_source_wins(void **state) {
  fixture *f = *state;
  char *srcs[] = {S("dir/sub/f2"), S("a.txt"), S("dir/sub")};
  st_copy_spec spec = spec_of(srcs, 3, "/w", true);
  tlist t;
  copy_tar(f->ctx, &spec, &t);
  expect_names(&t, "w w/a.txt w/f2 w/x.tmp");
  tlist_free(&t);
  /* A dest that is not a directory takes one source. */
  spec.dest_is_dir = false;
  cleanup_error st_error *err = NULL;
  assert_true(st_ctx_write_tar(f->ctx, &spec, -1, &err) < 0);
  assert_int_equal(err->code, EINVAL);
}

static void test_tar_excluded_dir_reincluded(void **state) {
  fixture *f = *state;
  char *srcs[] = {S("logs"), S("junk")};
  st_copy_spec spec = spec_of(srcs, 2, "/l/", true);
  tlist t;
  copy_tar(f->ctx, &spec, &t);
  /* logs/a.log stays out; junk is not excluded but holds only excluded
   * files: its (empty) contents go into l. */
  expect_names(&t, "l l/keep.log");
  tlist_free(&t);
}

static void test_tar_xattrs(void **state) {
  fixture *f = *state;
  char p[256];
  path_in(f, "a.txt", p, sizeof(p));
  if (setxattr(p, "user.note", "hi", 2, 0) < 0)
    skip(); /* the file system of /tmp has no user xattrs */
  /* Overlay's own attributes never travel. */
  (void)setxattr(p, "trusted.overlay.x", "y", 1, 0);
  char *srcs[] = {S("a.txt")};
  st_copy_spec spec = spec_of(srcs, 1, "/", true);
  tlist t;
  copy_tar(f->ctx, &spec, &t);
  expect_names(&t, "a.txt");
  /* libarchive's pax writer stores each xattr twice (LIBARCHIVE.xattr and
   * SCHILY.xattr) and its reader may report both. */
  const char *x = t.v[0].xattrs;
  assert_true(strcmp(x, "user.note=hi;") == 0 ||
              strcmp(x, "user.note=hi;user.note=hi;") == 0);
  tlist_free(&t);
}

/* ---- checksum -------------------------------------------------------- */

static void sum(st_ctx *c, const st_copy_spec *spec, char out[ST_DIGEST_LEN]) {
  cleanup_error st_error *err = NULL;
  if (st_ctx_checksum(c, spec, out, NULL, &err) < 0)
    fail_msg("checksum: %s", err->msg);
}

/* The checksum of COPY . /app/ over the fixture's context. */
static void root_sum(fixture *f, char out[ST_DIGEST_LEN]) {
  char *srcs[] = {S(".")};
  st_copy_spec spec = spec_of(srcs, 1, "/app/", true);
  st_ctx_free(f->ctx);
  assert_int_equal(st_ctx_open(f->root, f->ig, &f->ctx, NULL), 0);
  sum(f->ctx, &spec, out);
}

static void test_checksum_same_content(void **state) {
  fixture *f = *state;
  char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN];
  root_sum(f, a);
  assert_true(st_digest_valid(a));
  /* A second context with the same bytes under the same names. */
  char other[128];
  snprintf(other, sizeof(other), "%s/ctx2", f->dir);
  make_tree(other);
  st_ctx *c2;
  assert_int_equal(st_ctx_open(other, f->ig, &c2, NULL), 0);
  char *srcs[] = {S(".")};
  st_copy_spec spec = spec_of(srcs, 1, "/app/", true);
  sum(c2, &spec, b);
  st_ctx_free(c2);
  assert_string_equal(a, b);
  /* mtime, owner and what is excluded do not count. */
  char p[256];
  path_in(f, "a.txt", p, sizeof(p));
  struct timespec ts[2] = {{1000, 0}, {1000, 0}};
  assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
  assert_int_equal(chown(p, 123, 456), 0);
  put(f->root, "new.tmp", "ignored", 0644);
  put(f->root, "logs/other.log", "ignored", 0644);
  root_sum(f, b);
  assert_string_equal(a, b);
  /* Nor --chown / --chmod / mtime of the spec (the driver's key has them). */
  spec.uid = 7;
  spec.mode = 0700;
  spec.mtime = 5;
  sum(f->ctx, &spec, b);
  assert_string_equal(a, b);
}

static void expect_changed(fixture *f, const char *before) {
  char now[ST_DIGEST_LEN];
  root_sum(f, now);
  assert_string_not_equal(before, now);
}

static void test_checksum_changes(void **state) {
  fixture *f = *state;
  char a[ST_DIGEST_LEN], p[256], q[256];
  root_sum(f, a);
  put(f->root, "dir/sub/f2", "TWO", 0644); /* content, same size */
  expect_changed(f, a);
  root_sum(f, a);
  path_in(f, "c.md", p, sizeof(p));
  assert_int_equal(chmod(p, 0600), 0);
  expect_changed(f, a);
  root_sum(f, a);
  path_in(f, "c.md", p, sizeof(p));
  path_in(f, "d.md", q, sizeof(q));
  assert_int_equal(rename(p, q), 0);
  expect_changed(f, a);
  root_sum(f, a);
  path_in(f, "dir/link", p, sizeof(p));
  assert_int_equal(unlink(p), 0);
  symlink_at(f->root, "dir/link", "sub");
  expect_changed(f, a);
  root_sum(f, a);
  put(f->root, "logs/keep.log", "kept, changed", 0644);
  expect_changed(f, a);
  /* The destination is part of what is written. */
  char *srcs[] = {S("a.txt")};
  st_copy_spec s1 = spec_of(srcs, 1, "/x/", true);
  st_copy_spec s2 = spec_of(srcs, 1, "/y/", true);
  char d1[ST_DIGEST_LEN], d2[ST_DIGEST_LEN];
  sum(f->ctx, &s1, d1);
  sum(f->ctx, &s2, d2);
  assert_string_not_equal(d1, d2);
}

static void test_checksum_files(void **state) {
  fixture *f = *state;
  char *srcs[] = {S("dir")};
  st_copy_spec spec = spec_of(srcs, 1, "/d", false);
  char d[ST_DIGEST_LEN];
  char **files = NULL;
  assert_int_equal(st_ctx_checksum(f->ctx, &spec, d, &files, NULL), 0);
  /* named by source path (what the user edits) */
  const char *names[] = {S("dir"),          S("dir/f1"),  S("dir/hl"),
                         S("dir/link"),     S("dir/sub"), S("dir/sub/f2"),
                         S("dir/sub/x.tmp")};
  size_t n = 0;
  for (; files[n]; n++) {
    size_t l = strlen(names[n]);
    assert_true(strncmp(files[n], names[n], l) == 0);
    /* "NAME\tTYPE MODE SIZE sha256:..." */
    char type = 0;
    unsigned mode = 0;
    long long size = -1;
    char digest[ST_DIGEST_LEN + 1] = "";
    assert_int_equal(
        sscanf(files[n] + l, "\t%c %o %lld %72s", &type, &mode, &size, digest),
        4);
    assert_true(strchr("fdlh", type) != NULL);
    assert_true(st_digest_valid(digest));
    free(files[n]);
  }
  free(files);
  assert_int_equal(n, 7);
}

/* A memo that records the fingerprints asked for and answers with a
 * fixed checksum when told to. */
typedef struct memo {
  char fp[8][ST_DIGEST_LEN];
  int n_get, n_put;
  bool know;
} memo;

static bool memo_get(void *ctx, const char *fp, char sum[ST_DIGEST_LEN]) {
  memo *m = ctx;
  if (m->n_get < 8)
    snprintf(m->fp[m->n_get], ST_DIGEST_LEN, "%s", fp);
  m->n_get++;
  if (m->know)
    snprintf(sum, ST_DIGEST_LEN, "sha256:%064d", 7);
  return m->know;
}

static void memo_put(void *ctx, const char *fp, const char *sum) {
  (void)fp;
  (void)sum;
  ((memo *)ctx)->n_put++;
}

static void test_checksum_memo(void **state) {
  fixture *f = *state;
  memo m = {0};
  st_ctx_hashes h = {.sum_get = memo_get, .sum_put = memo_put, .ctx = &m};
  char *srcs[] = {S(".")};
  st_copy_spec spec = spec_of(srcs, 1, "/app/", true);
  char plain[ST_DIGEST_LEN], d[ST_DIGEST_LEN];
  sum(f->ctx, &spec, plain);
  st_ctx_set_hashes(f->ctx, &h);
  /* unknown: computed as without a memo; files changed just now (the
   * fixture's) are not remembered, their times could still change unseen */
  sum(f->ctx, &spec, d);
  assert_string_equal(d, plain);
  assert_int_equal(m.n_get, 1);
  assert_int_equal(m.n_put, 0);
  assert_true(st_digest_valid(m.fp[0]));
  /* nothing changed: the same fingerprint */
  sum(f->ctx, &spec, d);
  assert_string_equal(m.fp[1], m.fp[0]);
  /* known: the memo's answer, no files listed */
  m.know = true;
  char **files = (char **)&m;
  assert_int_equal(st_ctx_checksum(f->ctx, &spec, d, &files, NULL), 0);
  assert_null(files);
  assert_string_equal(d, "sha256:"
                         "0000000000000000000000000000000000000000"
                         "000000000000000000000007");
  m.know = false;
  /* same size, mtime put back (touch -r): the ctime moved, a new one */
  char p[256];
  path_in(f, "dir/sub/f2", p, sizeof(p));
  struct stat before;
  assert_int_equal(stat(p, &before), 0);
  struct timespec pause = {0, 20 * 1000 * 1000};
  nanosleep(&pause, NULL); /* past the ctime clock's tick */
  put(f->root, "dir/sub/f2", "TWO", 0644);
  struct timespec ts[2] = {before.st_atim, before.st_mtim};
  assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
  struct stat after;
  assert_int_equal(stat(p, &after), 0);
  assert_int_equal(after.st_size, before.st_size);
  assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  sum(f->ctx, &spec, d);
  assert_int_equal(m.n_get, 4);
  assert_string_not_equal(m.fp[3], m.fp[0]);
  assert_string_not_equal(d, plain);
  /* another destination: another fingerprint */
  st_copy_spec other = spec_of(srcs, 1, "/elsewhere/", true);
  sum(f->ctx, &other, d);
  assert_string_not_equal(m.fp[4], m.fp[3]);
  st_ctx_set_hashes(f->ctx, NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_match_plain),
      T(test_match_globs),
      T(test_match_missing),
      T(test_match_outside),
      T(test_tar_file_into_dir),
      T(test_tar_file_as_dest),
      T(test_tar_directory_contents),
      T(test_tar_root_with_ignore),
      T(test_tar_exclude),
      T(test_tar_parents),
      T(test_tar_chown_chmod_mtime),
      T(test_tar_symlink_named),
      T(test_tar_later_source_wins),
      T(test_tar_excluded_dir_reincluded),
      T(test_tar_xattrs),
      T(test_checksum_same_content),
      T(test_checksum_changes),
      T(test_checksum_files),
      T(test_checksum_memo),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
