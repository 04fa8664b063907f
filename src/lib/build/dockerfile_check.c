/* The rules BuildKit's instructions package applies to each parsed
 * instruction: argument counts, the flags each instruction accepts (and
 * their types), FROM's stage name, HEALTHCHECK's forms, ONBUILD's
 * triggers. Messages are Docker's. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/dockerfile_int.h"
#include "util/cleanup.h"

typedef enum { F_STRING, F_BOOL, F_STRINGS } flag_type;

typedef struct flag_spec {
  const char *name;
  flag_type type;
} flag_spec;

static const flag_spec no_flags[] = {{NULL, F_STRING}};
static const flag_spec from_flags[] = {{"platform", F_STRING},
                                       {NULL, F_STRING}};
static const flag_spec run_flags[] = {{"mount", F_STRINGS},
                                      {"network", F_STRING},
                                      {"security", F_STRING},
                                      {NULL, F_STRING}};
static const flag_spec copy_flags[] = {
    {"chown", F_STRING}, {"from", F_STRING},     {"chmod", F_STRING},
    {"link", F_BOOL},    {"exclude", F_STRINGS}, {"parents", F_BOOL},
    {NULL, F_STRING}};
static const flag_spec add_flags[] = {
    {"chown", F_STRING},      {"chmod", F_STRING},    {"link", F_BOOL},
    {"keep-git-dir", F_BOOL}, {"checksum", F_STRING}, {"unpack", F_BOOL},
    {"exclude", F_STRINGS},   {NULL, F_STRING}};
static const flag_spec health_flags[] = {
    {"interval", F_STRING},     {"timeout", F_STRING},
    {"start-period", F_STRING}, {"start-interval", F_STRING},
    {"retries", F_STRING},      {NULL, F_STRING}};

static const char *const instruction_names[] = {
    "add",        "arg",     "cmd",     "copy",        "entrypoint",
    "env",        "expose",  "from",    "healthcheck", "label",
    "maintainer", "onbuild", "run",     "shell",       "stopsignal",
    "user",       "volume",  "workdir", NULL};

static int fail(st_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(st_error **err, const char *fmt, ...) {
  cleanup_free char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  int ret = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (ret < 0)
    return st_error_set(err, ENOMEM, "out of memory");
  return st_error_set(err, EINVAL, "%s", msg);
}

/* Levenshtein distance, capped: a and b are short option names. */
static size_t distance(const char *a, const char *b) {
  size_t lb = strlen(b), row[32];
  if (lb >= 32)
    return 99;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; a[i - 1]; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      best = up + 1 < best ? up + 1 : best;
      best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* The closest option within distance 2 (Docker's suggest.Search), or
 * NULL. */
static const char *suggest(const char *val, const char *const *opts,
                           size_t stride) {
  const char *match = NULL;
  size_t best = 3;
  for (const char *const *o = opts; *o;
       o = (const char *const *)((const char *)o + stride)) {
    size_t d = distance(val, *o);
    if (d < best) {
      best = d;
      match = *o;
    }
  }
  return match;
}

static const flag_spec *find_flag(const flag_spec *spec, const char *name) {
  for (; spec->name; spec++)
    if (strcmp(spec->name, name) == 0)
      return spec;
  return NULL;
}

static int unknown_flag(const flag_spec *spec, const char *name,
                        st_error **err) {
  const char *m = suggest(name, &spec->name, sizeof(*spec));
  if (m)
    return fail(err, "unknown flag: --%s (did you mean %s?)", name, m);
  return fail(err, "unknown flag: --%s", name);
}

static bool repeated(const st_df_instr *in, size_t i) {
  for (size_t j = 0; j < i; j++)
    if (strcmp(in->flags[j].name, in->flags[i].name) == 0)
      return true;
  return false;
}

/* BuildKit's BFlags.Parse for the flags that spec allows. */
static int check_flags(const st_df_instr *in, const flag_spec *spec,
                       st_error **err) {
  for (size_t i = 0; i < in->n_flags; i++) {
    const char *name = in->flags[i].name, *v = in->flags[i].value;
    const flag_spec *f = find_flag(spec, name);
    if (f == NULL)
      return unknown_flag(spec, name, err);
    if (f->type != F_STRINGS && repeated(in, i))
      return fail(err, "duplicate flag specified: --%s", name);
    if ((f->type != F_BOOL && v == NULL) ||
        (v && *v == '\0' && f->type == F_BOOL))
      return fail(err, "missing a value on flag: --%s", name);
    if (f->type == F_BOOL && v && strcasecmp(v, "true") != 0 &&
        strcasecmp(v, "false") != 0)
      return fail(err, "expecting boolean value for flag --%s, not: %s", name,
                  v);
  }
  return 0;
}

static int unknown_instruction(const char *keyword, st_error **err) {
  cleanup_free char *lower = strdup(keyword);
  if (lower == NULL)
    return st_error_set(err, ENOMEM, "out of memory");
  bool all_lower = true, all_upper = true;
  for (char *c = lower; *c; c++) {
    all_lower = all_lower && !(*c >= 'A' && *c <= 'Z');
    all_upper = all_upper && !(*c >= 'a' && *c <= 'z');
    if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c | 0x20);
  }
  const char *m = suggest(lower, instruction_names, sizeof(char *));
  if (m == NULL)
    return fail(err, "unknown instruction: %s", keyword);
  char s[16] = "";
  for (size_t i = 0; m[i] && i < sizeof(s) - 1; i++)
    s[i] = all_upper && !all_lower ? (char)(m[i] & ~0x20) : m[i];
  return fail(err, "unknown instruction: %s (did you mean %s?)", keyword, s);
}

static int at_least_one(const st_df_instr *in, st_error **err) {
  return fail(err, "%s requires at least one argument",
              st_df_kind_name(in->kind));
}

/* FROM IMAGE [AS NAME]: the name starts with a letter and holds only
 * lower-case letters, digits, '-', '_' and '.', once lowered. */
static int check_from(const st_df_instr *in, st_error **err) {
  if (in->n_args == 3 && strcasecmp(in->args[1], "as") == 0) {
    const char *s = in->args[2];
    bool ok = (s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z';
    for (; ok && *s; s++)
      ok = ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') ||
           (*s >= '0' && *s <= '9') || strchr("-_.", *s);
    if (!ok) {
      cleanup_free char *q = df_quote(in->args[2]);
      return fail(err,
                  "invalid name for build stage: %s, name can't start with a "
                  "number or contain symbols",
                  q ? q : in->args[2]);
    }
  } else if (in->n_args != 1) {
    return fail(err, "FROM requires either one or three arguments");
  }
  return check_flags(in, from_flags, err);
}

static int check_copy(const st_df_instr *in, const flag_spec *spec,
                      st_error **err) {
  const char *name = st_df_kind_name(in->kind);
  if (in->n_args < 2)
    return fail(err,
                "%s requires at least two arguments, but only one was "
                "provided. Destination could not be determined",
                name);
  if (check_flags(in, spec, err) < 0)
    return -1;
  int r = df_heredoc_word(in->args[in->n_args - 1], NULL, NULL, NULL);
  if (r < 0)
    return st_error_set(err, ENOMEM, "out of memory");
  if (r > 0)
    return fail(err, "%s cannot accept a heredoc as a destination", name);
  return 0;
}

/* ENV, LABEL (flags first) and ARG (no flag check, as in Docker). */
static int check_pairs(const st_df_instr *in, bool flags, st_error **err) {
  if (flags && check_flags(in, no_flags, err) < 0)
    return -1;
  if (in->n_pairs == 0)
    return at_least_one(in, err);
  for (size_t i = 0; i < in->n_pairs; i++)
    if (in->pairs[i].key[0] == '\0')
      return fail(err, "%s names can not be blank", st_df_kind_name(in->kind));
  return 0;
}

/* WORKDIR, USER, MAINTAINER, STOPSIGNAL: one argument text. */
static int check_one(const st_df_instr *in, bool flags, st_error **err) {
  if (in->rest == NULL)
    return fail(err, "%s requires exactly one argument",
                st_df_kind_name(in->kind));
  return flags ? check_flags(in, no_flags, err) : 0;
}

static int check_volume(const st_df_instr *in, st_error **err) {
  if (in->n_args == 0)
    return at_least_one(in, err);
  if (check_flags(in, no_flags, err) < 0)
    return -1;
  for (size_t i = 0; i < in->n_args; i++)
    if (in->args[i][strspn(in->args[i], " \t\n\v\f\r")] == '\0')
      return fail(err, "VOLUME specified can not be an empty string");
  return 0;
}

static int check_shell(const st_df_instr *in, st_error **err) {
  if (check_flags(in, no_flags, err) < 0)
    return -1;
  if (in->n_args == 0 && in->rest == NULL)
    return at_least_one(in, err);
  if (!in->json)
    return fail(err, "SHELL requires the arguments to be in JSON form");
  return 0;
}

static void drop_args(st_df_instr *in) {
  for (size_t i = 0; i < in->n_args; i++)
    free(in->args[i]);
  free(in->args);
  in->args = NULL;
  in->n_args = 0;
}

static void drop_sub(st_df_instr *in) {
  if (in->sub) {
    df_instr_clear(in->sub);
    free(in->sub);
    in->sub = NULL;
  }
}

/* HEALTHCHECK NONE (flags ignored, as by Docker) or HEALTHCHECK [flags]
 * CMD command; normalizes to args ["NONE"] or sub. */
static int check_health(st_df_instr *in, st_error **err) {
  if (in->n_args == 0)
    return at_least_one(in, err);
  st_df_instr *cmd = in->sub;
  bool empty = cmd == NULL || (cmd->n_args == 0 && cmd->rest == NULL);
  if (strcasecmp(in->args[0], "NONE") == 0) {
    if (!empty)
      return fail(err, "HEALTHCHECK NONE takes no arguments");
    drop_sub(in);
    memcpy(in->args[0], "NONE", 4); /* as written: any case */
    return 0;
  }
  if (check_flags(in, health_flags, err) < 0)
    return -1;
  if (strcasecmp(in->args[0], "CMD") != 0) {
    cleanup_free char *q = df_quote(in->args[0]);
    return fail(err, "Unknown type %s in HEALTHCHECK (try CMD)",
                q ? q : in->args[0]);
  }
  if (empty)
    return fail(err, "Missing command after HEALTHCHECK CMD");
  in->json = cmd->json;
  drop_args(in);
  return 0;
}

static int check_onbuild(const st_df_instr *in, st_error **err) {
  if (in->rest == NULL)
    return at_least_one(in, err);
  if (check_flags(in, no_flags, err) < 0)
    return -1;
  const st_df_instr *t = in->sub;
  if (t->kind == ST_DF_ONBUILD)
    return fail(err, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (t->kind == ST_DF_FROM || t->kind == ST_DF_MAINTAINER)
    return fail(err, "%s isn't allowed as an ONBUILD trigger",
                st_df_kind_name(t->kind));
  if (t->kind == DF_UNKNOWN)
    return unknown_instruction(t->keyword, err);
  return 0;
}

int df_check_instr(st_df_instr *in, st_error **err) {
  switch (in->kind) {
  case ST_DF_FROM:
    return check_from(in, err);
  case ST_DF_RUN:
    return check_flags(in, run_flags, err);
  case ST_DF_CMD:
  case ST_DF_ENTRYPOINT:
    return check_flags(in, no_flags, err);
  case ST_DF_SHELL:
    return check_shell(in, err);
  case ST_DF_COPY:
    return check_copy(in, copy_flags, err);
  case ST_DF_ADD:
    return check_copy(in, add_flags, err);
  case ST_DF_ENV:
  case ST_DF_LABEL:
    return check_pairs(in, true, err);
  case ST_DF_ARG:
    return check_pairs(in, false, err);
  case ST_DF_WORKDIR:
  case ST_DF_USER:
  case ST_DF_MAINTAINER:
    return check_one(in, true, err);
  case ST_DF_STOPSIGNAL:
    return check_one(in, false, err);
  case ST_DF_EXPOSE:
    if (in->n_args == 0)
      return at_least_one(in, err);
    return check_flags(in, no_flags, err);
  case ST_DF_VOLUME:
    return check_volume(in, err);
  case ST_DF_HEALTHCHECK:
    return check_health(in, err);
  case ST_DF_ONBUILD:
    return check_onbuild(in, err);
  default:
    return unknown_instruction(in->keyword, err);
  }
}
