/* Reading OCI image layouts in archives: index.json, nested indexes, the
 * manifests for this platform, and their configs and layers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/archive_internal.h"
#include "image/image.h"
#include "ref/ref.h"
#include "util/cleanup.h"

/* Nested indexes followed at most. */
#define MAX_DEPTH 8

typedef struct walk walk;
/* Called for each image manifest found; mf is its file, m its JSON. */
typedef int (*manifest_fn)(walk *w, st_xfile *mf, const json_t *m,
                           const char *media_type, const char *name,
                           st_error **err);

struct walk {
  st_xdir *x;
  bool pick;        /* take the first manifest for os/arch of each index */
  const char *os;   /* with pick */
  const char *arch; /* with pick */
  manifest_fn fn;
  void *ctx;
};

static bool is_index_type(const char *mt) {
  return strcmp(mt, ST_MT_OCI_INDEX) == 0 || strcmp(mt, ST_MT_DOCKER_LIST) == 0;
}

static bool is_manifest_type(const char *mt) {
  return strcmp(mt, ST_MT_OCI_MANIFEST) == 0 ||
         strcmp(mt, ST_MT_DOCKER_MANIFEST) == 0;
}

/* The file a descriptor names (blobs/sha256/<hex>), its size checked. */
static int desc_file(st_xdir *x, const json_t *desc, const char *where,
                     st_xfile **out, st_error **err) {
  const char *digest = json_string_value(json_object_get(desc, "digest"));
  if (digest == NULL)
    return st_error_set(err, EINVAL, "%s: a descriptor has no digest", where);
  if (strncmp(digest, "sha256:", 7) != 0)
    return st_error_set(err, EINVAL,
                        "%s: digest \"%.80s\": only sha256 is supported", where,
                        digest);
  if (st_digest_check(digest, where, err) < 0)
    return -1;
  char path[ST_DIGEST_LEN + 16];
  snprintf(path, sizeof(path), "blobs/sha256/%s", st_digest_hex(digest));
  st_xfile *f = st_xdir_find(x, path);
  if (f == NULL)
    return st_archive_missing(where, path, err);
  const json_t *size = json_object_get(desc, "size");
  if (json_is_integer(size) && json_integer_value(size) != (json_int_t)f->size)
    return st_error_set(
        err, EIO, "%s: `%s` has %llu bytes but its descriptor says %lld", where,
        path, (unsigned long long)f->size, (long long)json_integer_value(size));
  *out = f;
  return 0;
}

static json_t *read_json(st_xdir *x, const st_xfile *f, st_error **err) {
  cleanup_free char *buf = NULL;
  size_t len = 0;
  if (st_xdir_read(x, f, &buf, &len, err) < 0)
    return NULL;
  json_error_t jerr;
  json_t *j = json_loadb(buf, len, 0, &jerr);
  if (j == NULL || !json_is_object(j)) {
    json_decref(j);
    st_error_set(err, EINVAL, "`%s` is not a JSON object: %s", f->name,
                 j ? "another JSON value" : jerr.text);
    return NULL;
  }
  return j;
}

static int walk_desc(walk *w, const json_t *desc, const char *name,
                     const char *where, int depth, st_error **err);

/* The children of an index: with w->pick the first for os/arch (an error
 * when there is none), else all. */
static int walk_index(walk *w, st_xfile *f, const json_t *idx, const char *name,
                      int depth, st_error **err) {
  if (depth >= MAX_DEPTH)
    return st_error_set(err, EINVAL, "`%s`: indexes nested too deep", f->name);
  const json_t *children = json_object_get(idx, "manifests");
  if (!json_is_array(children))
    return st_error_set(err, EINVAL, "`%s`: \"manifests\" is not an array",
                        f->name);
  size_t i;
  const json_t *child;
  json_array_foreach(children, i, child) {
    if (w->pick && !st_archive_platform_matches(
                       json_object_get(child, "platform"), w->os, w->arch))
      continue;
    if (walk_desc(w, child, name, f->name, depth + 1, err) < 0)
      return -1;
    if (w->pick)
      return 0;
  }
  if (w->pick)
    return st_error_set(err, EINVAL, "`%s`: no image for %s/%s in this index",
                        f->name, w->os, w->arch);
  return 0;
}

static int walk_desc(walk *w, const json_t *desc, const char *name,
                     const char *where, int depth, st_error **err) {
  st_xfile *f = NULL;
  if (desc_file(w->x, desc, where, &f, err) < 0)
    return -1;
  json_auto_t *j = read_json(w->x, f, err);
  if (j == NULL)
    return -1;
  cleanup_free char *own_name = NULL;
  if (name == NULL)
    name = own_name =
        st_archive_annotation_name(json_object_get(desc, "annotations"), NULL);
  const char *mt = json_string_value(json_object_get(j, "mediaType"));
  if (mt == NULL)
    mt = json_string_value(json_object_get(desc, "mediaType"));
  if (mt == NULL)
    mt = "";
  if (is_index_type(mt) ||
      (!*mt && json_is_array(json_object_get(j, "manifests"))))
    return walk_index(w, f, j, name, depth, err);
  if (is_manifest_type(mt) ||
      (!*mt && json_is_object(json_object_get(j, "config"))))
    return w->fn(w, f, j, *mt ? mt : ST_MT_OCI_MANIFEST, name, err);
  return 0; /* another kind of artifact: not an image */
}

/* ---- planning the images of an OCI archive ------------------------------- */

static int plan_layers(st_xdir *x, ld_image *m, const json_t *layers,
                       const json_t *diff_ids, const char *where,
                       st_error **err) {
  size_t n = json_array_size(layers);
  if ((m->layers = calloc(n + 1, sizeof(*m->layers))) == NULL)
    return st_error_errno(err, ENOMEM, "load");
  for (size_t i = 0; i < n; i++) {
    const json_t *d = json_array_get(layers, i);
    ld_layer *l = &m->layers[i];
    if (desc_file(x, d, where, &l->file, err) < 0)
      return -1;
    m->n_layers = i + 1;
    snprintf(l->diff_id, sizeof(l->diff_id), "%s",
             json_string_value(json_array_get(diff_ids, i)));
    const char *mt = json_string_value(json_object_get(d, "mediaType"));
    if (mt && (l->media_type = strdup(mt)) == NULL)
      return st_error_errno(err, ENOMEM, "load");
  }
  return 0;
}

static int plan_manifest(walk *w, st_xfile *mf, const json_t *m,
                         const char *media_type, const char *name,
                         st_error **err) {
  ld_plan *p = w->ctx;
  st_xfile *cf = NULL;
  const json_t *layers = json_object_get(m, "layers");
  if (!json_is_array(layers))
    return st_error_set(err, EINVAL, "`%s`: \"layers\" is not an array",
                        mf->name);
  if (desc_file(w->x, json_object_get(m, "config"), mf->name, &cf, err) < 0)
    return -1;
  char *config = NULL;
  size_t len = 0;
  if (st_xdir_read(w->x, cf, &config, &len, err) < 0)
    return -1;
  const json_t *diff_ids = NULL;
  int64_t created = 0;
  json_auto_t *cj =
      st_ld_config(config, len, cf->name, &diff_ids, &created, err);
  if (cj == NULL) {
    free(config);
    return -1;
  }
  if (json_array_size(diff_ids) != json_array_size(layers)) {
    free(config);
    return st_error_set(err, EINVAL,
                        "`%s` lists %zu layers but its config `%s` has %zu "
                        "diff IDs",
                        mf->name, json_array_size(layers), cf->name,
                        json_array_size(diff_ids));
  }
  bool is_new = false;
  ld_image *img = st_ld_image(p, cf->digest, config, len, &is_new, err);
  if (img == NULL)
    return -1;
  if (is_new) {
    img->created = created;
    img->manifest = mf;
    if ((img->manifest_type = strdup(media_type)) == NULL ||
        (img->label = name ? st_ref_familiar(name) : strdup(mf->name)) == NULL)
      return st_error_errno(err, ENOMEM, "load");
    if (plan_layers(w->x, img, layers, diff_ids, mf->name, err) < 0)
      return -1;
  }
  return name ? st_ld_add_tag(img, name, err) : 0;
}

int st_ld_plan_oci(st_xdir *x, ld_plan *p, st_error **err) {
  st_xfile *f = st_xdir_find(x, ST_ARCHIVE_INDEX_FILE);
  if (f == NULL)
    return st_error_set(err, EINVAL,
                        "invalid archive: no " ST_ARCHIVE_INDEX_FILE);
  json_auto_t *idx = read_json(x, f, err);
  if (idx == NULL)
    return -1;
  const json_t *manifests = json_object_get(idx, "manifests");
  if (!json_is_array(manifests))
    return st_error_set(err, EINVAL,
                        ST_ARCHIVE_INDEX_FILE ": \"manifests\" is not an "
                                              "array");
  walk w = {.x = x,
            .pick = true,
            .os = "linux",
            .arch = st_host_arch(),
            .fn = plan_manifest,
            .ctx = p};
  size_t i;
  const json_t *d;
  json_array_foreach(manifests, i, d) {
    if (!st_archive_platform_matches(json_object_get(d, "platform"), w.os,
                                     w.arch))
      continue;
    if (walk_desc(&w, d, NULL, ST_ARCHIVE_INDEX_FILE, 0, err) < 0)
      return -1;
  }
  if (p->n == 0 && json_array_size(manifests) > 0)
    return st_error_set(err, EINVAL,
                        ST_ARCHIVE_INDEX_FILE ": no image for %s/%s", w.os,
                        w.arch);
  return 0;
}

/* ---- the OCI manifest of a docker-archive image -------------------------- */

typedef struct match {
  const char *id;
  const ld_layer *layers;
  size_t n;
  st_xfile *found;
  char *media_type;
} match;

static int match_manifest(walk *w, st_xfile *mf, const json_t *m,
                          const char *media_type, const char *name,
                          st_error **err) {
  (void)name;
  match *c = w->ctx;
  const char *cfg = json_string_value(
      json_object_get(json_object_get(m, "config"), "digest"));
  const json_t *layers = json_object_get(m, "layers");
  if (c->found || cfg == NULL || strcmp(cfg, c->id) != 0 ||
      json_array_size(layers) != c->n)
    return 0;
  for (size_t i = 0; i < c->n; i++) {
    const char *d =
        json_string_value(json_object_get(json_array_get(layers, i), "digest"));
    if (d == NULL || strcmp(d, c->layers[i].file->digest) != 0)
      return 0;
  }
  /* media_type lives in the walk's JSON: copy it now. */
  if ((c->media_type = strdup(media_type)) == NULL)
    return st_error_errno(err, ENOMEM, "load");
  c->found = mf;
  return 0;
}

st_xfile *st_ld_find_manifest(st_xdir *x, const char *id,
                              const ld_layer *layers, size_t n,
                              char **media_type) {
  *media_type = NULL;
  st_xfile *f = st_xdir_find(x, ST_ARCHIVE_INDEX_FILE);
  if (f == NULL)
    return NULL;
  st_error *ignored = NULL;
  json_auto_t *idx = read_json(x, f, &ignored);
  match c = {.id = id, .layers = layers, .n = n};
  walk w = {.x = x, .fn = match_manifest, .ctx = &c};
  size_t i;
  const json_t *d;
  json_array_foreach(json_object_get(idx, "manifests"), i, d) {
    if (walk_desc(&w, d, NULL, ST_ARCHIVE_INDEX_FILE, 0, &ignored) < 0 ||
        c.found)
      break;
  }
  st_error_free(ignored);
  if (c.found == NULL)
    return NULL;
  *media_type = c.media_type;
  return c.found;
}
