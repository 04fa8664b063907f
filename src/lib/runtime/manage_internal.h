/* Private to src/lib/runtime: what the commands on existing containers
 * share. */
#ifndef STRATA_RUNTIME_MANAGE_INTERNAL_H
#define STRATA_RUNTIME_MANAGE_INTERNAL_H

#include "runtime/internal.h"
#include "runtime/manage.h"

/* A container found by reference (state refreshed) with its bundle. */
typedef struct st_ct {
  st_container c;
  char *dir; /* <root>/containers/<id> */
  st_spec spec;
} st_ct;

int st_ct_open(st_store *s, const char *ref, st_ct *out, st_error **err);
void st_ct_close(st_ct *ct);

/* An O_PATH fd of the container's root: /proc/<pid>/root while it runs,
 * else its overlay mounted on merged/ in a private mount namespace that
 * the calling process enters (unshare(CLONE_NEWNS); the mount goes away
 * with the process). *running tells which. */
int st_ct_root(const st_ct *ct, bool *running, st_error **err);

/* The change list of ct's upper dir (see st_container_changes), with
 * whether each directory is opaque. */
int st_ct_changes(const st_ct *ct, st_change **out, bool **opaque, size_t *n,
                  st_error **err);

#endif
