/* Layer tar import: fixture tarballs are written with libarchive in memory,
 * imported from memfds and pipes into a fresh store per test. Hostile and
 * broken inputs must fail with a message naming the problem and leave
 * nothing in blobs/sha256 or tmp/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/backend.h"
#include "layer/compress.h"
#include "layer/tar.h"
#include "layer/tarwrite.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* ---- fixtures ---------------------------------------------------------- */

enum { HARDLINK = 1 }; /* fentry.type for a hard link; else an AE_IF* type */

typedef struct fentry {
  const char *path;
  unsigned type;
  const char *link;
  size_t size;
} fentry;

/* A small root file system; size counts bin/busybox, etc/passwd, a..b and
 * ..hidden (the hard link and the symlink add nothing). */
static const fentry rootfs[] = {
    {"bin", AE_IFDIR, NULL, 0},
    {"bin/busybox", AE_IFREG, NULL, 300000},
    {"bin/sh", AE_IFLNK, "/bin/busybox", 0}, /* absolute symlinks are fine */
    {"bin/ls", HARDLINK, "bin/busybox", 0},
    {"etc/passwd", AE_IFREG, NULL, 1234},
    {"./empty", AE_IFREG, NULL, 0},
    {"a..b", AE_IFREG, NULL, 10},
    {"..hidden", AE_IFREG, NULL, 5},
    {"dir/..x/y", AE_IFREG, NULL, 0},
};
static const int64_t rootfs_size = 300000 + 1234 + 10 + 5;

typedef struct ctx {
  char root[64];
  st_store *s;
} ctx;

static uint32_t rng_state = 2463534242u;

/* Deterministic, incompressible-looking bytes. */
static void fill_random(unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    p[i] = (unsigned char)rng_state;
  }
}

static la_ssize_t buf_write(struct archive *a, void *data, const void *p,
                            size_t n) {
  return st_buf_append(data, p, n) < 0 ? -1 : (la_ssize_t)n;
}

static void add_entry(struct archive *a, const fentry *f) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, f->path);
  archive_entry_set_mtime(e, 1700000000, 0);
  archive_entry_set_perm(e, 0644);
  if (f->type == HARDLINK) {
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_hardlink(e, f->link);
  } else {
    archive_entry_set_filetype(e, f->type);
    archive_entry_set_size(e, (la_int64_t)f->size);
    if (f->type == AE_IFLNK)
      archive_entry_set_symlink(e, f->link);
  }
  /* WARN: a UTF-8 name that the C locale cannot convert, written as is. */
  int r = archive_write_header(a, e);
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
    fail_msg("write %s: %s", f->path, archive_error_string(a));
  unsigned char chunk[8192];
  for (size_t left = f->size; left > 0;) {
    size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
    fill_random(chunk, n);
    assert_int_equal(archive_write_data(a, chunk, n), (la_ssize_t)n);
    left -= n;
  }
  archive_entry_free(e);
}

/* Writes a pax tar of the entries to out (libarchive pads it to 10 KiB
 * blocks, so imports also meet trailing zeros). */
static void make_tar(const fentry *ents, size_t n, st_buf *out) {
  struct archive *a = archive_write_new();
  assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  assert_int_equal(archive_write_open(a, out, NULL, buf_write, NULL),
                   ARCHIVE_OK);
  for (size_t i = 0; i < n; i++)
    add_entry(a, &ents[i]);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

/* Compresses in exactly as given, through libarchive's "raw" format. */
static void compress(const st_buf *in, int filter, st_buf *out) {
  struct archive *a = archive_write_new();
  assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
  assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
  assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
  assert_int_equal(archive_write_open(a, out, NULL, buf_write, NULL),
                   ARCHIVE_OK);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "data");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, (la_int64_t)in->len);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  assert_int_equal(archive_write_data(a, in->data, in->len),
                   (la_ssize_t)in->len);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_entry_free(e);
  archive_write_free(a);
}

/* A 512-byte ustar header, for what libarchive's writer refuses to make. */
static void ustar_header(unsigned char blk[512], const char *name, char type,
                         size_t size) {
  memset(blk, 0, 512);
  memcpy(blk, name, strlen(name));
  memcpy(blk + 100, "0000644", 7);
  memcpy(blk + 108, "0000000", 7);
  memcpy(blk + 116, "0000000", 7);
  snprintf((char *)blk + 124, 12, "%011zo", size);
  memcpy(blk + 136, "14540100000", 11);
  blk[156] = (unsigned char)type;
  memcpy(blk + 257, "ustar", 6);
  memcpy(blk + 263, "00", 2);
  memset(blk + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++)
    sum += blk[i];
  snprintf((char *)blk + 148, 8, "%06o", sum);
}

/* An fd reading buf: a memfd, seekable like a file. */
static int fd_of(const void *buf, size_t n) {
  int fd = memfd_create("fixture", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(st_write_all(fd, buf, n, "memfd", NULL), 0);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  return fd;
}

static int count_dir(const char *root, const char *sub) {
  cleanup_free char *p = NULL;
  assert_true(asprintf(&p, "%s/%s", root, sub) > 0);
  cleanup_dir DIR *d = opendir(p);
  if (d == NULL)
    return 0;
  int n = 0;
  for (struct dirent *de; (de = readdir(d)) != NULL;)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      n++;
  return n;
}

static void assert_no_leftovers(const ctx *c) {
  assert_int_equal(count_dir(c->root, "blobs/sha256"), 0);
  assert_int_equal(count_dir(c->root, "tmp"), 0);
}

static int import_buf(ctx *c, const void *buf, size_t n, st_layer_rec *rec,
                      st_error **err) {
  cleanup_close int fd = fd_of(buf, n);
  return st_layer_import(c->s, fd, "layer.tar", rec, err);
}

/* Imports buf, expecting failure with errno code and a message holding
 * every one of the NULL-terminated strings, and no trace in the store. */
static void expect_fail(ctx *c, const void *buf, size_t n, int code, ...) {
  cleanup_error st_error *err = NULL;
  st_layer_rec rec = {0};
  assert_true(import_buf(c, buf, n, &rec, &err) < 0);
  assert_non_null(err);
  print_message("# error: %s\n", err->msg);
  assert_int_equal(err->code, code);
  assert_non_null(strstr(err->msg, "layer.tar: "));
  va_list ap;
  va_start(ap, code);
  for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
    if (strstr(err->msg, s) == NULL)
      fail_msg("message \"%s\" lacks \"%s\"", err->msg, s);
  va_end(ap);
  assert_no_leftovers(c);
}

static void expect_fail_tar(ctx *c, const fentry *ents, size_t n, int code,
                            const char *what) {
  cleanup_buf st_buf tar = ST_BUF_INIT;
  make_tar(ents, n, &tar);
  expect_fail(c, tar.data, tar.len, code, what, NULL);
}

static int setup(void **state) {
  ctx *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  snprintf(c->root, sizeof(c->root), "/tmp/strata-test-layer-XXXXXX");
  assert_non_null(mkdtemp(c->root));
  cleanup_error st_error *err = NULL;
  if (st_store_open(c->root, &c->s, &err) < 0) {
    st_rm_rf(c->root, NULL);
    free(c);
    fail_msg("st_store_open: %s", err->msg);
  }
  *state = c;
  return 0;
}

static int teardown(void **state) {
  ctx *c = *state;
  st_store_close(c->s);
  assert_int_equal(st_rm_rf(c->root, NULL), 0);
  free(c);
  return 0;
}

/* ---- imports that succeed ---------------------------------------------- */

/* Imports data (tar, maybe compressed) and checks the record and the blob
 * against the uncompressed tar. */
static void check_import(ctx *c, const st_buf *tar, const st_buf *data,
                         int64_t size) {
  char want[ST_DIGEST_LEN];
  st_digest_of(tar->data, tar->len, want);
  cleanup_error st_error *err = NULL;
  st_layer_rec rec = {0};
  if (import_buf(c, data->data, data->len, &rec, &err) < 0)
    fail_msg("import: %s", err->msg);
  assert_string_equal(rec.diff_id, want);
  assert_string_equal(rec.blob, want);
  assert_string_equal(rec.media_type, "application/vnd.oci.image.layer.v1.tar");
  assert_int_equal(rec.blob_size, (int64_t)tar->len);
  assert_int_equal(rec.size, size);
  assert_true(st_blob_exists(c->s, rec.blob));
  cleanup_free char *got = NULL;
  size_t len = 0;
  assert_int_equal(st_blob_get(c->s, rec.blob, &got, &len, &err), 0);
  assert_int_equal(len, tar->len);
  assert_memory_equal(got, tar->data, len);
  assert_int_equal(count_dir(c->root, "tmp"), 0);
}

static void import_with(void **state, int filter) {
  cleanup_buf st_buf tar = ST_BUF_INIT;
  cleanup_buf st_buf data = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  if (filter == ARCHIVE_FILTER_NONE)
    assert_int_equal(st_buf_append(&data, tar.data, tar.len), 0);
  else
    compress(&tar, filter, &data);
  check_import(*state, &tar, &data, rootfs_size);
}

static void test_plain(void **state) {
  import_with(state, ARCHIVE_FILTER_NONE);
}
static void test_gzip(void **state) {
  import_with(state, ARCHIVE_FILTER_GZIP);
}
/* The decoder the reader picked: ISA-L unless STRATA_GZIP=zlib; and what
 * it decodes is the tar that went in. */
static void test_gzip_decoder(void **state) {
  cleanup_buf st_buf tar = ST_BUF_INIT;
  cleanup_buf st_buf gz = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  compress(&tar, ARCHIVE_FILTER_GZIP, &gz);
  cleanup_close int fd = memfd_create("gz", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, gz.data, gz.len), (ssize_t)gz.len);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  cleanup_error st_error *err = NULL;
  cleanup_decomp st_decomp *d = NULL;
  assert_int_equal(st_decomp_open(fd, &d, &err), 0);
  const char *env = getenv("STRATA_GZIP");
  assert_string_equal(st_decomp_gzip_decoder(d),
                      env && strcmp(env, "zlib") == 0 ? "zlib" : "isa-l");
  cleanup_buf st_buf out = ST_BUF_INIT;
  const void *buf;
  size_t len;
  int r;
  while ((r = st_decomp_read(d, &buf, &len, &err)) > 0)
    assert_int_equal(st_buf_append(&out, buf, len), 0);
  assert_int_equal(r, 0);
  assert_int_equal(out.len, tar.len);
  assert_memory_equal(out.data, tar.data, tar.len);
  (void)state;
}

static void test_xz(void **state) {
  import_with(state, ARCHIVE_FILTER_XZ);
}
static void test_bzip2(void **state) {
  import_with(state, ARCHIVE_FILTER_BZIP2);
}
static void test_zstd(void **state) {
  import_with(state, ARCHIVE_FILTER_ZSTD);
}

static void test_same_content_same_digest(void **state) {
  ctx *c = *state;
  cleanup_buf st_buf tar = ST_BUF_INIT;
  cleanup_buf st_buf gz = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  compress(&tar, ARCHIVE_FILTER_GZIP, &gz);
  st_layer_rec a = {0}, b = {0}, g = {0};
  assert_int_equal(import_buf(c, tar.data, tar.len, &a, NULL), 0);
  assert_int_equal(import_buf(c, tar.data, tar.len, &b, NULL), 0);
  assert_int_equal(import_buf(c, gz.data, gz.len, &g, NULL), 0);
  assert_string_equal(a.diff_id, b.diff_id);
  assert_string_equal(a.diff_id, g.diff_id);
  assert_int_equal(count_dir(c->root, "blobs/sha256"), 1);
  assert_int_equal(count_dir(c->root, "tmp"), 0);
}

static void test_empty_tar(void **state) {
  cleanup_buf st_buf tar = ST_BUF_INIT;
  make_tar(NULL, 0, &tar);
  check_import(*state, &tar, &tar, 0);
}

/* Names are bytes: UTF-8 in pax headers imports under the C locale. */
static void test_utf8_names(void **state) {
  static const fentry ents[] = {
      {"caf\xc3\xa9/na\xc3\xafve.txt", AE_IFREG, NULL, 7}};
  cleanup_buf st_buf tar = ST_BUF_INIT;
  make_tar(ents, 1, &tar);
  check_import(*state, &tar, &tar, 7);
}

/* A concatenation of gzip members is one stream (gzip(1), Go); zero padding
 * after the last member is ignored. */
static void test_gzip_members_and_padding(void **state) {
  cleanup_buf st_buf tar = ST_BUF_INIT;
  cleanup_buf st_buf data = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  st_buf half1 = {tar.data, tar.len / 2, 0};
  st_buf half2 = {tar.data + tar.len / 2, tar.len - tar.len / 2, 0};
  compress(&half1, ARCHIVE_FILTER_GZIP, &data);
  compress(&half2, ARCHIVE_FILTER_GZIP, &data);
  static const char zeros[777];
  assert_int_equal(st_buf_append(&data, zeros, sizeof(zeros)), 0);
  check_import(*state, &tar, &data, rootfs_size);
}

typedef struct feeder {
  int fd;
  const st_buf *data;
  bool ok;
} feeder;

/* Writes the data into a pipe, the first byte alone: the reader's first read
 * then (most likely) gets less than a magic number. */
static void *feed(void *arg) {
  feeder *f = arg;
  f->ok = write(f->fd, f->data->data, 1) == 1 && usleep(20000) == 0 &&
          st_write_all(f->fd, f->data->data + 1, f->data->len - 1, "pipe",
                       NULL) == 0;
  close(f->fd);
  return NULL;
}

/* Reads from a pipe, as `strata import -` does. */
static void test_pipe(void **state) {
  ctx *c = *state;
  cleanup_buf st_buf tar = ST_BUF_INIT;
  cleanup_buf st_buf gz = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  compress(&tar, ARCHIVE_FILTER_GZIP, &gz);
  int p[2];
  assert_int_equal(pipe(p), 0);
  feeder f = {p[1], &gz, false};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
  cleanup_error st_error *err = NULL;
  st_layer_rec rec = {0};
  int r = st_layer_import(c->s, p[0], "-", &rec, &err);
  close(p[0]);
  assert_int_equal(pthread_join(t, NULL), 0);
  if (r < 0)
    fail_msg("import: %s", err->msg);
  assert_true(f.ok);
  char want[ST_DIGEST_LEN];
  st_digest_of(tar.data, tar.len, want);
  assert_string_equal(rec.diff_id, want);
  assert_int_equal(rec.size, rootfs_size);
}

/* ---- entries that would leave the layer -------------------------------- */

static void test_dotdot(void **state) {
  static const fentry ents[] = {{"ok", AE_IFREG, NULL, 3},
                                {"../etc/passwd", AE_IFREG, NULL, 3}};
  expect_fail_tar(*state, ents, 2, EINVAL,
                  "entry \"../etc/passwd\": path leaves the layer (\"..\" "
                  "component)");
}

static void test_dotdot_inside(void **state) {
  static const fentry a[] = {{"usr/../../x", AE_IFREG, NULL, 0}};
  static const fentry b[] = {{"usr/..", AE_IFDIR, NULL, 0}};
  expect_fail_tar(*state, a, 1, EINVAL, "entry \"usr/../../x\": path leaves");
  expect_fail_tar(*state, b, 1, EINVAL, "(\"..\" component)");
}

static void test_absolute(void **state) {
  static const fentry ents[] = {{"/etc/passwd", AE_IFREG, NULL, 3}};
  expect_fail_tar(*state, ents, 1, EINVAL,
                  "entry \"/etc/passwd\": path leaves the layer (absolute "
                  "path)");
}

static void test_hardlink_dotdot(void **state) {
  static const fentry ents[] = {{"x", HARDLINK, "../x", 0}};
  expect_fail_tar(*state, ents, 1, EINVAL,
                  "entry \"x\": hard link target \"../x\" leaves the layer");
}

static void test_hardlink_absolute(void **state) {
  static const fentry ents[] = {{"shadow", HARDLINK, "/etc/shadow", 0}};
  expect_fail_tar(*state, ents, 1, EINVAL,
                  "hard link target \"/etc/shadow\" leaves the layer "
                  "(absolute path)");
}

static void test_empty_path(void **state) {
  unsigned char tar[512 * 4] = {0};
  ustar_header(tar, "", '0', 3);
  memcpy(tar + 512, "abc", 3);
  expect_fail(*state, tar, sizeof(tar), EINVAL, "empty path", NULL);
}

/* Control characters in names are escaped, not sent to the terminal. */
static void test_name_escaped(void **state) {
  static const fentry ents[] = {{"a\n\x1b[31m/../b\"", AE_IFREG, NULL, 0}};
  cleanup_buf st_buf tar = ST_BUF_INIT;
  make_tar(ents, 1, &tar);
  expect_fail(*state, tar.data, tar.len, EINVAL,
              "entry \"a\\x0a\\x1b[31m/../b\\\"\"", NULL);
}

/* ---- broken input ------------------------------------------------------ */

static void test_truncated_tar(void **state) {
  cleanup_buf st_buf tar = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  /* Cut inside bin/busybox's 300000 bytes. */
  expect_fail(*state, tar.data, 100000, EIO,
              "truncated tar archive: unexpected end of data in entry "
              "\"bin/busybox\"",
              NULL);
}

static void test_damaged_header(void **state) {
  unsigned char tar[512 * 5] = {0};
  ustar_header(tar, "a", '0', 3);
  memcpy(tar + 512, "abc", 3);
  ustar_header(tar + 1024, "b", '0', 0);
  tar[1024 + 148] ^= 1; /* the checksum */
  expect_fail(*state, tar, sizeof(tar), EIO,
              "corrupt tar archive after entry \"a\"", NULL);
}

static void test_truncated_gzip(void **state) {
  cleanup_buf st_buf tar = ST_BUF_INIT;
  cleanup_buf st_buf gz = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  compress(&tar, ARCHIVE_FILTER_GZIP, &gz);
  expect_fail(*state, gz.data, gz.len / 2, EIO,
              "truncated gzip data: unexpected end of input",
              "in entry \"bin/busybox\"", NULL);
  /* Cut in the trailer: all the tar is there, its checksum is not. */
  expect_fail(*state, gz.data, gz.len - 4, EIO, "truncated gzip data", NULL);
}

static void test_gzip_bad_crc(void **state) {
  cleanup_buf st_buf tar = ST_BUF_INIT;
  cleanup_buf st_buf gz = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  compress(&tar, ARCHIVE_FILTER_GZIP, &gz);
  gz.data[gz.len - 8] ^= 0x5a; /* the CRC-32 in the trailer */
  expect_fail(*state, gz.data, gz.len, EIO, "corrupt gzip data: CRC mismatch",
              NULL);
  gz.data[gz.len - 8] ^= 0x5a;
  gz.data[gz.len - 3] ^= 0x01; /* the length */
  expect_fail(*state, gz.data, gz.len, EIO, "corrupt gzip data", NULL);
}

static void test_gzip_garbage_after(void **state) {
  cleanup_buf st_buf tar = ST_BUF_INIT;
  cleanup_buf st_buf gz = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  compress(&tar, ARCHIVE_FILTER_GZIP, &gz);
  assert_int_equal(st_buf_puts(&gz, "junk"), 0);
  expect_fail(*state, gz.data, gz.len, EIO, "garbage after", NULL);
}

static void test_corrupt_xz_zstd(void **state) {
  cleanup_buf st_buf tar = ST_BUF_INIT;
  cleanup_buf st_buf xz = ST_BUF_INIT;
  cleanup_buf st_buf zst = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  compress(&tar, ARCHIVE_FILTER_XZ, &xz);
  compress(&tar, ARCHIVE_FILTER_ZSTD, &zst);
  xz.data[xz.len / 2] ^= 0x10;
  expect_fail(*state, xz.data, xz.len, EIO, "corrupt xz data", NULL);
  expect_fail(*state, zst.data, zst.len / 2, EIO, "corrupt zstd data", NULL);
}

static void test_not_tar(void **state) {
  static const char text[] = "hello, this is not a tar archive at all\n";
  expect_fail(*state, text, sizeof(text) - 1, EINVAL,
              "not a tar archive (plain, gzip, xz, bzip2 or zstd)", NULL);
  unsigned char rnd[65536];
  fill_random(rnd, sizeof(rnd));
  rnd[0] = 'x'; /* not a compression magic number by chance */
  expect_fail(*state, rnd, sizeof(rnd), EINVAL, "not a tar archive", NULL);
}

static void test_empty_input(void **state) {
  expect_fail(*state, "", 0, EINVAL,
              "not a tar archive (plain, gzip, xz, bzip2 or zstd): no data",
              NULL);
}

static void test_gzip_of_text(void **state) {
  st_buf text = {(char *)"just some text\n", 15, 0};
  cleanup_buf st_buf gz = ST_BUF_INIT;
  compress(&text, ARCHIVE_FILTER_GZIP, &gz);
  expect_fail(*state, gz.data, gz.len, EINVAL,
              "not a tar archive (plain, gzip, xz, bzip2 or zstd): gzip data",
              NULL);
}

/* A full file system: the child mounts a 256 KiB tmpfs in its own mount
 * namespace and imports 2 MB into a store there. Exit 77: cannot mount. */
static int enospc_child(const char *dir, const st_buf *tar) {
  int flags = geteuid() == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS;
  if (unshare(flags) < 0 ||
      mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
      mount("tmpfs", dir, "tmpfs", 0, "size=256k") < 0)
    return 77;
  st_store *s = NULL;
  st_error *err = NULL;
  if (st_store_open(dir, &s, &err) < 0) {
    st_error_free(err);
    return 77;
  }
  st_layer_rec rec = {0};
  int fd = memfd_create("big", MFD_CLOEXEC);
  int r = -1;
  if (fd >= 0 && st_write_all(fd, tar->data, tar->len, "memfd", NULL) == 0 &&
      lseek(fd, 0, SEEK_SET) == 0)
    r = st_layer_import(s, fd, "big.tar", &rec, &err);
  int ok = r < 0 && err && err->code == ENOSPC &&
           strstr(err->msg, "big.tar: no space left on device") != NULL &&
           count_dir(dir, "tmp") == 0 && count_dir(dir, "blobs/sha256") == 0;
  fprintf(stderr, "# error: %s\n", err ? err->msg : "(none)");
  st_error_free(err);
  st_store_close(s);
  close(fd);
  return ok ? 0 : 1;
}

/* Runs without setup: the forked child must not inherit an open store. */
static void test_enospc(void **state) {
  static const fentry ents[] = {{"big", AE_IFREG, NULL, 2 << 20}};
  cleanup_buf st_buf tar = ST_BUF_INIT;
  make_tar(ents, 1, &tar);
  char dir[] = "/tmp/strata-test-full-XXXXXX";
  assert_non_null(mkdtemp(dir));
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int rc = enospc_child(dir, &tar);
    st_buf_free(&tar);
    _exit(rc);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  rmdir(dir);
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77)
    skip();
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- inspecting stored blobs ------------------------------------------- */

static void inspect_with(ctx *c, int filter) {
  cleanup_buf st_buf tar = ST_BUF_INIT;
  cleanup_buf st_buf data = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  compress(&tar, filter, &data);
  char blob[ST_DIGEST_LEN], want[ST_DIGEST_LEN], diff_id[ST_DIGEST_LEN];
  assert_int_equal(st_blob_put(c->s, data.data, data.len, blob, NULL), 0);
  st_digest_of(tar.data, tar.len, want);
  int64_t size = -1;
  cleanup_error st_error *err = NULL;
  if (st_layer_inspect_blob(c->s, blob, diff_id, &size, &err) < 0)
    fail_msg("inspect: %s", err->msg);
  assert_string_equal(diff_id, want);
  assert_int_equal(size, rootfs_size);
}

static void test_inspect(void **state) {
  inspect_with(*state, ARCHIVE_FILTER_GZIP);
  inspect_with(*state, ARCHIVE_FILTER_ZSTD);
}

static void test_inspect_bad(void **state) {
  ctx *c = *state;
  cleanup_error st_error *err = NULL;
  char diff_id[ST_DIGEST_LEN];
  static const char missing[] = "sha256:"
                                "0000000000000000000000000000000000000000000000"
                                "000000000000000000";
  assert_true(st_layer_inspect_blob(c->s, missing, diff_id, NULL, &err) < 0);
  assert_int_equal(err->code, ENOENT);
  st_error_freep(&err);

  cleanup_buf st_buf tar = ST_BUF_INIT;
  cleanup_buf st_buf gz = ST_BUF_INIT;
  make_tar(rootfs, sizeof(rootfs) / sizeof(*rootfs), &tar);
  compress(&tar, ARCHIVE_FILTER_GZIP, &gz);
  char blob[ST_DIGEST_LEN];
  assert_int_equal(st_blob_put(c->s, gz.data, gz.len - 100, blob, NULL), 0);
  assert_true(st_layer_inspect_blob(c->s, blob, diff_id, NULL, &err) < 0);
  print_message("# error: %s\n", err->msg);
  assert_int_equal(err->code, EIO);
  assert_non_null(strstr(err->msg, blob));
  assert_non_null(strstr(err->msg, "truncated gzip data"));
}

/* ---- tar writer: xattrs ---------------------------------------------------
 */

/* "NAME:KEY=VALUE;..." for every entry of the tar on fd that has xattrs
 * (values printed as text: the test uses printable ones, and the length of
 * the capability). */
static void tar_xattrs(int fd, st_buf *out) {
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  assert_int_equal(archive_read_open_fd(a, fd, 4096), ARCHIVE_OK);
  struct archive_entry *e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const char *name;
    const void *value;
    size_t size;
    if (archive_entry_xattr_reset(e) == 0)
      continue;
    st_buf_printf(out, "%s:", archive_entry_pathname(e));
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      if (strcmp(name, "security.capability") == 0)
        st_buf_printf(out, "%s=%zu bytes rev %d;", name, size,
                      ((const unsigned char *)value)[3]);
      else
        st_buf_printf(out, "%s=%.*s;", name, (int)size, (const char *)value);
    }
    st_buf_printf(out, "\n");
  }
  archive_read_free(a);
}

static void test_tarwrite_xattrs(void **state) {
  ctx *c = *state;
  if (geteuid() != 0)
    skip(); /* security.* and trusted.* need root */
  cleanup_free char *tree = NULL, *f = NULL, *d = NULL, *l = NULL;
  assert_true(asprintf(&tree, "%s/tree", c->root) > 0);
  assert_true(asprintf(&f, "%s/f", tree) > 0);
  assert_true(asprintf(&d, "%s/d", tree) > 0);
  assert_true(asprintf(&l, "%s/l", tree) > 0);
  assert_int_equal(mkdir(tree, 0755), 0);
  assert_int_equal(mkdir(d, 0755), 0);
  assert_int_equal(symlink("f", l), 0);
  FILE *fp = fopen(f, "w");
  fputs("data", fp);
  fclose(fp);
  /* set out of order: the tar lists them sorted */
  assert_int_equal(setxattr(f, "user.b", "2", 1, 0), 0);
  assert_int_equal(setxattr(f, "user.a", "1", 1, 0), 0);
  /* VFS_CAP_REVISION_3 (set in a user namespace, root uid 1000 there) */
  unsigned char cap[24] = {0x01, 0, 0, 0x03, 0, 0x20, 0, 0};
  cap[20] = 0xe8, cap[21] = 0x03;
  assert_int_equal(setxattr(f, "security.capability", cap, 24, 0), 0);
  assert_int_equal(setxattr(f, "trusted.overlay.origin", "o", 1, 0), 0);
  assert_int_equal(setxattr(d, "user.dir", "x", 1, 0), 0);
  assert_int_equal(setxattr(d, "trusted.overlay.opaque", "y", 1, 0), 0);

  cleanup_close int fd = memfd_create("tw", MFD_CLOEXEC);
  cleanup_close int dirfd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_error st_error *err = NULL;
  st_tw w;
  assert_int_equal(st_tw_open(&w, fd, &err), 0);
  w.xattrs = true;
  if (st_tw_tree(&w, dirfd, "tree", "tree", &err) < 0)
    fail_msg("st_tw_tree: %s", err->msg);
  assert_int_equal(st_tw_close(&w, &err), 0);
  cleanup_buf st_buf got = ST_BUF_INIT;
  tar_xattrs(fd, &got);
  assert_string_equal(got.data, "tree/d/:user.dir=x;\n"
                                "tree/f:security.capability=20 bytes rev 2;"
                                "user.a=1;user.b=2;\n");
}

/* The one entry-name rule of every layer writer: what is refused, what is
 * stripped, and the root itself. */
static void clean_is(const char *in, int want, const char *out_want) {
  char out[64] = "";
  st_error *e = NULL;
  int r = st_tar_clean_name(in, out, sizeof(out), &e);
  assert_int_equal(r < 0 ? -1 : r, want);
  if (want == 0)
    assert_string_equal(out, out_want);
  if (want < 0) {
    assert_non_null(e);
    assert_int_equal(e->code, EINVAL);
    if (out_want)
      assert_non_null(strstr(e->msg, out_want));
  } else {
    assert_null(e);
  }
  st_error_free(e);
}

static void test_clean_name(void **state) {
  (void)state;
  clean_is("a/b", 0, "a/b");
  clean_is("./a", 0, "a");
  clean_is("././a/b/", 0, "a/b");
  clean_is("a/..b/c..", 0, "a/..b/c..");
  clean_is("", 1, NULL);
  clean_is(".", 1, NULL);
  clean_is("./", 1, NULL);
  clean_is("../x", -1, "\"..\" component");
  clean_is("a/../../b", -1, "\"..\" component");
  clean_is("a/..", -1, "\"..\" component");
  clean_is("/etc/passwd", -1, "absolute");
  clean_is("./../x", -1, "\"..\" component");
  /* longer than the output buffer */
  clean_is("0123456789012345678901234567890123456789012345678901234567890123",
           -1, "too long");
  /* a 256-byte component, with room for it in the buffer */
  char longc[300], out[300];
  memset(longc, 'x', 256);
  longc[256] = '\0';
  st_error *e = NULL;
  assert_true(st_tar_clean_name(longc, out, sizeof(out), &e) < 0);
  assert_non_null(strstr(e->msg, "longer than 255"));
  st_error_freep(&e);
  /* ".." is named before the length */
  char both[320];
  snprintf(both, sizeof(both), "%.256s/../x", longc);
  assert_true(st_tar_clean_name(both, out, sizeof(out), &e) < 0);
  assert_non_null(strstr(e->msg, "\"..\" component"));
  st_error_freep(&e);
  longc[255] = '\0';
  assert_int_equal(st_tar_clean_name(longc, out, sizeof(out), &e), 0);
  assert_int_equal(strlen(out), 255);
}

/* Backend names: Docker's overlay names mean directories; anything else
 * is refused naming the setting. A directory layer's view is its own path,
 * and attaching it mounts nothing. */
static void test_backend_names_and_dir_view(void **state) {
  (void)state;
  st_layer_driver d = ST_LAYER_EROFS;
  st_error *e = NULL;
  assert_int_equal(st_layer_driver_parse("overlay2", "x", &d, &e), 0);
  assert_int_equal(d, ST_LAYER_DIR);
  assert_int_equal(st_layer_driver_parse("erofs", "x", &d, &e), 0);
  assert_int_equal(d, ST_LAYER_EROFS);
  assert_int_equal(st_layer_driver_parse("dir", "x", &d, &e), 0);
  assert_int_equal(d, ST_LAYER_DIR);
  assert_true(st_layer_driver_parse("zfs", "the setting", &d, &e) < 0);
  assert_non_null(
      strstr(e->msg, "the setting: unknown storage driver \"zfs\""));
  st_error_freep(&e);
  assert_string_equal(st_layer_driver_name(ST_LAYER_EROFS), "erofs");
  assert_string_equal(st_layer_driver_name(ST_LAYER_DIR), "dir");

  char tmpl[] = "/tmp/strata-view-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  char diff[64];
  snprintf(diff, sizeof(diff), "%s/diff", tmpl);
  assert_int_equal(mkdir(diff, 0755), 0);
  char *lower[] = {diff, NULL};
  st_lower_view v;
  assert_int_equal(st_lower_view_open(lower, 1, &v, &e), 0);
  assert_string_equal(v.path[0], diff);
  assert_int_equal(v.fd[0], -1);
  st_lower_view_close(&v);
  assert_int_equal(st_layers_attach(lower, 1, &e), 0);
  struct stat a, b;
  assert_int_equal(stat(diff, &a), 0);
  assert_int_equal(stat(tmpl, &b), 0);
  assert_int_equal(a.st_dev, b.st_dev); /* nothing mounted */
  /* a layer.erofs that is not an image: a clear error naming it */
  char img[80];
  snprintf(img, sizeof(img), "%s/layer.erofs", tmpl);
  FILE *f = fopen(img, "w");
  assert_non_null(f);
  fputs("not an image", f);
  fclose(f);
  if (geteuid() == 0) {
    assert_true(st_lower_view_open(lower, 1, &v, &e) < 0);
    assert_non_null(strstr(e->msg, "mount the erofs layer"));
    assert_non_null(strstr(e->msg, img));
    st_error_freep(&e);
  }
  unlink(img);
  rmdir(diff);
  rmdir(tmpl);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* a failed import closes the pipe early */
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_plain),
      T(test_gzip),
      T(test_gzip_decoder),
      T(test_xz),
      T(test_bzip2),
      T(test_zstd),
      T(test_same_content_same_digest),
      T(test_empty_tar),
      T(test_utf8_names),
      T(test_gzip_members_and_padding),
      T(test_pipe),
      T(test_dotdot),
      T(test_dotdot_inside),
      T(test_absolute),
      T(test_hardlink_dotdot),
      T(test_hardlink_absolute),
      T(test_empty_path),
      T(test_name_escaped),
      T(test_truncated_tar),
      T(test_damaged_header),
      T(test_truncated_gzip),
      T(test_gzip_bad_crc),
      T(test_gzip_garbage_after),
      T(test_corrupt_xz_zstd),
      T(test_not_tar),
      T(test_empty_input),
      T(test_gzip_of_text),
      cmocka_unit_test(test_clean_name),
      cmocka_unit_test(test_backend_names_and_dir_view),
      cmocka_unit_test(test_enospc), /* forks: no store open */
      T(test_inspect),
      T(test_inspect_bad),
      T(test_tarwrite_xattrs),
#undef T
  };
  /* The gzip cases again through zlib (STRATA_GZIP=zlib), the decoder
   * kept beside ISA-L's: both must accept and refuse the same inputs. */
  const struct CMUnitTest gzip_zlib[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_gzip),
      T(test_gzip_decoder),
      T(test_gzip_members_and_padding),
      T(test_pipe),
      T(test_truncated_gzip),
      T(test_gzip_bad_crc),
      T(test_gzip_garbage_after),
      T(test_gzip_of_text),
#undef T
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  setenv("STRATA_GZIP", "zlib", 1);
  return failed | cmocka_run_group_tests_name("gzip_through_zlib", gzip_zlib,
                                              NULL, NULL);
}
