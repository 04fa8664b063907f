/* The image module: --change instructions, manifests, storing and loading
 * configs, import of a rootfs tarball (written here with libarchive), rmi
 * with Docker's rules, inspect and history. Each store test uses a fresh
 * store in a mkdtemp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* ---- fixtures ---------------------------------------------------------- */

#include "store_fixture.h"

static la_ssize_t buf_write(struct archive *a, void *data, const void *p,
                            size_t n) {
  return st_buf_append(data, p, n) < 0 ? -1 : (la_ssize_t)n;
}

/* A memfd holding a tar of etc/hostname ("box\n") and bin/ (a dir). */
static int small_tar_fd(void) {
  cleanup_buf st_buf out = ST_BUF_INIT;
  struct archive *a = archive_write_new();
  assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  assert_int_equal(archive_write_open(a, &out, NULL, buf_write, NULL),
                   ARCHIVE_OK);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "bin");
  archive_entry_set_filetype(e, AE_IFDIR);
  archive_entry_set_perm(e, 0755);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  archive_entry_clear(e);
  archive_entry_set_pathname(e, "etc/hostname");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, 4);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  assert_int_equal(archive_write_data(a, "box\n", 4), 4);
  archive_entry_free(e);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  int fd = memfd_create("rootfs", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(st_write_all(fd, out.data, out.len, "memfd", NULL), 0);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  return fd;
}

static int import_tar(ctx *c, const st_import_opts *o, const char *tag,
                      char id[ST_DIGEST_LEN], st_error **err) {
  cleanup_close int fd = small_tar_fd();
  const char *tags[] = {tag};
  return st_image_import(c->s, fd, o, tags, tag ? 1 : 0, id, err);
}

static int count_blobs(const ctx *c) {
  cleanup_free char *p = NULL;
  assert_true(asprintf(&p, "%s/blobs/sha256", c->root) > 0);
  cleanup_dir DIR *d = opendir(p);
  if (d == NULL)
    return 0;
  int n = 0;
  for (struct dirent *de; (de = readdir(d)) != NULL;)
    if (de->d_name[0] != '.')
      n++;
  return n;
}

/* Stores an opaque layer blob and returns its record (diff_id == blob). */
static st_layer_rec fake_layer(ctx *c, const char *content, int64_t size) {
  st_layer_rec l = {.media_type = ST_MT_OCI_LAYER, .size = size};
  assert_int_equal(st_blob_put(c->s, content, strlen(content), l.blob, NULL),
                   0);
  memcpy(l.diff_id, l.blob, ST_DIGEST_LEN);
  l.blob_size = (int64_t)strlen(content);
  return l;
}

/* ---- --change ---------------------------------------------------------- */

/* Applies a change to cfg, expecting success. */
static void change_ok(json_t *cfg, const char *change) {
  cleanup_error st_error *err = NULL;
  if (st_config_apply_change(cfg, change, &err) < 0)
    fail_msg("%s: %s", change, err->msg);
}

/* Expects failure with EINVAL and a message containing want. */
static void change_fails(const char *change, const char *want) {
  cleanup_json json_t *cfg = json_object();
  cleanup_error st_error *err = NULL;
  assert_int_equal(st_config_apply_change(cfg, change, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->code, EINVAL);
  if (strstr(err->msg, want) == NULL)
    fail_msg("%s: message \"%s\" lacks \"%s\"", change, err->msg, want);
}

/* cfg[key] serialized compactly equals want. */
static void expect_json(json_t *cfg, const char *key, const char *want) {
  cleanup_free char *got =
      json_dumps(json_object_get(cfg, key),
                 JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  assert_non_null(got);
  assert_string_equal(got, want);
}

static void test_change_cmd_entrypoint(void **state) {
  (void)state;
  cleanup_json json_t *cfg = json_object();
  change_ok(cfg, "CMD [\"/bin/sh\", \"-c\", \"echo hi\"]");
  expect_json(cfg, "Cmd", "[\"/bin/sh\",\"-c\",\"echo hi\"]");
  change_ok(cfg, "CMD echo $HOME");
  expect_json(cfg, "Cmd", "[\"/bin/sh\",\"-c\",\"echo $HOME\"]");
  /* Not a JSON array of strings: shell form, as Docker does. */
  change_ok(cfg, "CMD [1, 2]");
  expect_json(cfg, "Cmd", "[\"/bin/sh\",\"-c\",\"[1, 2]\"]");
  change_ok(cfg, "entrypoint [\"/init\"]"); /* case-insensitive */
  expect_json(cfg, "Entrypoint", "[\"/init\"]");
  change_ok(cfg, "ENTRYPOINT exec /init --flag");
  expect_json(cfg, "Entrypoint", "[\"/bin/sh\",\"-c\",\"exec /init --flag\"]");
}

static void test_change_env(void **state) {
  (void)state;
  cleanup_json json_t *cfg = json_object();
  change_ok(cfg, "ENV A=1 B=\"two words\" C=x\\ y");
  expect_json(cfg, "Env", "[\"A=1\",\"B=two words\",\"C=x y\"]");
  change_ok(cfg, "ENV A=replaced");
  expect_json(cfg, "Env", "[\"A=replaced\",\"B=two words\",\"C=x y\"]");
  /* Legacy form: the rest of the line is the value, spaces kept. */
  change_ok(cfg, "ENV PATHX /usr/bin:/bin  and more");
  change_ok(cfg, "ENV GREETING \"hello world\"");
  change_ok(cfg, "ENV SQ 'it is'");
  expect_json(cfg, "Env",
              "[\"A=replaced\",\"B=two words\",\"C=x y\","
              "\"PATHX=/usr/bin:/bin  and more\",\"GREETING=hello world\","
              "\"SQ=it is\"]");
  change_fails("ENV A", "expected KEY=VALUE");
  change_fails("ENV A=1 =2", "is not KEY=VALUE");
  change_fails("ENV A=\"open", "unterminated quote");
  change_fails("ENV", "requires at least one argument");
}

static void test_change_label_expose_volume(void **state) {
  (void)state;
  cleanup_json json_t *cfg = json_object();
  change_ok(cfg, "LABEL version=1.0 \"com.example.desc\"=\"a b\"");
  change_ok(cfg, "LABEL version=2.0");
  expect_json(cfg, "Labels",
              "{\"com.example.desc\":\"a b\",\"version\":\"2.0\"}");
  change_fails("LABEL justakey value", "expected KEY=VALUE");
  change_fails("LABEL k='open", "unterminated quote");
  change_ok(cfg, "EXPOSE 80 53/udp 8080/tcp");
  expect_json(cfg, "ExposedPorts",
              "{\"53/udp\":{},\"80/tcp\":{},\"8080/tcp\":{}}");
  change_ok(cfg, "VOLUME [\"/data\", \"/var/log\"]");
  change_ok(cfg, "VOLUME /cache /tmp/x");
  expect_json(cfg, "Volumes",
              "{\"/cache\":{},\"/data\":{},\"/tmp/x\":{},\"/var/log\":{}}");
}

static void test_change_scalars(void **state) {
  (void)state;
  cleanup_json json_t *cfg = json_object();
  change_ok(cfg, "WORKDIR app"); /* relative with nothing before: as is */
  expect_json(cfg, "WorkingDir", "\"app\"");
  change_ok(cfg, "WORKDIR /srv");
  change_ok(cfg, "WORKDIR app");
  expect_json(cfg, "WorkingDir", "\"/srv/app\"");
  change_ok(cfg, "WORKDIR /");
  change_ok(cfg, "WORKDIR x");
  expect_json(cfg, "WorkingDir", "\"/x\"");
  change_ok(cfg, "USER 1000:1000");
  expect_json(cfg, "User", "\"1000:1000\"");
  change_ok(cfg, "  STOPSIGNAL   SIGINT");
  expect_json(cfg, "StopSignal", "\"SIGINT\"");
  change_ok(cfg, "ONBUILD RUN make");
  change_ok(cfg, "ONBUILD ADD . /src");
  expect_json(cfg, "OnBuild", "[\"RUN make\",\"ADD . /src\"]");
}

static void test_change_errors(void **state) {
  (void)state;
  change_fails("RUN echo hi", "RUN is not allowed in --change");
  change_fails("FROMAVERYLONGINSTRUCTIONNAME x", "invalid change");
  change_fails("", "invalid change");
  change_fails("USER", "USER requires at least one argument");
  change_fails("VOLUME \"/a", "VOLUME needs at least one argument");
  change_fails("EXPOSE '80", "EXPOSE needs at least one argument");
}

/* ---- manifest, store, config ------------------------------------------ */

static void test_manifest_shape(void **state) {
  (void)state;
  st_layer_rec layers[2] = {
      {.media_type = ST_MT_OCI_LAYER_GZIP, .blob_size = 123},
      {.media_type = ST_MT_OCI_LAYER, .blob_size = 4567},
  };
  st_digest_of("a", 1, layers[0].blob);
  st_digest_of("b", 1, layers[1].blob);
  char cfgd[ST_DIGEST_LEN];
  st_digest_of("{}", 2, cfgd);
  cleanup_free char *m1 = NULL, *m2 = NULL;
  size_t l1 = 0, l2 = 0;
  assert_int_equal(st_manifest_build(cfgd, 2, layers, 2, &m1, &l1, NULL), 0);
  assert_int_equal(st_manifest_build(cfgd, 2, layers, 2, &m2, &l2, NULL), 0);
  assert_int_equal(l1, strlen(m1));
  assert_int_equal(l1, l2);
  assert_memory_equal(m1, m2, l1); /* deterministic bytes */
  assert_null(strchr(m1, '\n'));
  assert_null(strstr(m1, ": ")); /* compact */
  cleanup_json json_t *m = json_loads(m1, 0, NULL);
  assert_non_null(m);
  assert_int_equal(json_integer_value(json_object_get(m, "schemaVersion")), 2);
  assert_string_equal(json_string_value(json_object_get(m, "mediaType")),
                      ST_MT_OCI_MANIFEST);
  json_t *cd = json_object_get(m, "config");
  assert_string_equal(json_string_value(json_object_get(cd, "mediaType")),
                      ST_MT_OCI_CONFIG);
  assert_string_equal(json_string_value(json_object_get(cd, "digest")), cfgd);
  assert_int_equal(json_integer_value(json_object_get(cd, "size")), 2);
  json_t *ls = json_object_get(m, "layers");
  assert_int_equal(json_array_size(ls), 2);
  json_t *l0 = json_array_get(ls, 0);
  assert_string_equal(json_string_value(json_object_get(l0, "mediaType")),
                      ST_MT_OCI_LAYER_GZIP);
  assert_string_equal(json_string_value(json_object_get(l0, "digest")),
                      layers[0].blob);
  assert_int_equal(json_integer_value(json_object_get(l0, "size")), 123);
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(ls, 1), "size")), 4567);
  /* No layers: an empty array, not a missing key. */
  cleanup_free char *m0 = NULL;
  assert_int_equal(st_manifest_build(cfgd, 2, NULL, 0, &m0, &l1, NULL), 0);
  assert_non_null(strstr(m0, "\"layers\":[]"));
}

static void test_store_and_load(void **state) {
  ctx *c = *state;
  assert_true(strlen(st_host_arch()) > 0);
#if defined(__x86_64__)
  assert_string_equal(st_host_arch(), "amd64");
#elif defined(__aarch64__)
  assert_string_equal(st_host_arch(), "arm64");
#endif
  st_layer_rec l = fake_layer(c, "layer-bytes", 11);
  const char *config = "{\"created\":\"2024-01-02T03:04:05Z\","
                       "\"architecture\":\"amd64\",\"os\":\"linux\"}";
  const char *tags[] = {"docker.io/library/x:1"};
  char id[ST_DIGEST_LEN];
  cleanup_error st_error *err = NULL;
  assert_int_equal(st_image_store(c->s, config, strlen(config), &l, 1, NULL,
                                  tags, 1, id, &err),
                   0);
  char want[ST_DIGEST_LEN];
  st_digest_of(config, strlen(config), want);
  assert_string_equal(id, want); /* image ID == config digest */
  st_image img = {0};
  assert_int_equal(st_image_resolve(c->s, "x:1", &img, &err), 0);
  assert_string_equal(img.id, id);
  assert_int_equal(img.created, 1704164645);
  assert_string_equal(img.manifest_media_type, ST_MT_OCI_MANIFEST);
  assert_true(st_blob_exists(c->s, img.manifest));
  st_image_clear(&img);
  cleanup_json json_t *j = NULL;
  assert_int_equal(st_config_load(c->s, id, &j, &err), 0);
  assert_string_equal(json_string_value(json_object_get(j, "os")), "linux");
  /* A missing config: ENOENT with the image named. */
  char missing[ST_DIGEST_LEN];
  st_digest_of("nothing", 7, missing);
  json_t *none = NULL;
  assert_int_equal(st_config_load(c->s, missing, &none, &err), -1);
  assert_null(none);
  assert_int_equal(err->code, ENOENT);
  assert_non_null(strstr(err->msg, missing));
  st_error_freep(&err);
  /* A blob that is not a JSON object: EIO. */
  char arr[ST_DIGEST_LEN];
  assert_int_equal(st_blob_put(c->s, "[1]", 3, arr, NULL), 0);
  assert_int_equal(st_config_load(c->s, arr, &none, &err), -1);
  assert_int_equal(err->code, EIO);
}

/* ---- import ------------------------------------------------------------ */

static void test_import(void **state) {
  ctx *c = *state;
  const char *changes[] = {"CMD [\"/bin/sh\"]", "ENV A=b"};
  st_import_opts o = {.changes = changes, .n_changes = 2};
  char id[ST_DIGEST_LEN];
  cleanup_error st_error *err = NULL;
  if (import_tar(c, &o, "docker.io/library/imp:latest", id, &err) < 0)
    fail_msg("import: %s", err->msg);
  cleanup_json json_t *cfg = NULL;
  assert_int_equal(st_config_load(c->s, id, &cfg, &err), 0);
  st_layer_rec *layers = NULL;
  size_t nl = 0;
  assert_int_equal(st_image_layers(c->s, id, &layers, &nl, &err), 0);
  assert_int_equal(nl, 1);
  json_t *rootfs = json_object_get(cfg, "rootfs");
  assert_string_equal(json_string_value(json_object_get(rootfs, "type")),
                      "layers");
  json_t *diffs = json_object_get(rootfs, "diff_ids");
  assert_int_equal(json_array_size(diffs), 1);
  assert_string_equal(json_string_value(json_array_get(diffs, 0)),
                      layers[0].diff_id);
  st_layers_free(layers, nl);
  assert_string_equal(json_string_value(json_object_get(cfg, "comment")),
                      "Imported from -");
  json_t *hist = json_object_get(cfg, "history");
  assert_int_equal(json_array_size(hist), 1);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(hist, 0), "comment")),
      "Imported from -");
  assert_string_equal(json_string_value(json_object_get(cfg, "architecture")),
                      st_host_arch());
  assert_string_equal(json_string_value(json_object_get(cfg, "os")), "linux");
  assert_null(json_object_get(cfg, "variant"));
  assert_non_null(json_string_value(json_object_get(cfg, "created")));
  json_t *cc = json_object_get(cfg, "config");
  expect_json(cc, "Cmd", "[\"/bin/sh\"]");
  expect_json(cc, "Env", "[\"A=b\"]");
  /* A message and a platform with a variant. */
  st_import_opts o2 = {.message = "my msg", .platform = "linux/arm64/v8"};
  char id2[ST_DIGEST_LEN];
  assert_int_equal(import_tar(c, &o2, NULL, id2, &err), 0);
  cleanup_json json_t *cfg2 = NULL;
  assert_int_equal(st_config_load(c->s, id2, &cfg2, &err), 0);
  assert_string_equal(json_string_value(json_object_get(cfg2, "comment")),
                      "my msg");
  assert_string_equal(json_string_value(json_object_get(cfg2, "architecture")),
                      "arm64");
  assert_string_equal(json_string_value(json_object_get(cfg2, "variant")),
                      "v8");
  /* A source is recorded as given. */
  st_import_opts o3 = {.source = "http://example.com/r.tar",
                       .platform = "windows/amd64"};
  char id3[ST_DIGEST_LEN];
  assert_int_equal(import_tar(c, &o3, NULL, id3, &err), 0);
  cleanup_json json_t *cfg3 = NULL;
  assert_int_equal(st_config_load(c->s, id3, &cfg3, &err), 0);
  assert_string_equal(json_string_value(json_object_get(cfg3, "comment")),
                      "Imported from http://example.com/r.tar");
  assert_string_equal(json_string_value(json_object_get(cfg3, "os")),
                      "windows");
}

static void test_import_errors(void **state) {
  ctx *c = *state;
  const char *bad_platforms[] = {"linux", "/amd64", "linux/", ""};
  for (size_t i = 0; i < sizeof(bad_platforms) / sizeof(bad_platforms[0]);
       i++) {
    st_import_opts o = {.platform = bad_platforms[i]};
    char id[ST_DIGEST_LEN];
    cleanup_error st_error *err = NULL;
    assert_int_equal(import_tar(c, &o, "docker.io/library/bad:1", id, &err),
                     -1);
    assert_int_equal(err->code, EINVAL);
    assert_non_null(strstr(err->msg, "expected os/arch[/variant]"));
  }
  /* Nothing kept: no image, no tag, no blob. */
  st_image_row *rows = NULL;
  size_t n = 0;
  assert_int_equal(st_image_list(c->s, &rows, &n, NULL), 0);
  assert_int_equal(n, 0);
  st_image_rows_free(rows, n);
  assert_int_equal(count_blobs(c), 0);
  /* A bad --change is refused before the tarball is read. */
  const char *changes[] = {"RUN rm -rf /"};
  st_import_opts o = {.changes = changes, .n_changes = 1};
  char id[ST_DIGEST_LEN];
  cleanup_error st_error *err = NULL;
  cleanup_close int fd = small_tar_fd();
  assert_int_equal(st_image_import(c->s, fd, &o, NULL, 0, id, &err), -1);
  assert_int_equal(err->code, EINVAL);
  assert_true(strncmp(err->msg, "--change: RUN is not allowed", 28) == 0);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
  assert_int_equal(count_blobs(c), 0);
}

/* ---- rmi --------------------------------------------------------------- */

static void test_rmi_tags(void **state) {
  ctx *c = *state;
  st_import_opts o = {0};
  char id[ST_DIGEST_LEN];
  cleanup_error st_error *err = NULL;
  assert_int_equal(import_tar(c, &o, "docker.io/library/a:1", id, &err), 0);
  assert_int_equal(st_tag_set(c->s, "docker.io/library/b:2", id, &err), 0);
  /* By one of two tags: untag only. */
  st_rmi_result r;
  assert_int_equal(st_image_remove(c->s, "a:1", false, &r, &err), 0);
  assert_int_equal(r.n_untagged, 1);
  assert_string_equal(r.untagged[0], "docker.io/library/a:1");
  assert_string_equal(r.deleted, "");
  st_rmi_result_clear(&r);
  st_image img = {0};
  assert_int_equal(st_image_resolve(c->s, "a:1", &img, &err), -1);
  assert_int_equal(err->code, ENOENT);
  st_error_freep(&err);
  assert_int_equal(st_image_resolve(c->s, "b:2", &img, &err), 0);
  st_image_clear(&img);
  /* By ID with two tags: refused without force, with Docker's message. */
  assert_int_equal(st_tag_set(c->s, "docker.io/library/a:1", id, &err), 0);
  assert_int_equal(st_image_remove(c->s, id, false, &r, &err), -1);
  assert_int_equal(err->code, EBUSY);
  char want[200];
  snprintf(want, sizeof(want),
           "conflict: unable to delete %.12s (must be forced) - image is "
           "referenced in multiple repositories",
           id + strlen("sha256:"));
  assert_string_equal(err->msg, want);
  assert_int_equal(r.n_untagged, 0);
  st_error_freep(&err);
  assert_int_equal(st_image_resolve(c->s, "a:1", &img, &err), 0);
  st_image_clear(&img);
  /* Forced: both tags go, then the image. */
  assert_int_equal(st_image_remove(c->s, id + 7, true, &r, &err), 0);
  assert_int_equal(r.n_untagged, 2);
  assert_string_equal(r.untagged[0], "docker.io/library/a:1");
  assert_string_equal(r.untagged[1], "docker.io/library/b:2");
  assert_string_equal(r.deleted, id);
  st_rmi_result_clear(&r);
  assert_int_equal(st_image_get(c->s, id, &img, &err), -1);
  st_error_freep(&err);
  assert_int_equal(count_blobs(c), 0); /* collected afterwards */
  /* By the last tag: untagged and deleted. */
  assert_int_equal(import_tar(c, &o, "docker.io/library/solo:x", id, &err), 0);
  assert_int_equal(st_image_remove(c->s, "solo:x", false, &r, &err), 0);
  assert_int_equal(r.n_untagged, 1);
  assert_string_equal(r.deleted, id);
  st_rmi_result_clear(&r);
  /* No such image. */
  assert_int_equal(st_image_remove(c->s, "ghost:1", false, &r, &err), -1);
  assert_int_equal(err->code, ENOENT);
}

static void test_rmi_child(void **state) {
  ctx *c = *state;
  st_import_opts o = {0};
  char parent[ST_DIGEST_LEN], child[ST_DIGEST_LEN];
  cleanup_error st_error *err = NULL;
  assert_int_equal(import_tar(c, &o, NULL, parent, &err), 0);
  st_layer_rec l = fake_layer(c, "child-layer", 5);
  const char *config = "{\"os\":\"linux\",\"child\":true}";
  const char *tags[] = {"docker.io/library/kid:1"};
  assert_int_equal(st_image_store(c->s, config, strlen(config), &l, 1, parent,
                                  tags, 1, child, &err),
                   0);
  st_rmi_result r;
  for (int force = 0; force < 2; force++) {
    assert_int_equal(st_image_remove(c->s, parent, force, &r, &err), -1);
    assert_int_equal(err->code, EBUSY);
    assert_non_null(strstr(err->msg, "(cannot be forced) - image has "
                                     "dependent child images"));
    assert_int_equal(strncmp(err->msg, "conflict: unable to delete ", 27), 0);
    st_error_freep(&err);
  }
  /* The child goes; then the parent can. */
  assert_int_equal(st_image_remove(c->s, "kid:1", false, &r, &err), 0);
  assert_string_equal(r.deleted, child);
  st_rmi_result_clear(&r);
  assert_int_equal(st_image_remove(c->s, parent, false, &r, &err), 0);
  assert_string_equal(r.deleted, parent);
  assert_int_equal(r.n_untagged, 0);
  st_rmi_result_clear(&r);
}

/* ---- inspect / history ------------------------------------------------- */

static void test_inspect(void **state) {
  ctx *c = *state;
  const char *changes[] = {"LABEL k=v"};
  st_import_opts o = {
      .changes = changes, .n_changes = 1, .platform = "linux/arm/v7"};
  char id[ST_DIGEST_LEN];
  cleanup_error st_error *err = NULL;
  assert_int_equal(import_tar(c, &o, "docker.io/library/ins:1", id, &err), 0);
  cleanup_json json_t *j = NULL;
  assert_int_equal(st_image_inspect(c->s, id, &j, &err), 0);
  const char *keys[] = {"Id",      "RepoTags",     "RepoDigests",   "Parent",
                        "Comment", "Created",      "DockerVersion", "Author",
                        "Config",  "Architecture", "Variant",       "Os",
                        "Size",    "RootFS",       "Metadata"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    if (json_object_get(j, keys[i]) == NULL)
      fail_msg("inspect lacks %s", keys[i]);
  assert_string_equal(json_string_value(json_object_get(j, "Id")), id);
  expect_json(j, "RepoTags", "[\"ins:1\"]");
  expect_json(j, "RepoDigests", "[]");
  assert_string_equal(json_string_value(json_object_get(j, "Parent")), "");
  assert_string_equal(json_string_value(json_object_get(j, "Comment")),
                      "Imported from -");
  assert_string_equal(json_string_value(json_object_get(j, "Architecture")),
                      "arm");
  assert_string_equal(json_string_value(json_object_get(j, "Variant")), "v7");
  expect_json(json_object_get(j, "Config"), "Labels", "{\"k\":\"v\"}");
  json_t *rootfs = json_object_get(j, "RootFS");
  assert_string_equal(json_string_value(json_object_get(rootfs, "Type")),
                      "layers");
  assert_int_equal(json_array_size(json_object_get(rootfs, "Layers")), 1);
  assert_true(json_integer_value(json_object_get(j, "Size")) >= 4);
  const char *ltt = json_string_value(
      json_object_get(json_object_get(j, "Metadata"), "LastTagTime"));
  assert_non_null(ltt);
  assert_string_not_equal(ltt, "0001-01-01T00:00:00Z");
  /* Unknown image: an error, no object. */
  char missing[ST_DIGEST_LEN];
  st_digest_of("x", 1, missing);
  json_t *none = NULL;
  assert_int_equal(st_image_inspect(c->s, missing, &none, &err), -1);
  assert_null(none);
}

static void test_history(void **state) {
  ctx *c = *state;
  st_layer_rec layers[2] = {fake_layer(c, "base", 100),
                            fake_layer(c, "top", 200)};
  const char *config =
      "{\"os\":\"linux\",\"history\":["
      "{\"created\":\"2024-01-01T00:00:00Z\",\"created_by\":\"ADD rootfs\"},"
      "{\"created\":\"2024-01-02T00:00:00Z\",\"created_by\":\"CMD sh\","
      "\"empty_layer\":true},"
      "{\"created\":\"2024-01-03T00:00:00Z\",\"created_by\":\"RUN make\","
      "\"comment\":\"built\"}]}";
  const char *tags[] = {"docker.io/library/h:1", "docker.io/library/h:2"};
  char id[ST_DIGEST_LEN];
  cleanup_error st_error *err = NULL;
  assert_int_equal(st_image_store(c->s, config, strlen(config), layers, 2, NULL,
                                  tags, 2, id, &err),
                   0);
  st_history_row *rows = NULL;
  size_t n = 0;
  assert_int_equal(st_image_history(c->s, id, &rows, &n, &err), 0);
  assert_int_equal(n, 3);
  /* Newest first; the top row is the image with its tags. */
  assert_string_equal(rows[0].id, id);
  assert_string_equal(rows[0].created_by, "RUN make");
  assert_string_equal(rows[0].comment, "built");
  assert_int_equal(rows[0].size, 200);
  assert_int_equal(rows[0].created, 1704240000);
  assert_string_equal(rows[0].tags[0], "docker.io/library/h:1");
  assert_string_equal(rows[0].tags[1], "docker.io/library/h:2");
  assert_null(rows[0].tags[2]);
  assert_null(rows[1].id);
  assert_string_equal(rows[1].created_by, "CMD sh");
  assert_int_equal(rows[1].size, 0);
  assert_null(rows[2].id);
  assert_string_equal(rows[2].created_by, "ADD rootfs");
  assert_string_equal(rows[2].comment, "");
  assert_int_equal(rows[2].size, 100);
  assert_null(rows[2].tags);
  st_history_free(rows, n);
  /* Without history: one row per layer, newest first. */
  const char *bare = "{\"os\":\"linux\"}";
  char id2[ST_DIGEST_LEN];
  assert_int_equal(st_image_store(c->s, bare, strlen(bare), layers, 2, NULL,
                                  NULL, 0, id2, &err),
                   0);
  assert_int_equal(st_image_history(c->s, id2, &rows, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_int_equal(rows[0].size, 200);
  assert_int_equal(rows[1].size, 100);
  assert_int_equal(rows[0].created, 0);
  assert_string_equal(rows[0].created_by, "");
  st_history_free(rows, n);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_change_cmd_entrypoint),
      cmocka_unit_test(test_change_env),
      cmocka_unit_test(test_change_label_expose_volume),
      cmocka_unit_test(test_change_scalars),
      cmocka_unit_test(test_change_errors),
      cmocka_unit_test(test_manifest_shape),
      T(test_store_and_load),
      T(test_import),
      T(test_import_errors),
      T(test_rmi_tags),
      T(test_rmi_child),
      T(test_inspect),
      T(test_history),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
