/* Rules about single instructions and their repetition in a stage:
 * NoEmptyContinuation, JSONArgsRecommended, MaintainerDeprecated,
 * MultipleInstructionsDisallowed, LegacyKeyValueFormat,
 * SecretsUsedInArgOrEnv, ExposeProtoCasing, ExposeInvalidFormat. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/lint_internal.h"
#include "util/cleanup.h"

/* The parser reports "LINE:empty continuation line" in df->warnings. */
static void check_continuations(lint_ctx *c) {
  for (size_t i = 0; i < c->df->n_warnings; i++) {
    const char *w = c->df->warnings[i];
    char *end;
    long line = strtol(w, &end, 10);
    if (end == w || *end != ':' ||
        strcasestr(end, "empty continuation") == NULL)
      continue;
    lint_add(c, "NoEmptyContinuation", (int)line, "Empty continuation line");
  }
}

/* Docker's secret detector: a '_'-separated word of the name is a secret
 * word, and none is one of the words that mark it harmless. */
static bool secret_name(const char *key) {
  static const char *const deny[] = {
      "apikey", "auth",   "credential", "credentials", "key", "password",
      "pword",  "passwd", "secret",     "token",       NULL};
  static const char *const allow[] = {"public", "file", "version", NULL};
  bool denied = false;
  for (const char *p = key; *p;) {
    size_t len = strcspn(p, "_");
    for (size_t i = 0; allow[i]; i++)
      if (strlen(allow[i]) == len && strncasecmp(p, allow[i], len) == 0)
        return false;
    for (size_t i = 0; deny[i]; i++)
      if (strlen(deny[i]) == len && strncasecmp(p, deny[i], len) == 0)
        denied = true;
    p += len;
    if (*p == '_')
      p++;
  }
  return denied;
}

static void check_secrets(lint_ctx *c, const st_df_instr *in) {
  const char *what = in->kind == ST_DF_ARG ? "ARG" : "ENV";
  for (size_t i = 0; i < in->n_pairs; i++)
    if (secret_name(in->pairs[i].key))
      lint_add(c, "SecretsUsedInArgOrEnv", in->line,
               "Do not use ARG or ENV instructions for sensitive data (%s "
               "\"%s\")",
               what, in->pairs[i].key);
}

/* [ip:][hostport:]port[/proto], split as Docker does. */
static void check_expose_port(lint_ctx *c, const st_df_instr *in,
                              const char *raw) {
  const char *slash = strrchr(raw, '/');
  const char *last_colon = strrchr(raw, ':');
  if (slash && (last_colon == NULL || slash > last_colon) && slash[1] &&
      !lint_is_lower(slash + 1))
    lint_add(c, "ExposeProtoCasing", in->line,
             "Defined protocol '%s' in EXPOSE instruction should be "
             "lowercase",
             raw);
  /* One colon: "host:container"; more: "ip:host:container". A part before
   * the container port that is not empty is a mapping. */
  if (last_colon && last_colon != raw)
    lint_add(c, "ExposeInvalidFormat", in->line,
             "EXPOSE instruction should not define an IP address or "
             "host-port mapping, found '%s'",
             raw);
}

typedef struct once {
  const st_df_instr *cmd, *entrypoint, *healthcheck;
} once;

/* Only the last CMD/ENTRYPOINT/HEALTHCHECK counts: the earlier one is
 * reported, at its own line, as Docker does. */
static void check_once(lint_ctx *c, const st_df_instr *in,
                       const st_df_instr **prev) {
  if (*prev)
    lint_add(c, "MultipleInstructionsDisallowed", (*prev)->line,
             "Multiple %s instructions should not be used in the same stage "
             "because only the last one will be used",
             in->keyword);
  *prev = in;
}

static void check_instr(lint_ctx *c, lint_stage *s, once *o,
                        const st_df_instr *in) {
  switch (in->kind) {
  case ST_DF_CMD:
  case ST_DF_ENTRYPOINT:
    check_once(c, in, in->kind == ST_DF_CMD ? &o->cmd : &o->entrypoint);
    if (!in->json && !(s && s->shell_set))
      lint_add(c, "JSONArgsRecommended", in->line,
               "JSON arguments recommended for %s to prevent unintended "
               "behavior related to OS signals",
               in->keyword);
    break;
  case ST_DF_HEALTHCHECK:
    check_once(c, in, &o->healthcheck);
    break;
  case ST_DF_MAINTAINER:
    lint_add(c, "MaintainerDeprecated", in->line,
             "Maintainer instruction is deprecated in favor of using label");
    break;
  case ST_DF_ENV:
  case ST_DF_LABEL:
    if (in->legacy)
      lint_add(c, "LegacyKeyValueFormat", in->line,
               "\"%s key=value\" should be used instead of legacy \"%s key "
               "value\" format",
               in->keyword, in->keyword);
    if (in->kind == ST_DF_ENV)
      check_secrets(c, in);
    break;
  case ST_DF_ARG:
    check_secrets(c, in);
    break;
  case ST_DF_EXPOSE:
    for (size_t i = 0; i < in->n_args; i++)
      check_expose_port(c, in, in->args[i]);
    break;
  case ST_DF_SHELL:
    if (s)
      s->shell_set = true;
    break;
  case ST_DF_FROM:
  case ST_DF_RUN:
  case ST_DF_COPY:
  case ST_DF_ADD:
  case ST_DF_WORKDIR:
  case ST_DF_USER:
  case ST_DF_VOLUME:
  case ST_DF_STOPSIGNAL:
  case ST_DF_ONBUILD:
  default:
    break;
  }
}

void lint_instr_rules(lint_ctx *c) {
  check_continuations(c);
  lint_stage *s = NULL;
  once o = {0};
  size_t stage = 0;
  for (size_t i = 0; i < c->df->n; i++) {
    const st_df_instr *in = &c->df->instrs[i];
    if (in->kind == ST_DF_FROM) {
      s = &c->stages[stage++];
      s->shell_set = s->parent >= 0 && c->stages[s->parent].shell_set;
      o = (once){0};
      continue;
    }
    check_instr(c, s, &o, in);
  }
}
