/* Stage rules: names and keyword casing (StageNameCasing, FromAsCasing,
 * DuplicateStageName, ReservedStageName, ConsistentInstructionCasing) and
 * what FROM evaluates to (UndefinedArgInFrom, InvalidDefaultArgInFrom,
 * FromPlatformFlagConstDisallowed, RedundantTargetPlatform). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build/lint_internal.h"
#include "ref/ref.h"
#include "util/cleanup.h"

static void check_from_names(lint_ctx *c, const st_df_instr *in) {
  if (in->n_args < 3)
    return;
  if (!lint_is_lower(in->args[2]))
    lint_add(c, "StageNameCasing", in->line,
             "Stage name '%s' should be lowercase", in->args[2]);
  /* A FROM keyword of mixed case is ConsistentInstructionCasing's
   * business; AS only has to follow an all-lower or all-upper FROM. */
  bool from_lower = lint_is_lower(in->keyword);
  bool from_upper = lint_is_upper(in->keyword);
  if ((from_lower && !lint_is_lower(in->args[1])) ||
      (!from_lower && from_upper && !lint_is_upper(in->args[1])))
    lint_add(c, "FromAsCasing", in->line,
             "'%s' and '%s' keywords' casing do not match", in->args[1],
             in->keyword);
}

static void check_stage_names(lint_ctx *c) {
  for (size_t i = 0; i < c->n_stages; i++) {
    const lint_stage *s = &c->stages[i];
    if (s->name == NULL)
      continue;
    if (strcmp(s->name, "scratch") == 0 || strcmp(s->name, "context") == 0)
      lint_add(c, "ReservedStageName", s->from->line,
               "Stage name should not use the same name as reserved stage "
               "\"%s\"",
               s->name);
    for (size_t j = 0; j < i; j++)
      if (c->stages[j].name && strcmp(c->stages[j].name, s->name) == 0) {
        lint_add(c, "DuplicateStageName", s->from->line,
                 "Duplicate stage name \"%s\", stage names should be unique",
                 s->name);
        break;
      }
  }
}

/* Docker counts the keywords of the stages (global ARGs left out) that
 * are all-lower or all-upper; the majority wins, a tie goes to upper. */
static void check_casing(lint_ctx *c) {
  const st_dockerfile *df = c->df;
  size_t first = 0, lower = 0, upper = 0;
  while (first < df->n && df->instrs[first].kind != ST_DF_FROM)
    first++;
  for (size_t i = first; i < df->n; i++) {
    const char *kw = df->instrs[i].keyword;
    if (lint_is_lower(kw))
      lower++;
    else if (lint_is_upper(kw))
      upper++;
  }
  bool majority_lower = lower > upper;
  for (size_t i = first; i < df->n; i++) {
    const st_df_instr *in = &df->instrs[i];
    if (majority_lower ? !lint_is_lower(in->keyword)
                       : !lint_is_upper(in->keyword))
      lint_add(c, "ConsistentInstructionCasing", in->line,
               "Command '%s' should match the case of the command majority "
               "(%s)",
               in->keyword, majority_lower ? "lowercase" : "uppercase");
  }
}

/* Variables met while expanding a FROM word. */
typedef struct from_vars {
  lint_ctx *c;
  const st_df_instr *in;
  size_t n_used, n_undeclared;
  bool used_targetplatform;
  char *reported[16];
  size_t n_reported;
} from_vars;

static void from_used(void *ctx, const char *name, bool declared) {
  from_vars *v = ctx;
  v->n_used++;
  if (strcmp(name, "TARGETPLATFORM") == 0)
    v->used_targetplatform = true;
  if (declared)
    return;
  v->n_undeclared++;
  for (size_t i = 0; i < v->n_reported; i++)
    if (strcmp(v->reported[i], name) == 0)
      return;
  if (v->n_reported < sizeof(v->reported) / sizeof(v->reported[0])) {
    char *d = strdup(name);
    if (d == NULL) {
      v->c->oom = true;
      return;
    }
    v->reported[v->n_reported++] = d;
  }
  const char *s = lint_suggest(name, &v->c->global, &v->c->predefined);
  if (s)
    lint_add(v->c, "UndefinedArgInFrom", v->in->line,
             "FROM argument '%s' is not declared (did you mean %s?)", name, s);
  else
    lint_add(v->c, "UndefinedArgInFrom", v->in->line,
             "FROM argument '%s' is not declared", name);
}

static void from_vars_clear(from_vars *v) {
  for (size_t i = 0; i < v->n_reported; i++)
    free(v->reported[i]);
}

static bool valid_image(const char *image) {
  st_ref r;
  cleanup_error st_error *err = NULL;
  if (*image == '\0' || st_ref_parse(image, &r, &err) < 0)
    return false;
  st_ref_clear(&r);
  return true;
}

static bool in_list(const char *s, const char *const *list) {
  for (; *list; list++)
    if (strcmp(s, *list) == 0)
      return true;
  return false;
}

/* Go's OS names and the architectures containerd's parser knows,
 * aliases mapped to their normal names. */
static const char *const known_os[] = {
    "linux",   "windows", "darwin",    "freebsd", "netbsd", "openbsd",
    "solaris", "illumos", "android",   "ios",     "plan9",  "aix",
    "js",      "wasip1",  "dragonfly", NULL};

static const char *normal_arch(const char *a) {
  static const char *const alias[][2] = {
      {"x86_64", "amd64"}, {"x86-64", "amd64"}, {"aarch64", "arm64"},
      {"armhf", "arm"},    {"armel", "arm"},    {"i386", "386"},
  };
  static const char *const archs[] = {"amd64",    "arm64",  "arm",   "386",
                                      "ppc64le",  "ppc64",  "s390x", "riscv64",
                                      "mips64le", "mips64", "mips",  "mipsle",
                                      "loong64",  "wasm",   NULL};
  for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
    if (strcmp(a, alias[i][0]) == 0)
      return alias[i][1];
  return in_list(a, archs) ? a : NULL;
}

/* Splits "os[/arch[/variant]]" or "arch" as containerd does; false when it
 * is no platform (the build reports that later). */
static bool parse_platform(const char *p, char *os, char *arch, size_t size) {
  cleanup_free char *copy = strdup(p);
  if (copy == NULL)
    return false;
  for (char *q = copy; *q; q++)
    *q = (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
  char *slash = strchr(copy, '/');
  if (slash)
    *slash++ = '\0';
  if (slash == NULL) {
    const char *a = normal_arch(copy);
    if (in_list(copy, known_os)) {
      snprintf(os, size, "%s", copy);
      snprintf(arch, size, "%s", "amd64");
      return true;
    }
    if (a == NULL)
      return false;
    snprintf(os, size, "%s", "linux");
    snprintf(arch, size, "%s", a);
    return true;
  }
  char *rest = strchr(slash, '/');
  if (rest)
    *rest = '\0';
  const char *a = normal_arch(slash);
  if (!in_list(copy, known_os) || a == NULL)
    return false;
  snprintf(os, size, "%s", copy);
  snprintf(arch, size, "%s", a);
  return true;
}

static void check_platform(lint_ctx *c, const lint_stage *s,
                           const char *platform, from_vars *v) {
  size_t used = v->n_used, undeclared = v->n_undeclared;
  v->used_targetplatform = false;
  cleanup_free char *value = NULL;
  if (lint_expand(platform, c->escape, &c->global, &c->predefined, from_used, v,
                  &value) < 0) {
    c->oom = true;
    return;
  }
  size_t n_used = v->n_used - used;
  if (n_used == 1 && v->n_undeclared == undeclared && v->used_targetplatform) {
    long k = lint_vars_find(&c->predefined, "TARGETPLATFORM");
    if (k >= 0 && strcmp(value, c->predefined.values[k]) == 0)
      lint_add(c, "RedundantTargetPlatform", s->from->line,
               "Setting platform to predefined %s in FROM is redundant as "
               "this is the default behavior",
               platform);
  }
  if (n_used > 0)
    return;
  char os[32], arch[32];
  if (!parse_platform(value, os, arch, sizeof(os)))
    return;
  if (s->name && (strstr(s->name, os) || strstr(s->name, arch)))
    return;
  lint_add(c, "FromPlatformFlagConstDisallowed", s->from->line,
           "FROM --platform flag should not use constant value \"%s\"", value);
}

static void check_from_args(lint_ctx *c, const lint_stage *s) {
  const st_df_instr *in = s->from;
  if (in->n_args == 0)
    return;
  from_vars v = {.c = c, .in = in};
  if (lint_expand(in->args[0], c->escape, &c->global, &c->predefined, from_used,
                  &v, NULL) < 0)
    c->oom = true;
  /* A stage built on another is named, not pulled: no reference check. */
  if (s->parent < 0 && s->image && !valid_image(s->image))
    lint_add(c, "InvalidDefaultArgInFrom", in->line,
             "Default value for ARG %s results in empty or invalid base "
             "image name",
             in->args[0]);
  const char *platform = lint_flag(in, "platform");
  if (platform)
    check_platform(c, s, platform, &v);
  from_vars_clear(&v);
}

void lint_stage_rules(lint_ctx *c) {
  for (size_t i = 0; i < c->n_stages; i++) {
    check_from_names(c, c->stages[i].from);
    check_from_args(c, &c->stages[i]);
  }
  check_stage_names(c);
  check_casing(c);
}
