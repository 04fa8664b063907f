/* Rules that need the variables of each stage as the build would see
 * them: UndefinedVar, WorkdirRelativePath, CopyIgnoredFile. */
#include <stdlib.h>
#include <string.h>

#include "build/expand.h"
#include "build/lint_internal.h"
#include "util/cleanup.h"

typedef struct walk {
  lint_ctx *c;
  lint_stage *s;
  const char *base; /* the external image the stage chain starts from */
  const st_df_instr *in;
  lint_vars reported; /* per instruction: each variable once */
} walk;

static bool base_sets(const walk *w, const char *name) {
  if (w->base == NULL || strcmp(w->base, "scratch") == 0)
    return false;
  const st_lint_opts *o = w->c->o;
  if (o && o->base_env)
    return o->base_env(o->base_env_ctx, w->base, name);
  return strcmp(name, "PATH") == 0;
}

static void used(void *ctx, const char *name, bool declared) {
  walk *w = ctx;
  if (declared || base_sets(w, name) || lint_vars_find(&w->reported, name) >= 0)
    return;
  /* Docker passes these to RUN from --build-arg without an ARG. */
  if (st_expand_proxy_arg(name))
    return;
  if (lint_vars_set(&w->reported, name, NULL) < 0) {
    w->c->oom = true;
    return;
  }
  const char *s = lint_suggest(name, &w->s->env, NULL);
  if (s)
    lint_add(w->c, "UndefinedVar", w->in->line,
             "Usage of undefined variable '$%s' (did you mean $%s?)", name, s);
  else
    lint_add(w->c, "UndefinedVar", w->in->line,
             "Usage of undefined variable '$%s'", name);
}

/* Expands s in the stage; NULL out only scans. */
static void scan(walk *w, const char *s, char **out) {
  if (s && lint_expand(s, w->c->escape, &w->s->env, NULL, used, w, out) < 0)
    w->c->oom = true;
}

static void set_var(walk *w, const char *name, const char *value) {
  if (lint_vars_set(&w->s->env, name, value) < 0)
    w->c->oom = true;
}

static void walk_arg(walk *w, const st_df_instr *in) {
  for (size_t i = 0; i < in->n_pairs; i++) {
    cleanup_free char *v = NULL;
    scan(w, in->pairs[i].value, &v);
    /* "ARG NAME" in a stage takes the global ARG's value. */
    long g = lint_vars_find(&w->c->global, in->pairs[i].key);
    if (v == NULL && g >= 0)
      set_var(w, in->pairs[i].key, w->c->global.values[g]);
    else
      set_var(w, in->pairs[i].key, v);
  }
}

/* ENV expands every value with the variables before it, then sets. */
static void walk_env(walk *w, const st_df_instr *in) {
  char **vals = calloc(in->n_pairs + 1, sizeof(*vals));
  if (vals == NULL) {
    w->c->oom = true;
    return;
  }
  for (size_t i = 0; i < in->n_pairs; i++)
    scan(w, in->pairs[i].value, &vals[i]);
  for (size_t i = 0; i < in->n_pairs; i++) {
    set_var(w, in->pairs[i].key, vals[i] ? vals[i] : "");
    free(vals[i]);
  }
  free(vals);
}

/* Go's path.Clean without the leading "/": "./a//b/" -> "a/b"; the
 * context root gives "". */
static char *clean_path(const char *p) {
  char *out = malloc(strlen(p) + 1);
  if (out == NULL)
    return NULL;
  size_t n = 0;
  while (*p) {
    size_t len = strcspn(p, "/");
    if (len == 2 && p[0] == '.' && p[1] == '.') {
      while (n > 0 && out[n - 1] != '/')
        n--;
      if (n > 0)
        n--;
    } else if (len > 0 && !(len == 1 && p[0] == '.')) {
      if (n > 0)
        out[n++] = '/';
      memcpy(out + n, p, len);
      n += len;
    }
    p += len;
    if (*p == '/')
      p++;
  }
  out[n] = '\0';
  return out;
}

/* Docker leaves the check off when an exception ("!x") could re-include
 * what a pattern excludes, and reports the root only for "*"-like
 * patterns. */
static bool ignore_usable(const st_ignore *ig, bool *root_ignored) {
  size_t n = st_ignore_count(ig);
  *root_ignored = false;
  for (size_t i = 0; i < n; i++) {
    const char *p = st_ignore_pattern(ig, i);
    if (p[0] == '!')
      return false;
    if (strcmp(p, "*") == 0 || strcmp(p, "**") == 0 || strcmp(p, "**/*") == 0)
      *root_ignored = true;
  }
  return n > 0;
}

static bool is_remote(const char *src) {
  return strstr(src, "://") || strncmp(src, "git@", 4) == 0;
}

static void check_ignored(walk *w, const st_df_instr *in, const char *src) {
  const st_ignore *ig = w->c->o ? w->c->o->ignore : NULL;
  bool root_ignored;
  if (ig == NULL || !ignore_usable(ig, &root_ignored))
    return;
  if (strncmp(src, "<<", 2) == 0 || is_remote(src))
    return;
  cleanup_free char *path = clean_path(src);
  if (path == NULL) {
    w->c->oom = true;
    return;
  }
  bool root = *path == '\0';
  if (root ? !root_ignored : !st_ignore_match(ig, path))
    return;
  lint_add(w->c, "CopyIgnoredFile", in->line,
           "Attempting to %s file \"%s\" that is excluded by .dockerignore",
           in->kind == ST_DF_ADD ? "Add" : "Copy", root ? "." : path);
}

static void walk_copy(walk *w, const st_df_instr *in) {
  scan(w, lint_flag(in, "chown"), NULL);
  scan(w, lint_flag(in, "chmod"), NULL);
  bool from_context = lint_flag(in, "from") == NULL;
  for (size_t i = 0; i < in->n_args; i++) {
    cleanup_free char *v = NULL;
    scan(w, in->args[i], &v);
    if (v && from_context && i + 1 < in->n_args)
      check_ignored(w, in, v);
  }
}

/* Only the first WORKDIR of a stage chain matters: the later ones are
 * relative to it. A path starting with a variable may come from the base
 * image and is left alone. */
static void walk_workdir(walk *w, const st_df_instr *in) {
  cleanup_free char *v = NULL;
  scan(w, in->rest, &v);
  if (!w->s->workdir_set && v && v[0] != '/' && in->rest && in->rest[0] != '$')
    lint_add(w->c, "WorkdirRelativePath", in->line,
             "Relative workdir \"%s\" can have unexpected results if the base "
             "image changes",
             v);
  w->s->workdir_set = true;
}

static void walk_instr(walk *w, const st_df_instr *in) {
  switch (in->kind) {
  case ST_DF_ARG:
    walk_arg(w, in);
    break;
  case ST_DF_ENV:
    walk_env(w, in);
    break;
  case ST_DF_LABEL:
    for (size_t i = 0; i < in->n_pairs; i++) {
      scan(w, in->pairs[i].key, NULL);
      scan(w, in->pairs[i].value, NULL);
    }
    break;
  case ST_DF_COPY:
  case ST_DF_ADD:
    walk_copy(w, in);
    break;
  case ST_DF_WORKDIR:
    walk_workdir(w, in);
    break;
  case ST_DF_USER:
  case ST_DF_STOPSIGNAL:
    scan(w, in->rest, NULL);
    break;
  case ST_DF_EXPOSE:
  case ST_DF_VOLUME:
    for (size_t i = 0; i < in->n_args; i++)
      scan(w, in->args[i], NULL);
    break;
  /* The shell in the container expands RUN, CMD, ENTRYPOINT; ONBUILD is
   * expanded in the images built on this one. */
  case ST_DF_FROM:
  case ST_DF_RUN:
  case ST_DF_CMD:
  case ST_DF_ENTRYPOINT:
  case ST_DF_SHELL:
  case ST_DF_HEALTHCHECK:
  case ST_DF_ONBUILD:
  case ST_DF_MAINTAINER:
  default:
    break;
  }
}

static void enter_stage(walk *w, lint_stage *s) {
  w->s = s;
  w->base = s->image;
  if (s->parent < 0)
    return;
  const lint_stage *p = &w->c->stages[s->parent];
  if (lint_vars_copy(&s->env, &p->env) < 0)
    w->c->oom = true;
  s->workdir_set = p->workdir_set;
  while (p->parent >= 0)
    p = &w->c->stages[p->parent];
  w->base = p->image;
}

void lint_env_rules(lint_ctx *c) {
  walk w = {.c = c};
  size_t stage = 0;
  for (size_t i = 0; i < c->df->n && !c->oom; i++) {
    const st_df_instr *in = &c->df->instrs[i];
    if (in->kind == ST_DF_FROM) {
      enter_stage(&w, &c->stages[stage++]);
      continue;
    }
    if (w.s == NULL)
      continue; /* global ARGs: checked by the FROM rules */
    w.in = in;
    walk_instr(&w, in);
    lint_vars_clear(&w.reported);
  }
  lint_vars_clear(&w.reported);
}
