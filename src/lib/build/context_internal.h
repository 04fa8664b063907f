/* Shared by context.c (opening, matching sources), context_walk.c (the list
 * of entries a COPY produces) and context_tar.c (writing that list as a
 * tar, hashing it). */
#ifndef STRATA_BUILD_CONTEXT_INTERNAL_H
#define STRATA_BUILD_CONTEXT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "build/context.h"
#include "util/buf.h"

struct st_ctx {
  int rootfd;          /* O_PATH | O_DIRECTORY */
  char *real;          /* the root as /proc/self/fd shows it, no trailing
                          '/' ("" for "/"), or NULL when unknown */
  const st_ignore *ig; /* NULL when nothing is excluded */
  const st_ctx_hashes *hashes; /* known content digests, or NULL */
};

/* Whether path (relative to the root, "" for the root) is excluded; an
 * excluded directory that an exception may re-include still counts as
 * there when dir_counts. */
bool ctx_excluded(const st_ctx *c, const char *path, bool is_dir,
                  bool dir_counts);

/* Resolves a source named in COPY (relative, cleaned, "" for the root)
 * inside the root, following symlinks (scoped to the root). Returns 0 with
 * *st (what it leads to) and *real (its symlink-free path relative to the
 * root, heap; the cleaned path itself when /proc cannot tell), 1 when it
 * does not exist or is excluded, < 0 on error. */
int ctx_resolve(const st_ctx *c, const char *path, struct stat *st, char **real,
                st_error **err);

/* The messages Docker gives for a missing source and one leaving the root
 * (the error code is ENOENT and EINVAL). */
int ctx_not_found(const char *source, st_error **err);
int ctx_outside(const char *source, st_error **err);

/* Cleans a source like Go's path.Clean, relative to the root (leading '/'
 * and "./" dropped; "" for the root). Returns a heap string, or NULL with
 * errno EINVAL when it leaves the root ("../x"), ENOMEM. */
char *ctx_clean(const char *source);

enum {
  CTX_PARENT = 1,    /* a directory COPY creates above its destination */
  CTX_FOLLOW = 2,    /* a source named directly: its symlinks are followed */
  CTX_TENTATIVE = 4, /* an excluded directory, written only when something
                        below it is */
  CTX_DROP = 8,      /* left out after all */
};

/* One entry of the stream. Strings are offsets in ctx_list.names, so that
 * a walk allocates per directory at most, never per file. */
typedef struct ctx_entry {
  struct stat st; /* the source's (PARENT: made up) */
  size_t dst;     /* tar name */
  size_t src;     /* path to open, relative to the root */
  size_t seq;     /* order found: the later of two equal names wins */
  size_t link;    /* 1 + index of the entry this is a hard link of, or 0 */
  unsigned flags;
} ctx_entry;

typedef struct ctx_list {
  ctx_entry *v;
  size_t n, cap;
  st_buf names;        /* NUL-separated strings */
  const st_ignore *ex; /* the spec's --exclude, or NULL */
  size_t ex_base;      /* length of "DEST/": a tar name past it is the
                          path relative to the source */
} ctx_list;

/* Fills l (zeroed by the caller) with what spec copies, sorted by tar name,
 * each name once, hard links found. */
int ctx_collect(const st_ctx *c, const st_copy_spec *spec, ctx_list *l,
                st_error **err);
void ctx_list_free(ctx_list *l);

static inline const char *ctx_str(const ctx_list *l, size_t off) {
  return l->names.data + off;
}

#endif
