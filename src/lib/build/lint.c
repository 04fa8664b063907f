/* The linter's driver: the rule table, the "# check=" directive, the list
 * of stages, and the findings. The rules live in lint_stage.c,
 * lint_instr.c, lint_vars.c and lint_cache.c. */
#include "build/lint.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "build/lint_internal.h"
#include "util/cleanup.h"

#define DOCS "https://docs.docker.com/go/dockerfile/rule/"

typedef struct lint_rule {
  const char *name, *description, *url, *explain;
} lint_rule;

/* Docker's rules in the order of its reference, then strata's. The
 * explanations are ours. */
static const lint_rule rules[] = {
    {"StageNameCasing", "Stage names should be lowercase",
     DOCS "stage-name-casing/",
     "Stage names are identifiers; keeping them lowercase tells them apart\n"
     "from instruction keywords. Write FROM alpine AS builder-base.\n"},
    {"FromAsCasing",
     "The 'as' keyword should match the case of the 'from' keyword",
     DOCS "from-as-casing/",
     "Write FROM ... AS name, or from ... as name, not a mix.\n"},
    {"NoEmptyContinuation",
     "Empty continuation lines will become errors in a future release",
     DOCS "no-empty-continuation/",
     "A line continued with the escape character is followed by an empty\n"
     "line. Remove the empty line, or end the instruction before it.\n"},
    {"ConsistentInstructionCasing",
     "All commands within the Dockerfile should use the same casing (either "
     "upper or lower)",
     DOCS "consistent-instruction-casing/",
     "Instruction keywords are case-insensitive, but mixing cases makes a\n"
     "Dockerfile harder to read. Use the casing most of the file uses.\n"},
    {"DuplicateStageName", "Stage names should be unique",
     DOCS "duplicate-stage-name/",
     "Two stages with one name make --target and COPY --from ambiguous:\n"
     "rename one of them.\n"},
    {"ReservedStageName", "Reserved words should not be used as stage names",
     DOCS "reserved-stage-name/",
     "\"scratch\" and \"context\" have a meaning of their own in FROM and\n"
     "COPY --from; a stage of that name is confusing at best.\n"},
    {"JSONArgsRecommended",
     "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended "
     "behavior related to OS signals",
     DOCS "json-args-recommended/",
     "In shell form the command runs under /bin/sh -c, so the shell is PID\n"
     "1 and the program never receives SIGTERM: `docker stop` waits for the\n"
     "timeout and kills it. Write CMD [\"prog\", \"arg\"]; if a shell is\n"
     "needed, use exec in it or set SHELL explicitly.\n"},
    {"MaintainerDeprecated",
     "The MAINTAINER instruction is deprecated, use a label instead to define "
     "an image author",
     DOCS "maintainer-deprecated/",
     "Write LABEL org.opencontainers.image.authors=\"name <mail>\".\n"},
    {"UndefinedArgInFrom", "FROM command must use declared ARGs",
     DOCS "undefined-arg-in-from/",
     "A variable in FROM must be an ARG declared before the first FROM (or a\n"
     "predefined platform ARG); otherwise it expands to an empty string.\n"},
    {"WorkdirRelativePath",
     "Relative workdir without an absolute workdir declared within the build "
     "can have unexpected results if the base image changes",
     DOCS "workdir-relative-path/",
     "A relative WORKDIR is resolved against the base image's working\n"
     "directory, which can change with the image. Set an absolute WORKDIR\n"
     "first in the stage.\n"},
    {"UndefinedVar", "Variables should be defined before their use",
     DOCS "undefined-var/",
     "The variable is neither an ARG nor an ENV of the stage (or of the\n"
     "stage it is built on), so it expands to an empty string. Declare it\n"
     "with ARG or ENV first, or check its spelling.\n"},
    {"MultipleInstructionsDisallowed",
     "Multiple instructions of the same type should not be used in the same "
     "stage",
     DOCS "multiple-instructions-disallowed/",
     "Only the last CMD, ENTRYPOINT or HEALTHCHECK of a stage takes effect;\n"
     "the earlier one is dead code. Combine them or remove the earlier one.\n"},
    {"LegacyKeyValueFormat",
     "Legacy key/value format with whitespace separator should not be used",
     DOCS "legacy-key-value-format/",
     "\"ENV key value\" sets one variable to the rest of the line, which is\n"
     "easy to misread. Write ENV key=value (quote values with spaces).\n"},
    {"RedundantTargetPlatform",
     "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as "
     "this is the default behavior",
     DOCS "redundant-target-platform/",
     "FROM already uses the target platform; drop --platform.\n"},
    {"SecretsUsedInArgOrEnv",
     "Sensitive data should not be used in the ARG or ENV commands",
     DOCS "secrets-used-in-arg-or-env/",
     "ARG and ENV values are kept in the image history and configuration,\n"
     "where anyone with the image can read them. Pass secrets with\n"
     "RUN --mount=type=secret instead.\n"},
    {"InvalidDefaultArgInFrom",
     "Default value for global ARG results in an empty or invalid base image "
     "name",
     DOCS "invalid-default-arg-in-from/",
     "Built without --build-arg, the ARG defaults make FROM name no valid\n"
     "image. Give the ARG a default that forms a valid reference.\n"},
    {"FromPlatformFlagConstDisallowed",
     "FROM --platform flag should not use a constant value",
     DOCS "from-platform-flag-const-disallowed/",
     "A constant --platform pins the stage to one platform whatever the\n"
     "build targets. Use $BUILDPLATFORM or $TARGETPLATFORM, or name the\n"
     "stage after the platform when pinning is intended.\n"},
    {"CopyIgnoredFile",
     "Attempting to Copy file that is excluded by .dockerignore",
     DOCS "copy-ignored-file/",
     "The source is excluded by .dockerignore, so it is not in the build\n"
     "context and the COPY/ADD fails or copies nothing. Remove the pattern\n"
     "or the copy.\n"},
    {"ExposeProtoCasing", "Protocol in EXPOSE instruction should be lowercase",
     DOCS "expose-proto-casing/", "Write EXPOSE 80/tcp, not 80/TCP.\n"},
    {"ExposeInvalidFormat",
     "IP address and host-port mapping should not be used in EXPOSE "
     "instruction. This will become an error in a future release",
     DOCS "expose-invalid-format/",
     "EXPOSE documents a container port; the host side belongs to\n"
     "`run -p`. Write EXPOSE 80, not EXPOSE 8080:80.\n"},
    {"CopyBeforeDependencyInstall",
     "Copying the whole context before installing dependencies defeats the "
     "build cache",
     NULL,
     "Every change to any source file changes the layer of COPY . ., so\n"
     "every step after it runs again, the slow dependency install included.\n"
     "Copy the dependency manifests alone first, install, then copy the\n"
     "rest: the install then reruns only when the manifests change.\n"},
};

#define N_RULES (sizeof(rules) / sizeof(rules[0]))

bool st_lint_rule(size_t i, const char **name, const char **description) {
  if (i >= N_RULES)
    return false;
  if (name)
    *name = rules[i].name;
  if (description)
    *description = rules[i].description;
  return true;
}

static const lint_rule *rule_find(const char *name) {
  for (size_t i = 0; i < N_RULES; i++)
    if (strcmp(rules[i].name, name) == 0)
      return &rules[i];
  return NULL;
}

bool lint_is_upper(const char *s) {
  for (; *s; s++)
    if (islower((unsigned char)*s))
      return false;
  return true;
}

bool lint_is_lower(const char *s) {
  for (; *s; s++)
    if (isupper((unsigned char)*s))
      return false;
  return true;
}

const char *lint_flag(const st_df_instr *in, const char *name) {
  const char *v = NULL;
  for (size_t i = 0; i < in->n_flags; i++)
    if (strcmp(in->flags[i].name, name) == 0)
      v = in->flags[i].value ? in->flags[i].value : "";
  return v;
}

static bool skipped(const lint_ctx *c, const char *rule) {
  if (c->skip_all)
    return true;
  for (size_t i = 0; i < c->n_skip; i++)
    if (strcmp(c->skip[i], rule) == 0)
      return true;
  return false;
}

void lint_add(lint_ctx *c, const char *rule, int line, const char *fmt, ...) {
  const lint_rule *r = rule_find(rule);
  if (r == NULL || skipped(c, rule) || c->oom)
    return;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 8;
    st_lint_finding *f = realloc(c->f, cap * sizeof(*f));
    if (f == NULL) {
      c->oom = true;
      return;
    }
    c->f = f;
    c->cap = cap;
  }
  char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  int ret = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (ret < 0) {
    c->oom = true;
    return;
  }
  c->f[c->n++] = (st_lint_finding){.rule = r->name,
                                   .line = line,
                                   .message = msg,
                                   .description = r->description,
                                   .explain = r->explain,
                                   .url = r->url};
}

/* ---- the "# check=" directive ---- */

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  size_t len = strlen(s);
  while (len && isspace((unsigned char)s[len - 1]))
    s[--len] = '\0';
  return s;
}

static int parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < 6; i++) {
    if (strcmp(s, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcmp(s, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return -1;
}

static int add_skip(lint_ctx *c, char *list) {
  for (char *p = list; p;) {
    char *comma = strchr(p, ',');
    if (comma)
      *comma++ = '\0';
    char *name = trim(p);
    p = comma;
    if (*name == '\0')
      continue;
    char **s = realloc(c->skip, (c->n_skip + 1) * sizeof(*s));
    if (s == NULL)
      return -1;
    c->skip = s;
    if ((c->skip[c->n_skip] = strdup(name)) == NULL)
      return -1;
    c->n_skip++;
  }
  return 0;
}

/* One "key=value" of the directive. Docker's options: skip (a list or
 * "all"), error (a Go boolean), experimental (accepted; strata runs no
 * experimental rule). */
static int parse_check_option(lint_ctx *c, char *opt, st_error **err) {
  char *eq = strchr(opt, '=');
  if (eq == NULL)
    return st_error_set(err, EINVAL, "invalid check option \"%s\"", opt);
  *eq = '\0';
  char *key = trim(opt), *val = trim(eq + 1);
  if (strcmp(key, "skip") == 0) {
    if (strcmp(val, "all") == 0) {
      c->skip_all = true;
      return 0;
    }
    if (add_skip(c, val) < 0)
      return st_error_set(err, ENOMEM, "check directive: out of memory");
    return 0;
  }
  if (strcmp(key, "error") == 0) {
    if (parse_bool(val, &c->error) < 0)
      return st_error_set(err, EINVAL,
                          "failed to parse check option \"error=%s\"", val);
    return 0;
  }
  if (strcmp(key, "experimental") == 0)
    return 0;
  return st_error_set(err, EINVAL, "invalid check option \"%s\"", key);
}

static const char *check_value(const st_dockerfile *df, const st_lint_opts *o) {
  static const char key[] = "BUILDKIT_DOCKERFILE_CHECK=";
  if (o) {
    for (size_t i = 0; i < o->n_build_args; i++)
      if (strncmp(o->build_args[i], key, sizeof(key) - 1) == 0)
        return o->build_args[i] + sizeof(key) - 1;
    if (o->check_directive)
      return o->check_directive;
  }
  return df->check;
}

static int parse_check(lint_ctx *c, const char *value, st_error **err) {
  if (value == NULL)
    return 0;
  cleanup_free char *copy = strdup(value);
  if (copy == NULL)
    return st_error_set(err, ENOMEM, "check directive: out of memory");
  /* Docker ignores what follows a space ("skip=all # comment"). */
  copy[strcspn(copy, " \t")] = '\0';
  for (char *p = copy; p && *p;) {
    char *semi = strchr(p, ';');
    if (semi)
      *semi++ = '\0';
    if (parse_check_option(c, p, err) < 0)
      return st_error_wrap(err, "failed to parse check options");
    p = semi;
  }
  return 0;
}

/* ---- stages and predefined arguments ---- */

static const char *host_arch(void) {
  struct utsname u;
  if (uname(&u) < 0)
    return "amd64";
  if (strcmp(u.machine, "aarch64") == 0)
    return "arm64";
  if (strcmp(u.machine, "x86_64") == 0)
    return "amd64";
  if (strncmp(u.machine, "arm", 3) == 0)
    return "arm";
  return "amd64";
}

/* The platform ARGs every FROM can use without declaring them, with the
 * values of a native build (Docker's checks use the defaults too). */
static int set_predefined(lint_ctx *c) {
  const char *arch = host_arch();
  char platform[64];
  snprintf(platform, sizeof(platform), "linux/%s", arch);
  const char *kv[][2] = {
      {"BUILDPLATFORM", platform}, {"BUILDOS", "linux"},
      {"BUILDOSVERSION", ""},      {"BUILDARCH", arch},
      {"BUILDVARIANT", ""},        {"TARGETPLATFORM", platform},
      {"TARGETOS", "linux"},       {"TARGETOSVERSION", ""},
      {"TARGETARCH", arch},        {"TARGETVARIANT", ""},
      {"TARGETSTAGE", "default"},
  };
  for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
    if (lint_vars_set(&c->predefined, kv[i][0], kv[i][1]) < 0)
      return -1;
  return 0;
}

static char *lower_dup(const char *s) {
  char *d = strdup(s);
  if (d)
    for (char *p = d; *p; p++)
      *p = (char)tolower((unsigned char)*p);
  return d;
}

/* One stage per FROM; a stage is built on an earlier one when its base
 * names it (stage names are case-insensitive). */
static int collect_stages(lint_ctx *c) {
  const st_dockerfile *df = c->df;
  size_t n = 0;
  for (size_t i = 0; i < df->n; i++)
    n += df->instrs[i].kind == ST_DF_FROM;
  if (n == 0)
    return 0;
  c->stages = calloc(n, sizeof(*c->stages));
  if (c->stages == NULL)
    return -1;
  for (size_t i = 0; i < df->n; i++) {
    const st_df_instr *in = &df->instrs[i];
    if (in->kind != ST_DF_FROM)
      continue;
    lint_stage *s = &c->stages[c->n_stages++];
    s->from = in;
    s->parent = -1;
    if (in->n_args >= 3 && (s->name = lower_dup(in->args[2])) == NULL)
      return -1;
    if (in->n_args == 0)
      continue;
    if (lint_expand(in->args[0], c->escape, &c->global, &c->predefined, NULL,
                    NULL, &s->image) < 0)
      return -1;
    for (size_t j = 0; j + 1 < c->n_stages; j++)
      if (c->stages[j].name && strcasecmp(c->stages[j].name, s->image) == 0)
        s->parent = (long)j;
  }
  return 0;
}

/* Global ARGs (before the first FROM) with their defaults expanded, as
 * Docker evaluates FROM for its checks. */
static int collect_global_args(lint_ctx *c) {
  for (size_t i = 0; i < c->df->n; i++) {
    const st_df_instr *in = &c->df->instrs[i];
    if (in->kind == ST_DF_FROM)
      break;
    if (in->kind != ST_DF_ARG)
      continue;
    for (size_t j = 0; j < in->n_pairs; j++) {
      cleanup_free char *v = NULL;
      if (in->pairs[j].value &&
          lint_expand(in->pairs[j].value, c->escape, &c->global, &c->predefined,
                      NULL, NULL, &v) < 0)
        return -1;
      if (lint_vars_set(&c->global, in->pairs[j].key, v) < 0)
        return -1;
    }
  }
  return 0;
}

static void ctx_clear(lint_ctx *c) {
  for (size_t i = 0; i < c->n_skip; i++)
    free(c->skip[i]);
  free(c->skip);
  lint_vars_clear(&c->global);
  lint_vars_clear(&c->predefined);
  for (size_t i = 0; i < c->n_stages; i++) {
    free(c->stages[i].name);
    free(c->stages[i].image);
    lint_vars_clear(&c->stages[i].env);
  }
  free(c->stages);
  st_lint_free(c->f, c->n);
}

/* Stable sort by line: qsort is not stable, so sort (line, index) pairs. */
static int sort_findings(lint_ctx *c) {
  if (c->n < 2)
    return 0;
  size_t *idx = malloc(c->n * sizeof(*idx));
  st_lint_finding *tmp = malloc(c->n * sizeof(*tmp));
  if (idx == NULL || tmp == NULL) {
    free(idx);
    free(tmp);
    return -1;
  }
  for (size_t i = 0; i < c->n; i++)
    idx[i] = i;
  /* Insertion sort: findings are few, and it is stable. */
  for (size_t i = 1; i < c->n; i++) {
    size_t k = idx[i], j = i;
    while (j > 0 && c->f[idx[j - 1]].line > c->f[k].line) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = k;
  }
  for (size_t i = 0; i < c->n; i++)
    tmp[i] = c->f[idx[i]];
  memcpy(c->f, tmp, c->n * sizeof(*tmp));
  free(idx);
  free(tmp);
  return 0;
}

int st_lint(const st_dockerfile *df, const st_lint_opts *o,
            st_lint_finding **out, size_t *n, bool *error_on_findings,
            st_error **err) {
  lint_ctx c = {.df = df, .o = o, .escape = df->escape ? df->escape : '\\'};
  int ret = parse_check(&c, check_value(df, o), err);
  if (ret < 0) {
    ctx_clear(&c);
    return ret;
  }
  if (set_predefined(&c) < 0 || collect_global_args(&c) < 0 ||
      collect_stages(&c) < 0)
    c.oom = true;
  if (!c.oom) {
    lint_stage_rules(&c);
    lint_instr_rules(&c);
    lint_env_rules(&c);
    lint_cache_order(&c);
  }
  if (c.oom || sort_findings(&c) < 0) {
    ctx_clear(&c);
    return st_error_set(err, ENOMEM, "lint: out of memory");
  }
  if (error_on_findings)
    *error_on_findings = c.error && c.n > 0;
  *out = c.n ? steal_pointer(&c.f) : NULL;
  *n = c.n;
  c.n = 0;
  ctx_clear(&c);
  return 0;
}

void st_lint_free(st_lint_finding *f, size_t n) {
  if (f == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free(f[i].message);
  free(f);
}
