/* `push`: image -> blobs the registry lacks (uncompressed layers
 * compressed once, N layers at a time: push_layers.c) -> config ->
 * manifest -> repo digest. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "ref/ref.h"
#include "registry/db.h"
#include "registry/manifest.h"
#include "registry/push_internal.h"
#include "util/cleanup.h"

void st_push_result_clear(st_push_result *r) {
  free(r->tag);
  free(r->repo);
  memset(r, 0, sizeof(*r));
}

static void ref_clearp(st_ref *r) {
  st_ref_clear(r);
}
static void image_clearp(st_image *i) {
  st_image_clear(i);
}

typedef struct push {
  st_store *s;
  const st_reg_opts *o;
  st_reg_client *c;
  char *repo; /* normalized: "127.0.0.1:5000/x" */
  st_image img;
  st_layer_rec *layers;
  size_t n_layers;
  st_push_layer *out;
  char *manifest; /* bytes to PUT */
  size_t manifest_len;
  char *manifest_mt;
  bool all_existed; /* the registry had every blob before this push */
} push;

static const char *algo_of(const st_reg_opts *o) {
  return o && o->compression && strcmp(o->compression, "zstd") == 0 ? "zstd"
                                                                    : "gzip";
}

/* Whether the manifest's layer list names exactly the blobs pushed. */
static bool manifest_lists_pushed(const push *p, json_t *layers) {
  for (size_t i = 0; i < p->n_layers; i++) {
    json_t *l = json_array_get(layers, i);
    const char *d = json_string_value(json_object_get(l, "digest"));
    if (d == NULL || strcmp(d, p->out[i].blob) != 0)
      return false;
  }
  return true;
}

/* The manifest as stored: pushed as is when it names the blobs pushed (its
 * digest then stays the same: an image pulled and kept as tars goes back
 * as the blobs it came as); otherwise rebuilt with the compressed
 * layers. */
static int prepare_manifest(push *p, st_error **err) {
  cleanup_free char *buf = NULL;
  size_t len = 0;
  if (st_blob_get(p->s, p->img.manifest, &buf, &len, err) < 0)
    return -1;
  json_error_t jerr;
  cleanup_json json_t *m = json_loadb(buf, len, 0, &jerr);
  json_t *layers = json_object_get(m, "layers");
  if (!json_is_array(layers) || json_array_size(layers) != p->n_layers)
    return st_error_set(
        err, EIO, "image %s: manifest disagrees with its layers", p->img.id);
  if (manifest_lists_pushed(p, layers)) {
    p->manifest = steal_pointer(&buf);
    p->manifest_len = len;
    p->manifest_mt = strdup(p->img.manifest_media_type);
    return p->manifest_mt ? 0 : st_error_errno(err, ENOMEM, "push");
  }
  bool zstd = strcmp(algo_of(p->o), "zstd") == 0;
  const char *mt = p->img.manifest_media_type;
  if (zstd && strcmp(mt, ST_MT_DOCKER_MANIFEST) == 0) {
    /* Docker schema 2 has no zstd layers: the manifest becomes OCI. */
    mt = ST_MT_OCI_MANIFEST;
    json_object_set_new(m, "mediaType", json_string(mt));
    json_object_set_new(json_object_get(m, "config"), "mediaType",
                        json_string(ST_MT_OCI_CONFIG));
  }
  for (size_t i = 0; i < p->n_layers; i++) {
    json_t *l = json_array_get(layers, i);
    json_object_set_new(l, "mediaType", json_string(p->out[i].media_type));
    json_object_set_new(l, "digest", json_string(p->out[i].blob));
    json_object_set_new(l, "size", json_integer(p->out[i].size));
  }
  p->manifest = json_dumps(m, JSON_COMPACT);
  p->manifest_mt = strdup(mt);
  if (p->manifest == NULL || p->manifest_mt == NULL)
    return st_error_errno(err, ENOMEM, "push");
  p->manifest_len = strlen(p->manifest);
  return 0;
}

/* The compressed media type for uncompressed layers. */
static const char *compressed_mt(const push *p) {
  bool docker = strcmp(p->img.manifest_media_type, ST_MT_DOCKER_MANIFEST) == 0;
  if (strcmp(algo_of(p->o), "zstd") == 0)
    return ST_MT_OCI_LAYER_ZSTD;
  return docker ? ST_MT_DOCKER_LAYER_GZIP : ST_MT_OCI_LAYER_GZIP;
}

static int push_blobs(push *p, st_error **err) {
  if ((p->out = calloc(p->n_layers ? p->n_layers : 1, sizeof(*p->out))) == NULL)
    return st_error_errno(err, ENOMEM, "push");
  for (size_t i = 0; i < p->n_layers; i++)
    p->out[i].l = &p->layers[i];
  if (st_push_layers(p->s, p->c, p->o, p->repo, algo_of(p->o), compressed_mt(p),
                     p->out, p->n_layers, err) < 0)
    return -1;
  cleanup_free char *cfg = NULL;
  size_t clen = 0;
  if (st_blob_get(p->s, p->img.id, &cfg, &clen, err) < 0)
    return -1;
  int r = st_push_blob(p->s, p->c, p->img.id, (int64_t)clen, NULL, err);
  if (r < 0)
    return st_error_wrap(err, "config");
  p->all_existed = r == 1;
  for (size_t i = 0; i < p->n_layers; i++)
    p->all_existed &= p->out[i].foreign || p->out[i].result == 1;
  return 0;
}

/* Whether the tag already names exactly these manifest bytes (a re-push
 * of an unchanged image): then the PUT, the slowest request of a re-push
 * as the registry writes and links the manifest again, is not needed. Any
 * doubt (error, no digest in the answer) means no. */
static bool manifest_current(push *p, const char *path, const char *digest) {
  cleanup_free char *accept = NULL;
  if (asprintf(&accept, "Accept: %s", p->manifest_mt) < 0)
    return false;
  const char *headers[] = {accept, NULL};
  st_http_resp r;
  st_http_resp_init(&r, 0);
  st_error *ignored = NULL;
  int rc = st_reg_request(p->c, "HEAD", path, headers, NULL, &r, &ignored);
  bool same = rc == 0 && r.status == 200 && r.docker_digest &&
              strcmp(r.docker_digest, digest) == 0;
  st_error_free(ignored);
  st_http_resp_clear(&r);
  return same;
}

static int put_manifest(push *p, const char *tag, char digest[ST_DIGEST_LEN],
                        st_error **err) {
  st_digest_of(p->manifest, p->manifest_len, digest);
  cleanup_free char *path = NULL;
  if (asprintf(&path, "/v2/%s/manifests/%s", p->c->repo, tag) < 0)
    return st_error_errno(err, ENOMEM, "push");
  if (p->all_existed && manifest_current(p, path, digest))
    return 0;
  st_http_body body = {.data = p->manifest,
                       .len = p->manifest_len,
                       .fd = -1,
                       .content_type = p->manifest_mt};
  st_http_resp r;
  st_http_resp_init(&r, 64u << 10);
  int rc = st_reg_request(p->c, "PUT", path, NULL, &body, &r, err);
  if (rc == 0 && r.status != 201)
    rc = st_reg_status_error(p->c, &r, err, "put manifest %s", tag);
  if (rc == 0 && r.docker_digest && st_digest_valid(r.docker_digest) &&
      strcmp(r.docker_digest, digest) != 0)
    rc = st_error_set(err, EIO, "put manifest: registry computed %s, not %s",
                      r.docker_digest, digest);
  st_http_resp_clear(&r);
  return rc;
}

static int run_push(push *p, const st_ref *r, st_push_result *out,
                    st_error **err) {
  if (st_image_layers(p->s, p->img.id, &p->layers, &p->n_layers, err) < 0)
    return -1;
  if (st_reg_client_new(r->domain, r->path, "pull,push", p->o, &p->c, err) < 0)
    return -1;
  st_reg_emit(p->o, ST_REG_PUSH_REFERS, NULL, NULL, p->repo, 0, 0);
  if (st_reg_ping(p->c, err) < 0 || push_blobs(p, err) < 0 ||
      prepare_manifest(p, err) < 0 ||
      put_manifest(p, r->tag, out->digest, err) < 0)
    return -1;
  out->size = (int64_t)p->manifest_len;
  return st_reg_db_digest_put(p->s, p->repo, out->digest, p->img.id, err);
}

int st_registry_push(st_store *s, const char *ref, const st_reg_opts *o,
                     st_push_result *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  __attribute__((cleanup(ref_clearp))) st_ref r = {0};
  if (st_ref_parse(ref, &r, err) < 0)
    return -1;
  if (r.digest)
    return st_error_set(err, EINVAL, "push %s: cannot push a digest reference",
                        ref);
  cleanup_free char *repo = st_ref_repo(&r);
  cleanup_free char *name = NULL;
  if (repo == NULL || asprintf(&name, "%s:%s", repo, r.tag) < 0)
    return st_error_errno(err, ENOMEM, "push");
  push p = {.s = s, .o = o, .repo = repo};
  __attribute__((cleanup(image_clearp))) st_image img = {0};
  st_error *e = NULL;
  if (st_image_resolve(s, name, &img, &e) < 0) {
    int code = e ? e->code : ENOENT;
    st_error_free(e);
    cleanup_free char *fam = st_ref_familiar(name);
    return st_error_set(err, code,
                        "An image does not exist locally with the tag: %s",
                        fam ? fam : name);
  }
  p.img = img;
  int rc = run_push(&p, &r, out, err);
  st_push_layers_clear(p.out, p.n_layers);
  st_layers_free(p.layers, p.n_layers);
  free(p.out);
  free(p.manifest);
  free(p.manifest_mt);
  st_reg_client_free(p.c);
  if (rc < 0)
    return st_error_wrap(err, "push %s", ref);
  out->tag = strdup(r.tag);
  out->repo = steal_pointer(&repo);
  return 0;
}
