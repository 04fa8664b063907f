/* `image inspect` and `history`: Docker's views of an image. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/units.h"
#include "image/image.h"
#include "ref/ref.h"
#include "store/layers.h"
#include "util/buf.h"
#include "util/cleanup.h"

static json_t *familiar_array(char **names, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *f = st_ref_familiar(names[i]);
    json_array_append_new(a, json_string(f ? f : names[i]));
  }
  return a;
}

static json_t *str_or_empty(json_t *config, const char *key) {
  const char *v = json_string_value(json_object_get(config, key));
  return json_string(v ? v : "");
}

static json_t *layers_array(json_t *config) {
  json_t *ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
  return json_is_array(ids) ? json_deep_copy(ids) : json_array();
}

static json_t *metadata(st_store *s, const char *id) {
  int64_t t = st_image_last_tag_time(s, id);
  cleanup_free char *when =
      t > 0 ? st_format_rfc3339nano(t / 1000000000, (int32_t)(t % 1000000000))
            : NULL;
  return json_pack("{s:s}", "LastTagTime",
                   when ? when : "0001-01-01T00:00:00Z");
}

/* Docker's GraphDriver, named after the store's layer backend ("overlay"
 * for directory layers, "erofs"): the top layer's diff directory as UpperDir,
 * the others (top first) as LowerDir, left out for a single layer as Docker
 * does. An image has no work or merged directory here: only containers do. */
static json_t *graph_driver(st_store *s, const char *id) {
  char **dirs = NULL;
  size_t n = 0;
  st_error *e = NULL;
  json_t *data = json_object();
  if (st_image_layer_dirs(s, id, &dirs, &n, &e) < 0)
    st_error_free(e);
  cleanup_buf st_buf lower = ST_BUF_INIT;
  for (size_t i = 1; i < n; i++)
    st_buf_printf(&lower, "%s%s", i > 1 ? ":" : "", dirs[i]);
  if (lower.data)
    json_object_set_new(data, "LowerDir", json_string(lower.data));
  if (n > 0)
    json_object_set_new(data, "UpperDir", json_string(dirs[0]));
  if (dirs)
    st_strv_free(dirs, n);
  bool erofs = st_store_layer_driver_recorded(s) == ST_LAYER_EROFS;
  return json_pack("{s:o, s:s}", "Data", data, "Name",
                   erofs ? "erofs" : "overlay");
}

/* True when v is what Go's omitempty leaves out: null, false, "", an
 * empty array or object (a number is never stored in these keys). */
static bool go_empty(const json_t *v) {
  return v == NULL || json_is_null(v) || json_is_false(v) ||
         (json_is_string(v) && json_string_length(v) == 0) ||
         (json_is_array(v) && json_array_size(v) == 0) ||
         (json_is_object(v) && json_object_size(v) == 0);
}

/* Docker 28.3's image Config (API 1.50-1.51): the keys of the image spec
 * only, each left out when empty, except eight that are always there
 * (null or ""); a Go map, so in sorted key order. */
static json_t *docker_config(const json_t *cc) {
  /* sorted; always: present even when empty (text: as "", else null) */
  static const struct {
    const char *key;
    bool always, text;
  } keys[] = {
      {"ArgsEscaped", false, false},  {"Cmd", true, false},
      {"Entrypoint", true, false},    {"Env", true, false},
      {"ExposedPorts", false, false}, {"Healthcheck", false, false},
      {"Labels", true, false},        {"OnBuild", true, false},
      {"Shell", false, false},        {"StopSignal", false, false},
      {"User", true, true},           {"Volumes", true, false},
      {"WorkingDir", true, true},
  };
  json_t *o = json_object();
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    json_t *v = json_object_get(cc, keys[i].key);
    /* a Healthcheck object, even empty, is a set pointer in Go */
    bool keep = strcmp(keys[i].key, "Healthcheck") == 0 ? json_is_object(v)
                                                        : !go_empty(v);
    if (keep)
      json_object_set_new(o, keys[i].key, json_deep_copy(v));
    else if (keys[i].always)
      json_object_set_new(o, keys[i].key,
                          keys[i].text ? json_string("") : json_null());
  }
  return o;
}

int st_image_inspect(st_store *s, const char *id, json_t **out,
                     st_error **err) {
  st_image img;
  if (st_image_get(s, id, &img, err) < 0)
    return -1;
  json_t *config = NULL;
  char **tags = NULL, **digests = NULL;
  size_t nt = 0, nd = 0;
  int r = -1;
  if (st_config_load(s, id, &config, err) < 0 ||
      st_image_tags(s, id, &tags, &nt, err) < 0 ||
      st_image_digests(s, id, &digests, &nd, err) < 0)
    goto out;
  json_t *cc = json_object_get(config, "config");
  json_t *o = json_object();
  json_object_set_new(o, "Id", json_string(id));
  json_object_set_new(o, "RepoTags", familiar_array(tags, nt));
  json_object_set_new(o, "RepoDigests", familiar_array(digests, nd));
  json_object_set_new(o, "Parent", json_string(img.parent ? img.parent : ""));
  json_object_set_new(o, "Comment", str_or_empty(config, "comment"));
  json_object_set_new(o, "Created", str_or_empty(config, "created"));
  json_object_set_new(o, "DockerVersion",
                      str_or_empty(config, "docker_version"));
  json_object_set_new(o, "Author", str_or_empty(config, "author"));
  json_object_set_new(o, "Architecture", str_or_empty(config, "architecture"));
  if (json_object_get(config, "variant"))
    json_object_set_new(o, "Variant", str_or_empty(config, "variant"));
  json_object_set_new(o, "Os", str_or_empty(config, "os"));
  json_object_set_new(o, "Size", json_integer(img.size));
  json_object_set_new(o, "GraphDriver", graph_driver(s, id));
  json_object_set_new(o, "RootFS",
                      json_pack("{s:s, s:o}", "Type", "layers", "Layers",
                                layers_array(config)));
  json_object_set_new(o, "Metadata", metadata(s, id));
  /* Docker 28.3 writes Config last: its compat wrapper's own field comes
   * after every field of the embedded response. */
  json_object_set_new(o, "Config", docker_config(cc));
  *out = o;
  r = 0;
out:
  json_decref(config);
  st_strv_free(tags, nt);
  st_strv_free(digests, nd);
  st_image_clear(&img);
  return r;
}

void st_history_free(st_history_row *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(rows[i].id);
    free(rows[i].created_by);
    free(rows[i].comment);
    if (rows[i].tags) {
      size_t k = 0;
      while (rows[i].tags[k])
        k++;
      st_strv_free(rows[i].tags, k);
    }
  }
  free(rows);
}

static int64_t parse_created(json_t *h) {
  const char *c = json_string_value(json_object_get(h, "created"));
  int64_t sec = 0;
  int32_t nsec = 0;
  if (c == NULL || st_parse_rfc3339(c, &sec, &nsec) < 0)
    return 0;
  return sec;
}

static char *dup_or_empty(json_t *h, const char *key) {
  const char *v = json_string_value(json_object_get(h, key));
  return strdup(v ? v : "");
}

/* Rows oldest first: one per history entry, sizes from the layers that
 * non-empty entries made; images without history get one row per layer. */
static int fill_rows(json_t *hist, const st_layer_rec *layers, size_t nl,
                     st_history_row *rows, size_t n) {
  size_t li = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *h = json_array_get(hist, i);
    bool empty = json_is_true(json_object_get(h, "empty_layer"));
    if (h == NULL) /* no history: synthesized per-layer rows */
      empty = false;
    rows[i].created = parse_created(h);
    rows[i].created_by = dup_or_empty(h, "created_by");
    rows[i].comment = dup_or_empty(h, "comment");
    if (!empty && li < nl)
      rows[i].size = layers[li++].size;
    if (rows[i].created_by == NULL || rows[i].comment == NULL)
      return -1;
  }
  return 0;
}

/* Docker's classic IMAGE column: each local ancestor (through the parent
 * links builds and commits record) names the row of its own last step. */
static void ancestor_ids(st_store *s, const char *id, st_history_row *rows,
                         size_t n) {
  st_image img;
  if (st_image_get(s, id, &img, NULL) < 0)
    return;
  for (int depth = 0; img.parent && depth < 4096; depth++) {
    st_image parent;
    json_t *config = NULL;
    if (st_image_get(s, img.parent, &parent, NULL) < 0)
      break;
    st_image_clear(&img);
    img = parent;
    if (st_config_load(s, img.id, &config, NULL) < 0)
      break;
    size_t h = json_array_size(json_object_get(config, "history"));
    json_decref(config);
    /* rows are newest first: the parent's last step is row n - h */
    if (h == 0 || h > n || rows[n - h].id)
      continue;
    rows[n - h].id = strdup(img.id);
  }
  st_image_clear(&img);
}

int st_image_history(st_store *s, const char *id, st_history_row **out,
                     size_t *nout, st_error **err) {
  json_t *config = NULL;
  st_layer_rec *layers = NULL;
  size_t nl = 0;
  if (st_config_load(s, id, &config, err) < 0)
    return -1;
  if (st_image_layers(s, id, &layers, &nl, err) < 0) {
    json_decref(config);
    return -1;
  }
  json_t *hist = json_object_get(config, "history");
  size_t n = json_is_array(hist) && json_array_size(hist) > 0
                 ? json_array_size(hist)
                 : nl;
  st_history_row *rows = calloc(n ? n : 1, sizeof(*rows));
  int r =
      rows ? fill_rows(json_is_array(hist) ? hist : NULL, layers, nl, rows, n)
           : -1;
  size_t ntags = 0;
  if (r == 0 && n > 0) {
    /* Newest first, as Docker prints; the newest row is the image. */
    for (size_t i = 0; i < n / 2; i++) {
      st_history_row t = rows[i];
      rows[i] = rows[n - 1 - i];
      rows[n - 1 - i] = t;
    }
    rows[0].id = strdup(id);
    r = st_image_tags(s, id, &rows[0].tags, &ntags, err);
    if (r == 0)
      ancestor_ids(s, id, rows, n);
  }
  json_decref(config);
  st_layers_free(layers, nl);
  if (r < 0) {
    st_history_free(rows, n);
    if (err && *err == NULL)
      st_error_errno(err, ENOMEM, "history of %s", id);
    return -1;
  }
  *out = rows;
  *nout = n;
  return 0;
}
