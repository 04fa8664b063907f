/* `images --tree` (see images_tree.c). */
#ifndef STRATA_CMD_IMAGES_TREE_H
#define STRATA_CMD_IMAGES_TREE_H

#include <stdbool.h>

#include "store/store.h"

/* Prints the store's images as a tree of shared layer chains to stdout;
 * all includes intermediate images, no_trunc prints full IDs. Returns the
 * exit code. */
int images_print_tree(st_store *s, bool all, bool no_trunc);

#endif
