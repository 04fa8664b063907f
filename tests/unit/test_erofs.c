/* EROFS writer: each test writes a layer tar with libarchive, converts it
 * with st_erofs_from_tar, MOUNTS the image (file-backed erofs mount, as
 * root) and compares the mounted tree with st_layer_unpack_fd's directory
 * unpack of the same tar, file by file: type, mode, uid, gid, size, rdev,
 * mtime (not of directories: the unpack's own children bump those),
 * content, symlink targets, xattrs, link counts. Skipped when the kernel
 * cannot mount erofs from a file or we are not root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include "layer/erofs.h"
#include "layer/tar.h"
#include "store/layers.h"
#include "util/buf.h"
#include "util/fs.h"

typedef struct tctx {
  char dir[64], refdir[64];
  char img[128], mnt[128], ref[128], tar[128];
  bool mounted;
  bool index; /* tar-index mode: the image indexes the tar, its device */
  bool tap;   /* ... of the tar the tap wrote, the input gzip-compressed */
  int tap_fd; /* the tap's file (c->tar) */
  uint64_t tapped;
  st_tar_check chk;
} tctx;

/* The tap mode's callbacks: the decompressed bytes go to c->tar; the tag
 * names it. */
static int tap_write(void *ctx, const void *buf, size_t n, st_error **err) {
  tctx *c = ctx;
  c->tapped += n;
  if (write(c->tap_fd, buf, n) != (ssize_t)n)
    return st_error_errno(err, errno, "tap");
  return 0;
}

static int tap_end(void *ctx, char *tag, st_error **err) {
  tctx *c = ctx;
  if (close(c->tap_fd) < 0)
    return st_error_errno(err, errno, "tap");
  c->tap_fd = -1;
  snprintf(tag, ST_EROFS_TAG_MAX + 1, "tapped-%llu",
           (unsigned long long)c->tapped);
  return 0;
}

/* fd's bytes gzip-compressed, in a new memfd. */
static int gzip_fd(int fd) {
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  unsigned char *in = malloc((size_t)st.st_size + 1);
  assert_int_equal(pread(fd, in, (size_t)st.st_size, 0), st.st_size);
  z_stream z = {0};
  assert_int_equal(deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY),
                   Z_OK);
  uLong cap = deflateBound(&z, (uLong)st.st_size) + 64;
  unsigned char *out = malloc(cap);
  z.next_in = in;
  z.avail_in = (uInt)st.st_size;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
  int g = memfd_create("tar.gz", MFD_CLOEXEC);
  assert_int_equal(write(g, out, z.total_out), (ssize_t)z.total_out);
  lseek(g, 0, SEEK_SET);
  deflateEnd(&z);
  free(in);
  free(out);
  return g;
}

static la_ssize_t buf_write(struct archive *a, void *data, const void *p,
                            size_t n) {
  return st_buf_append(data, p, n) < 0 ? -1 : (la_ssize_t)n;
}

/* Appends s to the string in dst (cap bytes). */
static void app(char *dst, size_t cap, const char *s) {
  size_t l = strlen(dst);
  snprintf(dst + l, cap - l, "%s", s);
}

/* ---- tar fixtures ---------------------------------------------------------
 */

typedef struct tw {
  struct archive *a;
  st_buf out;
} tw;

static void tw_open(tw *t) {
  t->out = (st_buf)ST_BUF_INIT;
  t->a = archive_write_new();
  assert_int_equal(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
  assert_int_equal(archive_write_open(t->a, &t->out, NULL, buf_write, NULL),
                   ARCHIVE_OK);
}

static struct archive_entry *ent(const char *path, unsigned type, int perm) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, perm);
  archive_entry_set_mtime(e, 1700000000, 0);
  return e;
}

static void tw_put(tw *t, struct archive_entry *e, const void *data,
                   size_t len) {
  if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e))
    archive_entry_set_size(e, (la_int64_t)len);
  int r = archive_write_header(t->a, e);
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
    fail_msg("write %s: %s", archive_entry_pathname(e),
             archive_error_string(t->a));
  if (len)
    assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
  archive_entry_free(e);
}

static void tw_file(tw *t, const char *path, const char *content) {
  tw_put(t, ent(path, AE_IFREG, 0644), content, strlen(content));
}

static void tw_dir(tw *t, const char *path) {
  tw_put(t, ent(path, AE_IFDIR, 0755), NULL, 0);
}

/* Closes the tar and returns a memfd holding it. */
static int tw_close(tw *t) {
  assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
  archive_write_free(t->a);
  int fd = memfd_create("tar", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, t->out.data, t->out.len), (ssize_t)t->out.len);
  st_buf_free(&t->out);
  lseek(fd, 0, SEEK_SET);
  return fd;
}

/* ---- setup ------------------------------------------------------------- */

static int setup(void **state) {
  tctx *c = calloc(1, sizeof(*c));
  /* The image on /tmp (a disk: erofs does not mount a file on tmpfs,
   * ENOTBLK); the reference unpack on tmpfs when there is one (100k files
   * on a disk file system take a minute). */
  snprintf(c->dir, sizeof(c->dir), "/tmp/test_erofs-XXXXXX");
  snprintf(c->refdir, sizeof(c->refdir), "%s/test_erofs-ref-XXXXXX",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  if (mkdtemp(c->refdir) == NULL)
    return -1;
  if (mkdtemp(c->dir) == NULL)
    return -1;
  snprintf(c->img, sizeof(c->img), "%s/layer.erofs", c->dir);
  snprintf(c->tar, sizeof(c->tar), "%s/layer.tar", c->dir);
  snprintf(c->mnt, sizeof(c->mnt), "%s/mnt", c->dir);
  snprintf(c->ref, sizeof(c->ref), "%s/ref", c->refdir);
  mkdir(c->mnt, 0755);
  mkdir(c->ref, 0755);
  *state = c;
  return 0;
}

/* Every test again in tar-index mode. */
static int setup_index(void **state) {
  int r = setup(state);
  if (r == 0)
    ((tctx *)*state)->index = true;
  return r;
}

/* ... and again, the tar gzip-compressed and stored by the tap. */
static int setup_tap(void **state) {
  int r = setup_index(state);
  if (r == 0) {
    ((tctx *)*state)->tap = true;
    ((tctx *)*state)->tap_fd = -1;
  }
  return r;
}

static int teardown(void **state) {
  tctx *c = *state;
  if (c->tap && c->tap_fd >= 0)
    close(c->tap_fd);
  if (c->mounted)
    umount2(c->mnt, MNT_DETACH);
  st_error *err = NULL;
  st_rm_rf(c->dir, &err);
  st_error_free(err);
  err = NULL;
  st_rm_rf(c->refdir, &err);
  st_error_free(err);
  free(c);
  return 0;
}

/* Converts the tar on fd, mounts the image; skips the test when the
 * kernel cannot. */
static void convert_and_mount(tctx *c, int fd) {
  if (geteuid() != 0)
    skip(); /* mounting needs root */
  st_error *err = NULL;
  lseek(fd, 0, SEEK_SET);
  st_erofs_opts o = {
      .whiteouts = true, .tar_index = c->index, .device_tag = "layer.tar"};
  char data[160] = "";
  int in = fd;
  if (c->tap) {
    /* the tar arrives compressed; the tap writes the device as it goes */
    in = gzip_fd(fd);
    c->tap_fd = open(c->tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(c->tap_fd >= 0);
    o.tap = tap_write;
    o.end = tap_end;
    o.ctx = c;
    o.check = &c->chk;
    snprintf(data, sizeof(data), "device=%s", c->tar);
  } else if (c->index) { /* the device: the tar, on a disk file system */
    int t = open(c->tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(t >= 0);
    char buf[65536];
    ssize_t k;
    while ((k = read(fd, buf, sizeof(buf))) > 0)
      assert_int_equal(write(t, buf, (size_t)k), k);
    close(t);
    lseek(fd, 0, SEEK_SET);
    snprintf(data, sizeof(data), "device=%s", c->tar);
  }
  if (st_erofs_from_tar(in, c->img, &o, NULL, &err) < 0)
    fail_msg("convert: %s", err->msg);
  if (c->tap) {
    close(in);
    /* every byte of the tar went to the tap; the tag came from end() */
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(c->tapped, (uint64_t)st.st_size);
    assert_int_equal(c->tap_fd, -1);
    char tag[ST_EROFS_TAG_MAX + 1], want[ST_EROFS_TAG_MAX + 1];
    snprintf(want, sizeof(want), "tapped-%llu", (unsigned long long)st.st_size);
    assert_int_equal(st_erofs_index_tag(c->img, tag, &err), 1);
    assert_string_equal(tag, want);
  }
  if (mount(c->img, c->mnt, "erofs", MS_RDONLY, c->index ? data : NULL) < 0) {
    if (errno == ENODEV || errno == ENOTBLK || errno == EPERM) {
      print_message("# SKIP: the kernel cannot mount erofs from a file: %s\n",
                    strerror(errno));
      skip();
    }
    fail_msg("mount -t erofs %s: %s", c->img, strerror(errno));
  }
  c->mounted = true;
  struct statfs sf;
  assert_int_equal(statfs(c->mnt, &sf), 0);
  assert_int_equal((uint32_t)sf.f_type, 0xE0F5E1E2u); /* EROFS_SUPER_MAGIC */
}

static void unpack_ref(tctx *c, int fd) {
  st_error *err = NULL;
  lseek(fd, 0, SEEK_SET);
  int dfd = open(c->ref, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(dfd >= 0);
  if (st_layer_unpack_fd(fd, dfd, ST_UNPACK_LAYER, &err) < 0)
    fail_msg("unpack: %s", err->msg);
  close(dfd);
}

/* ---- comparison ---------------------------------------------------------- */

static void compare_xattrs(const char *a, const char *b) {
  char la[65536], lb[65536];
  ssize_t na = llistxattr(a, la, sizeof(la));
  ssize_t nb = llistxattr(b, lb, sizeof(lb));
  if (na < 0)
    na = 0;
  if (nb < 0)
    nb = 0;
  if (na != nb || memcmp(la, lb, (size_t)na) != 0) {
    /* same set in another order is fine: compare each */
    for (ssize_t i = 0; i < na; i += (ssize_t)strlen(la + i) + 1)
      if (lgetxattr(b, la + i, NULL, 0) < 0)
        fail_msg("%s: xattr %s missing", b, la + i);
    assert_int_equal(na, nb);
  }
  for (ssize_t i = 0; i < na; i += (ssize_t)strlen(la + i) + 1) {
    char va[65536], vb[65536];
    ssize_t sa = lgetxattr(a, la + i, va, sizeof(va));
    ssize_t sb = lgetxattr(b, la + i, vb, sizeof(vb));
    if (sa != sb || (sa > 0 && memcmp(va, vb, (size_t)sa) != 0))
      fail_msg("%s: xattr %s differs", b, la + i);
  }
}

static void compare_content(const char *a, const char *b, off_t size) {
  int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
  assert_true(fa >= 0 && fb >= 0);
  static char ba[1 << 16], bb[1 << 16];
  for (off_t done = 0; done < size;) {
    ssize_t na = read(fa, ba, sizeof(ba));
    ssize_t nb = read(fb, bb, sizeof(bb));
    assert_true(na > 0);
    if (na != nb || memcmp(ba, bb, (size_t)na) != 0)
      fail_msg("%s: content differs near offset %lld", b, (long long)done);
    done += na;
  }
  close(fa);
  close(fb);
}

/* Compares one entry; returns whether it is a directory to descend. */
static bool compare_one(const char *a, const char *b, bool top) {
  struct stat sa, sb;
  assert_int_equal(lstat(a, &sa), 0);
  if (lstat(b, &sb) < 0)
    fail_msg("%s: missing in the image", b);
  if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT))
    fail_msg("%s: type 0%o, want 0%o", b, sb.st_mode & S_IFMT,
             sa.st_mode & S_IFMT);
  if (top)
    return true;
  bool whiteout = S_ISCHR(sa.st_mode) && sa.st_rdev == 0;
  if (!S_ISLNK(sa.st_mode) && sa.st_mode != sb.st_mode)
    fail_msg("%s: mode 0%o, want 0%o", b, sb.st_mode, sa.st_mode);
  if (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)
    fail_msg("%s: owner %u:%u, want %u:%u", b, sb.st_uid, sb.st_gid, sa.st_uid,
             sa.st_gid);
  if (!S_ISDIR(sa.st_mode) && sa.st_nlink != sb.st_nlink)
    fail_msg("%s: nlink %lu, want %lu", b, (unsigned long)sb.st_nlink,
             (unsigned long)sa.st_nlink);
  if (!S_ISDIR(sa.st_mode) && !whiteout &&
      (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec ||
       sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec))
    fail_msg("%s: mtime %lld, want %lld", b, (long long)sb.st_mtim.tv_sec,
             (long long)sa.st_mtim.tv_sec);
  if (S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode))
    assert_int_equal(sa.st_rdev, sb.st_rdev);
  if (S_ISREG(sa.st_mode)) {
    assert_int_equal(sa.st_size, sb.st_size);
    compare_content(a, b, sa.st_size);
  }
  if (S_ISLNK(sa.st_mode)) {
    char la[4096] = {0}, lb[4096] = {0};
    assert_true(readlink(a, la, sizeof(la) - 1) >= 0);
    assert_true(readlink(b, lb, sizeof(lb) - 1) >= 0);
    assert_string_equal(la, lb);
  }
  if (!S_ISLNK(sa.st_mode))
    compare_xattrs(a, b);
  return S_ISDIR(sa.st_mode);
}

static size_t count_entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t n = 0;
  for (struct dirent *de; (de = readdir(d)) != NULL;)
    n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
  closedir(d);
  return n;
}

/* Walks the reference tree a and the image tree b together. Returns the
 * number of entries compared. */
static size_t compare_tree(const char *a, const char *b, bool top) {
  if (!compare_one(a, b, top))
    return 1;
  if (count_entries(a) != count_entries(b))
    fail_msg("%s: %zu entries, want %zu", b, count_entries(b),
             count_entries(a));
  DIR *d = opendir(a);
  assert_non_null(d);
  size_t n = 1;
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    char *pa = NULL, *pb = NULL;
    assert_true(asprintf(&pa, "%s/%s", a, de->d_name) > 0);
    assert_true(asprintf(&pb, "%s/%s", b, de->d_name) > 0);
    n += compare_tree(pa, pb, false);
    free(pa);
    free(pb);
  }
  closedir(d);
  return n;
}

/* Converts and unpacks the tar, compares, closes fd. Returns entries. */
static size_t check_tar(tctx *c, int fd) {
  convert_and_mount(c, fd);
  unpack_ref(c, fd);
  close(fd);
  return compare_tree(c->ref, c->mnt, true);
}

/* ---- tests --------------------------------------------------------------- */

static void test_entry_types(void **state) {
  tw t;
  tw_open(&t);
  tw_dir(&t, "bin");
  tw_file(&t, "bin/busybox", "#!/bin/true\n");
  struct archive_entry *e = ent("bin/sh", AE_IFLNK, 0777);
  archive_entry_set_symlink(e, "/bin/busybox");
  tw_put(&t, e, NULL, 0);
  e = ent("bin/ls", AE_IFREG, 0644);
  archive_entry_set_hardlink(e, "bin/busybox");
  tw_put(&t, e, NULL, 0);
  tw_dir(&t, "dev");
  e = ent("dev/null", AE_IFCHR, 0666);
  archive_entry_set_rdev(e, makedev(1, 3));
  tw_put(&t, e, NULL, 0);
  e = ent("dev/sda", AE_IFBLK, 0660);
  archive_entry_set_rdev(e, makedev(259, 70000));
  archive_entry_set_gid(e, 6);
  tw_put(&t, e, NULL, 0);
  tw_put(&t, ent("dev/fifo", AE_IFIFO, 0600), NULL, 0);
  e = ent("home", AE_IFDIR, 0700);
  archive_entry_set_uid(e, 100000); /* too big for a compact inode */
  archive_entry_set_gid(e, 70000);
  tw_put(&t, e, NULL, 0);
  e = ent("home/file", AE_IFREG, 04755);
  archive_entry_set_uid(e, 1000);
  archive_entry_set_mtime(e, 1234567890, 123456789);
  tw_put(&t, e, "x", 1);
  e = ent("old", AE_IFREG, 0600);
  archive_entry_set_mtime(e, -100, 0);
  tw_put(&t, e, "before 1970", 11);
  tw_file(&t, "replaced", "first");
  tw_file(&t, "replaced", "second, longer");
  tw_dir(&t, "implicit/");
  tw_file(&t, "implicit/a/b/c", "made parents");
  size_t n = check_tar(*state, tw_close(&t));
  assert_true(n >= 16);
}

static void test_long_names(void **state) {
  tw t;
  tw_open(&t);
  char name[256];
  memset(name, 'n', 255);
  name[255] = '\0';
  tw_file(&t, name, "255-byte name");
  char path[4000] = "";
  for (int i = 0; i < 14; i++) { /* 14 * 256 bytes: far over 100 and 255 */
    app(path, sizeof(path), name);
    path[strlen(path) - 1 - i % 10] = (char)('a' + i);
    tw_dir(&t, path);
    app(path, sizeof(path), "/");
  }
  app(path, sizeof(path), "leaf");
  tw_file(&t, path, "deep long path");
  struct archive_entry *e = ent("longlink", AE_IFLNK, 0777);
  char target[3000];
  memset(target, 't', sizeof(target) - 1);
  target[sizeof(target) - 1] = '\0';
  archive_entry_set_symlink(e, target);
  tw_put(&t, e, NULL, 0);
  check_tar(*state, tw_close(&t));
}

static void test_xattrs(void **state) {
  tw t;
  tw_open(&t);
  struct archive_entry *e = ent("bin", AE_IFDIR, 0755);
  archive_entry_xattr_add_entry(e, "user.dir", "d", 1);
  tw_put(&t, e, NULL, 0);
  e = ent("bin/ping", AE_IFREG, 0755);
  /* cap_net_raw+ep, VFS_CAP_REVISION_2 */
  static const unsigned char cap[20] = {0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0,
                                        0,    0, 0, 0,    0,    0,    0, 0};
  archive_entry_xattr_add_entry(e, "security.capability", cap, sizeof(cap));
  archive_entry_xattr_add_entry(e, "user.empty", "", 0);
  archive_entry_xattr_add_entry(e, "user.mime", "application/x-elf", 17);
  archive_entry_xattr_add_entry(e, "trusted.custom", "t", 1);
  char big[3000];
  memset(big, 'v', sizeof(big));
  archive_entry_xattr_add_entry(e, "user.big", big, sizeof(big));
  char data[5000];
  memset(data, 'd', sizeof(data)); /* the tail cannot be inline */
  tw_put(&t, e, data, sizeof(data));
  e = ent("small", AE_IFREG, 0644);
  archive_entry_xattr_add_entry(e, "user.a", "1", 1);
  tw_put(&t, e, "tail inline", 11);
  check_tar(*state, tw_close(&t));
}

static void test_hardlinks(void **state) {
  tw t;
  tw_open(&t);
  tw_dir(&t, "d");
  char data[9000];
  memset(data, 'h', sizeof(data));
  struct archive_entry *e = ent("d/orig", AE_IFREG, 0640);
  tw_put(&t, e, data, sizeof(data));
  for (int i = 0; i < 3; i++) {
    char p[32];
    snprintf(p, sizeof(p), "d/link%d", i);
    e = ent(p, AE_IFREG, 0640);
    archive_entry_set_hardlink(e, "d/orig");
    tw_put(&t, e, NULL, 0);
  }
  e = ent("other", AE_IFREG, 0644);
  archive_entry_set_hardlink(e, "./d/link1");
  tw_put(&t, e, NULL, 0);
  tctx *c = *state;
  check_tar(c, tw_close(&t));
  struct stat a, b;
  char p1[200], p2[200];
  snprintf(p1, sizeof(p1), "%s/d/orig", c->mnt);
  snprintf(p2, sizeof(p2), "%s/other", c->mnt);
  assert_int_equal(stat(p1, &a), 0);
  assert_int_equal(stat(p2, &b), 0);
  assert_int_equal(a.st_ino, b.st_ino); /* one inode, five names */
  assert_int_equal(a.st_nlink, 5);
}

static void test_whiteouts(void **state) {
  tw t;
  tw_open(&t);
  tw_dir(&t, "etc");
  tw_file(&t, "etc/.wh.passwd", "");
  tw_dir(&t, "var");
  tw_file(&t, "var/.wh..wh..opq", "");
  tw_file(&t, "var/new", "kept");
  tw_file(&t, ".wh.gone", "");
  tw_file(&t, "etc/.wh..wh.plnk", ""); /* other AUFS metadata: dropped */
  tw_file(&t, "x/y", "z");
  tw_file(&t, ".wh.x", ""); /* whiteout of a name this layer had */
  tctx *c = *state;
  check_tar(c, tw_close(&t));
  char p[200], v[8] = {0};
  snprintf(p, sizeof(p), "%s/var", c->mnt);
  assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
  assert_string_equal(v, "y");
  struct stat st;
  snprintf(p, sizeof(p), "%s/etc/passwd", c->mnt);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode) && st.st_rdev == 0);
  snprintf(p, sizeof(p), "%s/x", c->mnt);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
}

/* The data of files: a full image holds it, a tar index does not (the
 * image stays a few blocks of tree while the files read back in full).
 * Odd sizes, a file of exactly one block, one after pax headers with a
 * long name, and a file replaced by a later entry of the same name. */
static void test_data_placement(void **state) {
  tctx *c = *state;
  tw t;
  tw_open(&t);
  size_t big = (3u << 20) + 777;
  char *data = malloc(big);
  assert_non_null(data);
  for (size_t i = 0; i < big; i++)
    data[i] = (char)(i * 131 + i / 4099);
  tw_put(&t, ent("big", AE_IFREG, 0644), data, big);
  tw_put(&t, ent("block", AE_IFREG, 0600), data + 5, 512);
  char longname[300]; /* a 299-byte path: a pax header before the data */
  memset(longname, 'n', sizeof(longname) - 1);
  longname[150] = '/';
  longname[sizeof(longname) - 1] = '\0';
  tw_put(&t, ent(longname, AE_IFREG, 0644), data + 11, 70001);
  tw_put(&t, ent("again", AE_IFREG, 0644), data + 3, 5000);
  tw_put(&t, ent("again", AE_IFREG, 0640), data + 99, 12345);
  free(data);
  /* big, block, again, the long name's directory and file, the root */
  assert_int_equal(check_tar(c, tw_close(&t)), 6);
  struct stat st;
  assert_int_equal(stat(c->img, &st), 0);
  if (c->index)
    assert_true(st.st_size < 16384);
  else
    assert_true((size_t)st.st_size > big);
}

static void test_sparse_and_empty(void **state) {
  tw t;
  tw_open(&t);
  tw_file(&t, "empty", "");
  tw_dir(&t, "emptydir");
  /* a GNU sparse file: 2 MiB with two 4 KiB data regions */
  struct archive_entry *e = ent("sparse", AE_IFREG, 0644);
  archive_entry_set_size(e, 2 << 20);
  archive_entry_sparse_add_entry(e, 0, 4096);
  archive_entry_sparse_add_entry(e, (1 << 20) + 100, 4096);
  assert_int_equal(archive_write_header(t.a, e), ARCHIVE_OK);
  char data[4096];
  memset(data, 's', sizeof(data));
  for (int i = 0; i < 2; i++)
    archive_write_data(t.a, data, sizeof(data));
  archive_entry_free(e);
  char block[4096];
  memset(block, 'b', sizeof(block));
  tw_put(&t, ent("exact-block", AE_IFREG, 0644), block, sizeof(block));
  tw_put(&t, ent("block-plus-one", AE_IFREG, 0644), block, 4095);
  check_tar(*state, tw_close(&t));
}

/* Enough names that the directory spans many blocks, one name per length
 * so that block boundaries fall everywhere. */
static void test_many_in_one_dir(void **state) {
  tw t;
  tw_open(&t);
  tw_dir(&t, "big");
  for (int i = 0; i < 5000; i++) {
    char p[300];
    int pad = i % 200;
    snprintf(p, sizeof(p), "big/%0*d", pad + 5, i);
    tw_file(&t, p, i % 3 ? "" : "content");
  }
  assert_true(check_tar(*state, tw_close(&t)) > 5000);
}

static void test_deep_tree(void **state) {
  tw t;
  tw_open(&t);
  char path[4096] = "";
  for (int i = 0; i < 1000; i++) {
    app(path, sizeof(path), i ? "/d" : "d");
    tw_dir(&t, path);
  }
  app(path, sizeof(path), "/leaf");
  tw_file(&t, path, "bottom");
  check_tar(*state, tw_close(&t));
}

/* 100,000 files in 100 directories (the suite's size; bench/erofs.sh does
 * the million). Under valgrind (tests/valgrind.sh), which looks for leaks
 * and bad reads, not for scale, 10,000 in 10: the ASan run has the rest. */
static void test_100k_files(void **state) {
  tw t;
  tw_open(&t);
  char p[64];
  int dirs = getenv("STRATA_TEST_UNDER_VALGRIND") ? 10 : 100;
  for (int d = 0; d < dirs; d++) {
    snprintf(p, sizeof(p), "d%03d", d);
    tw_dir(&t, p);
    for (int f = 0; f < 1000; f++) {
      snprintf(p, sizeof(p), "d%03d/f%04d", d, f);
      tw_file(&t, p, f % 2 ? "odd" : "");
    }
  }
  assert_true(check_tar(*state, tw_close(&t)) > (size_t)dirs * 1000);
}

/* Hostile names are refused with the entry named, and no file is left. */
static void test_refused(void **state) {
  tctx *c = *state;
  static const char *const bad[] = {"../escape", "/abs", "a/../../b"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    tw t;
    tw_open(&t);
    tw_file(&t, "ok", "fine");
    tw_file(&t, bad[i], "evil");
    int fd = tw_close(&t);
    lseek(fd, 0, SEEK_SET);
    st_error *err = NULL;
    assert_true(st_erofs_from_tar(fd, c->img, NULL, NULL, &err) < 0);
    assert_non_null(strstr(err->msg, "leaves the layer"));
    assert_non_null(strstr(err->msg, bad[i]));
    st_error_free(err);
    close(fd);
    assert_int_equal(count_entries(c->dir), 1); /* mnt only */
  }
  tw t;
  tw_open(&t);
  struct archive_entry *e = ent("x", AE_IFREG, 0644);
  archive_entry_xattr_add_entry(e, "trusted.overlay.opaque", "y", 1);
  tw_put(&t, e, NULL, 0);
  e = ent("hl", AE_IFREG, 0644);
  int fd = tw_close(&t);
  archive_entry_free(e);
  st_error *err = NULL;
  assert_true(st_erofs_from_tar(fd, c->img, NULL, NULL, &err) < 0);
  if (strstr(err->msg, "reserved for overlayfs") == NULL)
    fail_msg("%s", err->msg);
  st_error_free(err);
  close(fd);
  tw_open(&t);
  e = ent("hl", AE_IFREG, 0644);
  archive_entry_set_hardlink(e, "missing");
  tw_put(&t, e, NULL, 0);
  fd = tw_close(&t);
  err = NULL;
  assert_true(st_erofs_from_tar(fd, c->img, NULL, NULL, &err) < 0);
  assert_non_null(strstr(err->msg, "entry \"hl\": hard link to \"missing\""));
  st_error_free(err);
  close(fd);
  assert_int_equal(count_entries(c->dir), 1);
}

int main(void) {
/* every tree test, with SETUP choosing the mode */
#define TREE_TESTS(SETUP)                                                      \
  cmocka_unit_test_setup_teardown(test_entry_types, SETUP, teardown),          \
      cmocka_unit_test_setup_teardown(test_long_names, SETUP, teardown),       \
      cmocka_unit_test_setup_teardown(test_xattrs, SETUP, teardown),           \
      cmocka_unit_test_setup_teardown(test_hardlinks, SETUP, teardown),        \
      cmocka_unit_test_setup_teardown(test_whiteouts, SETUP, teardown),        \
      cmocka_unit_test_setup_teardown(test_sparse_and_empty, SETUP, teardown), \
      cmocka_unit_test_setup_teardown(test_data_placement, SETUP, teardown),   \
      cmocka_unit_test_setup_teardown(test_many_in_one_dir, SETUP, teardown),  \
      cmocka_unit_test_setup_teardown(test_deep_tree, SETUP, teardown),        \
      cmocka_unit_test_setup_teardown(test_100k_files, SETUP, teardown)
  const struct CMUnitTest tests[] = {
      TREE_TESTS(setup),
      cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  /* the same trees, the image indexing the tar instead of holding data */
  const struct CMUnitTest index_tests[] = {TREE_TESTS(setup_index)};
  failed += cmocka_run_group_tests_name("tar index", index_tests, NULL, NULL);
  /* the same trees arriving gzip-compressed, the tar written by the tap
   * (a pull storing a layer once and indexing it in the same pass); the
   * big trees (100k files, 1,000 deep) once per mode is enough: three
   * times they outlast valgrind's time limit in CI */
  const struct CMUnitTest tap_tests[] = {
      cmocka_unit_test_setup_teardown(test_entry_types, setup_tap, teardown),
      cmocka_unit_test_setup_teardown(test_long_names, setup_tap, teardown),
      cmocka_unit_test_setup_teardown(test_xattrs, setup_tap, teardown),
      cmocka_unit_test_setup_teardown(test_hardlinks, setup_tap, teardown),
      cmocka_unit_test_setup_teardown(test_whiteouts, setup_tap, teardown),
      cmocka_unit_test_setup_teardown(test_sparse_and_empty, setup_tap,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_data_placement, setup_tap, teardown),
      cmocka_unit_test_setup_teardown(test_many_in_one_dir, setup_tap,
                                      teardown),
  };
  return failed + cmocka_run_group_tests_name("tar index, tapped", tap_tests,
                                              NULL, NULL);
}
