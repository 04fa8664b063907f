/* Image archives: the pure pieces (entry-name cleaning, link targets,
 * manifest.json parsing, OCI platforms and name annotations) and save/load
 * through a real store in a temporary directory: a save's exact layout and
 * JSON, a round trip, and hostile archives that load must refuse without
 * recording anything. Fixture archives are written with libarchive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/image.h"
#include "layer/tar.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* ---- paths --------------------------------------------------------------- */

static void expect_clean(const char *in, const char *want) {
  cleanup_error st_error *err = NULL;
  cleanup_free char *out = NULL;
  if (st_archive_clean_path(in, &out, &err) < 0)
    fail_msg("clean \"%s\": %s", in, err->msg);
  assert_string_equal(out, want);
}

static void expect_unclean(const char *in, const char *msg_part) {
  cleanup_error st_error *err = NULL;
  char *out = NULL;
  assert_int_equal(st_archive_clean_path(in, &out, &err), -1);
  assert_null(out);
  assert_non_null(err);
  assert_int_equal(err->code, EINVAL);
  assert_non_null(strstr(err->msg, msg_part));
}

static void test_clean_path(void **state) {
  (void)state;
  expect_clean("manifest.json", "manifest.json");
  expect_clean("./manifest.json", "manifest.json");
  expect_clean("blobs//sha256/./" HEX_A, "blobs/sha256/" HEX_A);
  expect_clean("dir/", "dir");
  expect_clean("./", "");
  expect_clean("a..b/..c", "a..b/..c");
  expect_unclean("../evil", "\"..\" leaves the archive");
  expect_unclean("ok/../../evil", "\"..\" leaves the archive");
  expect_unclean("a/..", "\"..\"");
  expect_unclean("/abs-evil", "absolute");
  expect_unclean("", "empty");
}

static void expect_link(const char *entry, const char *target,
                        const char *want) {
  cleanup_free char *got = st_archive_link_target(entry, target);
  if (want == NULL) {
    assert_null(got);
    return;
  }
  assert_non_null(got);
  assert_string_equal(got, want);
}

static void test_link_target(void **state) {
  (void)state;
  /* podman: <id>/layer.tar -> ../<diffid>.tar */
  expect_link("f731/layer.tar", "../825c.tar", "825c.tar");
  expect_link("d/l", "./f", "d/f");
  expect_link("l", "/abs/file", "abs/file");
  expect_link("a/b/l", "../../x", "x");
  expect_link("a/l", "../../etc/passwd", NULL);
  expect_link("l", "..", NULL);
  expect_link("l", "", NULL);
}

/* ---- manifest.json ------------------------------------------------------- */

static void test_manifest_docker25(void **state) {
  (void)state;
  static const char doc[] =
      "[{\"Config\":\"blobs/sha256/" HEX_A "\",\"RepoTags\":[\"busybox:"
      "latest\",\"x/y:1\"],\"Layers\":[\"blobs/sha256/1\",\"blobs/sha256/2\"],"
      "\"LayerSources\":{\"sha256:1\":{\"mediaType\":\"m\",\"size\":1}}}]\n";
  cleanup_error st_error *err = NULL;
  st_docker_item *v = NULL;
  size_t n = 0;
  assert_int_equal(st_docker_manifest_parse(doc, strlen(doc), &v, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(v[0].config, "blobs/sha256/" HEX_A);
  assert_int_equal(v[0].n_repo_tags, 2);
  assert_string_equal(v[0].repo_tags[1], "x/y:1");
  assert_int_equal(v[0].n_layers, 2);
  assert_string_equal(v[0].layers[1], "blobs/sha256/2");
  assert_null(v[0].parent);
  st_docker_items_free(v, n);
}

static void test_manifest_podman_untagged(void **state) {
  (void)state;
  static const char doc[] =
      "[{\"Config\":\"c.json\",\"RepoTags\":null,\"Layers\":[\"l.tar\"],"
      "\"Parent\":\"sha256:" HEX_A "\"},{\"Config\":\"d.json\"}]";
  cleanup_error st_error *err = NULL;
  st_docker_item *v = NULL;
  size_t n = 0;
  assert_int_equal(st_docker_manifest_parse(doc, strlen(doc), &v, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_int_equal(v[0].n_repo_tags, 0);
  assert_string_equal(v[0].parent, "sha256:" HEX_A);
  assert_int_equal(v[1].n_layers, 0);
  st_docker_items_free(v, n);
  assert_int_equal(st_docker_manifest_parse("[]", 2, &v, &n, &err), 0);
  assert_int_equal(n, 0);
  st_docker_items_free(v, n);
}

static void expect_bad_manifest(const char *doc, const char *msg_part) {
  cleanup_error st_error *err = NULL;
  st_docker_item *v = NULL;
  size_t n = 0;
  assert_int_equal(st_docker_manifest_parse(doc, strlen(doc), &v, &n, &err),
                   -1);
  assert_non_null(err);
  assert_int_equal(err->code, EINVAL);
  if (strstr(err->msg, msg_part) == NULL)
    fail_msg("error \"%s\" does not say \"%s\"", err->msg, msg_part);
}

static void test_manifest_bad(void **state) {
  (void)state;
  expect_bad_manifest("", "invalid JSON");
  expect_bad_manifest("[{\"Config\":", "invalid JSON");
  expect_bad_manifest("null", "cannot be null");
  expect_bad_manifest("{}", "not a JSON array");
  expect_bad_manifest("[1]", "element 1 is not an object");
  expect_bad_manifest("[{\"Layers\":[]}]", "\"Config\" is missing");
  expect_bad_manifest("[{\"Config\":7}]", "\"Config\" is missing");
  expect_bad_manifest("[{\"Config\":\"c\"},{\"Config\":\"c\",\"Layers\":[1]}]",
                      "element 2: \"Layers\" is not an array of strings");
  expect_bad_manifest("[{\"Config\":\"c\",\"RepoTags\":\"a:b\"}]",
                      "\"RepoTags\" is not an array");
  expect_bad_manifest("[{\"Config\":\"c\",\"Parent\":1}]",
                      "\"Parent\" is not a string");
}

/* ---- OCI index pieces ---------------------------------------------------- */

static void test_platform(void **state) {
  (void)state;
  json_auto_t *amd =
      json_pack("{s:s, s:s}", "os", "linux", "architecture", "amd64");
  json_auto_t *arm = json_pack("{s:s, s:s, s:s}", "os", "linux", "architecture",
                               "arm", "variant", "v7");
  json_auto_t *win = json_pack("{s:s}", "os", "windows");
  assert_true(st_archive_platform_matches(NULL, "linux", "amd64"));
  assert_true(st_archive_platform_matches(amd, "linux", "amd64"));
  assert_false(st_archive_platform_matches(amd, "linux", "arm64"));
  assert_true(st_archive_platform_matches(arm, "linux", "arm"));
  assert_false(st_archive_platform_matches(win, "linux", "amd64"));
}

static void expect_name(const char *json, const char *want, bool want_bad) {
  json_auto_t *ann = json_loads(json, 0, NULL);
  assert_non_null(ann);
  bool bad = false;
  cleanup_free char *got = st_archive_annotation_name(ann, &bad);
  if (want)
    assert_string_equal(got ? got : "(null)", want);
  else
    assert_null(got);
  assert_int_equal(bad, want_bad);
}

static void test_annotation_name(void **state) {
  (void)state;
  /* Docker 25+: both annotations; containerd's wins. */
  expect_name("{\"io.containerd.image.name\":\"docker.io/library/busybox:"
              "latest\",\"org.opencontainers.image.ref.name\":\"latest\"}",
              "docker.io/library/busybox:latest", false);
  /* podman: the whole reference in ref.name. */
  expect_name("{\"org.opencontainers.image.ref.name\":\"localhost/foo:v1\"}",
              "localhost/foo:v1", false);
  expect_name("{\"org.opencontainers.image.ref.name\":\"busybox:1\"}",
              "docker.io/library/busybox:1", false);
  /* A bare tag names no image. */
  expect_name("{\"org.opencontainers.image.ref.name\":\"latest\"}", NULL,
              false);
  expect_name("{\"io.containerd.image.name\":\"Bad/Name:x\"}", NULL, true);
  expect_name("{}", NULL, false);
}

/* ---- fixtures: a store with one image ------------------------------------ */

typedef struct fx {
  char root[64];
  char root2[64];
  st_store *s;  /* has the image */
  st_store *s2; /* empty: loads go here */
  char id[ST_DIGEST_LEN];
  st_layer_rec layer;
} fx;

typedef struct member {
  const char *name;
  const char *data; /* NULL: a directory */
  size_t len;       /* 0: strlen(data) */
} member;

/* A tar of members in a memfd, at offset 0. */
static int make_tar(const member *m, size_t n) {
  int fd = memfd_create("tar", MFD_CLOEXEC);
  assert_true(fd >= 0);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *e = archive_entry_new();
    size_t len = m[i].data ? (m[i].len ? m[i].len : strlen(m[i].data)) : 0;
    archive_entry_set_pathname(e, m[i].name);
    archive_entry_set_filetype(e, m[i].data ? AE_IFREG : AE_IFDIR);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (len)
      assert_int_equal(archive_write_data(a, m[i].data, len), (la_ssize_t)len);
    archive_entry_free(e);
  }
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  return fd;
}

static const char layer_file[] = "hello from a layer\n";

static int setup(void **state) {
  fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  snprintf(f->root, sizeof(f->root), "/tmp/strata-test-archive-XXXXXX");
  snprintf(f->root2, sizeof(f->root2), "/tmp/strata-test-archive-XXXXXX");
  assert_non_null(mkdtemp(f->root));
  assert_non_null(mkdtemp(f->root2));
  cleanup_error st_error *err = NULL;
  assert_int_equal(st_store_open(f->root, &f->s, &err), 0);
  assert_int_equal(st_store_open(f->root2, &f->s2, &err), 0);
  const member layer[] = {{"etc", NULL, 0}, {"etc/hello", layer_file, 0}};
  cleanup_close int lfd = make_tar(layer, 2);
  assert_int_equal(st_layer_import(f->s, lfd, "layer", &f->layer, &err), 0);
  cleanup_free char *config = NULL;
  assert_true(asprintf(&config,
                       "{\"architecture\":\"amd64\",\"os\":\"linux\","
                       "\"created\":\"2024-01-02T03:04:05Z\",\"config\":{},"
                       "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}"
                       "}",
                       f->layer.diff_id) > 0);
  const char *tags[] = {"docker.io/test/app:v1"};
  assert_int_equal(st_image_store(f->s, config, strlen(config), &f->layer, 1,
                                  NULL, tags, 1, f->id, &err),
                   0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  st_store_close(f->s);
  st_store_close(f->s2);
  st_error *err = NULL;
  st_rm_rf(f->root, &err);
  st_rm_rf(f->root2, &err);
  st_error_free(err);
  free(f);
  return 0;
}

/* Reads every entry of the tar on fd (from offset 0): names joined by
 * '\n', and the content of one entry. */
static void read_tar(int fd, st_buf *names, const char *want, st_buf *content) {
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_fd(a, fd, 65536), ARCHIVE_OK);
  struct archive_entry *e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const char *name = archive_entry_pathname(e);
    st_buf_printf(names, "%s\n", name);
    assert_int_equal(archive_entry_mtime(e), 0);
    assert_int_equal(archive_entry_uid(e), 0);
    if (want && strcmp(name, want) == 0) {
      char buf[4096];
      la_ssize_t r;
      while ((r = archive_read_data(a, buf, sizeof(buf))) > 0)
        st_buf_append(content, buf, (size_t)r);
    }
  }
  archive_read_free(a);
}

static int count_images(st_store *s) {
  st_image_row *rows = NULL;
  size_t n = 0;
  cleanup_error st_error *err = NULL;
  assert_int_equal(st_image_list(s, &rows, &n, &err), 0);
  st_image_rows_free(rows, n);
  return (int)n;
}

/* ---- save ---------------------------------------------------------------- */

static int save_to_memfd(fx *f, const char *const *names, size_t n) {
  int fd = memfd_create("save", MFD_CLOEXEC);
  cleanup_error st_error *err = NULL;
  if (st_archive_save(f->s, names, n, fd, &err) < 0)
    fail_msg("save: %s", err->msg);
  return fd;
}

static void test_save_layout(void **state) {
  fx *f = *state;
  const char *names[] = {"test/app:v1", "test/app:v1"};
  cleanup_close int fd = save_to_memfd(f, names, 2);
  cleanup_buf st_buf names_got = ST_BUF_INIT;
  cleanup_buf st_buf manifest = ST_BUF_INIT;
  read_tar(fd, &names_got, "manifest.json", &manifest);
  /* Three blobs (config, layer, manifest), each once, sorted. */
  const char *blobs[3] = {f->id, f->layer.diff_id, NULL};
  st_image img;
  cleanup_error st_error *err = NULL;
  assert_int_equal(st_image_get(f->s, f->id, &img, &err), 0);
  blobs[2] = img.manifest;
  for (int i = 0; i < 3; i++) {
    char line[ST_DIGEST_LEN + 32];
    snprintf(line, sizeof(line), "blobs/sha256/%s\n", st_digest_hex(blobs[i]));
    assert_non_null(strstr(names_got.data, line));
  }
  assert_non_null(strstr(names_got.data, "blobs/\nblobs/sha256/\n"));
  const char *tail = "index.json\nmanifest.json\noci-layout\nrepositories\n";
  size_t tl = strlen(tail);
  assert_true(names_got.len > tl);
  assert_string_equal(names_got.data + names_got.len - tl, tail);
  /* The imported image's manifest lists the plain layer: kept as stored. */
  cleanup_free char *want = NULL;
  assert_true(
      asprintf(&want,
               "[{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":[\"test/app:v1\""
               "],\"Layers\":[\"blobs/sha256/%s\"],\"LayerSources\":{\"%s\":"
               "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
               "\"digest\":\"%s\",\"size\":%lld}}}]\n",
               st_digest_hex(f->id), st_digest_hex(f->layer.diff_id),
               f->layer.diff_id, f->layer.diff_id,
               (long long)f->layer.blob_size) > 0);
  assert_string_equal(manifest.data, want);
  st_image_clear(&img);
}

static void test_save_by_id_untagged(void **state) {
  fx *f = *state;
  const char *names[] = {f->id};
  cleanup_close int fd = save_to_memfd(f, names, 1);
  cleanup_buf st_buf names_got = ST_BUF_INIT;
  cleanup_buf st_buf manifest = ST_BUF_INIT;
  read_tar(fd, &names_got, "manifest.json", &manifest);
  assert_non_null(strstr(manifest.data, "\"RepoTags\":null"));
  /* No tag, no repositories file (as Docker). */
  assert_null(strstr(names_got.data, "repositories"));
}

static void test_save_unknown(void **state) {
  fx *f = *state;
  const char *names[] = {"test/app:v1", "nosuch:latest"};
  cleanup_close int fd = memfd_create("save", MFD_CLOEXEC);
  cleanup_error st_error *err = NULL;
  assert_int_equal(st_archive_save(f->s, names, 2, fd, &err), -1);
  assert_int_equal(err->code, ENOENT);
  assert_non_null(strstr(err->msg, "No such image: nosuch:latest"));
  /* Nothing written before every name resolved. */
  assert_int_equal(lseek(fd, 0, SEEK_END), 0);
}

/* ---- load ---------------------------------------------------------------- */

static void test_round_trip(void **state) {
  fx *f = *state;
  const char *names[] = {"test/app"}; /* every tag of the repository */
  cleanup_close int fd = save_to_memfd(f, names, 1);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  cleanup_error st_error *err = NULL;
  st_loaded_image *v = NULL;
  size_t n = 0;
  if (st_archive_load(f->s2, fd, "save", &v, &n, &err) < 0)
    fail_msg("load: %s", err->msg);
  assert_int_equal(n, 1);
  assert_string_equal(v[0].id, f->id);
  assert_int_equal(v[0].n_tags, 1);
  assert_string_equal(v[0].tags[0], "docker.io/test/app:v1");
  assert_null(v[0].replaced[0]);
  st_loaded_images_free(v, n);
  st_image a, b;
  assert_int_equal(st_image_get(f->s, f->id, &a, &err), 0);
  assert_int_equal(st_image_resolve(f->s2, "test/app:v1", &b, &err), 0);
  assert_string_equal(a.id, b.id);
  assert_string_equal(a.manifest, b.manifest); /* the OCI manifest kept */
  assert_int_equal(a.size, b.size);
  st_image_clear(&a);
  st_image_clear(&b);
  st_layer_rec *l = NULL;
  size_t nl = 0;
  assert_int_equal(st_image_layers(f->s2, f->id, &l, &nl, &err), 0);
  assert_int_equal(nl, 1);
  assert_string_equal(l[0].diff_id, f->layer.diff_id);
  assert_int_equal(l[0].size, (int64_t)strlen(layer_file));
  st_layers_free(l, nl);
}

/* Loads a fixture into the empty store; it must fail with code and a
 * message containing msg_part, and record nothing. */
static void expect_load_fails(fx *f, int fd, int code, const char *msg_part) {
  cleanup_error st_error *err = NULL;
  st_loaded_image *v = NULL;
  size_t n = 0;
  assert_int_equal(st_archive_load(f->s2, fd, "fixture", &v, &n, &err), -1);
  assert_non_null(err);
  if (strstr(err->msg, msg_part) == NULL || err->code != code)
    fail_msg("error %d \"%s\", expected %d with \"%s\"", err->code, err->msg,
             code, msg_part);
  assert_int_equal(count_images(f->s2), 0);
}

static void test_load_hostile_names(void **state) {
  fx *f = *state;
  const member dotdot[] = {{"ok/file.txt", "fine\n", 0},
                           {"../evil", "pwned\n", 0}};
  int fd = make_tar(dotdot, 2);
  expect_load_fails(f, fd, EINVAL, "`../evil`: \"..\" leaves the archive");
  close(fd);
  const member abs[] = {{"/abs-evil", "pwned\n", 0}};
  fd = make_tar(abs, 1);
  expect_load_fails(f, fd, EINVAL, "absolute");
  close(fd);
}

static void test_load_not_tar(void **state) {
  fx *f = *state;
  int fd = memfd_create("text", MFD_CLOEXEC);
  const char text[] = "These are notes, not an archive.\n";
  assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
  lseek(fd, 0, SEEK_SET);
  expect_load_fails(f, fd, EINVAL, "not a tar archive");
  close(fd);
  const member none[] = {{"notes.txt", "x", 0}};
  fd = make_tar(none, 1);
  expect_load_fails(f, fd, EINVAL, "neither manifest.json");
  close(fd);
}

static void test_load_missing_blob(void **state) {
  fx *f = *state;
  const member m[] = {{"manifest.json",
                       "[{\"Config\":\"blobs/sha256/" HEX_A
                       "\",\"RepoTags\":[\"a:b\"],"
                       "\"Layers\":[]}]",
                       0}};
  int fd = make_tar(m, 1);
  expect_load_fails(f, fd, ENOENT,
                    "manifest.json names `blobs/sha256/" HEX_A
                    "` which is not in the archive");
  close(fd);
}

static void test_load_corrupt_blob(void **state) {
  fx *f = *state;
  const member m[] = {{"blobs/sha256/" HEX_A, "not what the name says", 0},
                      {"manifest.json", "[]", 0}};
  int fd = make_tar(m, 2);
  expect_load_fails(f, fd, EIO, "is corrupt");
  close(fd);
}

static void test_load_diff_id_mismatch(void **state) {
  fx *f = *state;
  cleanup_free char *config = NULL;
  assert_true(asprintf(&config,
                       "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                       "\"diff_ids\":[\"sha256:%s\"]}}",
                       HEX_A) > 0);
  const member m[] = {
      {"c.json", config, 0},
      {"l.tar", layer_file, 0},
      {"manifest.json",
       "[{\"Config\":\"c.json\",\"RepoTags\":[\"a:b\"],\"Layers\":["
       "\"l.tar\"]}]",
       0}};
  int fd = make_tar(m, 3);
  expect_load_fails(f, fd, EIO,
                    "layer 1: diff ID mismatch: config says sha256:" HEX_A);
  close(fd);
  /* And a count that does not match the config. */
  const member m2[] = {
      {"c.json", config, 0},
      {"manifest.json", "[{\"Config\":\"c.json\",\"Layers\":[]}]", 0}};
  fd = make_tar(m2, 2);
  expect_load_fails(f, fd, EINVAL, "lists 0 layers but its config has 1");
  close(fd);
}

static void test_load_moves_tag(void **state) {
  fx *f = *state;
  /* The same tag already names another image in s2. */
  const member layer[] = {{"other", "other\n", 0}};
  cleanup_close int lfd = make_tar(layer, 1);
  cleanup_error st_error *err = NULL;
  st_layer_rec rec;
  assert_int_equal(st_layer_import(f->s2, lfd, "layer", &rec, &err), 0);
  cleanup_free char *config = NULL;
  assert_true(asprintf(&config,
                       "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                       "\"diff_ids\":[\"%s\"]}}",
                       rec.diff_id) > 0);
  const char *tags[] = {"docker.io/test/app:v1"};
  char old[ST_DIGEST_LEN];
  assert_int_equal(st_image_store(f->s2, config, strlen(config), &rec, 1, NULL,
                                  tags, 1, old, &err),
                   0);
  const char *names[] = {"test/app:v1"};
  cleanup_close int fd = save_to_memfd(f, names, 1);
  lseek(fd, 0, SEEK_SET);
  st_loaded_image *v = NULL;
  size_t n = 0;
  assert_int_equal(st_archive_load(f->s2, fd, "save", &v, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_non_null(v[0].replaced[0]);
  assert_string_equal(v[0].replaced[0], old);
  st_loaded_images_free(v, n);
  assert_int_equal(count_images(f->s2), 2); /* the old one is dangling */
}

/* An OCI archive as containerd writes a multi-platform image: index.json ->
 * a nested index (named by its annotation) -> one manifest per platform:
 * "not-<arch>" (whose blob is missing) and arch. Returns the tar's fd. */
static int oci_nested_archive(const char *arch, char cdig[ST_DIGEST_LEN],
                              char mdig[ST_DIGEST_LEN]) {
  const member layer[] = {{"hello", layer_file, 0}};
  int lfd = make_tar(layer, 1);
  char tarbuf[8192];
  ssize_t tlen = read(lfd, tarbuf, sizeof(tarbuf));
  close(lfd);
  assert_true(tlen > 0);
  char ldig[ST_DIGEST_LEN], idig[ST_DIGEST_LEN];
  st_digest_of(tarbuf, (size_t)tlen, ldig);
  cleanup_free char *config = NULL;
  assert_true(asprintf(&config,
                       "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                       "\"diff_ids\":[\"%s\"]}}",
                       ldig) > 0);
  st_digest_of(config, strlen(config), cdig);
  cleanup_free char *manifest = NULL;
  assert_true(asprintf(&manifest,
                       "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{"
                       "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},"
                       "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
                       "\"size\":%zd}]}",
                       ST_MT_OCI_MANIFEST, ST_MT_OCI_CONFIG, cdig,
                       strlen(config), ST_MT_OCI_LAYER, ldig, tlen) > 0);
  st_digest_of(manifest, strlen(manifest), mdig);
  cleanup_free char *nested = NULL;
  assert_true(
      asprintf(&nested,
               "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
               "{\"mediaType\":\"%s\",\"digest\":\"sha256:" HEX_A "\","
               "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
               "\"not-%s\"}},{\"mediaType\":\"%s\",\"digest\":\"%s\","
               "\"size\":%zu,\"platform\":{\"os\":\"linux\","
               "\"architecture\":\"%s\"}}]}",
               ST_MT_OCI_INDEX, ST_MT_OCI_MANIFEST, arch, ST_MT_OCI_MANIFEST,
               mdig, strlen(manifest), arch) > 0);
  st_digest_of(nested, strlen(nested), idig);
  cleanup_free char *index = NULL;
  assert_true(asprintf(&index,
                       "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                       "\"%s\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":"
                       "{\"io.containerd.image.name\":\"docker.io/library/"
                       "multi:1\",\"org.opencontainers.image.ref.name\":\"1\""
                       "}}]}",
                       ST_MT_OCI_INDEX, idig, strlen(nested)) > 0);
  char names[4][ST_DIGEST_LEN + 16];
  const char *digs[4] = {ldig, cdig, mdig, idig};
  for (int i = 0; i < 4; i++)
    snprintf(names[i], sizeof(names[i]), "blobs/sha256/%s",
             st_digest_hex(digs[i]));
  const member m[] = {{"oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 0},
                      {"index.json", index, 0},
                      {names[0], tarbuf, (size_t)tlen},
                      {names[1], config, 0},
                      {names[2], manifest, 0},
                      {names[3], nested, 0}};
  return make_tar(m, 6);
}

static void test_load_oci_nested(void **state) {
  fx *f = *state;
  char cdig[ST_DIGEST_LEN], mdig[ST_DIGEST_LEN];
  cleanup_close int fd = oci_nested_archive(st_host_arch(), cdig, mdig);
  cleanup_error st_error *err = NULL;
  st_loaded_image *v = NULL;
  size_t n = 0;
  if (st_archive_load(f->s2, fd, "oci", &v, &n, &err) < 0)
    fail_msg("load: %s", err->msg);
  assert_int_equal(n, 1);
  assert_string_equal(v[0].id, cdig);
  assert_int_equal(v[0].n_tags, 1);
  assert_string_equal(v[0].tags[0], "docker.io/library/multi:1");
  st_loaded_images_free(v, n);
  st_image img;
  assert_int_equal(st_image_get(f->s2, cdig, &img, &err), 0);
  assert_string_equal(img.manifest, mdig); /* the original manifest, kept */
  st_image_clear(&img);
}

static void test_load_oci_other_platform(void **state) {
  fx *f = *state;
  char cdig[ST_DIGEST_LEN], mdig[ST_DIGEST_LEN];
  cleanup_close int fd = oci_nested_archive("sparc", cdig, mdig);
  expect_load_fails(f, fd, EINVAL, "no image for linux/");
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_path),
      cmocka_unit_test(test_link_target),
      cmocka_unit_test(test_manifest_docker25),
      cmocka_unit_test(test_manifest_podman_untagged),
      cmocka_unit_test(test_manifest_bad),
      cmocka_unit_test(test_platform),
      cmocka_unit_test(test_annotation_name),
      T(test_save_layout),
      T(test_save_by_id_untagged),
      T(test_save_unknown),
      T(test_round_trip),
      T(test_load_hostile_names),
      T(test_load_not_tar),
      T(test_load_missing_blob),
      T(test_load_corrupt_blob),
      T(test_load_diff_id_mismatch),
      T(test_load_moves_tag),
      T(test_load_oci_nested),
      T(test_load_oci_other_platform),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
