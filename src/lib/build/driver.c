/* The build driver: stages, the target, and each step through the cache.
 *
 * Every step's result is an image (its parent is the previous step's), so
 * a RUN can start a container from it and the cache can name it. A step
 * hits when (parent image, key) is in the cache and the image still exists;
 * after the first miss in a stage every later step of that stage runs. */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>

#include "build/internal.h"
#include "image/image.h"
#include "registry/registry.h"
#include "store/cache.h"
#include "util/buf.h"
#include "util/cleanup.h"

double st_bclock(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void st_bemit(st_bctx *b, st_build_event_kind kind, int num, const char *name,
              const char *text, double seconds) {
  if (b->o->progress == NULL)
    return;
  st_build_event ev = {.kind = kind,
                       .step = num,
                       .name = name,
                       .text = text,
                       .seconds = seconds};
  b->o->progress(b->o->progress_ctx, &ev);
}

int st_berr(st_bstate *st, const st_df_instr *in, st_error **err) {
  const char *name =
      st->b->o->dockerfile_name ? st->b->o->dockerfile_name : "Dockerfile";
  return st_error_wrap(err, "%s:%d: %s", name, in->line,
                       st_df_kind_name(in->kind));
}

/* ---- variables ---------------------------------------------------------- */

static const char *vars_get(const st_bvar *v, size_t n, const char *name) {
  for (size_t i = n; i-- > 0;)
    if (strcmp(v[i].name, name) == 0)
      return v[i].value;
  return NULL;
}

static int vars_set(st_bvar **v, size_t *n, const char *name,
                    const char *value) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*v)[i].name, name) == 0) {
      char *nv = value ? strdup(value) : NULL;
      if (value && nv == NULL)
        return -1;
      free((*v)[i].value);
      (*v)[i].value = nv;
      return 0;
    }
  st_bvar *grown = realloc(*v, (*n + 1) * sizeof(**v));
  if (grown == NULL)
    return -1;
  *v = grown;
  grown[*n].name = strdup(name);
  grown[*n].value = value ? strdup(value) : NULL;
  if (grown[*n].name == NULL || (value && grown[*n].value == NULL)) {
    free(grown[*n].name);
    free(grown[*n].value);
    return -1;
  }
  (*n)++;
  return 0;
}

static void vars_free(st_bvar *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].name);
    free(v[i].value);
  }
  free(v);
}

json_t *st_bconfig_cc(st_bstate *st) {
  json_t *cc = json_object_get(st->config, "config");
  if (!json_is_object(cc)) {
    cc = json_object();
    json_object_set_new(st->config, "config", cc);
  }
  return cc;
}

const char *st_benv_get(json_t *env, const char *name) {
  size_t len = strlen(name), i;
  json_t *e;
  const char *found = NULL;
  json_array_foreach(env, i, e) {
    const char *s = json_string_value(e);
    if (s && strncmp(s, name, len) == 0 && s[len] == '=')
      found = s + len + 1;
  }
  return found;
}

/* ENV wins over ARG, as in Docker. */
static const char *stage_lookup(void *ctx, const char *name) {
  st_bstate *st = ctx;
  const char *v = st_benv_get(json_object_get(st_bconfig_cc(st), "Env"), name);
  return v ? v : vars_get(st->args, st->n_args, name);
}

void st_bexpander(st_bstate *st, st_expander *x) {
  *x = (st_expander){.lookup = stage_lookup,
                     .ctx = st,
                     .escape = st->b->df.escape ? st->b->df.escape : '\\'};
}

int st_bexpand(st_bstate *st, const char *word, char **out, st_error **err) {
  st_expander x;
  st_bexpander(st, &x);
  return st_expand_word(&x, word, out, err);
}

static const char *global_lookup(void *ctx, const char *name) {
  st_bctx *b = ctx;
  return vars_get(b->global, b->n_global, name);
}

/* The value a --build-arg gives name (marking it used), or NULL. */
static const char *cli_arg(st_bctx *b, const char *name, bool *given) {
  for (size_t i = b->n_cli_args; i-- > 0;)
    if (strcmp(b->cli_args[i].name, name) == 0) {
      b->cli_used[i] = true;
      *given = true;
      return b->cli_args[i].value;
    }
  *given = false;
  return NULL;
}

/* ARG NAME[=default]: the --build-arg wins, then the default, then (inside
 * a stage) the global ARG of that name. */
static int declare_arg(st_bctx *b, st_bvar **v, size_t *n, const st_expander *x,
                       const st_df_pair *p, bool in_stage, st_error **err) {
  bool given;
  const char *cli = cli_arg(b, p->key, &given);
  cleanup_free char *def = NULL;
  if (!given && p->value && st_expand_word(x, p->value, &def, err) < 0)
    return -1;
  const char *value = given ? cli : def;
  if (!given && p->value == NULL && in_stage)
    value = vars_get(b->global, b->n_global, p->key);
  if (vars_set(v, n, p->key, value) < 0)
    return st_error_errno(err, ENOMEM, "ARG %s", p->key);
  return 0;
}

static int parse_cli_args(st_bctx *b, st_error **err) {
  const st_build_opts *o = b->o;
  b->cli_used = calloc(o->n_build_args + 1, sizeof(bool));
  if (b->cli_used == NULL)
    return st_error_errno(err, ENOMEM, "build args");
  for (size_t i = 0; i < o->n_build_args; i++) {
    const char *a = o->build_args[i];
    const char *eq = strchr(a, '=');
    cleanup_free char *name = eq ? strndup(a, (size_t)(eq - a)) : strdup(a);
    if (name == NULL)
      return st_error_errno(err, ENOMEM, "build args");
    if (*name == '\0')
      return st_error_set(err, EINVAL, "invalid build arg \"%s\": no name", a);
    const char *value = eq ? eq + 1 : getenv(name);
    if (!eq && value == NULL)
      continue; /* Docker: a name alone, unset in the environment: ignored */
    if (vars_set(&b->cli_args, &b->n_cli_args, name, value) < 0)
      return st_error_errno(err, ENOMEM, "build args");
  }
  return 0;
}

static int global_defaults(st_bctx *b, st_error **err) {
  const char *arch = st_host_arch();
  char plat[64];
  snprintf(plat, sizeof(plat), "linux/%s", arch);
  const char *const kv[][2] = {{"TARGETPLATFORM", plat}, {"TARGETOS", "linux"},
                               {"TARGETARCH", arch},     {"TARGETVARIANT", ""},
                               {"BUILDPLATFORM", plat},  {"BUILDOS", "linux"},
                               {"BUILDARCH", arch},      {"BUILDVARIANT", ""}};
  for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
    if (vars_set(&b->global, &b->n_global, kv[i][0], kv[i][1]) < 0)
      return st_error_errno(err, ENOMEM, "build args");
  return 0;
}

/* ---- stages --------------------------------------------------------------
 */

static int split_stages(st_bctx *b, st_error **err) {
  st_dockerfile *df = &b->df;
  size_t n = 0;
  for (size_t i = 0; i < df->n; i++)
    n += df->instrs[i].kind == ST_DF_FROM;
  b->stages = calloc(n ? n : 1, sizeof(*b->stages));
  if (b->stages == NULL)
    return st_error_errno(err, ENOMEM, "stages");
  for (size_t i = 0; i < df->n; i++) {
    const st_df_instr *in = &df->instrs[i];
    if (in->kind != ST_DF_FROM) {
      if (b->n_stages)
        b->stages[b->n_stages - 1].end = i + 1;
      if (b->n_stages && (in->kind == ST_DF_RUN || in->kind == ST_DF_COPY ||
                          in->kind == ST_DF_ADD || in->kind == ST_DF_WORKDIR))
        b->stages[b->n_stages - 1].n_steps++;
      continue;
    }
    st_bstage *sg = &b->stages[b->n_stages++];
    sg->from = i;
    sg->end = i + 1;
    sg->n_steps = 1;
    if (in->n_args >= 3) {
      sg->name = strdup(in->args[2]);
      if (sg->name == NULL)
        return st_error_errno(err, ENOMEM, "stages");
      for (char *p = sg->name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    }
  }
  for (size_t i = 0; i < b->n_stages; i++) {
    st_bstage *sg = &b->stages[i];
    if (sg->name)
      snprintf(sg->label, sizeof(sg->label), "%s ", sg->name);
    else if (b->n_stages > 1)
      snprintf(sg->label, sizeof(sg->label), "stage-%zu ", i);
  }
  return 0;
}

/* The stage a name or index refers to, searching stages before `before`. */
static st_bstage *find_stage(st_bctx *b, const char *ref, size_t before) {
  char *end;
  long idx = strtol(ref, &end, 10);
  if (*ref && *end == '\0' && idx >= 0 && (size_t)idx < before)
    return &b->stages[idx];
  for (size_t i = 0; i < before; i++)
    if (b->stages[i].name && strcasecmp(b->stages[i].name, ref) == 0)
      return &b->stages[i];
  return NULL;
}

static size_t stage_index(st_bctx *b, const st_bstage *sg) {
  return (size_t)(sg - b->stages);
}

/* The stage this instruction's --from (or FROM's image) names, if any. */
static st_bstage *dep_of(st_bctx *b, size_t stage, const st_df_instr *in) {
  const char *ref = NULL;
  if (in->kind == ST_DF_FROM && in->n_args)
    ref = in->args[0];
  else if (in->kind == ST_DF_COPY || in->kind == ST_DF_ADD)
    ref = st_df_flag_get(in, "from", NULL);
  return ref ? find_stage(b, ref, stage) : NULL;
}

static void mark_needed(st_bctx *b, size_t stage) {
  st_bstage *sg = &b->stages[stage];
  if (sg->needed)
    return;
  sg->needed = true;
  for (size_t i = sg->from; i < sg->end; i++) {
    st_bstage *dep = dep_of(b, stage, &b->df.instrs[i]);
    if (dep)
      mark_needed(b, stage_index(b, dep));
    const st_df_instr *in = &b->df.instrs[i];
    for (size_t f = 0; in->kind == ST_DF_RUN && f < in->n_flags; f++) {
      const char *v = in->flags[f].value;
      const char *from = v ? strstr(v, "from=") : NULL;
      if (strcmp(in->flags[f].name, "mount") != 0 || from == NULL)
        continue;
      cleanup_free char *name = strndup(from + 5, strcspn(from + 5, ","));
      st_bstage *d = name ? find_stage(b, name, stage) : NULL;
      if (d)
        mark_needed(b, stage_index(b, d));
    }
  }
}

static int pick_target(st_bctx *b, st_bstage **target, st_error **err) {
  if (b->n_stages == 0)
    return st_error_set(err, EINVAL, "%s: no build stage (FROM) found",
                        b->o->dockerfile_name);
  if (b->o->target == NULL) {
    *target = &b->stages[b->n_stages - 1];
  } else if ((*target = find_stage(b, b->o->target, b->n_stages)) == NULL) {
    return st_error_set(err, EINVAL,
                        "failed to reach build target %s in Dockerfile: "
                        "target stage \"%s\" could not be found",
                        b->o->target, b->o->target);
  }
  mark_needed(b, stage_index(b, *target));
  return 0;
}

/* ---- images of steps ---------------------------------------------------- */

static int adopt_image(st_bstate *st, const char *id, st_error **err) {
  json_t *config = NULL;
  st_layer_rec *layers = NULL;
  size_t n = 0;
  if (st_config_load(st->b->s, id, &config, err) < 0)
    return -1;
  if (st_image_layers(st->b->s, id, &layers, &n, err) < 0) {
    json_decref(config);
    return -1;
  }
  json_decref(st->config);
  st_layers_free(st->layers, st->n_layers);
  st->config = config;
  st->layers = layers;
  st->n_layers = n;
  snprintf(st->image, sizeof(st->image), "%s", id);
  return 0;
}

static char *created_now(st_bctx *b) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (b->epoch >= 0) {
    now.tv_sec = (time_t)b->epoch;
    now.tv_nsec = 0;
  }
  struct tm tm;
  gmtime_r(&now.tv_sec, &tm);
  char buf[64];
  size_t k = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  if (now.tv_nsec)
    snprintf(buf + k, sizeof(buf) - k, ".%09ldZ", (long)now.tv_nsec);
  else
    snprintf(buf + k, sizeof(buf) - k, "Z");
  return strdup(buf);
}

int st_bconfig_history(st_bstate *st, json_t *config, const char *created_by,
                       const st_layer_rec *layer, st_error **err) {
  cleanup_free char *created = created_now(st->b);
  if (created == NULL)
    return st_error_errno(err, ENOMEM, "history");
  json_t *h = json_pack("{s:s, s:s, s:s}", "created", created, "created_by",
                        created_by, "comment", "buildkit.dockerfile.v0");
  if (h == NULL)
    return st_error_errno(err, ENOMEM, "history");
  if (layer == NULL)
    json_object_set_new(h, "empty_layer", json_true());
  json_t *hist = json_object_get(config, "history");
  if (!json_is_array(hist)) {
    hist = json_array();
    json_object_set_new(config, "history", hist);
  }
  json_array_append_new(hist, h);
  json_object_set_new(config, "created", json_string(created));
  if (layer) {
    json_t *rootfs = json_object_get(config, "rootfs");
    json_t *ids = json_object_get(rootfs, "diff_ids");
    if (!json_is_array(ids))
      return st_error_set(err, EIO, "base image config without rootfs");
    json_array_append_new(ids, json_string(layer->diff_id));
  }
  return 0;
}

/* Stores config (+ layer) as the step's image and makes it current. */
static int commit_step(st_bstate *st, json_t *config, const st_layer_rec *layer,
                       char id[ST_DIGEST_LEN], st_error **err) {
  cleanup_free char *text = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
  cleanup_free st_layer_rec *all =
      calloc(st->n_layers + 1, sizeof(st_layer_rec));
  if (text == NULL || all == NULL)
    return st_error_errno(err, ENOMEM, "commit step");
  memcpy(all, st->layers, st->n_layers * sizeof(*all));
  size_t n = st->n_layers;
  if (layer)
    all[n++] = *layer;
  return st_image_store(st->b->s, text, strlen(text), all, n,
                        *st->image ? st->image : NULL, NULL, 0, id, err);
}

static json_t *new_config(void) {
  return json_pack("{s:s, s:s, s:{}, s:{s:s, s:[]}, s:[]}", "architecture",
                   st_host_arch(), "os", "linux", "config", "rootfs", "type",
                   "layers", "diff_ids", "history");
}

/* ---- steps -------------------------------------------------------------- */

static void step_clear(st_bstep *step) {
  json_decref(step->inputs);
  free(step->created_by);
  free(step->title);
  if (step->priv_free)
    step->priv_free(step->priv);
  memset(step, 0, sizeof(*step));
}

static int prepare(st_bstate *st, st_bstep *step, st_error **err) {
  switch (step->in->kind) {
  case ST_DF_RUN:
    return st_brun_prepare(st, step, err);
  case ST_DF_COPY:
  case ST_DF_ADD:
    return st_bcopy_prepare(st, step, err);
  case ST_DF_FROM:
  case ST_DF_ARG:
  case ST_DF_ONBUILD:
  case ST_DF_ENV:
  case ST_DF_CMD:
  case ST_DF_ENTRYPOINT:
  case ST_DF_WORKDIR:
  case ST_DF_USER:
  case ST_DF_LABEL:
  case ST_DF_EXPOSE:
  case ST_DF_VOLUME:
  case ST_DF_SHELL:
  case ST_DF_STOPSIGNAL:
  case ST_DF_HEALTHCHECK:
  case ST_DF_MAINTAINER:
  default:
    return st_bmeta_prepare(st, step, err);
  }
}

static int execute(st_bstate *st, st_bstep *step, st_error **err) {
  cleanup_json json_t *config = json_deep_copy(st->config);
  if (config == NULL)
    return st_error_errno(err, ENOMEM, "build step");
  st_layer_rec layer = {0};
  int r = 0;
  if (step->in->kind == ST_DF_RUN)
    r = st_brun_exec(st, step, &layer, err);
  else if (step->in->kind == ST_DF_COPY || step->in->kind == ST_DF_ADD)
    r = st_bcopy_exec(st, step, &layer, err);
  else if (step->layer)
    r = st_bmeta_layer(st, step, &layer, err);
  if (r == 0 && step->in->kind != ST_DF_RUN && step->in->kind != ST_DF_COPY &&
      step->in->kind != ST_DF_ADD)
    r = st_bmeta_apply(st, step, config, err);
  char id[ST_DIGEST_LEN];
  if (r < 0 ||
      st_bconfig_history(st, config, step->created_by,
                         step->layer ? &layer : NULL, err) < 0 ||
      commit_step(st, config, step->layer ? &layer : NULL, id, err) < 0)
    return -1;
  char key[ST_DIGEST_LEN];
  cleanup_free char *inputs =
      json_dumps(step->inputs, JSON_COMPACT | JSON_SORT_KEYS);
  if (inputs == NULL || st_bkey(step, key, err) < 0)
    return st_error_errno(err, ENOMEM, "build cache");
  if (st_cache_put(st->b->s, st->image, key, id, step->in->text, inputs, err) <
      0)
    return -1;
  return adopt_image(st, id, err);
}

static void step_title(st_bstate *st, st_bstep *step, char *buf, size_t len) {
  snprintf(buf, len, "[%s%d/%d] %s", st->stage->label, st->pos,
           st->stage->n_steps, step->in->text);
}

/* One instruction: cache lookup, else execute. */
static int do_step(st_bstate *st, const st_df_instr *in, st_error **err) {
  st_bctx *b = st->b;
  st_bstep step = {.in = in};
  char name[512] = "";
  /* shown before it is prepared: preparing reads the sources (a COPY's
   * checksum) and may fail, and both belong to the step */
  bool shown = in->kind == ST_DF_RUN || in->kind == ST_DF_COPY ||
               in->kind == ST_DF_ADD || in->kind == ST_DF_WORKDIR;
  if (shown) {
    st->pos++;
    step.num = ++b->step;
    step.t0 = st_bclock();
    step_title(st, &step, name, sizeof(name));
    st_bemit(b, ST_BUILD_STEP_START, step.num, name, NULL, 0);
  }
  int r = prepare(st, &step, err);
  step.numbered = shown;
  char key[ST_DIGEST_LEN], hit[ST_DIGEST_LEN];
  int found = 0;
  if (r == 0 && !b->o->no_cache && !st->missed &&
      (r = st_bkey(&step, key, err)) == 0 &&
      (found = st_cache_get(b->s, st->image, key, hit, err)) < 0)
    r = -1;
  if (r == 0 && found) {
    r = adopt_image(st, hit, err);
    if (r == 0 && step.numbered)
      st_bemit(b, ST_BUILD_STEP_CACHED, step.num, name, NULL, 0);
  } else if (r == 0 && step.complete &&
             (r = step.complete(st, &step, err)) < 0) {
    /* reported below */
  } else if (r == 0) {
    cleanup_free char *why = b->o->no_cache ? strdup("--no-cache")
                             : st->missed   ? steal_pointer(&st->why)
                                            : st_bexplain(st, &step);
    if (why == NULL)
      why = strdup("parent step rebuilt");
    if (step.numbered)
      st_bemit(b, ST_BUILD_STEP_MISS, step.num, name, why, 0);
    else if (!st->missed)
      st->why = steal_pointer(&why); /* told at the next shown step */
    st->missed = true;
    r = execute(st, &step, err);
    if (r == 0 && step.numbered)
      st_bemit(b, ST_BUILD_STEP_DONE, step.num, name, NULL,
               st_bclock() - step.t0);
  }
  if (r < 0 && step.numbered)
    st_bemit(b, ST_BUILD_STEP_ERROR, step.num, name,
             err && *err ? (*err)->msg : "failed", st_bclock() - step.t0);
  step_clear(&step);
  return r < 0 ? st_berr(st, in, err) : 0;
}

static int stage_arg(st_bstate *st, const st_df_instr *in, st_error **err) {
  st_expander x;
  st_bexpander(st, &x);
  for (size_t i = 0; i < in->n_pairs; i++)
    if (declare_arg(st->b, &st->args, &st->n_args, &x, &in->pairs[i], true,
                    err) < 0)
      return st_berr(st, in, err);
  return 0;
}

/* ---- FROM --------------------------------------------------------------- */

int st_bresolve_from(st_bctx *b, const char *from, char id[ST_DIGEST_LEN],
                     st_error **err) {
  size_t n = b->n_stages;
  st_bstage *sg = find_stage(b, from, n);
  if (sg) {
    if (!sg->built)
      return st_error_set(err, EINVAL,
                          "stage %s is used before it is built (a stage may "
                          "only use stages above it)",
                          from);
    memcpy(id, sg->image, ST_DIGEST_LEN);
    return 0;
  }
  st_reg_opts ro = {0};
  st_pull_result pr = {0};
  int r = st_image_ensure(
      b->s, from, b->o->pull ? ST_PULL_ALWAYS : ST_PULL_MISSING, &ro, &pr, err);
  if (r == 1)
    st_pull_result_clear(&pr);
  if (r < 0)
    return -1;
  st_image img;
  if (st_image_resolve(b->s, from, &img, err) < 0)
    return -1;
  memcpy(id, img.id, ST_DIGEST_LEN);
  st_image_clear(&img);
  return 0;
}

static int run_triggers(st_bstate *st, st_error **err);

static int stage_from(st_bstate *st, const st_df_instr *in, st_error **err) {
  st_bctx *b = st->b;
  st_expander x = {.lookup = global_lookup,
                   .ctx = b,
                   .escape = b->df.escape ? b->df.escape : '\\'};
  cleanup_free char *ref = NULL;
  if (in->n_args < 1 || st_expand_word(&x, in->args[0], &ref, err) < 0)
    return st_berr(st, in, err);
  if (*ref == '\0')
    return st_error_set(err, EINVAL,
                        "%s:%d: FROM: base name (%s) should not "
                        "be blank",
                        b->o->dockerfile_name, in->line, in->args[0]);
  st->pos = 1;
  int num = ++b->step;
  double t0 = st_bclock();
  char name[512];
  snprintf(name, sizeof(name), "[%s1/%d] FROM %s", st->stage->label,
           st->stage->n_steps, ref);
  st_bemit(b, ST_BUILD_STEP_START, num, name, NULL, 0);
  int r = 0;
  if (strcasecmp(ref, "scratch") == 0) {
    st->config = new_config();
    if (st->config == NULL)
      r = st_error_errno(err, ENOMEM, "FROM scratch");
  } else {
    char id[ST_DIGEST_LEN];
    r = st_bresolve_from(b, ref, id, err);
    if (r == 0)
      r = adopt_image(st, id, err);
  }
  if (r < 0) {
    st_bemit(b, ST_BUILD_STEP_ERROR, num, name, (*err)->msg, 0);
    return st_berr(st, in, err);
  }
  memcpy(st->base, st->image, ST_DIGEST_LEN);
  st_bemit(b, ST_BUILD_STEP_DONE, num, name, NULL, st_bclock() - t0);
  return run_triggers(st, err);
}

/* ONBUILD triggers of the base image run as if written after FROM. */
static int run_triggers(st_bstate *st, st_error **err) {
  json_t *ob = json_object_get(st_bconfig_cc(st), "OnBuild");
  if (!json_is_array(ob) || json_array_size(ob) == 0)
    return 0;
  cleanup_json json_t *triggers = json_deep_copy(ob);
  /* the child image does not inherit its base's triggers */
  json_object_set_new(st_bconfig_cc(st), "OnBuild", json_null());
  size_t i;
  json_t *t;
  json_array_foreach(triggers, i, t) {
    const char *text = json_string_value(t);
    cleanup_free char *file = NULL;
    if (text == NULL || asprintf(&file, "FROM scratch\n%s\n", text) < 0)
      return st_error_errno(err, ENOMEM, "ONBUILD");
    st_dockerfile df = {0};
    if (st_dockerfile_parse(file, strlen(file), "ONBUILD trigger", &df, err) <
        0)
      return -1;
    int r = df.n == 2
                ? do_step(st, &df.instrs[1], err)
                : st_error_set(err, EINVAL, "bad ONBUILD trigger %s", text);
    st_dockerfile_free(&df);
    if (r < 0)
      return -1;
  }
  return 0;
}

static void bstate_clear(st_bstate *st) {
  json_decref(st->config);
  st_layers_free(st->layers, st->n_layers);
  vars_free(st->args, st->n_args);
  free(st->why);
  memset(st, 0, sizeof(*st));
}

static int build_stage(st_bctx *b, st_bstage *sg, st_error **err) {
  st_bstate st = {.b = b, .stage = sg};
  int r = stage_from(&st, &b->df.instrs[sg->from], err);
  for (size_t i = sg->from + 1; r == 0 && i < sg->end; i++) {
    const st_df_instr *in = &b->df.instrs[i];
    r = in->kind == ST_DF_ARG ? stage_arg(&st, in, err) : do_step(&st, in, err);
  }
  if (r == 0 && *st.image == '\0') {
    /* FROM scratch with nothing after it: an image of no layers */
    r = commit_step(&st, st.config, NULL, sg->image, err);
  } else if (r == 0) {
    memcpy(sg->image, st.image, ST_DIGEST_LEN);
  }
  sg->built = r == 0;
  bstate_clear(&st);
  return r;
}

/* ---- the final image ----------------------------------------------------
 */

static int add_labels(st_bctx *b, char id[ST_DIGEST_LEN], st_error **err) {
  if (b->o->n_labels == 0)
    return 0;
  st_bstate st = {.b = b};
  int r = adopt_image(&st, id, err);
  json_t *labels =
      r == 0 ? json_object_get(st_bconfig_cc(&st), "Labels") : NULL;
  if (r == 0 && !json_is_object(labels)) {
    labels = json_object();
    json_object_set_new(st_bconfig_cc(&st), "Labels", labels);
  }
  for (size_t i = 0; r == 0 && i < b->o->n_labels; i++) {
    const char *kv = b->o->labels[i];
    const char *eq = strchr(kv, '=');
    cleanup_free char *k = eq ? strndup(kv, (size_t)(eq - kv)) : strdup(kv);
    if (k == NULL)
      r = st_error_errno(err, ENOMEM, "--label");
    else
      json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
  }
  if (r == 0)
    r = commit_step(&st, st.config, NULL, id, err);
  bstate_clear(&st);
  return r;
}

static int tag_final(st_bctx *b, const char *id, st_error **err) {
  if (st_tx_begin(b->s, err) < 0)
    return -1;
  if (st_cache_mark_output(b->s, id, err) < 0) {
    st_tx_rollback(b->s);
    return -1;
  }
  for (size_t i = 0; i < b->o->n_tags; i++)
    if (st_tag_set(b->s, b->o->tags[i], id, err) < 0) {
      st_tx_rollback(b->s);
      return -1;
    }
  return st_tx_commit(b->s, err);
}

static void export_steps(st_bctx *b, const char *id) {
  double t0 = st_bclock();
  int num = ++b->step;
  const char *name = "exporting to image";
  st_bemit(b, ST_BUILD_STEP_START, num, name, NULL, 0);
  char line[512];
  snprintf(line, sizeof(line), "writing image %s done", id);
  st_bemit(b, ST_BUILD_STEP_INFO, num, name, line, 0);
  for (size_t i = 0; i < b->o->n_tags; i++) {
    snprintf(line, sizeof(line), "naming to %s done", b->o->tags[i]);
    st_bemit(b, ST_BUILD_STEP_INFO, num, name, line, 0);
  }
  st_bemit(b, ST_BUILD_STEP_DONE, num, name, NULL, st_bclock() - t0);
}

static void warn_unused(st_bctx *b) {
  cleanup_buf st_buf w = ST_BUF_INIT;
  for (size_t i = 0; i < b->n_cli_args; i++)
    if (!b->cli_used[i] && !st_expand_proxy_arg(b->cli_args[i].name) &&
        strcmp(b->cli_args[i].name, "SOURCE_DATE_EPOCH") != 0)
      st_buf_printf(&w, "%s%s", w.len ? " " : "", b->cli_args[i].name);
  if (w.len == 0)
    return;
  cleanup_free char *msg = NULL;
  if (asprintf(&msg, "One or more build-args [%s] were not consumed", w.data) >
      0)
    st_bemit(b, ST_BUILD_WARNING, 0, NULL, msg, 0);
}

/* ---- set-up ------------------------------------------------------------- */

static int global_args(st_bctx *b, st_error **err) {
  if (global_defaults(b, err) < 0)
    return -1;
  st_expander x = {.lookup = global_lookup,
                   .ctx = b,
                   .escape = b->df.escape ? b->df.escape : '\\'};
  for (size_t i = 0; i < b->df.n && b->df.instrs[i].kind == ST_DF_ARG; i++)
    for (size_t k = 0; k < b->df.instrs[i].n_pairs; k++)
      if (declare_arg(b, &b->global, &b->n_global, &x,
                      &b->df.instrs[i].pairs[k], false, err) < 0)
        return -1;
  return 0;
}

static void source_date_epoch(st_bctx *b) {
  bool given;
  const char *v = cli_arg(b, "SOURCE_DATE_EPOCH", &given);
  if (!given)
    v = getenv("SOURCE_DATE_EPOCH");
  char *end;
  long long e = v && *v ? strtoll(v, &end, 10) : -1;
  b->epoch = v && *v && *end == '\0' && e >= 0 ? e : -1;
}

static bool hash_get(void *ctx, const struct stat *st,
                     char digest[ST_DIGEST_LEN]) {
  return st_filehashes_get(ctx, st, digest);
}

static void hash_put(void *ctx, const struct stat *st,
                     const char digest[ST_DIGEST_LEN]) {
  st_filehashes_put(ctx, st, digest);
}

static bool sum_get(void *ctx, const char *fp, char sum[ST_DIGEST_LEN]) {
  return st_filehashes_sum_get(ctx, fp, sum);
}

static void sum_put(void *ctx, const char *fp, const char *sum) {
  st_filehashes_sum_put(ctx, fp, sum);
}

static int open_context(st_bctx *b, st_error **err) {
  const st_build_opts *o = b->o;
  if (o->ignore_text && b->ignore == NULL &&
      st_ignore_compile(o->ignore_text, o->ignore_len, &b->ignore, err) < 0)
    return st_error_wrap(err, ".dockerignore");
  if (o->context && st_ctx_open(o->context, b->ignore, &b->ctx, err) < 0)
    return -1;
  st_error *e = NULL;
  if (b->ctx && st_filehashes_open(b->s, &b->hashes, &e) == 0) {
    b->hash_ops = (st_ctx_hashes){.get = hash_get,
                                  .put = hash_put,
                                  .sum_get = sum_get,
                                  .sum_put = sum_put,
                                  .ctx = b->hashes};
    st_ctx_set_hashes(b->ctx, &b->hash_ops);
  }
  st_error_free(e); /* without it every file is read: slower, not wrong */
  return 0;
}

static void internal_step(st_bctx *b, const char *name) {
  int num = ++b->step;
  st_bemit(b, ST_BUILD_STEP_START, num, name, NULL, 0);
  st_bemit(b, ST_BUILD_STEP_DONE, num, name, NULL, 0);
}

static void bctx_clear(st_bctx *b) {
  st_bcleanup(b);
  st_dockerfile_free(&b->df);
  for (size_t i = 0; i < b->n_stages; i++)
    free(b->stages[i].name);
  free(b->stages);
  vars_free(b->cli_args, b->n_cli_args);
  vars_free(b->global, b->n_global);
  free(b->cli_used);
  st_ctx_free(b->ctx);
  st_filehashes_close(b->hashes);
  st_ignore_free(b->ignore);
}

/* For UndefinedVar: whether a base image sets name. An image this store
 * does not have counts as setting it (no false warning). */
static bool base_env(void *ctx, const char *image, const char *name) {
  st_store *s = ctx;
  st_image img;
  json_t *config = NULL;
  if (st_image_resolve(s, image, &img, NULL) < 0)
    return true;
  bool set =
      st_config_load(s, img.id, &config, NULL) == 0 &&
      st_benv_get(json_object_get(json_object_get(config, "config"), "Env"),
                  name) != NULL;
  json_decref(config);
  st_image_clear(&img);
  return set;
}

static int lint(st_bctx *b, const st_dockerfile *df, st_lint_finding **out,
                size_t *n, bool *error, st_error **err) {
  const st_build_opts *o = b->o;
  if (o->ignore_text && b->ignore == NULL &&
      st_ignore_compile(o->ignore_text, o->ignore_len, &b->ignore, err) < 0)
    return st_error_wrap(err, ".dockerignore");
  st_lint_opts lo = {.ignore = b->ignore,
                     .build_args = o->build_args,
                     .n_build_args = o->n_build_args,
                     .base_env = base_env,
                     .base_env_ctx = b->s};
  return st_lint(df, &lo, out, n, error, err);
}

int st_build_check(st_store *s, const st_build_opts *o, st_lint_finding **out,
                   size_t *n, bool *error, st_error **err) {
  st_bctx b = {.s = s, .o = o, .epoch = -1};
  int r = st_dockerfile_parse(o->dockerfile, o->dockerfile_len,
                              o->dockerfile_name, &b.df, err);
  if (r == 0)
    r = lint(&b, &b.df, out, n, error, err);
  bctx_clear(&b);
  return r;
}

/* A normal build reports the checks as warnings, as BuildKit does; a
 * "# check=error=true" directive makes them fatal. */
static int warn_checks(st_bctx *b, st_error **err) {
  st_lint_finding *f = NULL;
  size_t n = 0;
  bool error = false;
  if (lint(b, &b->df, &f, &n, &error, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *msg = NULL;
    if (asprintf(&msg, "%s: %s (line %d)", f[i].rule, f[i].message, f[i].line) >
        0)
      st_bemit(b, ST_BUILD_WARNING, 0, NULL, msg, 0);
  }
  st_lint_free(f, n);
  if (error)
    return st_error_set(err, EINVAL,
                        "%zu build check%s failed and the Dockerfile asks "
                        "for check=error=true",
                        n, n == 1 ? "" : "s");
  return 0;
}

static int run_build(st_bctx *b, char id_out[ST_DIGEST_LEN], st_error **err) {
  const st_build_opts *o = b->o;
  char what[256];
  snprintf(what, sizeof(what), "[internal] load build definition from %s",
           o->dockerfile_name);
  internal_step(b, what);
  if (st_dockerfile_parse(o->dockerfile, o->dockerfile_len, o->dockerfile_name,
                          &b->df, err) < 0)
    return -1;
  if (warn_checks(b, err) < 0)
    return -1;
  if (o->ignore_text)
    internal_step(b, "[internal] load .dockerignore");
  st_bstage *target = NULL;
  if (parse_cli_args(b, err) < 0 || global_args(b, err) < 0 ||
      open_context(b, err) < 0 || split_stages(b, err) < 0 ||
      pick_target(b, &target, err) < 0)
    return -1;
  source_date_epoch(b);
  for (size_t i = 0; i < b->n_stages; i++)
    if (b->stages[i].needed && build_stage(b, &b->stages[i], err) < 0)
      return -1;
  memcpy(id_out, target->image, ST_DIGEST_LEN);
  if (add_labels(b, id_out, err) < 0 || tag_final(b, id_out, err) < 0)
    return -1;
  export_steps(b, id_out);
  warn_unused(b);
  return 0;
}

int st_build(st_store *s, const st_build_opts *o, char id_out[ST_DIGEST_LEN],
             st_error **err) {
  st_bctx b = {.s = s, .o = o, .epoch = -1};
  st_brun_sweep(s);
  int r = run_build(&b, id_out, err);
  bctx_clear(&b);
  return r;
}
