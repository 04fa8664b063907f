/* The image tree (`images --tree`): nodes per chain ID, images on their top
 * layer's node, shared and unique sizes, order, intermediate images. Images
 * are made from opaque layer blobs, each test in a fresh store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/layers.h"
#include "store/store.h"
#include "store/tree.h"
#include "util/cleanup.h"

#include "store_fixture.h"

#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"

/* A layer whose content is n bytes (size) named by seed. */
static st_layer_rec layer(st_store *s, int seed, int64_t size) {
  st_layer_rec l = {0};
  char buf[32];
  int len = snprintf(buf, sizeof(buf), "layer-%d", seed);
  cleanup_error st_error *err = NULL;
  if (st_blob_put(s, buf, (size_t)len, l.blob, &err) < 0)
    fail_msg("put layer: %s", err->msg);
  memcpy(l.diff_id, l.blob, ST_DIGEST_LEN);
  l.media_type = MT_LAYER;
  l.blob_size = len;
  l.size = size;
  return l;
}

/* Records an image of layers (its config made unique by name), created at
 * `created`, with tag (normalized) or none, and parent or none. */
static void image(st_store *s, const char *name, int64_t created,
                  const st_layer_rec *layers, size_t n, const char *tag,
                  const char *parent, char id[ST_DIGEST_LEN]) {
  char cfg[128];
  int len = snprintf(cfg, sizeof(cfg), "{\"comment\":\"%s\"}", name);
  cleanup_error st_error *err = NULL;
  st_image_rec rec = {0};
  if (st_blob_put(s, cfg, (size_t)len, id, &err) < 0 ||
      st_blob_put(s, name, strlen(name), rec.manifest, &err) < 0)
    fail_msg("put: %s", err->msg);
  memcpy(rec.id, id, ST_DIGEST_LEN);
  rec.manifest_media_type = MT_MANIFEST;
  rec.created = created;
  rec.parent = parent;
  rec.n_layers = n;
  rec.layers = layers;
  const char *tags[1] = {tag};
  if (st_image_commit(s, &rec, tags, tag ? 1 : 0, &err) < 0)
    fail_msg("commit image: %s", err->msg);
}

static void build(st_store *s, bool all, st_image_tree *t) {
  cleanup_error st_error *err = NULL;
  if (st_image_tree_build(s, all, t, &err) < 0)
    fail_msg("tree: %s", err->msg);
}

static const st_tree_image *by_id(const st_image_tree *t, const char *id) {
  for (size_t i = 0; i < t->n_images; i++)
    if (strcmp(t->images[i].img.id, id) == 0)
      return &t->images[i];
  fail_msg("image %s not in the tree", id);
  return NULL;
}

static size_t node_index(const st_image_tree *t, const char *chain) {
  const st_tree_node *n = st_image_tree_find(t, chain);
  if (n == NULL)
    fail_msg("no node %s", chain);
  return (size_t)(n - t->nodes);
}

static void test_empty(void **state) {
  ctx *c = *state;
  st_image_tree t;
  build(c->s, false, &t);
  assert_int_equal(t.n_nodes, 0);
  assert_int_equal(t.n_roots, 0);
  assert_int_equal(t.n_images, 0);
  assert_int_equal(t.n_bare, 0);
  st_image_tree_clear(&t);
}

/* busybox = [A]; demo = [A B C]; hello = [A D]; twin = [A D] with another
 * config: one root, two branches, hello and twin on one node. */
static void test_shared_chains(void **state) {
  ctx *c = *state;
  st_layer_rec a = layer(c->s, 1, 1000), b = layer(c->s, 2, 8),
               cc = layer(c->s, 3, 10), d = layer(c->s, 4, 56);
  st_layer_rec demo_l[] = {a, b, cc}, hello_l[] = {a, d};
  char bb[ST_DIGEST_LEN], demo[ST_DIGEST_LEN], hello[ST_DIGEST_LEN],
      twin[ST_DIGEST_LEN];
  image(c->s, "busybox", 100, &a, 1, "docker.io/library/busybox:latest", NULL,
        bb);
  image(c->s, "hello", 300, hello_l, 2, "docker.io/library/hello:1.0", NULL,
        hello);
  image(c->s, "demo", 200, demo_l, 3, "docker.io/library/demo:latest", NULL,
        demo);
  image(c->s, "twin", 400, hello_l, 2, NULL, NULL, twin);
  char chain[3][ST_DIGEST_LEN], hchain[2][ST_DIGEST_LEN];
  st_chain_ids(demo_l, 3, chain);
  st_chain_ids(hello_l, 2, hchain);

  st_image_tree t;
  build(c->s, false, &t);
  assert_int_equal(t.n_images, 4);
  assert_int_equal(t.n_nodes, 4);
  assert_int_equal(t.n_bare, 0);
  /* oldest first */
  assert_string_equal(t.images[0].img.id, bb);
  assert_string_equal(t.images[1].img.id, demo);
  assert_string_equal(t.images[2].img.id, hello);
  assert_string_equal(t.images[3].img.id, twin);

  assert_int_equal(t.n_roots, 1);
  const st_tree_node *root = &t.nodes[t.roots[0]];
  assert_string_equal(root->chain_id, chain[0]);
  assert_string_equal(root->diff_id, a.diff_id);
  assert_int_equal(root->size, 1000);
  assert_int_equal(root->users, 4);
  assert_int_equal(root->parent, ST_TREE_NONE);
  assert_int_equal(root->n_images, 1);
  assert_string_equal(t.images[root->images[0]].img.id, bb);
  /* children by their oldest image: demo's branch, then hello's */
  assert_int_equal(root->n_children, 2);
  assert_int_equal(root->children[0], node_index(&t, chain[1]));
  assert_int_equal(root->children[1], node_index(&t, hchain[1]));

  const st_tree_node *nb = st_image_tree_find(&t, chain[1]);
  assert_int_equal(nb->users, 1);
  assert_int_equal(nb->depth, 1);
  assert_int_equal(nb->n_images, 0);
  assert_int_equal(nb->n_children, 1);
  const st_tree_node *nc = &t.nodes[nb->children[0]];
  assert_string_equal(nc->chain_id, chain[2]);
  assert_string_equal(nc->diff_id, cc.diff_id);
  assert_int_equal(nc->parent, node_index(&t, chain[1]));
  assert_int_equal(nc->n_images, 1);
  assert_int_equal(nc->n_children, 0);

  const st_tree_node *nd = st_image_tree_find(&t, hchain[1]);
  assert_int_equal(nd->users, 2);
  assert_int_equal(nd->n_images, 2);
  assert_string_equal(t.images[nd->images[0]].img.id, hello);
  assert_string_equal(t.images[nd->images[1]].img.id, twin);

  const st_tree_image *ib = by_id(&t, bb), *id_ = by_id(&t, demo),
                      *ih = by_id(&t, hello), *it = by_id(&t, twin);
  assert_int_equal(ib->size, 1000);
  assert_int_equal(ib->shared, 1000);
  assert_int_equal(ib->unique, 0);
  assert_int_equal(id_->size, 1018);
  assert_int_equal(id_->shared, 1000);
  assert_int_equal(id_->unique, 18);
  assert_int_equal(ih->shared, 1056);
  assert_int_equal(ih->unique, 0);
  assert_int_equal(it->shared, 1056);
  assert_int_equal(it->n_tags, 0);
  assert_int_equal(ib->n_tags, 1);
  assert_string_equal(ib->tags[0], "docker.io/library/busybox:latest");
  assert_int_equal(id_->top, node_index(&t, chain[2]));
  st_image_tree_clear(&t);
}

/* An untagged parent of another image is left out without all, and then
 * does not make its layers shared. */
static void test_intermediate(void **state) {
  ctx *c = *state;
  st_layer_rec a = layer(c->s, 1, 100), b = layer(c->s, 2, 20),
               cc = layer(c->s, 3, 3);
  st_layer_rec mid_l[] = {a, b}, top_l[] = {a, b, cc};
  char mid[ST_DIGEST_LEN], top[ST_DIGEST_LEN];
  image(c->s, "mid", 100, mid_l, 2, NULL, NULL, mid);
  image(c->s, "top", 200, top_l, 3, "docker.io/library/top:1", mid, top);

  st_image_tree t;
  build(c->s, false, &t);
  assert_int_equal(t.n_images, 1);
  assert_string_equal(t.images[0].img.id, top);
  assert_int_equal(t.images[0].shared, 0);
  assert_int_equal(t.images[0].unique, 123);
  assert_int_equal(t.n_nodes, 3);
  st_image_tree_clear(&t);

  build(c->s, true, &t);
  assert_int_equal(t.n_images, 2);
  assert_int_equal(by_id(&t, top)->shared, 120);
  assert_int_equal(by_id(&t, top)->unique, 3);
  assert_int_equal(by_id(&t, mid)->shared, 120);
  assert_int_equal(by_id(&t, mid)->unique, 0);
  st_image_tree_clear(&t);
}

/* Tags of one image come together, sorted; a layerless image is bare;
 * unrelated bases are separate roots, oldest first. */
static void test_tags_bare_roots(void **state) {
  ctx *c = *state;
  st_layer_rec a = layer(c->s, 1, 5), b = layer(c->s, 2, 7);
  char ia[ST_DIGEST_LEN], ib[ST_DIGEST_LEN], ie[ST_DIGEST_LEN];
  image(c->s, "b", 100, &b, 1, "docker.io/library/b:1", NULL, ib);
  image(c->s, "a", 200, &a, 1, "docker.io/library/a:1", NULL, ia);
  image(c->s, "empty", 50, NULL, 0, "docker.io/library/empty:1", NULL, ie);
  cleanup_error st_error *err = NULL;
  if (st_tag_set(c->s, "docker.io/library/a:0", ia, &err) < 0 ||
      st_tag_set(c->s, "docker.io/library/z:9", ia, &err) < 0)
    fail_msg("tag: %s", err->msg);

  st_image_tree t;
  build(c->s, false, &t);
  assert_int_equal(t.n_images, 3);
  assert_int_equal(t.n_roots, 2);
  assert_string_equal(t.nodes[t.roots[0]].chain_id, b.diff_id);
  assert_string_equal(t.nodes[t.roots[1]].chain_id, a.diff_id);
  assert_int_equal(t.n_bare, 1);
  const st_tree_image *e = &t.images[t.bare[0]];
  assert_string_equal(e->img.id, ie);
  assert_int_equal(e->top, ST_TREE_NONE);
  assert_int_equal(e->size, 0);
  const st_tree_image *x = by_id(&t, ia);
  assert_int_equal(x->n_tags, 3);
  assert_string_equal(x->tags[0], "docker.io/library/a:0");
  assert_string_equal(x->tags[1], "docker.io/library/a:1");
  assert_string_equal(x->tags[2], "docker.io/library/z:9");
  assert_int_equal(x->shared, 0);
  assert_int_equal(x->unique, 5);
  assert_null(st_image_tree_find(&t, "sha256:00"));
  st_image_tree_clear(&t);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_empty),
      T(test_shared_chains),
      T(test_intermediate),
      T(test_tags_bare_roots),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
