/* The image store: blobs, image records, resolution, tags, listing, the
 * dangling rule, gc, prune, disk usage and the consistency check. Images are
 * made here from hand-written configs and manifests (layers are opaque
 * bytes to the store), each test in a fresh store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/fsck.h"
#include "store/prune.h"
#include "store/store.h"
#include "store/usage.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define NS 1000000000LL

#include "store_fixture.h"

/* ---- helpers ------------------------------------------------------------ */

#define ASSERT_OK(call)                                                        \
  do {                                                                         \
    st_error *e_ = NULL;                                                       \
    if ((call) < 0)                                                            \
      fail_msg("%s: %s", #call, e_ ? e_->msg : "failed");                      \
    st_error_free(e_);                                                         \
  } while (0)

/* A layer of n bytes of content derived from seed. Its unpacked size is
 * made different from the blob size, so tests can tell which one a
 * number uses. */
static st_layer_rec make_layer(st_store *s, int seed, size_t n) {
  st_layer_rec l = {0};
  cleanup_free char *buf = malloc(n);
  for (size_t i = 0; i < n; i++)
    buf[i] = (char)('a' + (seed * 7 + (int)i) % 26);
  snprintf(buf, n, "layer-%d", seed);
  cleanup_error st_error *err = NULL;
  if (st_blob_put(s, buf, n, l.blob, &err) < 0)
    fail_msg("put layer: %s", err->msg);
  memcpy(l.diff_id, l.blob, ST_DIGEST_LEN);
  l.media_type = MT_LAYER;
  l.blob_size = (int64_t)n;
  l.size = (int64_t)n * 10;
  return l;
}

typedef struct image_spec {
  const st_layer_rec *layers;
  size_t n_layers;
  int64_t created;    /* unix seconds; 0: none */
  const char *labels; /* JSON object text, or NULL */
  const char *parent;
  const char *tag;     /* normalized, or NULL */
  const char *comment; /* makes configs differ */
} image_spec;

static char *config_json(const image_spec *sp) {
  json_t *cfg = json_object();
  json_object_set_new(cfg, "architecture", json_string("amd64"));
  json_object_set_new(cfg, "os", json_string("linux"));
  if (sp->comment)
    json_object_set_new(cfg, "comment", json_string(sp->comment));
  json_t *inner = json_object();
  if (sp->labels)
    json_object_set_new(inner, "Labels", json_loads(sp->labels, 0, NULL));
  json_object_set_new(cfg, "config", inner);
  json_t *ids = json_array();
  for (size_t i = 0; i < sp->n_layers; i++)
    json_array_append_new(ids, json_string(sp->layers[i].diff_id));
  json_t *rootfs = json_object();
  json_object_set_new(rootfs, "type", json_string("layers"));
  json_object_set_new(rootfs, "diff_ids", ids);
  json_object_set_new(cfg, "rootfs", rootfs);
  char *out = json_dumps(cfg, JSON_COMPACT);
  json_decref(cfg);
  return out;
}

static char *manifest_json(const char *config_digest, size_t config_size,
                           const st_layer_rec *layers, size_t n) {
  json_t *m = json_object();
  json_object_set_new(m, "schemaVersion", json_integer(2));
  json_object_set_new(m, "mediaType", json_string(MT_MANIFEST));
  json_t *c = json_object();
  json_object_set_new(c, "mediaType", json_string(MT_CONFIG));
  json_object_set_new(c, "digest", json_string(config_digest));
  json_object_set_new(c, "size", json_integer((json_int_t)config_size));
  json_object_set_new(m, "config", c);
  json_t *ls = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *l = json_object();
    json_object_set_new(l, "mediaType", json_string(MT_LAYER));
    json_object_set_new(l, "digest", json_string(layers[i].blob));
    json_object_set_new(l, "size", json_integer(layers[i].blob_size));
    json_array_append_new(ls, l);
  }
  json_object_set_new(m, "layers", ls);
  char *out = json_dumps(m, JSON_COMPACT);
  json_decref(m);
  return out;
}

/* Stores config + manifest and records the image; returns its ID in id. */
static void make_image(st_store *s, const image_spec *sp,
                       char id[ST_DIGEST_LEN]) {
  cleanup_free char *cfg = config_json(sp);
  cleanup_error st_error *err = NULL;
  if (st_blob_put(s, cfg, strlen(cfg), id, &err) < 0)
    fail_msg("put config: %s", err->msg);
  cleanup_free char *man =
      manifest_json(id, strlen(cfg), sp->layers, sp->n_layers);
  st_image_rec rec = {0};
  memcpy(rec.id, id, ST_DIGEST_LEN);
  if (st_blob_put(s, man, strlen(man), rec.manifest, &err) < 0)
    fail_msg("put manifest: %s", err->msg);
  rec.manifest_media_type = MT_MANIFEST;
  rec.created = sp->created;
  rec.parent = sp->parent;
  rec.n_layers = sp->n_layers;
  rec.layers = sp->layers;
  const char *tags[1] = {sp->tag};
  if (st_image_commit(s, &rec, tags, sp->tag ? 1 : 0, &err) < 0)
    fail_msg("commit image: %s", err->msg);
}

/* A one-layer image with its own layer; returns the layer through *lay. */
static void simple_image(st_store *s, int seed, int64_t created,
                         const char *tag, char id[ST_DIGEST_LEN],
                         st_layer_rec *lay) {
  st_layer_rec l = make_layer(s, seed, 1000 + (size_t)seed);
  char comment[32];
  snprintf(comment, sizeof(comment), "image %d", seed);
  image_spec sp = {&l, 1, created, NULL, NULL, tag, comment};
  make_image(s, &sp, id);
  if (lay)
    *lay = l;
}

static bool has_image(st_store *s, const char *id) {
  st_image img;
  st_error *err = NULL;
  int r = st_image_get(s, id, &img, &err);
  st_error_free(err);
  if (r == 0)
    st_image_clear(&img);
  return r == 0;
}

static char *blob_file(ctx *c, const char *digest) {
  char *p = NULL;
  if (asprintf(&p, "%s/blobs/sha256/%s", c->root, digest + 7) < 0)
    return NULL;
  return p;
}

static size_t count_dir(const char *path) {
  cleanup_dir DIR *d = opendir(path);
  size_t n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  return n;
}

/* The untagged/deleted lines of a prune report, "kind what\n" each. */
static bool report_has(const st_prune_report *r, st_prune_kind kind,
                       const char *what) {
  for (size_t i = 0; i < r->n_entries; i++)
    if (r->entries[i].kind == kind && strcmp(r->entries[i].what, what) == 0)
      return true;
  return false;
}

static bool fsck_has(const st_fsck_report *r, st_fsck_kind kind,
                     const char *needle) {
  for (size_t i = 0; i < r->n_problems; i++)
    if (r->problems[i].kind == kind && strstr(r->problems[i].msg, needle))
      return true;
  return false;
}

/* ---- open, blobs -------------------------------------------------------- */

static void test_open_creates_layout(void **state) {
  ctx *c = *state;
  char p[128];
  struct stat sb;
  snprintf(p, sizeof(p), "%s/blobs/sha256", c->root);
  assert_int_equal(stat(p, &sb), 0);
  assert_true(S_ISDIR(sb.st_mode));
  snprintf(p, sizeof(p), "%s/strata.db", c->root);
  assert_int_equal(stat(p, &sb), 0);
  assert_string_equal(st_store_root(c->s), c->root);
  /* Reopening an existing store works and sees the same data. */
  char id[ST_DIGEST_LEN];
  simple_image(c->s, 1, 100, "docker.io/library/a:latest", id, NULL);
  st_store_close(c->s);
  c->s = NULL;
  ASSERT_OK(st_store_open(c->root, &c->s, &e_));
  assert_true(has_image(c->s, id));
}

static void test_blob_put_get(void **state) {
  ctx *c = *state;
  char d[ST_DIGEST_LEN];
  ASSERT_OK(st_blob_put(c->s, "hello", 5, d, &e_));
  assert_string_equal(d, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa"
                         "7425e73043362938b9824");
  assert_true(st_blob_exists(c->s, d));
  cleanup_free char *buf = NULL;
  size_t len = 0;
  ASSERT_OK(st_blob_get(c->s, d, &buf, &len, &e_));
  assert_int_equal(len, 5);
  assert_memory_equal(buf, "hello", 5);
  /* Storing it again is a no-op. */
  ASSERT_OK(st_blob_put(c->s, "hello", 5, NULL, &e_));
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/blobs/sha256", c->root);
  assert_int_equal(count_dir(dir), 1);
  /* A missing blob is an error naming it. */
  cleanup_error st_error *err = NULL;
  cleanup_free char *none = NULL;
  assert_true(st_blob_get(c->s,
                          "sha256:0000000000000000000000000000000000000000"
                          "000000000000000000000000",
                          &none, NULL, &err) < 0);
  assert_int_equal(err->code, ENOENT);
}

static void test_blob_commit_expect(void **state) {
  ctx *c = *state;
  st_blob_writer *w = NULL;
  ASSERT_OK(st_blob_begin(c->s, &w, &e_));
  ASSERT_OK(st_blob_write(w, "abc", 3, &e_));
  assert_int_equal(st_blob_size(w), 3);
  cleanup_error st_error *err = NULL;
  char d[ST_DIGEST_LEN];
  const char *wrong = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa"
                      "7425e73043362938b9824";
  assert_true(st_blob_commit(w, wrong, d, &err) < 0);
  assert_int_equal(err->code, EIO);
  assert_non_null(strstr(err->msg, "digest mismatch"));
  /* Nothing kept: neither the blob nor its tmp file. */
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/blobs/sha256", c->root);
  assert_int_equal(count_dir(dir), 0);
  snprintf(dir, sizeof(dir), "%s/tmp", c->root);
  assert_int_equal(count_dir(dir), 0);
  /* With the right digest it lands under its name. */
  ASSERT_OK(st_blob_begin(c->s, &w, &e_));
  ASSERT_OK(st_blob_write(w, "abc", 3, &e_));
  ASSERT_OK(st_blob_commit(w,
                           "sha256:ba7816bf8f01cfea414140de5dae2223b00361a3"
                           "96177a9cb410ff61f20015ad",
                           d, &e_));
  assert_true(st_blob_exists(c->s, d));
}

/* Blobs larger than the writer's staging buffers go out with O_DIRECT from
 * a thread: every size around the buffer and alignment edges, written in
 * odd-sized pieces, reads back byte for byte under the right digest; an
 * abort in the middle leaves no file behind. */
static void test_blob_large_sizes(void **state) {
  ctx *c = *state;
  const size_t mib = 1u << 20;
  const size_t sizes[] = {
      0,       1,       4095,           4096,          mib - 1,      mib,
      mib + 1, 2 * mib, 2 * mib + 4096, 3 * mib + 123, 7 * mib + 511};
  cleanup_free unsigned char *data = malloc(8 * mib);
  assert_non_null(data);
  for (size_t i = 0; i < 8 * mib; i++)
    data[i] = (unsigned char)(i * 2654435761u >> 13);
  for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
    size_t n = sizes[k];
    st_blob_writer *w = NULL;
    ASSERT_OK(st_blob_begin(c->s, &w, &e_));
    for (size_t off = 0; off < n;) {
      size_t piece = n - off < 7919 * (k + 1) ? n - off : 7919 * (k + 1);
      ASSERT_OK(st_blob_write(w, data + off, piece, &e_));
      off += piece;
    }
    assert_int_equal(st_blob_size(w), n);
    char want[ST_DIGEST_LEN], got[ST_DIGEST_LEN];
    st_digest_of(data, n, want);
    ASSERT_OK(st_blob_commit(w, want, got, &e_));
    assert_string_equal(got, want);
    cleanup_free char *buf = NULL;
    size_t len = 99;
    ASSERT_OK(st_blob_get(c->s, got, &buf, &len, &e_));
    assert_int_equal(len, n);
    if (n > 0)
      assert_memory_equal(buf, data, n);
  }
  /* abort after the thread has started writing */
  st_blob_writer *w = NULL;
  ASSERT_OK(st_blob_begin(c->s, &w, &e_));
  ASSERT_OK(st_blob_write(w, data, 5 * mib + 7, &e_));
  st_blob_abort(w);
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/tmp", c->root);
  assert_int_equal(count_dir(dir), 0);
}

static void test_blob_get_detects_corruption(void **state) {
  ctx *c = *state;
  char d[ST_DIGEST_LEN];
  ASSERT_OK(st_blob_put(c->s, "hello", 5, d, &e_));
  cleanup_free char *p = blob_file(c, d);
  FILE *f = fopen(p, "r+");
  assert_non_null(f);
  fputc('j', f);
  fclose(f);
  cleanup_error st_error *err = NULL;
  cleanup_free char *buf = NULL;
  assert_true(st_blob_get(c->s, d, &buf, NULL, &err) < 0);
  assert_int_equal(err->code, EIO);
}

/* ---- images: commit, resolve, tags, delete, list ------------------------ */

static void test_image_commit_and_resolve(void **state) {
  ctx *c = *state;
  char id[ST_DIGEST_LEN];
  st_layer_rec l;
  simple_image(c->s, 1, 1000, "docker.io/library/busybox:latest", id, &l);
  const char *refs[] = {"busybox", "busybox:latest",
                        "docker.io/library/busybox:latest", id, id + 7};
  for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
    st_image img;
    ASSERT_OK(st_image_resolve(c->s, refs[i], &img, &e_));
    assert_string_equal(img.id, id);
    assert_int_equal(img.size, l.size);
    assert_int_equal(img.created, 1000);
    st_image_clear(&img);
  }
  /* Unique prefixes, with and without "sha256:". */
  char prefix[32];
  snprintf(prefix, sizeof(prefix), "%.12s", id + 7);
  st_image img;
  ASSERT_OK(st_image_resolve(c->s, prefix, &img, &e_));
  assert_string_equal(img.id, id);
  st_image_clear(&img);
  snprintf(prefix, sizeof(prefix), "sha256:%.5s", id + 7);
  ASSERT_OK(st_image_resolve(c->s, prefix, &img, &e_));
  assert_string_equal(img.id, id);
  st_image_clear(&img);

  st_layer_rec *layers = NULL;
  size_t n = 0;
  ASSERT_OK(st_image_layers(c->s, id, &layers, &n, &e_));
  assert_int_equal(n, 1);
  assert_string_equal(layers[0].blob, l.blob);
  assert_int_equal(layers[0].blob_size, l.blob_size);
  st_layers_free(layers, n);

  cleanup_error st_error *err = NULL;
  assert_true(st_image_resolve(c->s, "nothere", &img, &err) < 0);
  assert_int_equal(err->code, ENOENT);
  assert_string_equal(err->msg, "No such image: nothere");
}

static void test_ambiguous_prefix(void **state) {
  ctx *c = *state;
  /* 17 images: two of them share their first hex digit. */
  char ids[17][ST_DIGEST_LEN];
  for (int i = 0; i < 17; i++)
    simple_image(c->s, i, 100 + i, NULL, ids[i], NULL);
  char shared = 0;
  for (int i = 0; i < 17 && !shared; i++)
    for (int j = i + 1; j < 17 && !shared; j++)
      if (ids[i][7] == ids[j][7])
        shared = ids[i][7];
  char prefix[2] = {shared, '\0'};
  cleanup_error st_error *err = NULL;
  st_image img;
  assert_true(st_image_resolve(c->s, prefix, &img, &err) < 0);
  assert_int_equal(err->code, EINVAL);
  assert_non_null(strstr(err->msg, "ambiguous"));
}

static void test_tag_moves_and_dangling(void **state) {
  ctx *c = *state;
  char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN];
  simple_image(c->s, 1, 100, "docker.io/library/app:v1", a, NULL);
  simple_image(c->s, 2, 200, "docker.io/library/app:v1", b, NULL);
  st_image img;
  ASSERT_OK(st_image_resolve(c->s, "app:v1", &img, &e_));
  assert_string_equal(img.id, b);
  st_image_clear(&img);

  st_image_row *rows = NULL;
  size_t n = 0;
  ASSERT_OK(st_image_list(c->s, &rows, &n, &e_));
  assert_int_equal(n, 2);
  assert_string_equal(rows[0].img.id, b); /* newest first */
  assert_string_equal(rows[0].name, "docker.io/library/app:v1");
  assert_false(st_image_row_dangling(&rows[0]));
  assert_string_equal(rows[1].img.id, a);
  assert_null(rows[1].name);
  assert_true(st_image_row_dangling(&rows[1]));
  st_image_rows_free(rows, n);

  /* st_tag_set on a missing image fails and leaves no tag. */
  cleanup_error st_error *err = NULL;
  assert_true(st_tag_set(c->s, "docker.io/library/x:y",
                         "sha256:00000000000000000000000000000000000000000"
                         "00000000000000000000000",
                         &err) < 0);
  assert_int_equal(err->code, ENOENT);
  ASSERT_OK(st_tag_set(c->s, "docker.io/library/app:v2", a, &e_));
  char **tags = NULL;
  ASSERT_OK(st_image_tags(c->s, a, &tags, &n, &e_));
  assert_int_equal(n, 1);
  assert_string_equal(tags[0], "docker.io/library/app:v2");
  st_strv_free(tags, n);
  ASSERT_OK(st_tag_remove(c->s, "docker.io/library/app:v2", &e_));
  ASSERT_OK(st_image_tags(c->s, a, &tags, &n, &e_));
  assert_int_equal(n, 0);
  st_strv_free(tags, n);
}

static void test_delete(void **state) {
  ctx *c = *state;
  st_layer_rec base = make_layer(c->s, 50, 4000);
  st_layer_rec top = make_layer(c->s, 51, 500);
  st_layer_rec two[2] = {base, top};
  char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN];
  image_spec sa = {&base, 1, 100, NULL, NULL, "docker.io/library/a:1", "a"};
  image_spec sb = {two, 2, 200, NULL, NULL, "docker.io/library/b:1", "b"};
  make_image(c->s, &sa, a);
  make_image(c->s, &sb, b);
  cleanup_error st_error *err = NULL;
  assert_true(st_image_delete(c->s, b, false, &err) < 0);
  assert_int_equal(err->code, EBUSY);
  assert_true(has_image(c->s, b));
  ASSERT_OK(st_image_delete(c->s, b, true, &e_));
  assert_false(has_image(c->s, b));
  st_image img;
  st_error *e2 = NULL;
  assert_true(st_image_resolve(c->s, "b:1", &img, &e2) < 0);
  st_error_free(e2);
  /* The shared base layer is still recorded for a. */
  st_layer_rec *ls = NULL;
  size_t n = 0;
  ASSERT_OK(st_image_layers(c->s, a, &ls, &n, &e_));
  assert_int_equal(n, 1);
  st_layers_free(ls, n);
  /* gc frees b's config, manifest and top layer, not the base. */
  int64_t freed = st_store_gc(c->s, NULL);
  assert_true(freed >= top.blob_size);
  assert_false(st_blob_exists(c->s, top.blob));
  assert_false(st_blob_exists(c->s, b));
  assert_true(st_blob_exists(c->s, base.blob));
  assert_true(st_blob_exists(c->s, a));
}

static void test_list_ordering(void **state) {
  ctx *c = *state;
  char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN], d[ST_DIGEST_LEN];
  simple_image(c->s, 1, 100, "docker.io/library/old:1", a, NULL);
  simple_image(c->s, 2, 300, "docker.io/library/new:1", b, NULL);
  simple_image(c->s, 3, 200, "docker.io/library/mid:1", d, NULL);
  ASSERT_OK(st_tag_set(c->s, "docker.io/library/alpha:1", b, &e_));
  st_image_row *rows = NULL;
  size_t n = 0;
  ASSERT_OK(st_image_list(c->s, &rows, &n, &e_));
  assert_int_equal(n, 4);
  assert_string_equal(rows[0].name, "docker.io/library/alpha:1");
  assert_string_equal(rows[1].name, "docker.io/library/new:1");
  assert_string_equal(rows[2].img.id, d);
  assert_string_equal(rows[3].img.id, a);
  st_image_rows_free(rows, n);
}

static void test_dangling_rule_children(void **state) {
  ctx *c = *state;
  st_layer_rec l1 = make_layer(c->s, 60, 800);
  st_layer_rec l2 = make_layer(c->s, 61, 300);
  st_layer_rec both[2] = {l1, l2};
  char parent[ST_DIGEST_LEN], child[ST_DIGEST_LEN];
  image_spec sp = {&l1, 1, 100, NULL, NULL, NULL, "parent"};
  make_image(c->s, &sp, parent);
  image_spec sc = {both, 2, 200, NULL, parent, "docker.io/library/c:1", "c"};
  make_image(c->s, &sc, child);
  st_image_row *rows = NULL;
  size_t n = 0;
  ASSERT_OK(st_image_list(c->s, &rows, &n, &e_));
  assert_int_equal(n, 2);
  assert_string_equal(rows[1].img.id, parent);
  assert_true(rows[1].has_children);
  assert_false(st_image_row_dangling(&rows[1])); /* intermediate */
  st_image_rows_free(rows, n);
  ASSERT_OK(st_image_delete(c->s, child, true, &e_));
  ASSERT_OK(st_image_list(c->s, &rows, &n, &e_));
  assert_int_equal(n, 1);
  assert_true(st_image_row_dangling(&rows[0]));
  st_image_rows_free(rows, n);
}

static void test_gc_only_unreferenced(void **state) {
  ctx *c = *state;
  char id[ST_DIGEST_LEN], junk[ST_DIGEST_LEN];
  st_layer_rec l;
  simple_image(c->s, 1, 100, "docker.io/library/a:1", id, &l);
  ASSERT_OK(st_blob_put(c->s, "garbage!", 8, junk, &e_));
  int64_t freed = st_store_gc(c->s, NULL);
  assert_int_equal(freed, 8);
  assert_false(st_blob_exists(c->s, junk));
  assert_true(st_blob_exists(c->s, id));
  assert_true(st_blob_exists(c->s, l.blob));
  st_image img;
  ASSERT_OK(st_image_get(c->s, id, &img, &e_));
  assert_true(st_blob_exists(c->s, img.manifest));
  st_image_clear(&img);
}

/* ---- prune -------------------------------------------------------------- */

static void test_prune_dangling(void **state) {
  ctx *c = *state;
  st_layer_rec base = make_layer(c->s, 70, 2000);
  st_layer_rec own = make_layer(c->s, 71, 700);
  st_layer_rec two[2] = {base, own};
  char old[ST_DIGEST_LEN], cur[ST_DIGEST_LEN];
  image_spec so = {two, 2, 100, NULL, NULL, "docker.io/library/app:1", "o"};
  image_spec sn = {&base, 1, 200, NULL, NULL, "docker.io/library/app:1", "n"};
  make_image(c->s, &so, old);
  make_image(c->s, &sn, cur);
  st_prune_opts o = {0};
  st_prune_report r;
  ASSERT_OK(st_image_prune(c->s, &o, &r, &e_));
  assert_int_equal(r.n_images, 1);
  assert_true(report_has(&r, ST_PRUNE_DELETED, old));
  /* Only the layer no one else uses is reclaimed (its unpacked size), and
   * reported by its chain ID, as Docker does. */
  assert_int_equal(r.reclaimed, own.size);
  char chain_in[2 * ST_DIGEST_LEN], chain[ST_DIGEST_LEN];
  snprintf(chain_in, sizeof(chain_in), "%s %s", base.diff_id, own.diff_id);
  st_digest_of(chain_in, strlen(chain_in), chain);
  assert_int_equal(r.n_entries, 2);
  assert_string_equal(r.entries[0].what, old);
  assert_int_equal(r.entries[1].kind, ST_PRUNE_DELETED);
  assert_string_equal(r.entries[1].what, chain);
  assert_false(has_image(c->s, old));
  assert_true(has_image(c->s, cur));
  assert_false(st_blob_exists(c->s, own.blob));
  assert_true(st_blob_exists(c->s, base.blob));
  st_prune_report_clear(&r);
  /* Nothing left to prune. */
  ASSERT_OK(st_image_prune(c->s, &o, &r, &e_));
  assert_int_equal(r.n_entries, 0);
  assert_int_equal(r.reclaimed, 0);
  st_prune_report_clear(&r);
}

static void test_prune_all_and_parents(void **state) {
  ctx *c = *state;
  st_layer_rec l1 = make_layer(c->s, 80, 900);
  st_layer_rec l2 = make_layer(c->s, 81, 100);
  st_layer_rec both[2] = {l1, l2};
  char parent[ST_DIGEST_LEN], child[ST_DIGEST_LEN], other[ST_DIGEST_LEN];
  image_spec sp = {&l1, 1, 100, NULL, NULL, NULL, "p"};
  make_image(c->s, &sp, parent);
  image_spec sc = {both, 2, 200, NULL, parent, NULL, "c"};
  make_image(c->s, &sc, child);
  simple_image(c->s, 9, 300, "docker.io/library/busybox:latest", other, NULL);
  /* Dangling: the child goes, then its parent, which became dangling. */
  st_prune_opts o = {0};
  st_prune_report r;
  ASSERT_OK(st_image_prune(c->s, &o, &r, &e_));
  assert_int_equal(r.n_images, 2);
  assert_false(has_image(c->s, parent));
  assert_true(has_image(c->s, other));
  assert_int_equal(r.reclaimed, l1.size + l2.size);
  st_prune_report_clear(&r);
  /* -a: tagged images go too, with an untagged line in familiar form. */
  o.all = true;
  ASSERT_OK(st_image_prune(c->s, &o, &r, &e_));
  assert_int_equal(r.n_images, 1);
  assert_true(report_has(&r, ST_PRUNE_UNTAGGED, "busybox:latest"));
  assert_true(report_has(&r, ST_PRUNE_DELETED, other));
  assert_int_equal(r.entries[0].kind, ST_PRUNE_UNTAGGED);
  assert_false(has_image(c->s, other));
  st_prune_report_clear(&r);
}

/* -a keeps the parents of the images it keeps. */
static void test_prune_all_keeps_parents_of_kept(void **state) {
  ctx *c = *state;
  st_layer_rec l1 = make_layer(c->s, 110, 500);
  st_layer_rec l2 = make_layer(c->s, 111, 50);
  st_layer_rec both[2] = {l1, l2};
  char parent[ST_DIGEST_LEN], child[ST_DIGEST_LEN];
  image_spec sp = {&l1, 1, 100, NULL, NULL, "docker.io/library/base:1", "p"};
  make_image(c->s, &sp, parent);
  image_spec sc = {both, 2, 200, "{\"keep\":\"1\"}", parent, NULL, "c"};
  make_image(c->s, &sc, child);
  const char *f[] = {"label!=keep"};
  st_prune_opts o = {true, f, 1, 0};
  st_prune_report r;
  ASSERT_OK(st_image_prune(c->s, &o, &r, &e_));
  assert_int_equal(r.n_images, 0);
  assert_int_equal(r.n_entries, 0);
  assert_true(has_image(c->s, parent));
  assert_true(has_image(c->s, child));
  st_prune_report_clear(&r);
}

static void test_prune_filters(void **state) {
  ctx *c = *state;
  int64_t now = 1700000000;
  st_layer_rec l1 = make_layer(c->s, 90, 100);
  st_layer_rec l2 = make_layer(c->s, 91, 100);
  st_layer_rec l3 = make_layer(c->s, 92, 100);
  char old[ST_DIGEST_LEN], young[ST_DIGEST_LEN], labeled[ST_DIGEST_LEN];
  image_spec s1 = {&l1, 1, now - 48 * 3600, NULL, NULL, NULL, "old"};
  image_spec s2 = {&l2, 1, now - 3600, NULL, NULL, NULL, "young"};
  image_spec s3 = {&l3,  1,    now - 72 * 3600, "{\"keep\":\"yes\"}",
                   NULL, NULL, "labeled"};
  make_image(c->s, &s1, old);
  make_image(c->s, &s2, young);
  make_image(c->s, &s3, labeled);
  const char *f1[] = {"until=24h", "label!=keep"};
  st_prune_opts o = {false, f1, 2, now * NS};
  st_prune_report r;
  ASSERT_OK(st_image_prune(c->s, &o, &r, &e_));
  assert_int_equal(r.n_images, 1);
  assert_false(has_image(c->s, old));
  assert_true(has_image(c->s, young));
  assert_true(has_image(c->s, labeled));
  st_prune_report_clear(&r);
  const char *f2[] = {"label=keep=no"};
  st_prune_opts o2 = {false, f2, 1, now * NS};
  ASSERT_OK(st_image_prune(c->s, &o2, &r, &e_));
  assert_int_equal(r.n_images, 0);
  st_prune_report_clear(&r);
  const char *f3[] = {"label=keep=yes"};
  st_prune_opts o3 = {false, f3, 1, now * NS};
  ASSERT_OK(st_image_prune(c->s, &o3, &r, &e_));
  assert_int_equal(r.n_images, 1);
  assert_false(has_image(c->s, labeled));
  st_prune_report_clear(&r);
  /* A bad filter removes nothing. */
  const char *bad[] = {"colour=red"};
  st_prune_opts ob = {false, bad, 1, 0};
  cleanup_error st_error *err = NULL;
  assert_true(st_image_prune(c->s, &ob, &r, &err) < 0);
  assert_int_equal(err->code, EINVAL);
  assert_non_null(strstr(err->msg, "invalid filter 'colour'"));
  assert_true(has_image(c->s, young));
}

/* A concurrent busy handle keeps gc from sweeping; the reclaimed size must
 * not depend on it. */
static void test_prune_reclaimed_without_gc(void **state) {
  ctx *c = *state;
  char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN];
  st_layer_rec la;
  simple_image(c->s, 1, 100, "docker.io/library/x:1", a, &la);
  simple_image(c->s, 2, 200, "docker.io/library/x:1", b, NULL);
  st_store *other = NULL;
  ASSERT_OK(st_store_open(c->root, &other, &e_));
  ASSERT_OK(st_store_busy(other, &e_));
  st_prune_opts o = {0};
  st_prune_report r;
  ASSERT_OK(st_image_prune(c->s, &o, &r, &e_));
  assert_int_equal(r.reclaimed, la.size);
  assert_true(st_blob_exists(c->s, la.blob)); /* not swept yet */
  st_prune_report_clear(&r);
  st_store_close(other);
  assert_true(st_store_gc(c->s, NULL) > 0);
  assert_false(st_blob_exists(c->s, la.blob));
}

/* Garbage an interrupted command left is collected by the next gc even
 * while other processes have the store open, unless one of them is busy
 * (writing or reading blobs): then it waits for a later gc. */
static void test_gc_not_held_back_by_idle_handle(void **state) {
  ctx *c = *state;
  char junk[ST_DIGEST_LEN];
  st_store *other = NULL;
  ASSERT_OK(st_store_open(c->root, &other, &e_));
  ASSERT_OK(st_blob_put(other, "left by a killed pull", 21, junk, &e_));
  ASSERT_OK(st_store_busy(other, &e_)); /* still writing */
  assert_int_equal(st_store_gc(c->s, NULL), 0);
  assert_true(st_blob_exists(c->s, junk));
  st_store_idle(other); /* open, but has nothing unrecorded */
  assert_int_equal(st_store_gc(c->s, NULL), 21);
  assert_false(st_blob_exists(c->s, junk));
  st_store_close(other);
}

static void test_parse_timestamp(void **state) {
  (void)state;
  int64_t now = 1700000000 * NS, t = 0;
  ASSERT_OK(st_parse_timestamp("24h", now, &t, &e_));
  assert_int_equal(t, now - 24 * 3600 * NS);
  ASSERT_OK(st_parse_timestamp("1h30m", now, &t, &e_));
  assert_int_equal(t, now - 5400 * NS);
  ASSERT_OK(st_parse_timestamp("1.5s", now, &t, &e_));
  assert_int_equal(t, now - 1500000000LL);
  ASSERT_OK(st_parse_timestamp("2023-11-14T22:13:20Z", now, &t, &e_));
  assert_int_equal(t, 1700000000 * NS);
  ASSERT_OK(st_parse_timestamp("2023-11-15T00:13:20+02:00", now, &t, &e_));
  assert_int_equal(t, 1700000000 * NS);
  ASSERT_OK(st_parse_timestamp("2023-11-14T22:13:20.5Z", now, &t, &e_));
  assert_int_equal(t, 1700000000 * NS + 500000000);
  ASSERT_OK(st_parse_timestamp("1700000000", now, &t, &e_));
  assert_int_equal(t, 1700000000 * NS);
  ASSERT_OK(st_parse_timestamp("1700000000.25", now, &t, &e_));
  assert_int_equal(t, 1700000000 * NS + 250000000);
  cleanup_error st_error *err = NULL;
  assert_true(st_parse_timestamp("yesterday", now, &t, &err) < 0);
  assert_int_equal(err->code, EINVAL);
}

/* ---- disk usage -----------------------------------------------------------
 */

static void test_disk_usage_shared(void **state) {
  ctx *c = *state;
  st_layer_rec base = make_layer(c->s, 100, 3000);
  st_layer_rec t1 = make_layer(c->s, 101, 200);
  st_layer_rec t2 = make_layer(c->s, 102, 300);
  st_layer_rec s1l[2] = {base, t1}, s2l[2] = {base, t2};
  char i1[ST_DIGEST_LEN], i2[ST_DIGEST_LEN];
  image_spec s1 = {s1l, 2, 100, NULL, NULL, "docker.io/library/one:1", "1"};
  image_spec s2 = {s2l, 2, 200, NULL, NULL, "docker.io/library/two:1", "2"};
  make_image(c->s, &s1, i1);
  make_image(c->s, &s2, i2);
  st_usage u;
  ASSERT_OK(st_disk_usage(c->s, &u, &e_));
  assert_int_equal(u.n_images, 2);
  assert_int_equal(u.active, 0);
  assert_int_equal(u.size, base.size + t1.size + t2.size);
  assert_int_equal(u.reclaimable, u.size);
  assert_string_equal(u.images[0].img.id, i2);
  assert_string_equal(u.images[0].name, "docker.io/library/two:1");
  assert_int_equal(u.images[0].img.size, base.size + t2.size);
  assert_int_equal(u.images[0].shared, base.size);
  assert_int_equal(u.images[1].shared, base.size);
  st_usage_clear(&u);
}

/* ---- consistency check ----------------------------------------------------
 */

static void check(st_store *s, st_fsck_report *r) {
  cleanup_error st_error *err = NULL;
  if (st_store_check(s, r, &err) < 0)
    fail_msg("check: %s", err->msg);
}

static void repair_and_recheck(ctx *c, const st_fsck_report *found) {
  st_fsck_repair rep;
  ASSERT_OK(st_store_repair(c->s, found, &rep, &e_));
  st_fsck_repair_clear(&rep);
  st_fsck_report again;
  check(c->s, &again);
  for (size_t i = 0; i < again.n_problems; i++)
    print_message("still: %s\n", again.problems[i].msg);
  assert_int_equal(again.n_problems, 0);
  assert_int_equal(again.n_garbage, 0);
  st_fsck_report_clear(&again);
}

static void test_fsck_healthy(void **state) {
  ctx *c = *state;
  char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN];
  simple_image(c->s, 1, 100, "docker.io/library/a:1", a, NULL);
  simple_image(c->s, 2, 200, NULL, b, NULL);
  st_fsck_report r;
  check(c->s, &r);
  assert_int_equal(r.n_problems, 0);
  assert_int_equal(r.n_images, 2);
  assert_int_equal(r.n_blobs, 6);
  assert_int_equal(r.n_garbage, 0);
  st_fsck_report_clear(&r);
}

static void test_fsck_corrupt_blob(void **state) {
  ctx *c = *state;
  char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN];
  st_layer_rec la;
  simple_image(c->s, 1, 100, "docker.io/library/a:1", a, &la);
  simple_image(c->s, 2, 200, "docker.io/library/b:1", b, NULL);
  cleanup_free char *p = blob_file(c, la.blob);
  int fd = open(p, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, "X", 1, 500), 1);
  close(fd);
  st_fsck_report r;
  check(c->s, &r);
  assert_true(fsck_has(&r, ST_FSCK_BLOB, la.blob));
  assert_true(fsck_has(&r, ST_FSCK_IMAGE, "layer 1 blob"));
  assert_true(fsck_has(&r, ST_FSCK_IMAGE, "is corrupt"));
  for (size_t i = 0; i < r.n_problems; i++)
    if (r.problems[i].kind == ST_FSCK_IMAGE)
      assert_string_equal(r.problems[i].subject, a);
  repair_and_recheck(c, &r);
  st_fsck_report_clear(&r);
  assert_false(has_image(c->s, a));
  assert_true(has_image(c->s, b));
  assert_false(st_blob_exists(c->s, la.blob));
}

static void test_fsck_missing_layer(void **state) {
  ctx *c = *state;
  char a[ST_DIGEST_LEN];
  st_layer_rec la;
  simple_image(c->s, 1, 100, "docker.io/library/a:1", a, &la);
  cleanup_free char *p = blob_file(c, la.blob);
  assert_int_equal(unlink(p), 0);
  st_fsck_report r;
  check(c->s, &r);
  assert_int_equal(r.n_problems, 1);
  char want[256];
  snprintf(want, sizeof(want), "image %s: layer 1 blob %s is missing", a,
           la.blob);
  assert_string_equal(r.problems[0].msg, want);
  repair_and_recheck(c, &r);
  st_fsck_report_clear(&r);
  /* The image and its tag are gone. */
  st_image img;
  st_error *err = NULL;
  assert_true(st_image_resolve(c->s, "a:1", &img, &err) < 0);
  st_error_free(err);
}

static void test_fsck_missing_config(void **state) {
  ctx *c = *state;
  char a[ST_DIGEST_LEN];
  simple_image(c->s, 1, 100, NULL, a, NULL);
  cleanup_free char *p = blob_file(c, a);
  assert_int_equal(unlink(p), 0);
  st_fsck_report r;
  check(c->s, &r);
  assert_true(fsck_has(&r, ST_FSCK_IMAGE, "config blob"));
  assert_true(fsck_has(&r, ST_FSCK_IMAGE, "is missing"));
  repair_and_recheck(c, &r);
  st_fsck_report_clear(&r);
  assert_false(has_image(c->s, a));
}

static void test_fsck_manifest_mismatch(void **state) {
  ctx *c = *state;
  /* Recorded layers differ from what the manifest and config list. */
  st_layer_rec l1 = make_layer(c->s, 1, 100), l2 = make_layer(c->s, 2, 100);
  char a[ST_DIGEST_LEN];
  image_spec sp = {&l1, 1, 100, NULL, NULL, NULL, "m"};
  cleanup_free char *cfg = config_json(&sp);
  ASSERT_OK(st_blob_put(c->s, cfg, strlen(cfg), a, &e_));
  cleanup_free char *man = manifest_json(a, strlen(cfg), &l1, 1);
  st_image_rec rec = {0};
  memcpy(rec.id, a, ST_DIGEST_LEN);
  ASSERT_OK(st_blob_put(c->s, man, strlen(man), rec.manifest, &e_));
  rec.manifest_media_type = MT_MANIFEST;
  rec.n_layers = 1;
  rec.layers = &l2;
  ASSERT_OK(st_image_commit(c->s, &rec, NULL, 0, &e_));
  st_fsck_report r;
  check(c->s, &r);
  assert_true(fsck_has(&r, ST_FSCK_IMAGE, "the manifest names blob"));
  assert_true(fsck_has(&r, ST_FSCK_IMAGE, "the config gives diff ID"));
  st_fsck_report_clear(&r);
}

static void test_fsck_garbage_and_strays(void **state) {
  ctx *c = *state;
  char a[ST_DIGEST_LEN], junk[ST_DIGEST_LEN];
  simple_image(c->s, 1, 100, "docker.io/library/a:1", a, NULL);
  ASSERT_OK(st_blob_put(c->s, "left by a crash", 15, junk, &e_));
  st_fsck_report r;
  check(c->s, &r);
  assert_int_equal(r.n_problems, 0); /* garbage is not a problem */
  assert_int_equal(r.n_garbage, 1);
  assert_int_equal(r.garbage_bytes, 15);
  st_fsck_report_clear(&r);
  char p[160];
  snprintf(p, sizeof(p), "%s/blobs/sha256/notes.txt", c->root);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fclose(f);
  check(c->s, &r);
  assert_int_equal(r.n_problems, 1);
  assert_true(fsck_has(&r, ST_FSCK_STRAY, "notes.txt"));
  repair_and_recheck(c, &r);
  st_fsck_report_clear(&r);
  assert_false(st_blob_exists(c->s, junk));
  assert_true(has_image(c->s, a));
}

static void test_fsck_dangling_tag(void **state) {
  ctx *c = *state;
  char a[ST_DIGEST_LEN];
  simple_image(c->s, 1, 100, "docker.io/library/a:1", a, NULL);
  /* Another connection, without foreign keys, breaks the link. */
  char path[160];
  snprintf(path, sizeof(path), "%s/strata.db", c->root);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char *sql = sqlite3_mprintf("PRAGMA foreign_keys=OFF;"
                              "DELETE FROM image_layers WHERE image = %Q;"
                              "DELETE FROM images WHERE id = %Q",
                              a, a);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_free(sql);
  sqlite3_close(db);
  st_fsck_report r;
  check(c->s, &r);
  assert_true(fsck_has(&r, ST_FSCK_REFERENCE, "docker.io/library/a:1"));
  repair_and_recheck(c, &r);
  st_fsck_report_clear(&r);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_open_creates_layout),
      T(test_blob_put_get),
      T(test_blob_commit_expect),
      T(test_blob_get_detects_corruption),
      T(test_blob_large_sizes),
      T(test_image_commit_and_resolve),
      T(test_ambiguous_prefix),
      T(test_tag_moves_and_dangling),
      T(test_delete),
      T(test_list_ordering),
      T(test_dangling_rule_children),
      T(test_gc_only_unreferenced),
      T(test_prune_dangling),
      T(test_prune_all_and_parents),
      T(test_prune_all_keeps_parents_of_kept),
      T(test_prune_filters),
      T(test_prune_reclaimed_without_gc),
      T(test_gc_not_held_back_by_idle_handle),
      cmocka_unit_test(test_parse_timestamp),
      T(test_disk_usage_shared),
      T(test_fsck_healthy),
      T(test_fsck_corrupt_blob),
      T(test_fsck_missing_layer),
      T(test_fsck_missing_config),
      T(test_fsck_manifest_mismatch),
      T(test_fsck_garbage_and_strays),
      T(test_fsck_dangling_tag),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
