/* The volume verbs: create, remove, prune, inspect (runtime/volumes.h). */
#include "runtime/volumes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "runtime/mounts.h"
#include "store/containers.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

/* The options of the local driver (Docker's validOpts). */
static const char *const local_opts[] = {"type", "device", "o", "size", NULL};

static int kv_object(char *const *kv, size_t n, bool check_opts,
                     const char *name, json_t **out, st_error **err) {
  json_t *o = json_object();
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(kv[i], '=');
    cleanup_free char *key =
        eq ? strndup(kv[i], (size_t)(eq - kv[i])) : strdup(kv[i]);
    bool known = !check_opts;
    for (size_t j = 0; !known && local_opts[j]; j++)
      known = key && strcmp(key, local_opts[j]) == 0;
    if (key == NULL || !known) {
      json_decref(o);
      return st_error_set(err, EINVAL, "create %s: invalid option key: \"%s\"",
                          name, key ? key : kv[i]);
    }
    json_object_set_new(o, key, json_string(eq ? eq + 1 : ""));
  }
  if (check_opts && json_object_get(o, "type") &&
      !json_object_get(o, "device")) {
    json_decref(o);
    return st_error_set(err, EINVAL,
                        "create %s: missing required option: \"device\"", name);
  }
  *out = o;
  return 0;
}

static int random_name(char out[65], st_error **err) {
  unsigned char r[32];
  if (getrandom(r, sizeof(r), 0) != sizeof(r))
    return st_error_errno(err, errno, "volume name");
  for (size_t i = 0; i < sizeof(r); i++)
    snprintf(out + 2 * i, 3, "%02x", r[i]);
  return 0;
}

/* The directory first, then the row: killed between the two, what is left
 * is a directory without a row, which `system check` reports. */
static int make_volume(st_store *s, const char *name, json_t *labels,
                       json_t *opts, st_error **err) {
  cleanup_free char *dir = st_volume_dir(s, name), *data = NULL;
  if (dir == NULL || asprintf(&data, "%s/_data", dir) < 0)
    return st_error_errno(err, ENOMEM, "create volume");
  if (st_mkdir_p(data, 0755, err) < 0)
    return st_error_wrap(err, "create %s", name);
  chmod(dir, 0701);
  cleanup_free char *l = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
  cleanup_free char *o = json_dumps(opts, JSON_COMPACT | JSON_SORT_KEYS);
  st_volume v = {.name = (char *)name,
                 .driver = (char *)"local",
                 .created = st_now_ns(),
                 .labels = l,
                 .options = o};
  if (l == NULL || o == NULL)
    return st_error_errno(err, ENOMEM, "create volume");
  if (st_volume_insert(s, &v, err) < 0) {
    st_error *ignored = NULL;
    if ((*err)->code != EEXIST && st_rm_rf(dir, &ignored) < 0)
      st_error_free(ignored);
    return -1;
  }
  return 0;
}

int st_volume_create(st_store *s, const char *name, char *const *labels,
                     size_t n_labels, char *const *opts, size_t n_opts,
                     char **out, st_error **err) {
  char rnd[65];
  if (name == NULL) {
    if (random_name(rnd, err) < 0)
      return -1;
    name = rnd;
  }
  if (!st_volume_name_valid(name))
    return st_error_set(err, EINVAL,
                        "create %s: \"%s\" includes invalid characters for a "
                        "local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" "
                        "are allowed. If you intended to pass a host "
                        "directory, use absolute path",
                        name, name);
  cleanup_json json_t *l = NULL, *o = NULL;
  if (kv_object(labels, n_labels, false, name, &l, err) < 0 ||
      kv_object(opts, n_opts, true, name, &o, err) < 0)
    return -1;
  st_error *e = NULL;
  if (make_volume(s, name, l, o, &e) < 0 && e->code != EEXIST) {
    *err = e;
    return -1;
  }
  st_error_free(e);
  if ((*out = strdup(name)) == NULL)
    return st_error_errno(err, ENOMEM, "create volume");
  return 0;
}

int st_volume_use_count(st_store *s, const char *name) {
  char **ids = NULL;
  size_t n = 0;
  st_error *e = NULL;
  if (st_volume_users(s, name, &ids, &n, &e) < 0) {
    st_error_free(e);
    return -1;
  }
  st_strv_free(ids, n);
  return (int)n;
}

static int remove_unused(st_store *s, const char *name, st_error **err) {
  char **ids = NULL;
  size_t n = 0;
  if (st_volume_users(s, name, &ids, &n, err) < 0)
    return -1;
  if (n > 0) {
    cleanup_buf st_buf b = ST_BUF_INIT;
    for (size_t i = 0; i < n; i++)
      st_buf_printf(&b, "%s%s", i ? " " : "", ids[i]);
    st_strv_free(ids, n);
    return st_error_set(err, EBUSY, "remove %s: volume is in use - [%s]", name,
                        b.data ? b.data : "");
  }
  free(ids);
  cleanup_free char *dir = st_volume_dir(s, name), *data = NULL;
  if (dir == NULL || asprintf(&data, "%s/_data", dir) < 0)
    return st_error_errno(err, ENOMEM, "remove volume");
  /* The row first: killed before the files go, what is left is a
   * directory without a row (`system check` reports it). Then what a
   * -o type= volume has mounted on _data, then the files. */
  if (st_volume_delete(s, name, err) < 0)
    return -1;
  st_volume_host_umount(data);
  return st_rm_rf(dir, err);
}

int st_volume_remove(st_store *s, const char *name, st_error **err) {
  st_volume v;
  if (st_volume_get(s, name, &v, err) < 0)
    return -1;
  st_volume_clear(&v);
  return remove_unused(s, name, err);
}

int64_t st_volume_size(st_store *s, const char *name) {
  cleanup_free char *dir = st_volume_dir(s, name), *data = NULL;
  if (dir == NULL || asprintf(&data, "%s/_data", dir) < 0)
    return 0;
  long long n = st_du(data);
  return n > 0 ? n : 0;
}

static bool has_label(const st_volume *v, const char *filter) {
  cleanup_json json_t *l = json_loads(v->labels, 0, NULL);
  const char *eq = strchr(filter, '=');
  cleanup_free char *key =
      eq ? strndup(filter, (size_t)(eq - filter)) : strdup(filter);
  json_t *val = key ? json_object_get(l, key) : NULL;
  if (val == NULL)
    return false;
  return eq == NULL || strcmp(json_string_value(val) ?: "", eq + 1) == 0;
}

static bool prune_match(const st_volume *v, bool all, char *const *filters,
                        size_t n) {
  if (!all && !has_label(v, ST_VOLUME_ANON_LABEL))
    return false;
  for (size_t i = 0; i < n; i++) {
    if (strncmp(filters[i], "label=", 6) == 0 && !has_label(v, filters[i] + 6))
      return false;
    if (strncmp(filters[i], "label!=", 7) == 0 && has_label(v, filters[i] + 7))
      return false;
  }
  return true;
}

int st_volumes_prune(st_store *s, bool all, char *const *filters,
                     size_t n_filters, char ***names, size_t *n, int64_t *bytes,
                     st_error **err) {
  for (size_t i = 0; i < n_filters; i++)
    if (strncmp(filters[i], "label=", 6) != 0 &&
        strncmp(filters[i], "label!=", 7) != 0 &&
        strcmp(filters[i], "all=true") != 0 && strcmp(filters[i], "all=1"))
      return st_error_set(err, EINVAL, "invalid filter '%s'", filters[i]);
  st_volume *v = NULL;
  size_t nv = 0;
  *names = NULL;
  *n = 0;
  *bytes = 0;
  if (st_volume_list(s, &v, &nv, err) < 0)
    return -1;
  char **out = calloc(nv + 1, sizeof(char *));
  size_t len = 0;
  for (size_t i = 0; out && i < nv; i++) {
    bool all_i = all;
    for (size_t j = 0; j < n_filters; j++)
      all_i |= strncmp(filters[j], "all=", 4) == 0;
    if (!prune_match(&v[i], all_i, filters, n_filters) ||
        st_volume_use_count(s, v[i].name) != 0)
      continue;
    int64_t size = st_volume_size(s, v[i].name);
    st_error *e = NULL;
    if (remove_unused(s, v[i].name, &e) < 0) {
      st_error_free(e); /* taken by a container meanwhile */
      continue;
    }
    *bytes += size;
    out[len++] = v[i].name;
    v[i].name = NULL;
  }
  st_volumes_free(v, nv);
  if (out == NULL)
    return st_error_errno(err, ENOMEM, "prune volumes");
  *names = out;
  *n = len;
  return 0;
}

int st_volumes_disk_usage(st_store *s, st_volumes_usage *u, st_error **err) {
  memset(u, 0, sizeof(*u));
  st_volume *v = NULL;
  size_t n = 0;
  if (st_volume_list(s, &v, &n, err) < 0)
    return -1;
  u->rows = json_array();
  for (size_t i = 0; i < n; i++) {
    int links = st_volume_use_count(s, v[i].name);
    int64_t size = st_volume_size(s, v[i].name);
    cleanup_free char *dir = st_volume_dir(s, v[i].name), *mp = NULL;
    if (dir == NULL || asprintf(&mp, "%s/_data", dir) < 0)
      mp = NULL;
    u->total++;
    u->size += size;
    if (links > 0)
      u->active++;
    else
      u->reclaimable += size;
    json_array_append_new(
        u->rows,
        json_pack("{s:s, s:i, s:I, s:s, s:s?, s:s}", "Name", v[i].name, "Links",
                  links > 0 ? links : 0, "Size", (json_int_t)size, "Driver",
                  v[i].driver, "Mountpoint", mp, "Scope", "local"));
  }
  st_volumes_free(v, n);
  return 0;
}

void st_volumes_release(st_store *s, char **names, size_t n) {
  for (size_t i = 0; i < n; i++) {
    st_error *e = NULL;
    if (remove_unused(s, names[i], &e) < 0)
      st_error_free(e);
  }
}

static json_t *object_or_null(const char *text) {
  json_t *o = json_loads(text, 0, NULL);
  if (o && json_object_size(o) > 0)
    return o;
  json_decref(o);
  return json_null();
}

json_t *st_volume_json(st_store *s, const st_volume *v) {
  char created[64] = "";
  time_t t = (time_t)(v->created / 1000000000);
  struct tm tm;
  if (localtime_r(&t, &tm)) {
    char zone[8];
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(zone, sizeof(zone), "%z", &tm);
    size_t len = strlen(created);
    if (strcmp(zone, "+0000") == 0)
      snprintf(created + len, sizeof(created) - len, "Z");
    else
      snprintf(created + len, sizeof(created) - len, "%.3s:%s", zone, zone + 3);
  }
  cleanup_free char *dir = st_volume_dir(s, v->name), *mp = NULL;
  if (dir == NULL || asprintf(&mp, "%s/_data", dir) < 0)
    return NULL;
  return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:s}", "CreatedAt", created,
                   "Driver", v->driver, "Labels", object_or_null(v->labels),
                   "Mountpoint", mp, "Name", v->name, "Options",
                   object_or_null(v->options), "Scope", "local");
}
