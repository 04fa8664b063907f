/* Layer unpacking (store/layers.c): tarballs written with libarchive in
 * the test, unpacked into a fresh directory. Hostile layers (.., absolute
 * names, symlinks planted by one entry and written through by a later one,
 * hard links out, overlay xattrs) must fail or stay inside the layer, and
 * never touch the "outside" directory next to it. Every case runs twice:
 * with openat2 and with the fallback walk. */
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
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "store/layers.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"

enum { HARDLINK = 1 };

typedef struct fentry {
  const char *path;
  unsigned type;   /* AE_IF* or HARDLINK */
  const char *arg; /* symlink/hard link target, or file contents */
} fentry;

typedef struct ctx {
  char dir[64];      /* the test's temp dir */
  char layer[128];   /* dir/layer: where entries go */
  char outside[128]; /* dir/outside: must stay untouched */
  int layerfd;
} ctx;

static int setup(void **state) {
  ctx *c = calloc(1, sizeof(*c));
  snprintf(c->dir, sizeof(c->dir), "/tmp/strata-unpack-XXXXXX");
  if (mkdtemp(c->dir) == NULL)
    return -1;
  snprintf(c->layer, sizeof(c->layer), "%s/layer", c->dir);
  snprintf(c->outside, sizeof(c->outside), "%s/outside", c->dir);
  mkdir(c->layer, 0755);
  mkdir(c->outside, 0755);
  char secret[192];
  snprintf(secret, sizeof(secret), "%s/secret", c->outside);
  FILE *f = fopen(secret, "w");
  fputs("secret\n", f);
  fclose(f);
  c->layerfd = open(c->layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  *state = c;
  return 0;
}

static int teardown(void **state) {
  ctx *c = *state;
  st_error *e = NULL;
  close(c->layerfd);
  st_rm_rf(c->dir, &e);
  st_error_free(e);
  free(c);
  st_safepath_fallback(false);
  return 0;
}

static void add_entry(struct archive *a, const fentry *f) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, f->path);
  archive_entry_set_mtime(e, 1000, 0);
  size_t size = 0;
  if (f->type == HARDLINK) {
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_hardlink(e, f->arg);
  } else {
    archive_entry_set_filetype(e, f->type);
    if (f->type == AE_IFLNK)
      archive_entry_set_symlink(e, f->arg);
    if (f->type == AE_IFREG && f->arg)
      size = strlen(f->arg);
  }
  archive_entry_set_perm(e, f->type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size(e, (la_int64_t)size);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  if (size)
    assert_int_equal(archive_write_data(a, f->arg, size), (la_ssize_t)size);
  archive_entry_free(e);
}

/* A memfd holding a tar (gzip-compressed when gz) of entries. */
static int make_tar(const fentry *entries, size_t n, bool gz) {
  size_t cap = 1 << 20, used = 0;
  char *buf = malloc(cap);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gz)
    archive_write_add_filter_gzip(a);
  assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++)
    add_entry(a, &entries[i]);
  archive_write_close(a);
  archive_write_free(a);
  int fd = memfd_create("layer", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, buf, used), (ssize_t)used);
  lseek(fd, 0, SEEK_SET);
  free(buf);
  return fd;
}

static int unpack_mode(ctx *c, const fentry *entries, size_t n,
                       st_unpack_mode mode, st_error **err) {
  cleanup_close int fd = make_tar(entries, n, false);
  return st_layer_unpack_fd(fd, c->layerfd, mode, err);
}

static int unpack(ctx *c, const fentry *entries, size_t n, st_error **err) {
  return unpack_mode(c, entries, n, ST_UNPACK_LAYER, err);
}

/* Nothing but "secret" is in outside/, and it is unchanged. */
static void assert_outside_untouched(ctx *c) {
  cleanup_dir DIR *d = opendir(c->outside);
  struct dirent *de;
  int n = 0;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    assert_string_equal(de->d_name, "secret");
    n++;
  }
  assert_int_equal(n, 1);
  char p[256];
  snprintf(p, sizeof(p), "%s/secret", c->outside);
  cleanup_free char *text = NULL;
  size_t len;
  assert_int_equal(st_read_file(p, &text, &len, NULL), 0);
  assert_string_equal(text, "secret\n");
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_nlink, 1);
  char top[128];
  snprintf(top, sizeof(top), "%s/evil", c->dir);
  assert_int_equal(access(top, F_OK), -1);
}

static void read_in_layer(ctx *c, const char *rel, const char *want) {
  char p[512];
  snprintf(p, sizeof(p), "%s/%s", c->layer, rel);
  cleanup_free char *text = NULL;
  size_t len;
  st_error *e = NULL;
  assert_int_equal(st_read_file(p, &text, &len, &e), 0);
  assert_string_equal(text, want);
}

static void run_both(void **state, void (*fn)(ctx *c)) {
  ctx *c = *state;
  fn(c);
  /* again with the fallback walk, in a fresh layer dir */
  teardown(state);
  setup(state);
  c = *state;
  st_safepath_fallback(true);
  fn(c);
}

/* ---- cases ------------------------------------------------------------- */

static void basic(ctx *c) {
  const fentry e[] = {
      {"./", AE_IFDIR, NULL},
      {"bin", AE_IFDIR, NULL},
      {"bin/busybox", AE_IFREG, "#!busybox\n"},
      {"bin/sh", AE_IFLNK, "/bin/busybox"},
      {"bin/ls", HARDLINK, "bin/busybox"},
      {"deep/er/file", AE_IFREG, "x"},
      {"etc/.wh.gone", AE_IFREG, NULL},
      {"var/.wh..wh..opq", AE_IFREG, NULL},
  };
  st_error *err = NULL;
  assert_int_equal(unpack(c, e, sizeof(e) / sizeof(e[0]), &err), 0);
  read_in_layer(c, "bin/busybox", "#!busybox\n");
  read_in_layer(c, "bin/ls", "#!busybox\n");
  read_in_layer(c, "deep/er/file", "x");
  char p[512], target[64] = {0};
  snprintf(p, sizeof(p), "%s/bin/sh", c->layer);
  assert_int_equal(readlink(p, target, sizeof(target)), 12);
  assert_string_equal(target, "/bin/busybox");
  struct stat st;
  snprintf(p, sizeof(p), "%s/etc/gone", c->layer);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal(st.st_rdev, makedev(0, 0));
  snprintf(p, sizeof(p), "%s/etc/.wh.gone", c->layer);
  assert_int_equal(lstat(p, &st), -1);
  snprintf(p, sizeof(p), "%s/var", c->layer);
  char v[4] = {0};
  assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
  assert_string_equal(v, "y");
}

static void test_basic(void **state) {
  run_both(state, basic);
}

static void gzip_layer(ctx *c) {
  const fentry e[] = {{"hello", AE_IFREG, "hi\n"}};
  cleanup_close int fd = make_tar(e, 1, true);
  st_error *err = NULL;
  assert_int_equal(st_layer_unpack_fd(fd, c->layerfd, ST_UNPACK_LAYER, &err),
                   0);
  read_in_layer(c, "hello", "hi\n");
}

static void test_gzip(void **state) {
  run_both(state, gzip_layer);
}

/* Refused outright, with a message naming the entry. */
static void expect_refused(ctx *c, const fentry *e, size_t n,
                           const char *needle) {
  st_error *err = NULL;
  assert_true(unpack(c, e, n, &err) < 0);
  assert_non_null(err);
  if (strstr(err->msg, needle) == NULL)
    fail_msg("message |%s| lacks |%s|", err->msg, needle);
  st_error_free(err);
  assert_outside_untouched(c);
}

static void dotdot(ctx *c) {
  const fentry e[] = {{"ok", AE_IFREG, "fine"},
                      {"../outside/evil", AE_IFREG, "pwned"}};
  expect_refused(c, e, 2, "path leaves the layer");
  const fentry f[] = {{"a/../../outside/evil", AE_IFREG, "pwned"}};
  expect_refused(c, f, 1, "path leaves the layer");
}

static void test_dotdot(void **state) {
  run_both(state, dotdot);
}

static void absolute(ctx *c) {
  char p[256];
  snprintf(p, sizeof(p), "%s/evil", c->outside);
  const fentry e[] = {{p, AE_IFREG, "pwned"}};
  expect_refused(c, e, 1, "path leaves the layer");
}

static void test_absolute(void **state) {
  run_both(state, absolute);
}

/* A symlink to the outside dir (absolute, then relative), then a file
 * written through it: it lands inside the layer, under the link's target
 * taken as a path inside the layer. */
static void symlink_through(ctx *c) {
  char rel[256];
  snprintf(rel, sizeof(rel), "../../../../../../../..%s", c->outside);
  const fentry e[] = {
      {"abs", AE_IFLNK, c->outside}, {"abs/evil", AE_IFREG, "pwned"},
      {"rel", AE_IFLNK, rel},        {"rel/evil2", AE_IFREG, "pwned2"},
      {"dir/up", AE_IFLNK, ".."},    {"dir/up/up/up/evil3", AE_IFREG, "pwned3"},
  };
  st_error *err = NULL;
  if (unpack(c, e, sizeof(e) / sizeof(e[0]), &err) < 0)
    fail_msg("unpack: %s", err->msg);
  assert_outside_untouched(c);
  char in[512];
  snprintf(in, sizeof(in), "%s/evil", c->outside + 1);
  read_in_layer(c, in, "pwned");
  snprintf(in, sizeof(in), "%s/evil2", c->outside + 1);
  read_in_layer(c, in, "pwned2");
  read_in_layer(c, "up/up/evil3", "pwned3");
}

static void test_symlink_through(void **state) {
  run_both(state, symlink_through);
}

/* A symlink, then a regular file with the same name: the symlink is
 * replaced, never written through. */
static void symlink_replaced(ctx *c) {
  char secret[256];
  snprintf(secret, sizeof(secret), "%s/secret", c->outside);
  const fentry e[] = {{"s", AE_IFLNK, secret}, {"s", AE_IFREG, "new"}};
  st_error *err = NULL;
  assert_int_equal(unpack(c, e, 2, &err), 0);
  assert_outside_untouched(c);
  read_in_layer(c, "s", "new");
}

static void test_symlink_replaced(void **state) {
  run_both(state, symlink_replaced);
}

/* Hard links: to "..", absolute, and through a planted symlink. */
static void hardlinks(ctx *c) {
  const fentry e[] = {{"h", HARDLINK, "../outside/secret"}};
  expect_refused(c, e, 1, "hard link");
  char secret[256];
  snprintf(secret, sizeof(secret), "%s/secret", c->outside);
  const fentry f[] = {{"h", HARDLINK, secret}};
  expect_refused(c, f, 1, "hard link");
  const fentry g[] = {{"lnk", AE_IFLNK, c->outside},
                      {"h", HARDLINK, "lnk/secret"}};
  expect_refused(c, g, 2, "hard link");
}

static void test_hardlinks(void **state) {
  run_both(state, hardlinks);
}

/* A whiteout cannot be turned into a way out either. */
static void whiteout_escape(ctx *c) {
  const fentry e[] = {{"lnk", AE_IFLNK, c->outside},
                      {"lnk/.wh.secret", AE_IFREG, NULL},
                      {"lnk/.wh..wh..opq", AE_IFREG, NULL},
                      {".wh...", AE_IFREG, NULL}};
  st_error *err = NULL;
  assert_true(unpack(c, e, 4, &err) < 0);
  st_error_free(err);
  assert_outside_untouched(c);
  char v[4];
  assert_true(getxattr(c->outside, "trusted.overlay.opaque", v, 4) < 0);
}

static void test_whiteout_escape(void **state) {
  run_both(state, whiteout_escape);
}

/* Plain mode (cp): whiteout names are files like any other; the files
 * they would delete in a layer stay, and no device appears. */
static void assert_regular(ctx *c, const char *rel, off_t size) {
  char p[512];
  struct stat st;
  snprintf(p, sizeof(p), "%s/%s", c->layer, rel);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_size, size);
}

static void plain_whiteout_names(ctx *c) {
  const fentry e[] = {
      {"d", AE_IFDIR, NULL},
      {"d/x", AE_IFREG, "keep\n"},
      {"d/.wh.x", AE_IFREG, NULL},
      {"d/.wh..wh..opq", AE_IFREG, "o"},
      {"d/.wh..wh.plnk", AE_IFREG, NULL},
      {".wh.d", AE_IFREG, "w"},
  };
  st_error *err = NULL;
  assert_int_equal(unpack_mode(c, e, 6, ST_UNPACK_PLAIN, &err), 0);
  read_in_layer(c, "d/x", "keep\n");
  assert_regular(c, "d/.wh.x", 0);
  assert_regular(c, "d/.wh..wh..opq", 1);
  assert_regular(c, "d/.wh..wh.plnk", 0);
  assert_regular(c, ".wh.d", 1);
  char p[512], v[4];
  snprintf(p, sizeof(p), "%s/d", c->layer);
  assert_true(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)) < 0);
}

static void test_plain_whiteout_names(void **state) {
  run_both(state, plain_whiteout_names);
}

/* The kernel must be the one resolving: check the helper on its own. */
static void open_in_root(ctx *c) {
  char p[256];
  snprintf(p, sizeof(p), "%s/link", c->layer);
  assert_int_equal(symlink("/../../..", p), 0);
  st_error *err = NULL;
  cleanup_close int fd =
      st_open_in_root(c->layerfd, "link/etc", O_RDONLY, 0, &err);
  assert_true(fd < 0); /* /etc of the host is not reachable */
  assert_int_equal(err->code, ENOENT);
  st_error_free(err);
  err = NULL;
  cleanup_close int dfd = st_mkdir_in_root(c->layerfd, "link/x/y", 0755, &err);
  assert_true(dfd >= 0);
  snprintf(p, sizeof(p), "%s/x/y", c->layer);
  assert_int_equal(access(p, F_OK), 0);
}

static void test_open_in_root(void **state) {
  run_both(state, open_in_root);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_basic),           T(test_gzip),
      T(test_dotdot),          T(test_absolute),
      T(test_symlink_through), T(test_symlink_replaced),
      T(test_hardlinks),       T(test_whiteout_escape),
      T(test_open_in_root),    T(test_plain_whiteout_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
