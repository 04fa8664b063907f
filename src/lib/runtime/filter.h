/* Docker's container filters for `ps --filter KEY=VALUE`: status, name (a
 * regular expression), id (a prefix), ancestor (an image reference or ID),
 * label (KEY or KEY=VALUE, from the image's labels), exited (an exit
 * code), health (starting, healthy, unhealthy, none). Values of one key are
 * alternatives; different keys must all match. */
#ifndef STRATA_RUNTIME_FILTER_H
#define STRATA_RUNTIME_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "store/containers.h"

typedef struct st_ct_filter st_ct_filter;

/* Parses specs ("status=running", ...). EINVAL names a bad one. */
int st_ct_filter_parse(st_store *s, char *const *specs, size_t n,
                       st_ct_filter **out, st_error **err);
void st_ct_filter_free(st_ct_filter *f);
bool st_ct_filter_match(st_store *s, const st_ct_filter *f,
                        const st_container *c);
/* True when a filter on key_name was given. */
bool st_ct_filter_has(const st_ct_filter *f, const char *key_name);

#endif
