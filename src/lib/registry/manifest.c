/* Manifests and indexes as registries serve them. */
#include "registry/manifest.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "util/cleanup.h"

#define MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED                                               \
  "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MT_DOCKER_FOREIGN                                                      \
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define MT_OCI_NONDIST "application/vnd.oci.image.layer.nondistributable.v1.tar"

static void descriptor_clear(st_descriptor *d) {
  free(d->media_type);
  for (size_t i = 0; i < d->n_urls; i++)
    free(d->urls[i]);
  free(d->urls);
  free(d->os);
  free(d->arch);
  free(d->variant);
  memset(d, 0, sizeof(*d));
}

void st_manifest_clear(st_manifest *m) {
  free(m->media_type);
  descriptor_clear(&m->config);
  for (size_t i = 0; i < m->n_items; i++)
    descriptor_clear(&m->items[i]);
  free(m->items);
  memset(m, 0, sizeof(*m));
}

static char *dup_string(const json_t *o, const char *key) {
  const char *v = json_string_value(json_object_get(o, key));
  return v ? strdup(v) : NULL;
}

static int parse_urls(const json_t *urls, st_descriptor *d, st_error **err) {
  if (urls == NULL)
    return 0;
  if (!json_is_array(urls))
    return st_error_set(err, EINVAL, "\"urls\" is not a list");
  size_t n = json_array_size(urls);
  if (n == 0)
    return 0;
  if ((d->urls = calloc(n, sizeof(*d->urls))) == NULL)
    return st_error_errno(err, ENOMEM, "manifest");
  for (size_t i = 0; i < n; i++) {
    const char *u = json_string_value(json_array_get(urls, i));
    if (u == NULL)
      return st_error_set(err, EINVAL, "\"urls\" holds a non-string");
    if ((d->urls[i] = strdup(u)) == NULL)
      return st_error_errno(err, ENOMEM, "manifest");
    d->n_urls = i + 1;
  }
  return 0;
}

/* Fills d from a descriptor object; `what` names it in messages. */
static int parse_descriptor(const json_t *o, const char *what, st_descriptor *d,
                            st_error **err) {
  if (!json_is_object(o))
    return st_error_set(err, EINVAL, "%s is not an object", what);
  const char *digest = json_string_value(json_object_get(o, "digest"));
  const json_t *size = json_object_get(o, "size");
  if (digest == NULL || !st_digest_valid(digest))
    return st_error_set(err, EINVAL, "%s: \"digest\" is not a sha256 digest",
                        what);
  if (!json_is_integer(size) || json_integer_value(size) < 0)
    return st_error_set(err, EINVAL, "%s: \"size\" is not a byte count", what);
  memcpy(d->digest, digest, ST_DIGEST_LEN);
  d->size = json_integer_value(size);
  d->media_type = dup_string(o, "mediaType");
  if (d->media_type == NULL && json_object_get(o, "mediaType") != NULL)
    return st_error_set(err, EINVAL, "%s: \"mediaType\" is not a string", what);
  if (parse_urls(json_object_get(o, "urls"), d, err) < 0)
    return st_error_wrap(err, "%s", what);
  const json_t *plat = json_object_get(o, "platform");
  if (json_is_object(plat)) {
    d->os = dup_string(plat, "os");
    d->arch = dup_string(plat, "architecture");
    d->variant = dup_string(plat, "variant");
  }
  return 0;
}

static int parse_items(const json_t *arr, const char *what, st_manifest *m,
                       st_error **err) {
  if (!json_is_array(arr))
    return st_error_set(err, EINVAL, "\"%s\" is not a list", what);
  size_t n = json_array_size(arr);
  if (n == 0)
    return 0;
  if ((m->items = calloc(n, sizeof(*m->items))) == NULL)
    return st_error_errno(err, ENOMEM, "manifest");
  for (size_t i = 0; i < n; i++) {
    char label[64];
    snprintf(label, sizeof(label), "%s[%zu]", what, i);
    m->n_items = i + 1;
    if (parse_descriptor(json_array_get(arr, i), label, &m->items[i], err) < 0)
      return -1;
  }
  return 0;
}

static bool is_schema1(const char *mt, const json_t *doc) {
  if (mt && (strcmp(mt, MT_DOCKER_SCHEMA1) == 0 ||
             strcmp(mt, MT_DOCKER_SCHEMA1_SIGNED) == 0))
    return true;
  const json_t *v = json_object_get(doc, "schemaVersion");
  return json_is_integer(v) && json_integer_value(v) == 1;
}

/* The document's media type: its own field, else the HTTP Content-Type
 * (parameters stripped), else guessed from its shape as OCI allows. */
static char *media_type_of(const json_t *doc, const char *content_type) {
  const char *mt = json_string_value(json_object_get(doc, "mediaType"));
  if (mt)
    return strdup(mt);
  if (content_type && *content_type) {
    size_t n = strcspn(content_type, "; \t");
    if (n > 0 && strncmp(content_type, "application/json", n) != 0 &&
        strncmp(content_type, "text/plain", n) != 0)
      return strndup(content_type, n);
  }
  if (json_object_get(doc, "manifests"))
    return strdup(ST_MT_OCI_INDEX);
  if (json_object_get(doc, "config") || json_object_get(doc, "layers"))
    return strdup(ST_MT_OCI_MANIFEST);
  return strdup("");
}

int st_manifest_parse(const char *buf, size_t len, const char *content_type,
                      st_manifest *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  json_error_t jerr;
  cleanup_json json_t *doc = json_loadb(buf, len, 0, &jerr);
  if (doc == NULL || !json_is_object(doc))
    return st_error_set(err, EINVAL, "manifest is not a JSON object%s%s",
                        doc ? "" : ": ", doc ? "" : jerr.text);
  st_manifest m = {0};
  if ((m.media_type = media_type_of(doc, content_type)) == NULL)
    return st_error_errno(err, ENOMEM, "manifest");
  int rc = -1;
  if (is_schema1(m.media_type, doc)) {
    st_error_set(err, EINVAL,
                 "manifest is Docker Image Format v1 (schema 1), which "
                 "strata does not support: push the image again with a "
                 "current client to upgrade it to schema 2 or OCI");
  } else if (strcmp(m.media_type, ST_MT_OCI_INDEX) == 0 ||
             strcmp(m.media_type, ST_MT_DOCKER_LIST) == 0) {
    m.kind = ST_MANIFEST_INDEX;
    rc = parse_items(json_object_get(doc, "manifests"), "manifests", &m, err);
  } else if (strcmp(m.media_type, ST_MT_OCI_MANIFEST) == 0 ||
             strcmp(m.media_type, ST_MT_DOCKER_MANIFEST) == 0) {
    m.kind = ST_MANIFEST_IMAGE;
    rc = parse_descriptor(json_object_get(doc, "config"), "config", &m.config,
                          err);
    if (rc == 0)
      rc = parse_items(json_object_get(doc, "layers"), "layers", &m, err);
  } else {
    st_error_set(err, EINVAL,
                 "unsupported manifest media type \"%.100s\" (strata pulls "
                 "OCI and Docker schema 2 images)",
                 m.media_type);
  }
  if (rc < 0) {
    st_manifest_clear(&m);
    return -1;
  }
  *out = m;
  return 0;
}

static bool has_prefix(const char *s, const char *p) {
  return strncmp(s, p, strlen(p)) == 0;
}

bool st_layer_media_type_known(const char *mt) {
  if (mt == NULL)
    return false;
  static const char *const ok[] = {
      ST_MT_OCI_LAYER,    ST_MT_OCI_LAYER_GZIP,    ST_MT_OCI_LAYER_ZSTD,
      ST_MT_DOCKER_LAYER, ST_MT_DOCKER_LAYER_GZIP, MT_DOCKER_FOREIGN,
      MT_OCI_NONDIST,     MT_OCI_NONDIST "+gzip",  MT_OCI_NONDIST "+zstd",
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    if (strcmp(mt, ok[i]) == 0)
      return true;
  return false;
}

bool st_layer_media_type_foreign(const char *mt) {
  return mt &&
         (strcmp(mt, MT_DOCKER_FOREIGN) == 0 || has_prefix(mt, MT_OCI_NONDIST));
}

typedef struct platform {
  char os[64], arch[64], variant[64];
} platform;

static int parse_platform(const char *s, platform *p, st_error **err) {
  memset(p, 0, sizeof(*p));
  if (s == NULL || *s == '\0') {
    snprintf(p->os, sizeof(p->os), "linux");
    snprintf(p->arch, sizeof(p->arch), "%s", st_host_arch());
    return 0;
  }
  const char *a = strchr(s, '/');
  const char *v = a ? strchr(a + 1, '/') : NULL;
  size_t on = a ? (size_t)(a - s) : strlen(s);
  size_t an = a ? (v ? (size_t)(v - a - 1) : strlen(a + 1)) : 0;
  if (on == 0 || on >= sizeof(p->os) || (a && an == 0) ||
      an >= sizeof(p->arch) ||
      (v && (v[1] == '\0' || strchr(v + 1, '/') ||
             strlen(v + 1) >= sizeof(p->variant))))
    return st_error_set(err, EINVAL,
                        "invalid platform \"%.100s\": expected "
                        "os[/arch[/variant]]",
                        s);
  memcpy(p->os, s, on);
  if (a)
    memcpy(p->arch, a + 1, an);
  else
    snprintf(p->arch, sizeof(p->arch), "%s", st_host_arch());
  if (v)
    snprintf(p->variant, sizeof(p->variant), "%s", v + 1);
  return 0;
}

static bool variant_matches(const platform *want, const st_descriptor *d) {
  if (want->variant[0] == '\0')
    return true;
  const char *have = d->variant ? d->variant : "";
  /* arm64 images usually leave out their only variant, v8. */
  if (*have == '\0' && strcmp(want->arch, "arm64") == 0)
    have = "v8";
  return strcmp(have, want->variant) == 0;
}

int st_manifest_pick(const st_manifest *index, const char *platform_s,
                     st_error **err) {
  platform want;
  if (parse_platform(platform_s, &want, err) < 0)
    return -1;
  /* "linux/arm" means arm/v7 first, as containerd normalizes it; then
   * any variant of the architecture. */
  platform pref = want;
  if (pref.variant[0] == '\0' && strcmp(pref.arch, "arm") == 0)
    snprintf(pref.variant, sizeof(pref.variant), "v7");
  for (int pass = 0; pass < 2; pass++) {
    const platform *w = pass == 0 ? &pref : &want;
    for (size_t i = 0; i < index->n_items; i++) {
      const st_descriptor *d = &index->items[i];
      if (d->os && d->arch && strcmp(d->os, w->os) == 0 &&
          strcmp(d->arch, w->arch) == 0 && variant_matches(w, d))
        return (int)i;
    }
  }
  return st_error_set(err, ENOENT,
                      "no matching manifest for %s/%s%s%s in the manifest "
                      "list entries",
                      want.os, want.arch, want.variant[0] ? "/" : "",
                      want.variant);
}
