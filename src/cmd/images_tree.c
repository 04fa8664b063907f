/* `strata images --tree`: the image tree of store/tree.h, drawn like
 * tree(1). One line per layer, named by its chain ID:
 *
 *   sha256:<12 hex>  <size>  <image> (shared <size>, unique <size>)
 *   ├─ sha256:<12 hex>  <size>
 *   │  └─ sha256:<12 hex>  <size>  <image> (...)
 *   └─ ...
 *
 * An image is its familiar tags joined by ", ", or "<none> <12 hex ID>";
 * further images on the same layer get lines of their own, aligned under
 * the first. Images without layers close the listing as
 * "<no layers>  0B  <image> (...)". */
#include "images_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt/units.h"
#include "ref/ref.h"
#include "store/tree.h"
#include "util/buf.h"
#include "util/cleanup.h"

typedef struct tree_printer {
  const st_image_tree *t;
  bool no_trunc;
  st_buf out;
} tree_printer;

/* Terminal cells of s: one per UTF-8 character (the box drawing
 * characters are one cell wide). */
static size_t cells(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

static void put_size(st_buf *b, int64_t bytes) {
  cleanup_free char *h = st_human_size(bytes);
  st_buf_puts(b, h ? h : "?");
}

/* "sha256:" and 12 hex digits of digest, or all of it. */
static void put_digest(tree_printer *p, const char *digest) {
  if (p->no_trunc)
    st_buf_puts(&p->out, digest);
  else
    st_buf_printf(&p->out, "sha256:%.12s", st_digest_hex(digest));
}

static void put_tag(st_buf *b, const char *tag) {
  cleanup_free char *repo = NULL;
  cleanup_free char *t = NULL;
  cleanup_free char *fam = NULL;
  if (st_ref_split_tag(tag, &repo, &t) == 0)
    fam = st_ref_familiar(repo);
  if (fam && t)
    st_buf_printf(b, "%s:%s", fam, t);
  else
    st_buf_puts(b, tag);
}

static void put_image(tree_printer *p, const st_tree_image *ti) {
  for (size_t i = 0; i < ti->n_tags; i++) {
    if (i > 0)
      st_buf_puts(&p->out, ", ");
    put_tag(&p->out, ti->tags[i]);
  }
  if (ti->n_tags == 0)
    st_buf_printf(&p->out, "<none> %.*s", p->no_trunc ? 64 : 12,
                  st_digest_hex(ti->img.id));
  st_buf_puts(&p->out, " (shared ");
  put_size(&p->out, ti->shared);
  st_buf_puts(&p->out, ", unique ");
  put_size(&p->out, ti->unique);
  st_buf_puts(&p->out, ")\n");
}

/* The images on node: the first ends the node's line (which starts
 * label_col cells before), the others get lines under it, after `below`
 * and the bar to the node's children. */
static void put_node_images(tree_printer *p, const st_tree_node *nd,
                            const char *below, size_t label_col) {
  if (nd->n_images == 0) {
    st_buf_putc(&p->out, '\n');
    return;
  }
  st_buf_puts(&p->out, "  ");
  put_image(p, &p->t->images[nd->images[0]]);
  for (size_t i = 1; i < nd->n_images; i++) {
    st_buf_puts(&p->out, below);
    st_buf_puts(&p->out, nd->n_children ? "│" : " ");
    size_t at = cells(below) + 1;
    st_buf_printf(&p->out, "%*s", (int)(label_col > at ? label_col - at : 0),
                  "");
    put_image(p, &p->t->images[nd->images[i]]);
  }
}

/* Draws node i after lead (the connector), its children after below. */
static void put_node(tree_printer *p, size_t i, const char *lead,
                     const char *below) {
  const st_tree_node *nd = &p->t->nodes[i];
  size_t start = p->out.len;
  st_buf_puts(&p->out, lead);
  put_digest(p, nd->chain_id);
  st_buf_puts(&p->out, "  ");
  put_size(&p->out, nd->size);
  if (p->out.data == NULL)
    return; /* out of memory */
  size_t label_col = cells(p->out.data + start) + 2;
  put_node_images(p, nd, below, label_col);
  for (size_t k = 0; k < nd->n_children; k++) {
    bool last = k + 1 == nd->n_children;
    cleanup_buf st_buf child_lead = ST_BUF_INIT;
    cleanup_buf st_buf child_below = ST_BUF_INIT;
    st_buf_printf(&child_lead, "%s%s", below, last ? "└─ " : "├─ ");
    st_buf_printf(&child_below, "%s%s", below, last ? "   " : "│  ");
    if (child_lead.data == NULL || child_below.data == NULL)
      return;
    put_node(p, nd->children[k], child_lead.data, child_below.data);
  }
}

static void put_tree(tree_printer *p) {
  const st_image_tree *t = p->t;
  for (size_t i = 0; i < t->n_roots; i++)
    put_node(p, t->roots[i], "", "");
  for (size_t i = 0; i < t->n_bare; i++) {
    st_buf_puts(&p->out, "<no layers>  0B  ");
    put_image(p, &t->images[t->bare[i]]);
  }
}

int images_print_tree(st_store *s, bool all, bool no_trunc) {
  cleanup_error st_error *err = NULL;
  st_image_tree t;
  if (st_image_tree_build(s, all, &t, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  tree_printer p = {.t = &t, .no_trunc = no_trunc, .out = ST_BUF_INIT};
  put_tree(&p);
  st_image_tree_clear(&t);
  if (p.out.data)
    fputs(p.out.data, stdout);
  st_buf_free(&p.out);
  return 0;
}
