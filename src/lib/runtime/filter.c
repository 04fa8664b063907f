/* `ps --filter`: Docker's container filters. Values of one key are
 * alternatives (any may match); different keys must all match. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "runtime/filter.h"
#include "runtime/internal.h"
#include "util/cleanup.h"

typedef enum key {
  K_STATUS,
  K_NAME,
  K_ID,
  K_ANCESTOR,
  K_LABEL,
  K_EXITED,
  K_HEALTH,
  K_N,
} key;

static const char *const key_names[K_N] = {
    "status", "name", "id", "ancestor", "label", "exited", "health"};

typedef struct term {
  key k;
  char *value;
  regex_t re; /* name */
  bool has_re;
  char id[ST_DIGEST_LEN]; /* ancestor: the image it names, "" when none */
} term;

struct st_ct_filter {
  term *terms;
  size_t n;
};

void st_ct_filter_free(st_ct_filter *f) {
  if (f == NULL)
    return;
  for (size_t i = 0; i < f->n; i++) {
    free(f->terms[i].value);
    if (f->terms[i].has_re)
      regfree(&f->terms[i].re);
  }
  free(f->terms);
  free(f);
}

static int parse_term(st_store *s, const char *spec, term *t, st_error **err) {
  const char *eq = strchr(spec, '=');
  if (eq == NULL)
    return st_error_set(err, EINVAL,
                        "bad format of filter (expected name=value)");
  size_t klen = (size_t)(eq - spec);
  int k = 0;
  while (k < K_N && !(strlen(key_names[k]) == klen &&
                      strncmp(spec, key_names[k], klen) == 0))
    k++;
  if (k == K_N)
    return st_error_set(err, EINVAL, "invalid filter '%.*s'", (int)klen, spec);
  t->k = (key)k;
  if ((t->value = strdup(eq + 1)) == NULL)
    return st_error_errno(err, ENOMEM, "filter");
  static const char *const states[] = {"created",  "restarting", "running",
                                       "removing", "paused",     "exited",
                                       "dead",     NULL};
  switch (t->k) {
  case K_STATUS: {
    size_t i = 0;
    while (states[i] && strcmp(states[i], t->value) != 0)
      i++;
    if (states[i] == NULL)
      return st_error_set(err, EINVAL,
                          "invalid filter 'status=%s': Invalid filter "
                          "'status=%s'",
                          t->value, t->value);
    break;
  }
  case K_NAME:
    if (regcomp(&t->re, t->value, REG_EXTENDED | REG_NOSUB) != 0)
      return st_error_set(err, EINVAL, "invalid filter 'name=%s'", t->value);
    t->has_re = true;
    break;
  case K_EXITED: {
    char *end = NULL;
    strtol(t->value, &end, 10);
    if (*t->value == '\0' || *end)
      return st_error_set(err, EINVAL, "invalid filter 'exited=%s'", t->value);
    break;
  }
  case K_ANCESTOR: {
    st_image img;
    st_error *e = NULL;
    if (st_image_resolve(s, t->value, &img, &e) == 0) {
      snprintf(t->id, sizeof(t->id), "%s", img.id);
      st_image_clear(&img);
    }
    st_error_free(e);
    break;
  }
  case K_HEALTH:
    if (strcmp(t->value, "starting") && strcmp(t->value, "healthy") &&
        strcmp(t->value, "unhealthy") && strcmp(t->value, "none"))
      return st_error_set(err, EINVAL,
                          "Unrecognised filter value for health: %s", t->value);
    break;
  case K_ID:
  case K_LABEL:
  case K_N:
  default:
    break;
  }
  return 0;
}

int st_ct_filter_parse(st_store *s, char *const *specs, size_t n,
                       st_ct_filter **out, st_error **err) {
  st_ct_filter *f = calloc(1, sizeof(*f));
  if (f == NULL || (n && (f->terms = calloc(n, sizeof(term))) == NULL)) {
    st_ct_filter_free(f);
    return st_error_errno(err, ENOMEM, "filter");
  }
  for (size_t i = 0; i < n; i++) {
    f->n++;
    if (parse_term(s, specs[i], &f->terms[i], err) < 0) {
      st_ct_filter_free(f);
      return -1;
    }
  }
  *out = f;
  return 0;
}

/* The container's labels (its -l with its image's, stored in its
 * config.json), else its image's; a new reference in *hold. */
static json_t *labels_of(st_store *s, const st_container *c, json_t **hold) {
  cleanup_free char *dir = st_container_dir(s, c->id), *path = NULL;
  json_t *spec = dir && asprintf(&path, "%s/config.json", dir) >= 0
                     ? json_load_file(path, 0, NULL)
                     : NULL;
  const char *stored = json_string_value(
      json_object_get(json_object_get(spec, "annotations"), ST_ANN_CONFIG));
  json_t *st = stored ? json_loads(stored, 0, NULL) : NULL;
  json_decref(spec);
  if (json_object_get(st, "Labels")) {
    *hold = st;
    return json_object_get(st, "Labels");
  }
  json_decref(st);
  json_t *config = NULL;
  st_error *e = NULL;
  if (st_config_load(s, c->image, &config, &e) < 0) {
    st_error_free(e);
    return NULL;
  }
  *hold = config;
  return json_object_get(json_object_get(config, "config"), "Labels");
}

/* label=KEY or label=KEY=VALUE against the container's labels. */
static bool label_match(st_store *s, const st_container *c, const char *want) {
  json_t *config = NULL;
  json_t *labels = labels_of(s, c, &config);
  const char *eq = strchr(want, '=');
  cleanup_free char *k = eq ? strndup(want, (size_t)(eq - want)) : NULL;
  json_t *v = json_object_get(labels, eq ? (k ? k : "") : want);
  bool ok =
      v &&
      (!eq || (json_is_string(v) && strcmp(json_string_value(v), eq + 1) == 0));
  json_decref(config);
  return ok;
}

static bool term_match(st_store *s, const term *t, const st_container *c) {
  switch (t->k) {
  case K_STATUS:
    return strcmp(c->restarting            ? "restarting"
                  : st_container_paused(c) ? "paused"
                                           : st_ct_state_name(c->state),
                  t->value) == 0;
  case K_HEALTH:
    return strcmp(c->health[0] ? c->health : "none", t->value) == 0;
  case K_NAME:
    return regexec(&t->re, c->name, 0, NULL, 0) == 0;
  case K_ID:
    return strncmp(c->id, t->value, strlen(t->value)) == 0;
  case K_ANCESTOR:
    return (t->id[0] && strcmp(c->image, t->id) == 0) ||
           strcmp(c->image_ref, t->value) == 0;
  case K_LABEL:
    return label_match(s, c, t->value);
  case K_EXITED:
    return c->state == ST_CT_EXITED && c->exit_code == atoi(t->value);
  case K_N:
  default:
    return false;
  }
}

bool st_ct_filter_match(st_store *s, const st_ct_filter *f,
                        const st_container *c) {
  for (int k = 0; f && k < K_N; k++) {
    bool seen = false, any = false;
    for (size_t i = 0; i < f->n && !any; i++) {
      if (f->terms[i].k != (key)k)
        continue;
      seen = true;
      any = term_match(s, &f->terms[i], c);
    }
    if (seen && !any)
      return false;
  }
  return true;
}

bool st_ct_filter_has(const st_ct_filter *f, const char *key_name) {
  for (size_t i = 0; f && i < f->n; i++)
    if (strcmp(key_names[f->terms[i].k], key_name) == 0)
      return true;
  return false;
}
