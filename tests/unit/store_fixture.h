/* A throwaway store per cmocka test: setup() opens one in a new temp dir,
 * teardown() closes and removes it. Include after <cmocka.h>. */
#ifndef STRATA_TEST_STORE_FIXTURE_H
#define STRATA_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"
#include "util/fs.h"

typedef struct ctx {
  char root[64];
  st_store *s;
} ctx;

static int setup(void **state) {
  ctx *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return -1;
  snprintf(c->root, sizeof(c->root), "/tmp/strata-test.XXXXXX");
  st_error *err = NULL;
  if (mkdtemp(c->root) == NULL || st_store_open(c->root, &c->s, &err) < 0) {
    st_error_free(err);
    free(c);
    return -1;
  }
  *state = c;
  return 0;
}

static int teardown(void **state) {
  ctx *c = *state;
  st_store_close(c->s);
  st_error *err = NULL;
  st_rm_rf(c->root, &err);
  st_error_free(err);
  free(c);
  return 0;
}

#endif
