/* `strata build`: a Dockerfile turned into an image, one image per step
 * (Docker's classic model: every step's result is an image whose parent
 * is the previous step's), with a build cache that maps (parent image,
 * step key) to the step's result and can say why a step missed.
 *
 * The driver parses the Dockerfile (build/dockerfile.h), splits it into
 * stages, builds only the stages the target needs, and for each step asks
 * the cache (store/cache.h) before executing it: RUN in a container made by
 * runtime/ (its read-write layer becomes the step's layer), COPY/ADD as a
 * tar written straight from the context (build/context.h), every other
 * instruction as a change of the config with an `empty_layer` history
 * entry. Nothing is printed: progress goes through a callback.
 */
#ifndef STRATA_BUILD_H
#define STRATA_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/lint.h"
#include "store/store.h"
#include "util/error.h"

typedef enum st_build_event_kind {
  ST_BUILD_STEP_START,  /* a numbered step starts: name, text */
  ST_BUILD_STEP_CACHED, /* it was found in the cache */
  ST_BUILD_STEP_MISS,   /* it will be executed: text = why it missed */
  ST_BUILD_STEP_OUTPUT, /* a line of a RUN's output (text, no newline) */
  ST_BUILD_STEP_INFO,   /* a line about the step ("writing image ...") */
  ST_BUILD_STEP_DONE,   /* it finished: seconds */
  ST_BUILD_STEP_ERROR,  /* it failed: text = the error */
  ST_BUILD_WARNING,     /* text: a warning (unused build arg, lint) */
} st_build_event_kind;

typedef struct st_build_event {
  st_build_event_kind kind;
  int step;         /* Docker's "#N" number */
  const char *name; /* "[build 2/5] RUN make" or "[internal] ..." */
  const char *text; /* see the kinds */
  double seconds;   /* since the step started (OUTPUT, DONE) */
} st_build_event;

typedef void (*st_build_progress_fn)(void *ctx, const st_build_event *ev);

/* --secret id=ID[,src=FILE|,env=VAR]: a secret RUN can mount. */
typedef struct st_build_secret {
  const char *id;
  const char *src; /* a file, or NULL */
  const char *env; /* an environment variable (default: ID), when no src */
} st_build_secret;

/* --ssh ID[=SOCKET]: an SSH agent socket RUN --mount=type=ssh can reach
 * (for "default" with no socket: $SSH_AUTH_SOCK). */
typedef struct st_build_ssh {
  const char *id;
  const char *socket; /* absolute path of a Unix socket */
} st_build_ssh;

typedef struct st_build_opts {
  const char *context;    /* directory of the build context */
  const char *dockerfile; /* bytes of the Dockerfile */
  size_t dockerfile_len;
  const char *dockerfile_name; /* for messages: "Dockerfile" */
  const char *ignore_text;     /* .dockerignore bytes, or NULL */
  size_t ignore_len;
  char *const *build_args; /* "K=V", or "K" (value from the environment) */
  size_t n_build_args;
  char *const *labels; /* "K=V" added to the final image */
  size_t n_labels;
  const st_build_secret *secrets;
  size_t n_secrets;
  const st_build_ssh *ssh;
  size_t n_ssh;
  const char *target;  /* stage name, or NULL for the last stage */
  const char *network; /* RUN's network: "host" (default) or "none" */
  bool no_cache;
  bool pull;               /* --pull: always pull base images */
  const char *const *tags; /* normalized names for the final image */
  size_t n_tags;
  st_build_progress_fn progress;
  void *progress_ctx;
} st_build_opts;

/* Builds; the final image's ID goes to id_out. Errors name the Dockerfile
 * line ("Dockerfile:7: RUN make: exit code: 2"); on failure nothing is
 * tagged, and steps that had finished stay cached. */
int st_build(st_store *s, const st_build_opts *o, char id_out[ST_DIGEST_LEN],
             st_error **err);

/* `build --check`: parses the Dockerfile and runs the build checks
 * (build/lint.h) without building; base images found in the store tell
 * which variables they set. *error is set when a "# check=error=true"
 * directive makes findings fatal. */
int st_build_check(st_store *s, const st_build_opts *o, st_lint_finding **out,
                   size_t *n, bool *error, st_error **err);

/* `build -`: reads standard input (fd). A tar (any compression) is
 * unpacked as the context into a new directory under the store's tmp/
 * (*dir, heap; the caller removes it) and *dockerfile is NULL; anything
 * else is the Dockerfile (*dockerfile, *len) with an empty context. */
int st_build_stdin(st_store *s, int fd, char **dir, char **dockerfile,
                   size_t *len, st_error **err);

/* What the build cache holds: rows of the cache table, and the bytes of
 * the RUN --mount=type=cache directories (<root>/build-cache). */
/* One record of the build cache as `system df -v` lists it: a step's
 * layer ("regular") or a RUN cache mount ("exec.cachemount"). */
typedef struct st_build_record {
  char id[65];      /* hex: the step's cache key, or the mount's id */
  const char *type; /* "regular" or "exec.cachemount" */
  const char *description;
  int64_t size;          /* bytes */
  int64_t created, used; /* unix ns */
  bool shared;           /* the bytes are also an image's outside the cache */
  int64_t usage;         /* images holding the record's layer; 1 for a mount */
} st_build_record;

typedef struct st_build_usage {
  int64_t entries;          /* records */
  int64_t mount_bytes;      /* of the cache mounts */
  int64_t size;             /* of every record, a shared layer counted too */
  int64_t reclaimable;      /* of the records no build is using: all */
  st_build_record *records; /* entries of them, oldest first */
} st_build_usage;
int st_build_usage_get(st_store *s, st_build_usage *out, st_error **err);
void st_build_usage_clear(st_build_usage *u);

/* `builder prune`: forgets cache rows last used before until (unix ns; 0:
 * every row) and, with all, empties the cache mounts too. The images the
 * rows named stay until `image prune` (they may be parents of tagged
 * images). *reclaimed: bytes freed from cache mounts. */
int st_build_prune(st_store *s, bool all, int64_t until, int64_t *entries,
                   int64_t *reclaimed, st_error **err);

#endif
