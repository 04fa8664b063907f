/* The util module: the error contract (set, errno, wrap, codes), st_buf,
 * the file system helpers and resolution inside a root (safepath), the
 * latter with openat2 and with the fallback walk. Each file system test
 * works in a fresh mkdtemp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/safepath.h"

/* ---- fixtures ---------------------------------------------------------- */

typedef struct ctx {
  char dir[64];
} ctx;

static int setup(void **state) {
  ctx *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return -1;
  snprintf(c->dir, sizeof(c->dir), "/tmp/strata-test-util.XXXXXX");
  if (mkdtemp(c->dir) == NULL) {
    free(c);
    return -1;
  }
  *state = c;
  return 0;
}

static int teardown(void **state) {
  ctx *c = *state;
  st_safepath_fallback(false);
  st_error *err = NULL;
  st_rm_rf(c->dir, &err);
  st_error_free(err);
  free(c);
  return 0;
}

/* "<dir>/<rel>", malloc'd. */
static char *at(const ctx *c, const char *rel) {
  char *p = NULL;
  assert_true(asprintf(&p, "%s/%s", c->dir, rel) > 0);
  return p;
}

static void write_text(const ctx *c, const char *rel, const char *text) {
  cleanup_free char *p = at(c, rel);
  assert_int_equal(st_write_file_atomic(p, text, strlen(text), NULL), 0);
}

static void read_fd_text(int fd, char *out, size_t cap) {
  ssize_t n = read(fd, out, cap - 1);
  assert_true(n >= 0);
  out[n] = '\0';
}

/* ---- error ------------------------------------------------------------- */

static void test_error_set_and_wrap(void **state) {
  (void)state;
  st_error *err = NULL;
  assert_int_equal(st_error_set(&err, EINVAL, "bad %s %d", "thing", 7), -1);
  assert_non_null(err);
  assert_int_equal(err->code, EINVAL);
  assert_string_equal(err->msg, "bad thing 7");
  assert_int_equal(st_error_wrap(&err, "layer %d", 1), -1);
  assert_int_equal(st_error_wrap(&err, "import %s", "rootfs.tar"), -1);
  assert_string_equal(err->msg, "import rootfs.tar: layer 1: bad thing 7");
  assert_int_equal(err->code, EINVAL); /* wrapping keeps the code */
  /* The first error wins: a second set neither replaces nor leaks. */
  assert_int_equal(st_error_set(&err, ENOENT, "later"), -1);
  assert_int_equal(err->code, EINVAL);
  assert_string_equal(err->msg, "import rootfs.tar: layer 1: bad thing 7");
  st_error_freep(&err);
  assert_null(err);
}

static void test_error_errno_and_null(void **state) {
  (void)state;
  cleanup_error st_error *err = NULL;
  assert_int_equal(st_error_errno(&err, ENOENT, "open `%s`", "x"), -1);
  assert_int_equal(err->code, ENOENT);
  char want[128];
  snprintf(want, sizeof(want), "open `x`: %s", strerror(ENOENT));
  assert_string_equal(err->msg, want);
  /* A NULL err is allowed everywhere and still returns -1. */
  assert_int_equal(st_error_set(NULL, EIO, "ignored"), -1);
  assert_int_equal(st_error_errno(NULL, EIO, "ignored"), -1);
  assert_int_equal(st_error_wrap(NULL, "ignored"), -1);
  st_error *none = NULL;
  assert_int_equal(st_error_wrap(&none, "nothing to wrap"), -1);
  assert_null(none);
  st_error_free(NULL);
}

/* ---- buf --------------------------------------------------------------- */

static void test_buf_growth(void **state) {
  (void)state;
  cleanup_buf st_buf b = ST_BUF_INIT;
  assert_null(b.data);
  char *empty = st_buf_steal(&b);
  assert_string_equal(empty, "");
  free(empty);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(st_buf_putc(&b, (char)('a' + i % 26)), 0);
  assert_int_equal(b.len, 1000);
  assert_true(b.cap > b.len);
  assert_int_equal(b.data[1000], '\0');
  assert_int_equal(b.data[26], 'a');
  assert_int_equal(st_buf_append(&b, "\0x", 2), 0); /* binary-safe */
  assert_int_equal(b.len, 1002);
  assert_int_equal(b.data[1000], '\0');
  assert_int_equal(b.data[1001], 'x');
  assert_int_equal(st_buf_append(&b, NULL, 0), 0);
  assert_int_equal(b.len, 1002);
  st_buf_free(&b);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
}

static void test_buf_printf(void **state) {
  (void)state;
  cleanup_buf st_buf b = ST_BUF_INIT;
  assert_int_equal(st_buf_puts(&b, "x="), 0);
  assert_int_equal(st_buf_printf(&b, "%d/%s", 42, "tcp"), 0);
  assert_string_equal(b.data, "x=42/tcp");
  assert_int_equal(b.len, 8);
  /* Longer than the spare room: the two-pass path. */
  char big[500];
  memset(big, 'z', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(st_buf_printf(&b, "[%s]", big), 0);
  assert_int_equal(b.len, 8 + 2 + 499);
  assert_int_equal(strlen(b.data), b.len);
  assert_int_equal(b.data[8], '[');
  assert_int_equal(b.data[b.len - 1], ']');
  assert_int_equal(st_buf_printf(&b, "%s", ""), 0);
  assert_int_equal(b.len, 509);
  char *s = st_buf_steal(&b);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  assert_int_equal(strncmp(s, "x=42/tcp[zz", 11), 0);
  free(s);
}

/* ---- fs ---------------------------------------------------------------- */

static void test_fs_write_read(void **state) {
  ctx *c = *state;
  cleanup_free char *p = at(c, "f.txt");
  cleanup_error st_error *err = NULL;
  assert_int_equal(st_write_file_atomic(p, "one", 3, &err), 0);
  assert_int_equal(st_write_file_atomic(p, "second", 6, &err), 0);
  cleanup_free char *buf = NULL;
  size_t len = 0;
  assert_int_equal(st_read_file(p, &buf, &len, &err), 0);
  assert_int_equal(len, 6);
  assert_string_equal(buf, "second");
  /* No temporary file is left next to it. */
  cleanup_free char *tmp = NULL;
  assert_true(asprintf(&tmp, "%s.tmp-%d", p, (int)getpid()) > 0);
  assert_int_equal(access(tmp, F_OK), -1);
  /* An empty file reads as "" with length 0. */
  assert_int_equal(st_write_file_atomic(p, "", 0, &err), 0);
  free(buf);
  buf = NULL;
  assert_int_equal(st_read_file(p, &buf, &len, &err), 0);
  assert_int_equal(len, 0);
  assert_string_equal(buf, "");
  assert_null(err);
  /* A missing file: ENOENT naming the path. */
  cleanup_free char *missing = at(c, "nope");
  char *never = NULL;
  assert_int_equal(st_read_file(missing, &never, &len, &err), -1);
  assert_null(never);
  assert_int_equal(err->code, ENOENT);
  assert_non_null(strstr(err->msg, "nope`"));
  /* Writing into a missing directory fails, with the code. */
  st_error_freep(&err);
  cleanup_free char *nodir = at(c, "no/such/f");
  assert_int_equal(st_write_file_atomic(nodir, "x", 1, &err), -1);
  assert_int_equal(err->code, ENOENT);
}

static void test_fs_mkdir_p_rm_rf(void **state) {
  ctx *c = *state;
  cleanup_error st_error *err = NULL;
  cleanup_free char *deep = at(c, "a/b/c/d");
  assert_int_equal(st_mkdir_p(deep, 0755, &err), 0);
  struct stat st;
  assert_int_equal(stat(deep, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st_mkdir_p(deep, 0755, &err), 0); /* exists: fine */
  /* A file in the way is an error. */
  write_text(c, "a/file", "x");
  cleanup_free char *through = at(c, "a/file/sub");
  assert_int_equal(st_mkdir_p(through, 0755, &err), -1);
  assert_int_equal(err->code, ENOTDIR);
  st_error_freep(&err);
  cleanup_free char *onfile = at(c, "a/file");
  assert_int_equal(st_mkdir_p(onfile, 0755, &err), -1);
  assert_int_equal(err->code, EEXIST);
  st_error_freep(&err);
  /* rm -rf of a tree with files and a symlink pointing outside it: the
   * link goes, its target stays. */
  write_text(c, "a/b/c/d/f", "data");
  write_text(c, "keep", "kept");
  cleanup_free char *keep = at(c, "keep");
  cleanup_free char *link = at(c, "a/b/link");
  assert_int_equal(symlink(keep, link), 0);
  cleanup_free char *a = at(c, "a");
  assert_int_equal(st_rm_rf(a, &err), 0);
  assert_int_equal(lstat(a, &st), -1);
  assert_int_equal(errno, ENOENT);
  assert_int_equal(stat(keep, &st), 0);
  /* Missing paths and single files. */
  assert_int_equal(st_rm_rf(a, &err), 0);
  assert_int_equal(st_rm_rf(keep, &err), 0);
  assert_int_equal(lstat(keep, &st), -1);
  assert_null(err);
}

/* ---- safepath ---------------------------------------------------------- */

/* <dir>/secret (outside) and <dir>/root/{secret,etc/} (inside), with
 * links that would escape if followed naively. */
static int make_root(const ctx *c) {
  write_text(c, "secret", "outside");
  cleanup_free char *root = at(c, "root");
  assert_int_equal(mkdir(root, 0755), 0);
  write_text(c, "root/secret", "inside");
  cleanup_free char *etc = at(c, "root/etc");
  assert_int_equal(mkdir(etc, 0755), 0);
  cleanup_free char *outside = at(c, "secret");
  cleanup_free char *rel = at(c, "root/etc/rel");
  cleanup_free char *abs = at(c, "root/abs");
  cleanup_free char *dotdot = at(c, "root/up");
  cleanup_free char *loop1 = at(c, "root/loop1");
  cleanup_free char *loop2 = at(c, "root/loop2");
  assert_int_equal(symlink("../../../secret", rel), 0);
  assert_int_equal(symlink(outside, abs), 0); /* absolute: re-rooted */
  assert_int_equal(symlink("../..", dotdot), 0);
  assert_int_equal(symlink("loop2", loop1), 0);
  assert_int_equal(symlink("loop1", loop2), 0);
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(fd >= 0);
  return fd;
}

static void expect_inside(int rootfd, const char *path) {
  cleanup_error st_error *err = NULL;
  cleanup_close int fd = st_open_in_root(rootfd, path, O_RDONLY, 0, &err);
  if (fd < 0)
    fail_msg("open %s: %s", path, err->msg);
  char text[32];
  read_fd_text(fd, text, sizeof(text));
  assert_string_equal(text, "inside");
}

static void safepath_escapes(void **state, bool fallback) {
  ctx *c = *state;
  st_safepath_fallback(fallback);
  if (fallback)
    assert_false(st_safepath_has_openat2());
  cleanup_close int rootfd = make_root(c);
  expect_inside(rootfd, "secret");
  expect_inside(rootfd, "../secret");
  expect_inside(rootfd, "/../../secret");
  expect_inside(rootfd, "etc/../../secret");
  expect_inside(rootfd, "etc/rel");
  expect_inside(rootfd, "up/secret");
  /* abs points at "<dir>/secret", which inside the root does not exist. */
  cleanup_error st_error *err = NULL;
  assert_true(st_open_in_root(rootfd, "abs", O_RDONLY, 0, &err) < 0);
  assert_int_equal(err->code, ENOENT);
  st_error_freep(&err);
  assert_true(st_open_in_root(rootfd, "loop1", O_RDONLY, 0, &err) < 0);
  assert_int_equal(err->code, ELOOP);
  st_error_freep(&err);
  /* O_NOFOLLOW refuses a symlink as the last component. */
  assert_true(
      st_open_in_root(rootfd, "etc/rel", O_RDONLY | O_NOFOLLOW, 0, &err) < 0);
  assert_int_equal(err->code, ELOOP);
  st_error_freep(&err);
  /* O_CREAT through an escaping symlinked directory lands inside. */
  int fd = st_open_in_root(rootfd, "up/created", O_WRONLY | O_CREAT | O_EXCL,
                           0644, &err);
  assert_true(fd >= 0);
  close(fd);
  cleanup_free char *in = at(c, "root/created");
  cleanup_free char *out = at(c, "created");
  assert_int_equal(access(in, F_OK), 0);
  assert_int_equal(access(out, F_OK), -1);
  /* mkdir -p through ".." and an escaping link stays inside too. */
  int dfd = st_mkdir_in_root(rootfd, "../../made/x", 0755, &err);
  if (dfd < 0)
    fail_msg("mkdir: %s", err->msg);
  close(dfd);
  dfd = st_mkdir_in_root(rootfd, "up/made2", 0755, &err);
  if (dfd < 0)
    fail_msg("mkdir: %s", err->msg);
  close(dfd);
  cleanup_free char *made_in = at(c, "root/made/x");
  cleanup_free char *made_out = at(c, "made");
  cleanup_free char *made2_in = at(c, "root/made2");
  cleanup_free char *made2_out = at(c, "made2");
  assert_int_equal(access(made_in, F_OK), 0);
  assert_int_equal(access(made_out, F_OK), -1);
  assert_int_equal(access(made2_in, F_OK), 0);
  assert_int_equal(access(made2_out, F_OK), -1);
  /* The file outside was never touched. */
  cleanup_free char *secret = at(c, "secret");
  cleanup_free char *buf = NULL;
  assert_int_equal(st_read_file(secret, &buf, NULL, &err), 0);
  assert_string_equal(buf, "outside");
}

static void test_safepath_openat2(void **state) {
  safepath_escapes(state, false);
}

static void test_safepath_fallback(void **state) {
  safepath_escapes(state, true);
}

static void test_fs_dir_is_empty(void **state) {
  ctx *c = *state;
  cleanup_free char *d = at(c, "d");
  assert_int_equal(mkdir(d, 0755), 0);
  assert_true(st_dir_is_empty(d));
  write_text(c, "d/.hidden", "x"); /* a dot file counts */
  assert_false(st_dir_is_empty(d));
  cleanup_free char *f = at(c, "d/.hidden");
  assert_false(st_dir_is_empty(f)); /* not a directory */
  cleanup_free char *missing = at(c, "missing");
  assert_false(st_dir_is_empty(missing));
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_set_and_wrap),
      cmocka_unit_test(test_error_errno_and_null),
      cmocka_unit_test(test_buf_growth),
      cmocka_unit_test(test_buf_printf),
      T(test_fs_write_read),
      T(test_fs_mkdir_p_rm_rf),
      T(test_fs_dir_is_empty),
      T(test_safepath_openat2),
      T(test_safepath_fallback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
