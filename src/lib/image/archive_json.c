/* The JSON documents of image archives: Docker's manifest.json, the OCI
 * index's platforms and name annotations, and Go-compatible output. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/archive_internal.h"
#include "ref/ref.h"
#include "util/cleanup.h"

#define ANN_CONTAINERD_NAME "io.containerd.image.name"
#define ANN_REF_NAME "org.opencontainers.image.ref.name"

char *st_archive_json_dump(const json_t *j, bool sort_keys, bool newline) {
  size_t flags = JSON_COMPACT | (sort_keys ? JSON_SORT_KEYS : 0);
  char *s = json_dumps(j, flags);
  if (s == NULL || !newline)
    return s;
  size_t n = strlen(s);
  char *t = realloc(s, n + 2);
  if (t == NULL) {
    free(s);
    return NULL;
  }
  t[n] = '\n';
  t[n + 1] = '\0';
  return t;
}

/* ---- manifest.json ------------------------------------------------------- */

void st_docker_items_free(st_docker_item *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) {
    free(v[i].config);
    st_strv_free(v[i].repo_tags, v[i].n_repo_tags);
    st_strv_free(v[i].layers, v[i].n_layers);
    free(v[i].parent);
  }
  free(v);
}

/* Copies an array of strings (absent or null: none). Returns 0, -1 when it
 * is something else (errno EINVAL) or memory is short (ENOMEM). */
static int string_array(const json_t *a, char ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (a == NULL || json_is_null(a))
    return 0;
  if (!json_is_array(a)) {
    errno = EINVAL;
    return -1;
  }
  size_t count = json_array_size(a);
  char **v = calloc(count + 1, sizeof(*v));
  if (v == NULL)
    return -1;
  for (size_t i = 0; i < count; i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (s == NULL || (v[i] = strdup(s)) == NULL) {
      st_strv_free(v, i);
      errno = s == NULL ? EINVAL : ENOMEM;
      return -1;
    }
  }
  *out = v;
  *n = count;
  return 0;
}

static int item_error(size_t i, const char *field, st_error **err) {
  if (errno == ENOMEM)
    return st_error_errno(err, ENOMEM, ST_ARCHIVE_MANIFEST_FILE);
  return st_error_set(err, EINVAL,
                      ST_ARCHIVE_MANIFEST_FILE
                      ": element %zu: \"%s\" is not an array of strings",
                      i + 1, field);
}

static int parse_item(const json_t *o, size_t i, st_docker_item *it,
                      st_error **err) {
  if (!json_is_object(o))
    return st_error_set(err, EINVAL,
                        ST_ARCHIVE_MANIFEST_FILE ": element %zu is not an "
                                                 "object",
                        i + 1);
  const char *config = json_string_value(json_object_get(o, "Config"));
  if (config == NULL)
    return st_error_set(err, EINVAL,
                        ST_ARCHIVE_MANIFEST_FILE
                        ": element %zu: \"Config\" is missing or not a string",
                        i + 1);
  if ((it->config = strdup(config)) == NULL)
    return st_error_errno(err, ENOMEM, ST_ARCHIVE_MANIFEST_FILE);
  if (string_array(json_object_get(o, "RepoTags"), &it->repo_tags,
                   &it->n_repo_tags) < 0)
    return item_error(i, "RepoTags", err);
  if (string_array(json_object_get(o, "Layers"), &it->layers, &it->n_layers) <
      0)
    return item_error(i, "Layers", err);
  const json_t *parent = json_object_get(o, "Parent");
  if (parent && !json_is_null(parent) && !json_is_string(parent))
    return st_error_set(err, EINVAL,
                        ST_ARCHIVE_MANIFEST_FILE
                        ": element %zu: \"Parent\" is not a string",
                        i + 1);
  const char *p = json_string_value(parent);
  if (p && p[0] && (it->parent = strdup(p)) == NULL)
    return st_error_errno(err, ENOMEM, ST_ARCHIVE_MANIFEST_FILE);
  return 0;
}

int st_docker_manifest_parse(const char *buf, size_t len,
                             st_docker_item **items, size_t *n,
                             st_error **err) {
  json_error_t jerr;
  json_t *root = json_loadb(buf, len, JSON_DECODE_ANY, &jerr);
  if (root == NULL)
    return st_error_set(err, EINVAL,
                        ST_ARCHIVE_MANIFEST_FILE
                        ": invalid JSON: %s (line %d, column %d)",
                        jerr.text, jerr.line, jerr.column);
  json_auto_t *owned = root;
  if (json_is_null(root))
    return st_error_set(err, EINVAL,
                        ST_ARCHIVE_MANIFEST_FILE
                        ": invalid manifest, manifest cannot be null (but "
                        "can be [])");
  if (!json_is_array(root))
    return st_error_set(err, EINVAL,
                        ST_ARCHIVE_MANIFEST_FILE ": not a JSON array");
  size_t count = json_array_size(root);
  st_docker_item *v = calloc(count + 1, sizeof(*v));
  if (v == NULL)
    return st_error_errno(err, ENOMEM, ST_ARCHIVE_MANIFEST_FILE);
  for (size_t i = 0; i < count; i++) {
    if (parse_item(json_array_get(root, i), i, &v[i], err) < 0) {
      st_docker_items_free(v, i + 1);
      return -1;
    }
  }
  *items = v;
  *n = count;
  return 0;
}

/* ---- OCI index entries --------------------------------------------------- */

bool st_archive_platform_matches(const json_t *platform, const char *os,
                                 const char *arch) {
  if (!json_is_object(platform))
    return true;
  const char *p_os = json_string_value(json_object_get(platform, "os"));
  const char *p_arch =
      json_string_value(json_object_get(platform, "architecture"));
  if (p_os && strcmp(p_os, os) != 0)
    return false;
  if (p_arch && strcmp(p_arch, arch) != 0)
    return false;
  return true;
}

/* Normalizes a whole reference naming a tag; NULL when it does not parse or
 * has no tag (*bad set). */
static char *tag_name(const char *ref, bool *bad) {
  st_ref r = {0};
  st_error *e = NULL;
  char *out = NULL;
  if (st_ref_parse(ref, &r, &e) < 0 || r.tag == NULL) {
    if (bad && !(e && e->code == ENOMEM))
      *bad = true;
  } else {
    cleanup_free char *repo = st_ref_repo(&r);
    if (repo && asprintf(&out, "%s:%s", repo, r.tag) < 0)
      out = NULL;
  }
  st_error_free(e);
  st_ref_clear(&r);
  return out;
}

char *st_archive_annotation_name(const json_t *annotations, bool *bad) {
  if (!json_is_object(annotations))
    return NULL;
  const char *name =
      json_string_value(json_object_get(annotations, ANN_CONTAINERD_NAME));
  if (name && name[0])
    return tag_name(name, bad);
  const char *ref =
      json_string_value(json_object_get(annotations, ANN_REF_NAME));
  if (ref == NULL || strpbrk(ref, "/:") == NULL)
    return NULL;
  return tag_name(ref, bad);
}
