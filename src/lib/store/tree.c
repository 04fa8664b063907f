/* `images --tree`: a trie of chain IDs over the store's images. */
#include "store/tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "store/layers.h"
#include "util/cleanup.h"

/* One layer of one image, in image order then bottom first. */
typedef struct tree_entry {
  char chain[ST_DIGEST_LEN];
  char diff[ST_DIGEST_LEN];
  int64_t size;
  size_t image;
  size_t depth;
  bool top;
} tree_entry;

typedef struct entry_list {
  tree_entry *v;
  size_t n, cap;
} entry_list;

static void tree_image_clear(st_tree_image *ti) {
  st_image_clear(&ti->img);
  st_strv_free(ti->tags, ti->n_tags);
  ti->tags = NULL;
  ti->n_tags = 0;
}

void st_image_tree_clear(st_image_tree *t) {
  for (size_t i = 0; i < t->n_nodes; i++) {
    free(t->nodes[i].children);
    free(t->nodes[i].images);
  }
  free(t->nodes);
  for (size_t i = 0; i < t->n_images; i++)
    tree_image_clear(&t->images[i]);
  free(t->images);
  free(t->roots);
  free(t->bare);
  memset(t, 0, sizeof(*t));
}

static int cmp_node_chain(const void *key, const void *elem) {
  return strcmp(key, ((const st_tree_node *)elem)->chain_id);
}

const st_tree_node *st_image_tree_find(const st_image_tree *t,
                                       const char *chain) {
  if (t->n_nodes == 0)
    return NULL;
  return bsearch(chain, t->nodes, t->n_nodes, sizeof(*t->nodes),
                 cmp_node_chain);
}

/* ---- images -------------------------------------------------------------- */

static int cmp_row_index(const void *a, const void *b, void *arg) {
  const st_image_row *rows = arg;
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  int c = strcmp(rows[i].img.id, rows[j].img.id);
  return c ? c : (i > j) - (i < j);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_image_age(const void *a, const void *b) {
  const st_tree_image *x = a, *y = b;
  if (x->img.created != y->img.created)
    return x->img.created < y->img.created ? -1 : 1;
  if (x->img.added != y->img.added)
    return x->img.added < y->img.added ? -1 : 1;
  return strcmp(x->img.id, y->img.id);
}

/* Moves the rows rows[order[from..to)] (one image) into one tree image,
 * taking their strings. */
static int take_image(st_image_row *rows, const size_t *order, size_t from,
                      size_t to, st_tree_image *ti) {
  size_t n_tags = 0;
  for (size_t k = from; k < to; k++)
    n_tags += rows[order[k]].name != NULL;
  ti->tags = calloc(n_tags ? n_tags : 1, sizeof(*ti->tags));
  if (ti->tags == NULL)
    return -1;
  for (size_t k = from; k < to; k++)
    if (rows[order[k]].name)
      ti->tags[ti->n_tags++] = steal_pointer(&rows[order[k]].name);
  qsort(ti->tags, ti->n_tags, sizeof(*ti->tags), cmp_str);
  ti->img = rows[order[from]].img;
  memset(&rows[order[from]].img, 0, sizeof(rows[order[from]].img));
  ti->top = ST_TREE_NONE;
  return 0;
}

/* One tree image per image of the listing (which has a row per tag),
 * oldest first; intermediate images only with all. */
static int images_from_rows(st_image_row *rows, size_t n, bool all,
                            st_image_tree *t, st_error **err) {
  cleanup_free size_t *order = calloc(n ? n : 1, sizeof(*order));
  t->images = calloc(n ? n : 1, sizeof(*t->images));
  if (order == NULL || t->images == NULL)
    return st_error_errno(err, ENOMEM, "image tree");
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  qsort_r(order, n, sizeof(*order), cmp_row_index, rows);
  for (size_t k = 0; k < n;) {
    size_t end = k + 1;
    while (end < n &&
           strcmp(rows[order[end]].img.id, rows[order[k]].img.id) == 0)
      end++;
    const st_image_row *r = &rows[order[k]];
    bool intermediate = end - k == 1 && st_image_row_hidden(r);
    if (all || !intermediate) {
      if (take_image(rows, order, k, end, &t->images[t->n_images]) < 0)
        return st_error_errno(err, ENOMEM, "image tree");
      t->n_images++;
    }
    k = end;
  }
  qsort(t->images, t->n_images, sizeof(*t->images), cmp_image_age);
  return 0;
}

/* ---- layers -------------------------------------------------------------- */

static int add_entries(entry_list *l, size_t image, const st_layer_rec *layers,
                       size_t n) {
  if (n == 0)
    return 0;
  cleanup_free char(*chain)[ST_DIGEST_LEN] = calloc(n, sizeof(*chain));
  if (chain == NULL)
    return -1;
  st_chain_ids(layers, n, chain);
  if (l->n + n > l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    while (cap < l->n + n)
      cap *= 2;
    tree_entry *v = realloc(l->v, cap * sizeof(*v));
    if (v == NULL)
      return -1;
    l->v = v;
    l->cap = cap;
  }
  for (size_t i = 0; i < n; i++) {
    tree_entry *e = &l->v[l->n++];
    memcpy(e->chain, chain[i], ST_DIGEST_LEN);
    memcpy(e->diff, layers[i].diff_id, ST_DIGEST_LEN);
    e->size = layers[i].size;
    e->image = image;
    e->depth = i;
    e->top = i == n - 1;
  }
  return 0;
}

/* Every image's layers as entries, in image order. */
static int collect_entries(st_store *s, st_image_tree *t, entry_list *l,
                           st_error **err) {
  for (size_t i = 0; i < t->n_images; i++) {
    st_layer_rec *layers = NULL;
    size_t n = 0;
    if (st_image_layers(s, t->images[i].img.id, &layers, &n, err) < 0)
      return st_error_wrap(err, "image tree: %s", t->images[i].img.id);
    int r = add_entries(l, i, layers, n);
    st_layers_free(layers, n);
    if (r < 0)
      return st_error_errno(err, ENOMEM, "image tree");
  }
  return 0;
}

/* ---- the trie ------------------------------------------------------------ */

static int cmp_entry_index(const void *a, const void *b, void *arg) {
  const tree_entry *v = arg;
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  int c = strcmp(v[i].chain, v[j].chain);
  return c ? c : (i > j) - (i < j);
}

/* One node per distinct chain ID, sorted by it; node_of[i] is entry i's. */
static int make_nodes(st_image_tree *t, const entry_list *l, size_t *node_of) {
  cleanup_free size_t *order = calloc(l->n ? l->n : 1, sizeof(*order));
  t->nodes = calloc(l->n ? l->n : 1, sizeof(*t->nodes));
  if (order == NULL || t->nodes == NULL)
    return -1;
  for (size_t i = 0; i < l->n; i++)
    order[i] = i;
  qsort_r(order, l->n, sizeof(*order), cmp_entry_index, l->v);
  for (size_t k = 0; k < l->n; k++) {
    const tree_entry *e = &l->v[order[k]];
    if (k == 0 || strcmp(l->v[order[k - 1]].chain, e->chain) != 0) {
      st_tree_node *nd = &t->nodes[t->n_nodes++];
      memcpy(nd->chain_id, e->chain, ST_DIGEST_LEN);
      memcpy(nd->diff_id, e->diff, ST_DIGEST_LEN);
      nd->size = e->size;
      nd->depth = e->depth;
      nd->parent = ST_TREE_NONE;
    }
    node_of[order[k]] = t->n_nodes - 1;
  }
  return 0;
}

/* Orders sibling nodes by the oldest image using them (first[]), then by
 * chain ID (the node index, as nodes are sorted by it). */
static int cmp_sibling(const void *a, const void *b, void *arg) {
  const size_t *first = arg;
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  if (first[i] != first[j])
    return first[i] < first[j] ? -1 : 1;
  return (i > j) - (i < j);
}

static int alloc_lists(st_image_tree *t, const entry_list *l,
                       const size_t *node_of) {
  size_t n_roots = 0;
  for (size_t i = 0; i < t->n_nodes; i++) {
    st_tree_node *nd = &t->nodes[i];
    if (nd->parent == ST_TREE_NONE)
      n_roots++;
    else
      t->nodes[nd->parent].n_children++;
  }
  for (size_t i = 0; i < l->n; i++)
    if (l->v[i].top)
      t->nodes[node_of[i]].n_images++;
  t->roots = calloc(n_roots ? n_roots : 1, sizeof(*t->roots));
  if (t->roots == NULL)
    return -1;
  for (size_t i = 0; i < t->n_nodes; i++) {
    st_tree_node *nd = &t->nodes[i];
    nd->children = calloc(nd->n_children ? nd->n_children : 1, sizeof(size_t));
    nd->images = calloc(nd->n_images ? nd->n_images : 1, sizeof(size_t));
    if (nd->children == NULL || nd->images == NULL)
      return -1;
    nd->n_children = nd->n_images = 0;
  }
  return 0;
}

/* Links parents, children, roots and images, counts users, and sums each
 * image's shared bytes. */
static int link_nodes(st_image_tree *t, const entry_list *l,
                      const size_t *node_of) {
  cleanup_free size_t *first =
      calloc(t->n_nodes ? t->n_nodes : 1, sizeof(*first));
  if (first == NULL)
    return -1;
  for (size_t i = 0; i < t->n_nodes; i++)
    first[i] = ST_TREE_NONE;
  for (size_t i = 0; i < l->n; i++) {
    const tree_entry *e = &l->v[i];
    st_tree_node *nd = &t->nodes[node_of[i]];
    nd->users++;
    if (first[node_of[i]] == ST_TREE_NONE)
      first[node_of[i]] = e->image; /* entries are in image order */
    if (e->depth > 0)
      nd->parent = node_of[i - 1];
  }
  if (alloc_lists(t, l, node_of) < 0)
    return -1;
  for (size_t i = 0; i < t->n_nodes; i++) {
    size_t p = t->nodes[i].parent;
    if (p == ST_TREE_NONE)
      t->roots[t->n_roots++] = i;
    else
      t->nodes[p].children[t->nodes[p].n_children++] = i;
  }
  for (size_t i = 0; i < l->n; i++) {
    const tree_entry *e = &l->v[i];
    st_tree_node *nd = &t->nodes[node_of[i]];
    st_tree_image *ti = &t->images[e->image];
    ti->size += e->size;
    if (nd->users > 1)
      ti->shared += e->size;
    if (e->top) {
      nd->images[nd->n_images++] = e->image;
      ti->top = node_of[i];
    }
  }
  qsort_r(t->roots, t->n_roots, sizeof(size_t), cmp_sibling, first);
  for (size_t i = 0; i < t->n_nodes; i++)
    qsort_r(t->nodes[i].children, t->nodes[i].n_children, sizeof(size_t),
            cmp_sibling, first);
  return 0;
}

static int finish_images(st_image_tree *t) {
  t->bare = calloc(t->n_images ? t->n_images : 1, sizeof(*t->bare));
  if (t->bare == NULL)
    return -1;
  for (size_t i = 0; i < t->n_images; i++) {
    st_tree_image *ti = &t->images[i];
    ti->unique = ti->size - ti->shared;
    if (ti->top == ST_TREE_NONE)
      t->bare[t->n_bare++] = i;
  }
  return 0;
}

static int build_trie(st_image_tree *t, const entry_list *l, st_error **err) {
  cleanup_free size_t *node_of = calloc(l->n ? l->n : 1, sizeof(*node_of));
  if (node_of == NULL || make_nodes(t, l, node_of) < 0 ||
      link_nodes(t, l, node_of) < 0 || finish_images(t) < 0)
    return st_error_errno(err, ENOMEM, "image tree");
  return 0;
}

/* The images and their layers, read in one transaction so that an image
 * removed meanwhile is either whole or absent. */
static int read_store(st_store *s, bool all, st_image_tree *t, entry_list *l,
                      st_error **err) {
  if (st_db_exec(s, "SAVEPOINT image_tree", err) < 0)
    return -1;
  st_image_row *rows = NULL;
  size_t n = 0;
  int r = st_image_list(s, &rows, &n, err);
  if (r == 0) {
    r = images_from_rows(rows, n, all, t, err);
    st_image_rows_free(rows, n);
  }
  if (r == 0)
    r = collect_entries(s, t, l, err);
  st_db_exec(s, "RELEASE image_tree", NULL);
  return r;
}

int st_image_tree_build(st_store *s, bool all, st_image_tree *t,
                        st_error **err) {
  memset(t, 0, sizeof(*t));
  entry_list l = {0};
  int r = read_store(s, all, t, &l, err);
  if (r == 0)
    r = build_trie(t, &l, err);
  free(l.v);
  if (r < 0)
    st_image_tree_clear(t);
  return r;
}
