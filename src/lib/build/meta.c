/* Instructions that change only the image config (ENV, LABEL, CMD, ...).
 * Each is prepared into the value it sets, so that the cache key and the
 * history text are the expanded instruction ("ENV V=1.2", not "ENV
 * V=$X"), then applied to a copy of the config. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/internal.h"
#include "util/buf.h"
#include "util/cleanup.h"

/* What a metadata instruction sets: member of "config" (or of the top
 * level with top) and its new value; for ENV/LABEL the pairs to merge. */
typedef struct meta {
  const char *member;
  bool top;
  json_t *value; /* replaces member; NULL with merge */
  json_t *merge; /* ENV: array of "K=V"; LABEL/EXPOSE/VOLUME: object */
  bool reset_cmd;
} meta;

static void meta_free(void *p) {
  meta *m = p;
  if (m == NULL)
    return;
  json_decref(m->value);
  json_decref(m->merge);
  free(m);
}

/* Go's %q of a []string, as Docker writes CMD in history:
 * ["/bin/sh" "-c" "echo hi"]. */
static void go_quote_list(st_buf *b, json_t *arr) {
  size_t i;
  json_t *v;
  st_buf_putc(b, '[');
  json_array_foreach(arr, i, v) {
    const char *s = json_string_value(v);
    st_buf_puts(b, i ? " \"" : "\"");
    for (; s && *s; s++) {
      if (*s == '"' || *s == '\\')
        st_buf_printf(b, "\\%c", *s);
      else if (*s == '\n')
        st_buf_puts(b, "\\n");
      else if (*s == '\t')
        st_buf_puts(b, "\\t");
      else if ((unsigned char)*s < 0x20)
        st_buf_printf(b, "\\x%02x", (unsigned char)*s);
      else
        st_buf_putc(b, *s);
    }
    st_buf_putc(b, '"');
  }
  st_buf_putc(b, ']');
}

/* The shell in effect: the config's Shell, else /bin/sh -c. */
static json_t *current_shell(st_bstate *st) {
  json_t *sh = json_object_get(st_bconfig_cc(st), "Shell");
  if (json_is_array(sh) && json_array_size(sh) > 0)
    return json_deep_copy(sh);
  return json_pack("[s, s]", "/bin/sh", "-c");
}

/* Exec form as is; shell form as SHELL + [text]. */
static json_t *command_array(st_bstate *st, const st_df_instr *in) {
  if (in->json) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < in->n_args; i++)
      json_array_append_new(a, json_string(in->args[i]));
    return a;
  }
  json_t *a = current_shell(st);
  if (a)
    json_array_append_new(a, json_string(in->rest ? in->rest : ""));
  return a;
}

static int set_inputs(st_bstep *step, st_buf *by, st_error **err) {
  if (by->data == NULL)
    return st_error_errno(err, ENOMEM, "build step");
  step->created_by = st_buf_steal(by);
  step->inputs = json_pack("{s:s}", "instr", step->created_by);
  return step->inputs ? 0 : st_error_errno(err, ENOMEM, "build step");
}

static int prep_env(st_bstate *st, st_bstep *step, meta *m, st_buf *by,
                    st_error **err) {
  const st_df_instr *in = step->in;
  bool label = in->kind == ST_DF_LABEL;
  m->member = label ? "Labels" : "Env";
  m->merge = label ? json_object() : json_array();
  st_buf_puts(by, label ? "LABEL" : "ENV");
  for (size_t i = 0; i < in->n_pairs; i++) {
    cleanup_free char *k = NULL, *v = NULL;
    if (st_bexpand(st, in->pairs[i].key, &k, err) < 0 ||
        st_bexpand(st, in->pairs[i].value ? in->pairs[i].value : "", &v, err) <
            0)
      return -1;
    if (*k == '\0')
      return st_error_set(err, EINVAL, "%s names must not be empty",
                          label ? "LABEL" : "ENV");
    st_buf_printf(by, " %s=%s", k, v);
    if (label) {
      json_object_set_new(m->merge, k, json_string(v));
      continue;
    }
    cleanup_free char *kv = NULL;
    if (asprintf(&kv, "%s=%s", k, v) < 0)
      return st_error_errno(err, ENOMEM, "ENV");
    json_array_append_new(m->merge, json_string(kv));
  }
  return 0;
}

static int prep_command(st_bstate *st, st_bstep *step, meta *m, st_buf *by,
                        st_error **err) {
  const st_df_instr *in = step->in;
  bool ep = in->kind == ST_DF_ENTRYPOINT, sh = in->kind == ST_DF_SHELL;
  m->member = ep ? "Entrypoint" : sh ? "Shell" : "Cmd";
  if (sh && !in->json)
    return st_error_set(err, EINVAL,
                        "SHELL requires the arguments to be in "
                        "JSON form");
  m->value = command_array(st, in);
  if (m->value == NULL)
    return st_error_errno(err, ENOMEM, "%s", m->member);
  /* prepared on hits too, so the flag follows the stage's text */
  m->reset_cmd = ep && !st->cmd_set;
  if (in->kind == ST_DF_CMD)
    st->cmd_set = true;
  if (sh) {
    st_buf_puts(by, "SHELL [");
    for (size_t i = 0; i < in->n_args; i++)
      st_buf_printf(by, "%s%s", i ? " " : "", in->args[i]);
    st_buf_putc(by, ']');
  } else {
    st_buf_puts(by, ep ? "ENTRYPOINT " : "CMD ");
    go_quote_list(by, m->value);
  }
  return 0;
}

/* Joins a WORKDIR with the current one and cleans it ("a/../b" -> "/b"). */
static char *join_clean(const char *base, const char *rel) {
  cleanup_buf st_buf in = ST_BUF_INIT;
  if (rel[0] != '/')
    st_buf_printf(&in, "%s/", base && *base ? base : "/");
  st_buf_puts(&in, rel);
  if (in.data == NULL)
    return NULL;
  char **parts = calloc(in.len + 1, sizeof(char *));
  if (parts == NULL)
    return NULL;
  size_t n = 0;
  for (char *p = in.data; *p;) {
    char *seg = p;
    size_t len = strcspn(p, "/");
    p += len;
    if (*p)
      *p++ = '\0';
    if (len == 0 || strcmp(seg, ".") == 0)
      continue;
    if (strcmp(seg, "..") == 0) {
      if (n)
        n--;
      continue;
    }
    parts[n++] = seg;
  }
  st_buf out = ST_BUF_INIT;
  for (size_t i = 0; i < n; i++)
    st_buf_printf(&out, "/%s", parts[i]);
  if (n == 0)
    st_buf_putc(&out, '/');
  free(parts);
  return st_buf_steal(&out);
}

char *st_bjoin_workdir(st_bstate *st, const char *path) {
  const char *wd =
      json_string_value(json_object_get(st_bconfig_cc(st), "WorkingDir"));
  return join_clean(wd, path);
}

static int prep_word(st_bstate *st, st_bstep *step, meta *m, st_buf *by,
                     st_error **err) {
  const st_df_instr *in = step->in;
  cleanup_free char *v = NULL;
  if (st_bexpand(st, in->rest ? in->rest : "", &v, err) < 0)
    return -1;
  if (in->kind == ST_DF_WORKDIR) {
    cleanup_free char *dir = st_bjoin_workdir(st, v);
    if (dir == NULL)
      return st_error_errno(err, ENOMEM, "WORKDIR");
    m->member = "WorkingDir";
    m->value = json_string(dir);
    st_buf_printf(by, "WORKDIR %s", dir);
    step->numbered = true;
  } else if (in->kind == ST_DF_MAINTAINER) {
    m->member = "author";
    m->top = true;
    m->value = json_string(in->rest ? in->rest : "");
    st_buf_printf(by, "MAINTAINER %s", in->rest ? in->rest : "");
  } else {
    bool user = in->kind == ST_DF_USER;
    m->member = user ? "User" : "StopSignal";
    m->value = json_string(v);
    st_buf_printf(by, "%s %s", user ? "USER" : "STOPSIGNAL", v);
  }
  if (*v == '\0' && in->kind != ST_DF_MAINTAINER)
    return st_error_set(err, EINVAL, "%s requires exactly one argument",
                        st_df_kind_name(in->kind));
  return 0;
}

/* EXPOSE 80 80/udp 8000-8002: "80/tcp" keys. */
static int add_port(json_t *ports, const char *p, st_error **err) {
  const char *slash = strchr(p, '/');
  cleanup_free char *num = slash ? strndup(p, (size_t)(slash - p)) : strdup(p);
  const char *proto = slash ? slash + 1 : "tcp";
  if (num == NULL)
    return st_error_errno(err, ENOMEM, "EXPOSE");
  char *end;
  long lo = strtol(num, &end, 10), hi = lo;
  if (*end == '-')
    hi = strtol(end + 1, &end, 10);
  if (*num == '\0' || *end || lo < 1 || hi > 65535 || hi < lo ||
      (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") &&
       strcasecmp(proto, "sctp")))
    return st_error_set(err, EINVAL, "invalid containerPort: %s", p);
  for (long i = lo; i <= hi; i++) {
    char key[32];
    snprintf(key, sizeof(key), "%ld/%s", i, proto);
    for (char *c = key; *c; c++)
      *c = (char)tolower((unsigned char)*c);
    json_object_set_new(ports, key, json_object());
  }
  return 0;
}

static int prep_set(st_bstate *st, st_bstep *step, meta *m, st_buf *by,
                    st_error **err) {
  const st_df_instr *in = step->in;
  bool expose = in->kind == ST_DF_EXPOSE;
  m->member = expose ? "ExposedPorts" : "Volumes";
  m->merge = json_object();
  st_buf_puts(by, expose ? "EXPOSE map[" : "VOLUME [");
  for (size_t i = 0; i < in->n_args; i++) {
    cleanup_free char *v = NULL;
    if (st_bexpand(st, in->args[i], &v, err) < 0)
      return -1;
    if (*v == '\0')
      return st_error_set(err, EINVAL,
                          "%s specified can not be an empty "
                          "string",
                          expose ? "port" : "volume");
    if (expose && add_port(m->merge, v, err) < 0)
      return -1;
    if (!expose)
      json_object_set_new(m->merge, v, json_object());
    st_buf_printf(by, "%s%s%s", i ? " " : "", v, expose ? ":{}" : "");
  }
  st_buf_putc(by, ']');
  return 0;
}

/* Go duration: "30s", "1m30s", "500ms", "1h" -> ns; < 0 when bad. */
static long long parse_duration(const char *s) {
  long long total = 0;
  if (*s == '\0')
    return -1;
  while (*s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s)
      return -1;
    long long unit = 0;
    if (strncmp(end, "ns", 2) == 0)
      unit = 1, end += 2;
    else if (strncmp(end, "us", 2) == 0)
      unit = 1000, end += 2;
    else if (strncmp(end, "ms", 2) == 0)
      unit = 1000000, end += 2;
    else if (*end == 's')
      unit = 1000000000LL, end++;
    else if (*end == 'm')
      unit = 60000000000LL, end++;
    else if (*end == 'h')
      unit = 3600000000000LL, end++;
    else if (v == 0 && *end == '\0')
      unit = 1;
    else
      return -1;
    total += (long long)(v * (double)unit);
    s = end;
  }
  return total;
}

static int prep_health(st_bstate *st, st_bstep *step, meta *m, st_buf *by,
                       st_error **err) {
  const st_df_instr *in = step->in;
  m->member = "Healthcheck";
  json_t *hc = m->value = json_object();
  if (in->sub == NULL || (in->n_args && strcasecmp(in->args[0], "NONE") == 0)) {
    json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
    st_buf_puts(by, "HEALTHCHECK NONE");
    return 0;
  }
  json_t *test = json_pack("[s]", in->sub->json ? "CMD" : "CMD-SHELL");
  for (size_t i = 0; in->sub->json && i < in->sub->n_args; i++)
    json_array_append_new(test, json_string(in->sub->args[i]));
  if (!in->sub->json)
    json_array_append_new(test, json_string(in->sub->rest));
  json_object_set_new(hc, "Test", test);
  static const char *const durs[][2] = {{"interval", "Interval"},
                                        {"timeout", "Timeout"},
                                        {"start-period", "StartPeriod"},
                                        {"start-interval", "StartInterval"}};
  for (size_t i = 0; i < 4; i++) {
    const char *v = st_df_flag_get(in, durs[i][0], NULL);
    long long ns = v ? parse_duration(v) : 0;
    if (ns < 0)
      return st_error_set(err, EINVAL, "invalid duration for --%s: %s",
                          durs[i][0], v);
    if (ns)
      json_object_set_new(hc, durs[i][1], json_integer(ns));
  }
  const char *retries = st_df_flag_get(in, "retries", NULL);
  if (retries) {
    char *end;
    long r = strtol(retries, &end, 10);
    if (*retries == '\0' || *end || r < 0)
      return st_error_set(err, EINVAL, "invalid --retries: %s", retries);
    json_object_set_new(hc, "Retries", json_integer(r));
  }
  st_buf_puts(by, "HEALTHCHECK &{");
  go_quote_list(by, test);
  st_buf_puts(by, "}");
  return 0;
}

static int prep_onbuild(st_bstate *st, st_bstep *step, meta *m, st_buf *by,
                        st_error **err) {
  const st_df_instr *in = step->in;
  const char *text = in->rest ? in->rest : "";
  m->member = "OnBuild";
  json_t *cur = json_object_get(st_bconfig_cc(st), "OnBuild");
  m->value = json_is_array(cur) ? json_deep_copy(cur) : json_array();
  json_array_append_new(m->value, json_string(text));
  st_buf_printf(by, "ONBUILD %s", text);
  return 0;
}

int st_bmeta_prepare(st_bstate *st, st_bstep *step, st_error **err) {
  meta *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return st_error_errno(err, ENOMEM, "build step");
  step->priv = m;
  step->priv_free = meta_free;
  cleanup_buf st_buf by = ST_BUF_INIT;
  int r;
  switch (step->in->kind) {
  case ST_DF_ENV:
  case ST_DF_LABEL:
    r = prep_env(st, step, m, &by, err);
    break;
  case ST_DF_CMD:
  case ST_DF_ENTRYPOINT:
  case ST_DF_SHELL:
    r = prep_command(st, step, m, &by, err);
    break;
  case ST_DF_WORKDIR:
  case ST_DF_USER:
  case ST_DF_STOPSIGNAL:
  case ST_DF_MAINTAINER:
    r = prep_word(st, step, m, &by, err);
    break;
  case ST_DF_EXPOSE:
  case ST_DF_VOLUME:
    r = prep_set(st, step, m, &by, err);
    break;
  case ST_DF_HEALTHCHECK:
    r = prep_health(st, step, m, &by, err);
    break;
  case ST_DF_ONBUILD:
    r = prep_onbuild(st, step, m, &by, err);
    break;
  case ST_DF_FROM:
  case ST_DF_RUN:
  case ST_DF_COPY:
  case ST_DF_ADD:
  case ST_DF_ARG:
  default:
    r = st_error_set(err, EINVAL, "unexpected instruction");
  }
  if (r < 0)
    return -1;
  if (step->in->kind == ST_DF_WORKDIR && step->title == NULL)
    step->title = strdup(by.data ? by.data : "WORKDIR");
  return set_inputs(step, &by, err);
}

static void merge_env(json_t *cc, json_t *pairs) {
  json_t *env = json_object_get(cc, "Env");
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(cc, "Env", env);
  }
  size_t i, k;
  json_t *p, *e;
  json_array_foreach(pairs, i, p) {
    const char *kv = json_string_value(p);
    size_t klen = strcspn(kv, "=");
    bool replaced = false;
    json_array_foreach(env, k, e) {
      const char *s = json_string_value(e);
      if (s && strncmp(s, kv, klen) == 0 && s[klen] == '=') {
        json_array_set(env, k, p);
        replaced = true;
        break;
      }
    }
    if (!replaced)
      json_array_append(env, p);
  }
}

int st_bmeta_apply(st_bstate *st, st_bstep *step, json_t *config,
                   st_error **err) {
  meta *m = step->priv;
  json_t *cc = json_object_get(config, "config");
  if (!json_is_object(cc)) {
    cc = json_object();
    json_object_set_new(config, "config", cc);
  }
  json_t *target = m->top ? config : cc;
  if (m->value) {
    json_object_set(target, m->member, m->value);
  } else if (json_is_array(m->merge)) {
    merge_env(cc, m->merge);
  } else {
    json_t *obj = json_object_get(cc, m->member);
    if (!json_is_object(obj)) {
      obj = json_object();
      json_object_set_new(cc, m->member, obj);
    }
    json_object_update(obj, m->merge);
  }
  /* Docker: ENTRYPOINT resets a CMD inherited from the base image */
  if (m->reset_cmd)
    json_object_set_new(cc, "Cmd", json_null());
  (void)err;
  return 0;
}
