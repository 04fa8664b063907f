/* `--change` instructions applied to an image's container config (the
 * "config" object of an image config), with Dockerfile semantics. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "util/buf.h"
#include "util/cleanup.h"

/* Splits s into words: whitespace separates, "..." and '...' group,
 * backslash escapes the next character (outside single quotes). Returns a
 * json array of strings, or NULL on an unterminated quote. Without split,
 * whitespace is kept and s is one word (quotes and escapes still removed,
 * as Docker processes a legacy "ENV key value" value). */
static json_t *split_words(const char *s, bool split) {
  json_t *words = json_array();
  cleanup_buf st_buf w = ST_BUF_INIT;
  bool in_word = false;
  char quote = 0;
  for (const char *p = s;; p++) {
    char c = *p;
    if (c == '\0') {
      if (quote) {
        json_decref(words);
        return NULL;
      }
      break;
    }
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && p[1])
        st_buf_putc(&w, *++p);
      else
        st_buf_putc(&w, c);
      continue;
    }
    if (split && isspace((unsigned char)c)) {
      if (in_word)
        json_array_append_new(words, json_string(w.data ? w.data : ""));
      st_buf_free(&w);
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '"' || c == '\'')
      quote = c;
    else if (c == '\\' && p[1])
      st_buf_putc(&w, *++p);
    else
      st_buf_putc(&w, c);
  }
  if (in_word)
    json_array_append_new(words, json_string(w.data ? w.data : ""));
  return words;
}

/* Exec form (a JSON array of strings) or shell form ["/bin/sh","-c",s]. */
static json_t *command_value(const char *args) {
  if (args[0] == '[') {
    json_t *j = json_loads(args, 0, NULL);
    bool ok = json_is_array(j);
    for (size_t i = 0; ok && i < json_array_size(j); i++)
      ok = json_is_string(json_array_get(j, i));
    if (ok)
      return j;
    json_decref(j);
  }
  return json_pack("[s, s, s]", "/bin/sh", "-c", args);
}

static json_t *object_member(json_t *cfg, const char *key) {
  json_t *o = json_object_get(cfg, key);
  if (!json_is_object(o)) {
    o = json_object();
    json_object_set_new(cfg, key, o);
  }
  return o;
}

static void env_set(json_t *cfg, const char *key, const char *value) {
  json_t *env = json_object_get(cfg, "Env");
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(cfg, "Env", env);
  }
  cleanup_free char *kv = NULL;
  if (asprintf(&kv, "%s=%s", key, value) < 0)
    return;
  size_t klen = strlen(key);
  for (size_t i = 0; i < json_array_size(env); i++) {
    const char *e = json_string_value(json_array_get(env, i));
    if (e && strncmp(e, key, klen) == 0 && e[klen] == '=') {
      json_array_set_new(env, i, json_string(kv));
      return;
    }
  }
  json_array_append_new(env, json_string(kv));
}

/* ENV and LABEL: "k=v k2=v2", or the legacy "k v with spaces" form (ENV
 * only). `set` stores one pair. */
static int apply_pairs(json_t *cfg, const char *inst, const char *args,
                       bool legacy_ok,
                       void (*set)(json_t *, const char *, const char *),
                       st_error **err) {
  json_t *words = split_words(args, true);
  if (words == NULL)
    return st_error_set(err, EINVAL, "%s %s: unterminated quote", inst, args);
  size_t n = json_array_size(words);
  const char *first = json_string_value(json_array_get(words, 0));
  int r = 0;
  if (n == 0) {
    r = st_error_set(err, EINVAL, "%s requires at least one argument", inst);
  } else if (strchr(first, '=') == NULL) {
    if (!legacy_ok || n < 2) {
      r = st_error_set(err, EINVAL, "%s %s: expected KEY=VALUE", inst, args);
    } else {
      const char *rest = args + strspn(args, " \t");
      rest += strcspn(rest, " \t");
      rest += strspn(rest, " \t");
      json_t *value = split_words(rest, false);
      set(cfg, first, json_string_value(json_array_get(value, 0)));
      json_decref(value);
    }
  } else {
    for (size_t i = 0; i < n && r == 0; i++) {
      const char *w = json_string_value(json_array_get(words, i));
      const char *eq = strchr(w, '=');
      if (eq == NULL || eq == w) {
        r = st_error_set(err, EINVAL, "%s: \"%s\" is not KEY=VALUE", inst, w);
        break;
      }
      cleanup_free char *key = strndup(w, (size_t)(eq - w));
      set(cfg, key, eq + 1);
    }
  }
  json_decref(words);
  return r;
}

static void label_set(json_t *cfg, const char *key, const char *value) {
  json_object_set_new(object_member(cfg, "Labels"), key, json_string(value));
}

/* EXPOSE 80 8080/udp; VOLUME /a /b or ["/a"]: keys of an object of {}. */
static int apply_set(json_t *cfg, const char *member, const char *args,
                     bool is_port, st_error **err) {
  json_t *words = args[0] == '[' ? json_loads(args, 0, NULL) : NULL;
  if (!json_is_array(words)) {
    json_decref(words);
    words = split_words(args, true);
  }
  if (words == NULL || json_array_size(words) == 0) {
    json_decref(words);
    return st_error_set(err, EINVAL, "%s needs at least one argument",
                        is_port ? "EXPOSE" : "VOLUME");
  }
  json_t *set = object_member(cfg, member);
  for (size_t i = 0; i < json_array_size(words); i++) {
    const char *w = json_string_value(json_array_get(words, i));
    cleanup_free char *key = NULL;
    if (w == NULL)
      continue;
    if (is_port && strchr(w, '/') == NULL) {
      if (asprintf(&key, "%s/tcp", w) < 0)
        key = NULL;
    } else {
      key = strdup(w);
    }
    if (key)
      json_object_set_new(set, key, json_object());
  }
  json_decref(words);
  return 0;
}

static void set_workdir(json_t *cfg, const char *dir) {
  const char *cur = json_string_value(json_object_get(cfg, "WorkingDir"));
  cleanup_free char *joined = NULL;
  if (dir[0] != '/' && cur && cur[0]) {
    size_t l = strlen(cur);
    if (asprintf(&joined, "%s%s%s", cur, cur[l - 1] == '/' ? "" : "/", dir) < 0)
      joined = NULL;
  }
  json_object_set_new(cfg, "WorkingDir", json_string(joined ? joined : dir));
}

int st_config_apply_change(json_t *cfg, const char *change, st_error **err) {
  const char *p = change + strspn(change, " \t\n");
  size_t klen = strcspn(p, " \t\n");
  char inst[16] = {0};
  if (klen == 0 || klen >= sizeof(inst))
    return st_error_set(err, EINVAL, "invalid change \"%s\"", change);
  for (size_t i = 0; i < klen; i++)
    inst[i] = (char)toupper((unsigned char)p[i]);
  const char *args = p + klen + strspn(p + klen, " \t\n");
  if (*args == '\0')
    return st_error_set(err, EINVAL, "%s requires at least one argument", inst);
  if (strcmp(inst, "CMD") == 0 || strcmp(inst, "ENTRYPOINT") == 0) {
    json_object_set_new(cfg, strcmp(inst, "CMD") == 0 ? "Cmd" : "Entrypoint",
                        command_value(args));
    return 0;
  }
  if (strcmp(inst, "ENV") == 0)
    return apply_pairs(cfg, inst, args, true, env_set, err);
  if (strcmp(inst, "LABEL") == 0)
    return apply_pairs(cfg, inst, args, false, label_set, err);
  if (strcmp(inst, "EXPOSE") == 0)
    return apply_set(cfg, "ExposedPorts", args, true, err);
  if (strcmp(inst, "VOLUME") == 0)
    return apply_set(cfg, "Volumes", args, false, err);
  if (strcmp(inst, "WORKDIR") == 0) {
    set_workdir(cfg, args);
    return 0;
  }
  if (strcmp(inst, "USER") == 0 || strcmp(inst, "STOPSIGNAL") == 0) {
    json_object_set_new(cfg, inst[0] == 'U' ? "User" : "StopSignal",
                        json_string(args));
    return 0;
  }
  if (strcmp(inst, "ONBUILD") == 0) {
    json_t *ob = json_object_get(cfg, "OnBuild");
    if (!json_is_array(ob)) {
      ob = json_array();
      json_object_set_new(cfg, "OnBuild", ob);
    }
    json_array_append_new(ob, json_string(args));
    return 0;
  }
  return st_error_set(err, EINVAL,
                      "%s is not allowed in --change: use CMD, ENTRYPOINT, "
                      "ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME "
                      "or WORKDIR",
                      inst);
}
