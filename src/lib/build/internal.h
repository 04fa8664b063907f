/* Private to src/lib/build: the state of a build and of the stage being
 * built, shared by the driver and the step executors. */
#ifndef STRATA_BUILD_INTERNAL_H
#define STRATA_BUILD_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "build/build.h"
#include "build/context.h"
#include "build/dockerfile.h"
#include "build/expand.h"
#include "build/ignore.h"
#include "store/store.h"

/* A variable: a build arg or an ARG in scope. value NULL: declared
 * without a value. */
typedef struct st_bvar {
  char *name, *value;
} st_bvar;

typedef struct st_bstage {
  char *name;  /* the AS name (lower case), or NULL */
  size_t from; /* index of its FROM in the Dockerfile */
  size_t end;  /* one past its last instruction */
  int n_steps; /* numbered steps (FROM, RUN, COPY, ADD, WORKDIR) */
  bool needed; /* the target depends on it */
  bool built;
  char image[ST_DIGEST_LEN]; /* its result once built */
  char label[64];            /* "build ", "stage-1 " or "" */
} st_bstage;

typedef struct st_bctx {
  st_store *s;
  const st_build_opts *o;
  st_dockerfile df;
  st_bstage *stages;
  size_t n_stages;
  st_bvar *cli_args; /* --build-arg */
  size_t n_cli_args;
  bool *cli_used;
  st_bvar *global; /* ARGs before the first FROM */
  size_t n_global;
  st_ignore *ignore;
  st_ctx *ctx;                  /* the build context */
  struct st_filehashes *hashes; /* remembered content digests */
  st_ctx_hashes hash_ops;
  int step;        /* the last "#N" given out */
  char *tmp;       /* a private directory under the store's tmp/ */
  int n_mounts;    /* image roots mounted under tmp */
  long long epoch; /* SOURCE_DATE_EPOCH, or -1 */
  bool ns_ready;   /* unshared a private mount namespace */
} st_bctx;

/* The stage being built. */
typedef struct st_bstate {
  st_bctx *b;
  st_bstage *stage;
  json_t *config;            /* the current image config */
  char image[ST_DIGEST_LEN]; /* its ID; "" on scratch before any step */
  char base[ST_DIGEST_LEN];  /* the image FROM named ("" for scratch) */
  char *why; /* why a step that is not shown missed, for the next shown */
  st_layer_rec *layers;
  size_t n_layers;
  st_bvar *args; /* ARGs in scope */
  size_t n_args;
  bool missed;  /* a step of this stage missed: the rest rebuild */
  bool cmd_set; /* the stage has a CMD (ENTRYPOINT then keeps it) */
  int pos;      /* numbered steps so far */
} st_bstate;

/* A step on its way: what its cache key is made of, and its history. */
typedef struct st_bstep {
  const st_df_instr *in;
  json_t *inputs;   /* the key's inputs (an object, owned) */
  char *created_by; /* history text */
  bool layer;       /* makes a layer (RUN, COPY, ADD) */
  bool numbered;    /* shown as "[i/n]" */
  char *title;      /* "RUN make" as shown */
  int num;          /* "#N", 0 when not shown */
  double t0;
  void *priv; /* the executor's prepared state */
  void (*priv_free)(void *);
  /* Set when prepare left out inputs that only explaining a miss and the
   * stored row need (a COPY whose checksum came from the memo has no
   * "files"): called on a miss, before the explanation. */
  int (*complete)(st_bstate *st, struct st_bstep *step, st_error **err);
} st_bstep;

/* ---- driver.c ---- */
void st_bemit(st_bctx *b, st_build_event_kind kind, int num, const char *name,
              const char *text, double seconds);
double st_bclock(void);
/* An expander over the stage's ENV (first) and ARGs in scope. */
void st_bexpander(st_bstate *st, st_expander *x);
int st_bexpand(st_bstate *st, const char *word, char **out, st_error **err);
/* The "K=V" environment of the current config (borrowed JSON). */
json_t *st_bconfig_cc(st_bstate *st);
/* The value of NAME in a config's Env array (the last entry wins), or NULL. */
const char *st_benv_get(json_t *env, const char *name);
/* Error with the Dockerfile position: "Dockerfile:7: ...". */
int st_berr(st_bstate *st, const st_df_instr *in, st_error **err);
/* The image a --from names: a stage (name or index) built first, or an
 * image reference (pulled if missing). */
int st_bresolve_from(st_bctx *b, const char *from, char id[ST_DIGEST_LEN],
                     st_error **err);

/* ---- meta.c: instructions that only change the config ---- */
int st_bmeta_prepare(st_bstate *st, st_bstep *step, st_error **err);
/* The layer of a WORKDIR that makes its directory (step->layer set). */
int st_bmeta_layer(st_bstate *st, st_bstep *step, st_layer_rec *layer,
                   st_error **err);
/* Applies the prepared change to config (the "config" object inside). */
int st_bmeta_apply(st_bstate *st, st_bstep *step, json_t *config,
                   st_error **err);

/* WORKDIR-relative path made absolute and cleaned (heap). */
char *st_bjoin_workdir(st_bstate *st, const char *path);

/* ---- run.c ---- */
int st_brun_prepare(st_bstate *st, st_bstep *step, st_error **err);
/* Removes the RUN containers of builds that were killed (SIGKILL, a
 * crash) before they could remove them: named "strata-build-PID-N", PID a
 * process that is gone. Best effort: failures are ignored. */
void st_brun_sweep(st_store *s);
int st_brun_exec(st_bstate *st, st_bstep *step, st_layer_rec *layer,
                 st_error **err);

/* ---- copy.c ---- */
int st_bcopy_prepare(st_bstate *st, st_bstep *step, st_error **err);
int st_bcopy_exec(st_bstate *st, st_bstep *step, st_layer_rec *layer,
                  st_error **err);

/* ---- key.c ---- */
/* The step's cache key: sha256 of its inputs (canonical JSON). */
int st_bkey(const st_bstep *step, char key[ST_DIGEST_LEN], st_error **err);
/* Why the step missed, compared with what the cache had for the same
 * parent (heap string). */
char *st_bexplain(st_bstate *st, const st_bstep *step);

/* ---- mount.c ---- */
/* A read-only view of an image's file system: its single layer directory,
 * or an overlay of its layers mounted in the build's private mount
 * namespace. *path is a heap string. */
int st_bimage_root(st_bctx *b, const char *id, char **path, st_error **err);
/* Looks path up in the stack of layers of the current image: 1 when it is
 * a directory, 0 when it is something else or missing. */
int st_bis_dir_in_image(st_bstate *st, const char *path, st_error **err);
/* The build's private directory under the store's tmp/ (made on first
 * use; *path is borrowed). */
int st_bprivate_dir(st_bctx *b, char **path, st_error **err);
/* Removes the private tmp directory (mounts go with the namespace). */
void st_bcleanup(st_bctx *b);

/* Adds a history entry (empty_layer when no layer) and, with a layer, its
 * diff ID, and sets "created". */
int st_bconfig_history(st_bstate *st, json_t *config, const char *created_by,
                       const st_layer_rec *layer, st_error **err);

#endif
