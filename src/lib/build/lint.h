/* The linter behind `strata build --check`: Docker's build checks, with
 * Docker's rule names and wording, so that "# check=skip=RuleA,RuleB"
 * lines written for `docker build --check` work unchanged; plus strata's
 * own rule CopyBeforeDependencyInstall.
 *
 * The linter reads a parsed Dockerfile (build/dockerfile.h), never the
 * file system or a registry: what only a pulled base image can tell (its
 * ENV, its SHELL, its platform) comes from the optional callback below or
 * is assumed absent. InvalidBaseImagePlatform needs the pulled image and is
 * not checked here; InvalidDefinitionDescription needs the comments, which
 * the parser does not keep (it is experimental in Docker too).
 */
#ifndef STRATA_BUILD_LINT_H
#define STRATA_BUILD_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "build/dockerfile.h"
#include "build/ignore.h"
#include "util/error.h"

typedef struct st_lint_finding {
  const char *rule;        /* Docker's name, e.g. "JSONArgsRecommended" */
  int line;                /* 1-based line of the instruction */
  char *message;           /* one line, Docker's wording */
  const char *description; /* the rule in one line (Docker's) */
  const char *explain;     /* multi-line explanation without URL, each line
                              ending with '\n', for --check --verbose */
  const char *url;         /* Docker's page for the rule; NULL for strata's
                              own rules */
} st_lint_finding;

/* Tells whether the image `image` (as written after FROM, variables
 * expanded) sets the environment variable `name`. */
typedef bool (*st_lint_base_env)(void *ctx, const char *image,
                                 const char *name);

typedef struct st_lint_opts {
  /* The compiled .dockerignore, or NULL: CopyIgnoredFile is then off. */
  const st_ignore *ignore;
  /* "KEY=VALUE" given with --build-arg. Docker's checks evaluate ARG
   * defaults only, so these change no finding, except
   * BUILDKIT_DOCKERFILE_CHECK, whose value replaces the "# check="
   * directive as in Docker. */
  char *const *build_args;
  size_t n_build_args;
  /* The "# check=" directive value ("skip=A,B;error=true"); NULL means
   * df->check. */
  const char *check_directive;
  /* Base image ENV, for UndefinedVar; NULL: a base image is assumed to set
   * PATH only. */
  st_lint_base_env base_env;
  void *base_env_ctx;
} st_lint_opts;

/* Lints df. o may be NULL (no .dockerignore, no build args, df->check).
 * On success returns 0 and sets *out to a heap array of *n findings sorted
 * by line (NULL when there is none), with the rules skipped by the check
 * directive left out, and *error_on_findings (if not NULL) to true when
 * the directive says "error=true" and there is at least one finding, so
 * that the build must fail ("lint violation found for rules: ...").
 * Returns < 0 with *err EINVAL for a bad check directive ("invalid check
 * option \"x\"") or ENOMEM, and *out, *n untouched. */
int st_lint(const st_dockerfile *df, const st_lint_opts *o,
            st_lint_finding **out, size_t *n, bool *error_on_findings,
            st_error **err);

void st_lint_free(st_lint_finding *f, size_t n);

/* The rules strata knows, in a fixed order: name, one-line description.
 * Returns false past the end. For `--check --list` style help. */
bool st_lint_rule(size_t i, const char **name, const char **description);

#endif
