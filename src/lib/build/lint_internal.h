/* Shared by the linter's files (lint.c drives; lint_stage.c, lint_instr.c,
 * lint_vars.c and lint_cache.c hold the rule groups). Not installed. */
#ifndef STRATA_BUILD_LINT_INTERNAL_H
#define STRATA_BUILD_LINT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "build/lint.h"

/* A small list of names, optionally with values, searched linearly:
 * Dockerfiles hold tens of variables, not thousands. */
typedef struct lint_vars {
  char **names;
  char **values; /* values[i] NULL: declared without a value */
  size_t n, cap;
} lint_vars;

int lint_vars_set(lint_vars *v, const char *name, const char *value);
/* Index of name, or -1. */
long lint_vars_find(const lint_vars *v, const char *name);
int lint_vars_copy(lint_vars *dst, const lint_vars *src);
void lint_vars_clear(lint_vars *v);

/* What the linter knows about one stage while walking it. */
typedef struct lint_stage {
  const st_df_instr *from;
  char *name;    /* lower-cased "AS" name, or NULL */
  char *image;   /* base after expansion with the ARG defaults */
  long parent;   /* index of the stage it is built on, or -1 */
  lint_vars env; /* ENV keys and ARG names of the stage (and parent) */
  bool workdir_set, shell_set;
} lint_stage;

typedef struct lint_ctx {
  const st_dockerfile *df;
  const st_lint_opts *o;
  char escape;
  st_lint_finding *f;
  size_t n, cap;
  bool oom;
  bool skip_all, error;
  char **skip;
  size_t n_skip;
  lint_vars global;     /* ARGs before the first FROM, with defaults */
  lint_vars predefined; /* BUILDPLATFORM, TARGETARCH ... */
  lint_stage *stages;
  size_t n_stages;
} lint_ctx;

/* Adds a finding unless the rule is skipped. Out of memory sets c->oom
 * (checked once at the end), so rules need not test each call. */
void lint_add(lint_ctx *c, const char *rule, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* True when s has no lower-case (upper-case) letter. */
bool lint_is_upper(const char *s);
bool lint_is_lower(const char *s);

/* The value of flag --name (the last one when it repeats; "" for a bare
 * flag), NULL when absent. */
const char *lint_flag(const st_df_instr *in, const char *name);

/* Variables: calls used(ctx, name, set) for every $name / ${name...} in s
 * (outside single quotes, not escaped), looking names up in look (then
 * look2, either may be NULL); when out is not NULL, stores the text with
 * the variables expanded and quotes removed. Returns -1 when out of
 * memory. */
typedef void (*lint_used_fn)(void *ctx, const char *name, bool set);
int lint_expand(const char *s, char escape, const lint_vars *look,
                const lint_vars *look2, lint_used_fn used, void *ctx,
                char **out);

/* The closest of the names to s (Levenshtein distance below 3, Docker's
 * suggestion rule), or NULL. */
const char *lint_suggest(const char *s, const lint_vars *a, const lint_vars *b);

/* Rule groups, each run over the whole file. */
void lint_stage_rules(lint_ctx *c); /* names, casing, FROM */
void lint_instr_rules(lint_ctx *c); /* per-instruction rules */
void lint_env_rules(lint_ctx *c);   /* variables, WORKDIR, ignore */
void lint_cache_order(lint_ctx *c); /* CopyBeforeDependencyInstall */

#endif
