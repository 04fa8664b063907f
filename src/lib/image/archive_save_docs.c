/* The JSON files of a save, in the shapes Docker writes them (Go's
 * encoding/json: compact, struct fields in declaration order, map keys
 * sorted; manifest.json and repositories end with a newline, as Go's
 * json.Encoder writes them). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/archive_internal.h"
#include "image/image.h"
#include "ref/ref.h"
#include "util/cleanup.h"

static int cmp_digest(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

/* Docker's LayerSources: diff ID -> descriptor of the written tar, keys
 * sorted (a Go map). */
static json_t *layer_sources(const sv_image *m) {
  char(*keys)[ST_DIGEST_LEN] = calloc(m->n_layers + 1, sizeof(*keys));
  json_t *o = json_object();
  if (keys == NULL || o == NULL) {
    free(keys);
    json_decref(o);
    return NULL;
  }
  for (size_t i = 0; i < m->n_layers; i++)
    memcpy(keys[i], m->layers[i].diff_id, ST_DIGEST_LEN);
  qsort(keys, m->n_layers, sizeof(*keys), cmp_digest);
  for (size_t i = 0; i < m->n_layers; i++) {
    if (json_object_get(o, keys[i]))
      continue;
    size_t at = 0;
    while (strcmp(m->layers[at].diff_id, keys[i]) != 0)
      at++;
    json_object_set_new(o, keys[i],
                        json_pack("{s:s, s:s, s:I}", "mediaType",
                                  ST_MT_OCI_LAYER, "digest", keys[i], "size",
                                  (json_int_t)m->tar_sizes[at]));
  }
  free(keys);
  return o;
}

static bool in_plan(const sv_plan *p, const char *id) {
  for (size_t i = 0; id && i < p->n_imgs; i++)
    if (strcmp(p->imgs[i].id, id) == 0)
      return true;
  return false;
}

/* Appends the familiar form of each tag ("busybox:latest"). */
static int familiar_tags(const sv_image *m, json_t *arr) {
  for (size_t i = 0; i < m->n_tags; i++) {
    cleanup_free char *f = st_ref_familiar(m->tags[i]);
    if (f == NULL || json_array_append_new(arr, json_string(f)) < 0)
      return -1;
  }
  return 0;
}

/* One element of manifest.json, in Docker's field order: Config, RepoTags
 * (null without tags), Layers, Parent (only when also saved),
 * LayerSources. */
static json_t *manifest_item(const sv_plan *p, const sv_image *m) {
  json_t *tags = m->n_tags ? json_array() : json_null();
  json_t *layers = json_array();
  cleanup_free char *config = st_archive_blob_path(m->id);
  if (config == NULL || tags == NULL || layers == NULL ||
      (m->n_tags && familiar_tags(m, tags) < 0))
    goto fail;
  for (size_t i = 0; i < m->n_layers; i++) {
    cleanup_free char *path = st_archive_blob_path(m->layers[i].diff_id);
    if (path == NULL || json_array_append_new(layers, json_string(path)) < 0)
      goto fail;
  }
  json_t *o = json_pack("{s:s, s:o, s:o}", "Config", config, "RepoTags", tags,
                        "Layers", layers);
  if (o == NULL)
    return NULL;
  if (in_plan(p, m->parent) &&
      json_object_set_new(o, "Parent", json_string(m->parent)) < 0)
    goto fail_o;
  if (m->n_layers > 0 &&
      json_object_set_new(o, "LayerSources", layer_sources(m)) < 0)
    goto fail_o;
  return o;
fail_o:
  json_decref(o);
  return NULL;
fail:
  json_decref(tags);
  json_decref(layers);
  return NULL;
}

static char *manifest_json(const sv_plan *p) {
  json_auto_t *arr = json_array();
  for (size_t i = 0; arr && i < p->n_imgs; i++)
    if (json_array_append_new(arr, manifest_item(p, &p->imgs[i])) < 0)
      return NULL;
  return arr ? st_archive_json_dump(arr, false, true) : NULL;
}

/* {"busybox": {"latest": "<top layer diff ID hex>"}}, or NULL in *out when
 * no image has a tag (Docker then writes no file). Returns 0, -1 when out
 * of memory. */
static int repositories_json(const sv_plan *p, char **out) {
  *out = NULL;
  json_auto_t *repos = json_object();
  if (repos == NULL)
    return -1;
  for (size_t i = 0; i < p->n_imgs; i++) {
    const sv_image *m = &p->imgs[i];
    if (m->n_layers == 0)
      continue;
    const char *top = st_digest_hex(m->layers[m->n_layers - 1].diff_id);
    for (size_t j = 0; j < m->n_tags; j++) {
      cleanup_free char *repo = NULL;
      cleanup_free char *tag = NULL;
      if (st_ref_split_tag(m->tags[j], &repo, &tag) < 0)
        return -1;
      cleanup_free char *fam = st_ref_familiar(repo);
      if (fam == NULL || tag == NULL)
        return -1;
      json_t *r = json_object_get(repos, fam);
      if (r == NULL && json_object_set_new(repos, fam, r = json_object()) < 0)
        return -1;
      if (json_object_set_new(r, tag, json_string(top)) < 0)
        return -1;
    }
  }
  if (json_object_size(repos) == 0)
    return 0;
  *out = st_archive_json_dump(repos, true, true);
  return *out ? 0 : -1;
}

/* The OCI index: one entry per tag (with containerd's and OCI's name
 * annotations), one without annotations for an image without tags. */
static char *index_json(const sv_plan *p) {
  json_auto_t *manifests = json_array();
  for (size_t i = 0; manifests && i < p->n_imgs; i++) {
    const sv_image *m = &p->imgs[i];
    for (size_t j = 0; j < m->n_tags || (j == 0 && m->n_tags == 0); j++) {
      json_t *d =
          json_pack("{s:s, s:s, s:I}", "mediaType", m->manifest_type, "digest",
                    m->manifest, "size", (json_int_t)m->manifest_size);
      if (d == NULL || json_array_append_new(manifests, d) < 0)
        return NULL;
      if (m->n_tags == 0)
        continue;
      cleanup_free char *repo = NULL;
      cleanup_free char *tag = NULL;
      if (st_ref_split_tag(m->tags[j], &repo, &tag) < 0 || tag == NULL)
        return NULL;
      json_t *ann =
          json_pack("{s:s, s:s}", "io.containerd.image.name", m->tags[j],
                    "org.opencontainers.image.ref.name", tag);
      if (json_object_set_new(d, "annotations", ann) < 0)
        return NULL;
    }
  }
  if (manifests == NULL)
    return NULL;
  json_auto_t *idx =
      json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType",
                ST_MT_OCI_INDEX, "manifests", manifests);
  return idx ? st_archive_json_dump(idx, false, false) : NULL;
}

void st_sv_docs_clear(sv_docs *d) {
  free(d->index);
  free(d->manifest);
  free(d->repositories);
  memset(d, 0, sizeof(*d));
}

int st_sv_docs(const sv_plan *p, sv_docs *out) {
  memset(out, 0, sizeof(*out));
  out->index = index_json(p);
  out->manifest = manifest_json(p);
  if (out->index == NULL || out->manifest == NULL ||
      repositories_json(p, &out->repositories) < 0) {
    st_sv_docs_clear(out);
    return -1;
  }
  return 0;
}
