/* The store's images as a tree of shared layer chains (`images --tree`).
 *
 * Each node is one layer stack prefix, named by its chain ID (layers.h): two
 * images whose first k layers are the same content share the first k nodes,
 * and a node's children are the different layers put on that stack. An
 * image hangs on the node of its top layer; images with identical layers
 * hang on the same node. A node is "shared" when more than one of the
 * images in the tree has it in its stack; an image's shared size is the sum
 * of the sizes of its shared nodes, its unique size the rest. Sizes are
 * layer content bytes (st_layer_rec.size, Docker's SIZE).
 *
 * Order is stable: images oldest first (created, then added, then ID);
 * roots and the children of a node by the oldest image using them, then by
 * chain ID. */
#ifndef STRATA_STORE_TREE_H
#define STRATA_STORE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* "No node": the parent of a base layer, the top of an image without
 * layers. */
#define ST_TREE_NONE ((size_t)-1)

typedef struct st_tree_image {
  st_image img;
  char **tags; /* normalized "repo:tag", sorted; none when untagged */
  size_t n_tags;
  size_t top;     /* node of its top layer, or ST_TREE_NONE */
  int64_t size;   /* bytes of all its layers */
  int64_t shared; /* bytes of its layers that another image in the tree has */
  int64_t unique; /* size - shared */
} st_tree_image;

typedef struct st_tree_node {
  char chain_id[ST_DIGEST_LEN];
  char diff_id[ST_DIGEST_LEN];
  int64_t size;     /* bytes of this layer's content */
  size_t parent;    /* node below it, ST_TREE_NONE for a base layer */
  size_t depth;     /* 0 for a base layer */
  size_t users;     /* images in the tree whose stack has this layer */
  size_t *children; /* node indices, in order */
  size_t n_children;
  size_t *images; /* image indices whose top layer this is, oldest first */
  size_t n_images;
} st_tree_node;

typedef struct st_image_tree {
  st_tree_node *nodes; /* sorted by chain ID (st_image_tree_find) */
  size_t n_nodes;
  size_t *roots; /* base layers, in order */
  size_t n_roots;
  st_tree_image *images; /* oldest first */
  size_t n_images;
  size_t *bare; /* images without layers, oldest first */
  size_t n_bare;
} st_image_tree;

/* Fills *t (release with st_image_tree_clear) from one consistent read of
 * the store. Without all, intermediate images (untagged parents of other
 * images, which `images` hides without -a) are left out, and do not make a
 * layer shared. Returns 0, or < 0 with *err set. */
int st_image_tree_build(st_store *s, bool all, st_image_tree *t,
                        st_error **err);
void st_image_tree_clear(st_image_tree *t);

/* The node of chain ID chain ("sha256:<hex>"), or NULL. */
const st_tree_node *st_image_tree_find(const st_image_tree *t,
                                       const char *chain);

#endif
