/* Private to the `system check` files of src/lib/store. */
#ifndef STRATA_STORE_FSCK_INTERNAL_H
#define STRATA_STORE_FSCK_INTERNAL_H

#include "store/fsck.h"

/* Appends a problem (subject copied; NULL for none). */
int st_fsck_add_problem(st_fsck_report *r, st_fsck_kind kind,
                        const char *subject, st_error **err, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));

/* Appends a copy of str to the NULL-terminated vector *v of *n. */
int st_fsck_push_str(char ***v, size_t *n, const char *str, st_error **err);

/* Containers and unpacked layer trees (fsck_trees.c): a container whose
 * image is gone (ST_FSCK_CONTAINER), a tree a container needs that is
 * missing, and trees that differ from their layer's tar (ST_FSCK_TREE; a
 * sample of the trees, or every one with deep). Runs inside the check's
 * read snapshot. */
int st_fsck_trees(st_store *s, bool deep, st_fsck_report *r, st_error **err);

/* Repairs ST_FSCK_TREE problems: each tree is unpacked again from its
 * blob and put in place of the old one, unless a running container has it
 * mounted (then it is listed in out->not_repaired). */
int st_fsck_repair_trees(st_store *s, const st_fsck_report *found,
                         st_fsck_repair *out, st_error **err);

#endif
