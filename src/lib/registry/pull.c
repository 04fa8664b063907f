/* `pull`: reference -> manifest (index -> platform) -> config -> layers in
 * parallel -> one transaction. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "ref/ref.h"
#include "registry/config.h"
#include "registry/db.h"
#include "registry/download.h"
#include "registry/fetch.h"
#include "registry/manifest.h"
#include "store/layers.h"
#include "util/cleanup.h"
#include "util/log.h"

void st_pull_result_clear(st_pull_result *r) {
  free(r->name);
  memset(r, 0, sizeof(*r));
}

static void ref_clearp(st_ref *r) {
  st_ref_clear(r);
}
static void manifest_clearp(st_manifest *m) {
  st_manifest_clear(m);
}
static void fetched_clearp(st_fetched *f) {
  st_fetched_clear(f);
}

typedef struct pull {
  st_store *s;
  const st_reg_opts *o;
  st_reg_client *c;
  st_ref ref;
  char *repo;    /* "docker.io/library/busybox" */
  char *display; /* "busybox:latest" for messages */
} pull;

/* Resolves the reference to an image manifest: fetches it, and when it is
 * an index, the platform's manifest. top gets what the reference named. */
static int resolve(pull *p, st_fetched *top, st_fetched *img, st_manifest *m,
                   st_error **err) {
  const char *reference = p->ref.digest ? p->ref.digest : p->ref.tag;
  if (st_fetch_manifest(p->c, reference, p->display, top, err) < 0)
    return -1;
  if (st_manifest_parse(top->data, top->len, top->content_type, m, err) < 0)
    return st_error_wrap(err, "%s", p->display);
  if (m->kind == ST_MANIFEST_IMAGE) {
    *img = *top;
    img->data = strdup(top->data);
    img->content_type = top->content_type ? strdup(top->content_type) : NULL;
    if (img->data == NULL)
      return st_error_errno(err, ENOMEM, "pull");
    return 0;
  }
  int i = st_manifest_pick(m, p->o ? p->o->platform : NULL, err);
  if (i < 0)
    return st_error_wrap(err, "%s", p->display);
  char digest[ST_DIGEST_LEN];
  memcpy(digest, m->items[i].digest, ST_DIGEST_LEN);
  st_manifest_clear(m);
  if (st_fetch_manifest(p->c, digest, p->display, img, err) < 0)
    return -1;
  if (st_manifest_parse(img->data, img->len, img->content_type, m, err) < 0)
    return st_error_wrap(err, "%s: manifest %s", p->display, digest);
  if (m->kind != ST_MANIFEST_IMAGE)
    return st_error_set(err, EINVAL,
                        "%s: the index entry %s is not an image manifest",
                        p->display, digest);
  return 0;
}

static int check_layers(const pull *p, const st_manifest *m, st_error **err) {
  for (size_t i = 0; i < m->n_items; i++) {
    const char *mt = m->items[i].media_type;
    if (!st_layer_media_type_known(mt))
      return st_error_set(err, EINVAL,
                          "%s: layer %zu has media type \"%.100s\", which is "
                          "not an image layer",
                          p->display, i + 1, mt ? mt : "");
  }
  return 0;
}

/* The config, from the store when it is there, else from the registry. */
static int get_config(pull *p, const st_descriptor *d, char **buf, size_t *len,
                      st_error **err) {
  if (st_blob_exists(p->s, d->digest))
    return st_blob_get(p->s, d->digest, buf, len, err);
  st_fetched f;
  if (st_fetch_blob_small(p->c, d->digest, d->size, &f, err) < 0)
    return st_error_wrap(err, "pull %s: config", p->display);
  char stored[ST_DIGEST_LEN];
  int r = st_blob_put(p->s, f.data, f.len, stored, err);
  *buf = steal_pointer(&f.data);
  *len = f.len;
  st_fetched_clear(&f);
  return r;
}

static int parse_config(const pull *p, const char *buf, size_t len,
                        size_t n_layers, json_t **out, int64_t *created,
                        st_error **err) {
  json_error_t jerr;
  json_t *j = json_loadb(buf, len, 0, &jerr);
  const json_t *ids = json_object_get(json_object_get(j, "rootfs"), "diff_ids");
  if (!json_is_object(j) || !json_is_array(ids)) {
    json_decref(j);
    return st_error_set(err, EINVAL,
                        "%s: config is not an image config (no "
                        "rootfs.diff_ids)",
                        p->display);
  }
  size_t n_ids = json_array_size(ids); /* ids dies with j */
  if (n_ids != n_layers) {
    json_decref(j);
    return st_error_set(err, EINVAL,
                        "%s: the manifest lists %zu layers but the config "
                        "has %zu diff IDs",
                        p->display, n_layers, n_ids);
  }
  *created = 0;
  const char *c = json_string_value(json_object_get(j, "created"));
  if (c) {
    struct tm tm = {0};
    const char *rest = strptime(c, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest)
      *created = (int64_t)timegm(&tm);
  }
  *out = j;
  return 0;
}

static const char *config_diff_id(const json_t *config, size_t i) {
  const json_t *ids =
      json_object_get(json_object_get(config, "rootfs"), "diff_ids");
  return json_string_value(json_array_get(ids, i));
}

/* The compression a layer kept as its tar was pulled with, or NULL when
 * pulls keep its blob as it is. */
static const char *keep_tar_algorithm(const char *mt) {
  if (mt == NULL || st_layer_media_type_foreign(mt))
    return NULL;
  if (strcmp(mt, ST_MT_OCI_LAYER_GZIP) == 0 ||
      strcmp(mt, ST_MT_DOCKER_LAYER_GZIP) == 0)
    return "gzip";
  if (strcmp(mt, ST_MT_OCI_LAYER_ZSTD) == 0)
    return "zstd";
  return NULL;
}

/* Whether this store keeps a pulled compressed layer as its uncompressed
 * tar only: where layers are mounted as tar indexes (erofs), the tar is
 * both what a container reads and what save and push start from, so the
 * compressed blob would be a second copy (docs/ARCHITECTURE.md, "A layer
 * stored once"). */
static int store_keeps_tar(st_store *s, bool *keep, st_error **err) {
  st_layer_driver drv;
  if (st_store_layer_driver(s, &drv, err) < 0)
    return -1;
  *keep = drv == ST_LAYER_EROFS;
  return 0;
}

static int plan_layers(pull *p, const st_manifest *m, st_dl_layer *dl,
                       st_layer_rec *local, bool image_exists, st_error **err) {
  bool keep = false;
  if (!image_exists && store_keeps_tar(p->s, &keep, err) < 0)
    return -1;
  for (size_t i = 0; i < m->n_items; i++) {
    dl[i].d = &m->items[i];
    /* The store may have the layer under this digest, or as the tar an
     * earlier pull kept instead of it. */
    int r = st_reg_db_layer_info(p->s, m->items[i].digest, &local[i], err);
    if (r < 0)
      return -1;
    if (r > 0 && !st_blob_exists(p->s, local[i].blob))
      r = 0;
    if (r == 0)
      memcpy(local[i].blob, m->items[i].digest, ST_DIGEST_LEN);
    if (image_exists || r > 0 || st_blob_exists(p->s, m->items[i].digest)) {
      if (r > 0) {
        memcpy(dl[i].diff_id, local[i].diff_id, ST_DIGEST_LEN);
        dl[i].size = local[i].size;
      }
      dl[i].known = r > 0 || image_exists;
      /* Docker says nothing of the layers of an image it already has */
      if (!image_exists)
        st_reg_emit(p->o, ST_REG_LAYER_EXISTS, m->items[i].digest, NULL,
                    p->ref.path, 0, 0);
    } else {
      dl[i].fetch = true;
      dl[i].keep_tar = keep && keep_tar_algorithm(m->items[i].media_type);
    }
  }
  return 0;
}

static int check_diff_ids(const pull *p, const st_dl_layer *dl, size_t n,
                          const json_t *config, st_error **err) {
  for (size_t i = 0; i < n; i++) {
    const char *want = config_diff_id(config, i);
    if (want == NULL || strcmp(want, dl[i].diff_id) != 0)
      return st_error_set(err, EIO,
                          "%s: layer %zu (%.12s): its content has diff ID "
                          "%s but the config says %s",
                          p->display, i + 1, st_digest_hex(dl[i].d->digest),
                          dl[i].diff_id, want ? want : "(none)");
  }
  return 0;
}

static int record(pull *p, const st_fetched *top, const st_fetched *img,
                  const st_manifest *m, const st_dl_layer *dl,
                  const st_layer_rec *local, int64_t created,
                  st_pull_result *out, st_error **err) {
  char stored[ST_DIGEST_LEN];
  if (st_blob_put(p->s, img->data, img->len, stored, err) < 0)
    return -1;
  size_t n = m->n_items ? m->n_items : 1;
  cleanup_free st_layer_rec *recs = calloc(n, sizeof(*recs));
  cleanup_free st_reg_pulled_blob *pulled = calloc(n, sizeof(*pulled));
  if (recs == NULL || pulled == NULL)
    return st_error_errno(err, ENOMEM, "pull");
  for (size_t i = 0; i < m->n_items; i++) {
    const st_descriptor *d = &m->items[i];
    const char *mt = d->media_type ? d->media_type : ST_MT_OCI_LAYER_GZIP;
    pulled[i] = (st_reg_pulled_blob){
        .digest = d->digest, .size = d->size, .media_type = mt};
    memcpy(recs[i].diff_id, dl[i].diff_id, ST_DIGEST_LEN);
    recs[i].size = dl[i].size;
    if (dl[i].kept_tar) {
      /* Stored once: the tar under its diff ID; the blob it came as is
       * remembered as its compressed form. */
      memcpy(recs[i].blob, dl[i].diff_id, ST_DIGEST_LEN);
      recs[i].media_type = ST_MT_OCI_LAYER;
      recs[i].blob_size = dl[i].tar_size;
      pulled[i].algorithm = keep_tar_algorithm(mt);
    } else if (strcmp(local[i].blob, d->digest) != 0) {
      /* an earlier pull kept this layer as its tar */
      memcpy(recs[i].blob, local[i].blob, ST_DIGEST_LEN);
      recs[i].media_type = ST_MT_OCI_LAYER;
      recs[i].blob_size = local[i].blob_size;
    } else {
      memcpy(recs[i].blob, d->digest, ST_DIGEST_LEN);
      recs[i].media_type = mt;
      recs[i].blob_size = d->size;
    }
  }
  st_image_rec rec = {.manifest_media_type = m->media_type,
                      .created = created,
                      .n_layers = m->n_items,
                      .layers = recs};
  memcpy(rec.id, m->config.digest, ST_DIGEST_LEN);
  memcpy(rec.manifest, img->digest, ST_DIGEST_LEN);
  cleanup_free char *tag = NULL;
  if (p->ref.digest == NULL && asprintf(&tag, "%s:%s", p->repo, p->ref.tag) < 0)
    return st_error_errno(err, ENOMEM, "pull");
  char before[ST_DIGEST_LEN] = "";
  if (tag)
    st_reg_db_tag_image(p->s, tag, before);
  out->up_to_date = strcmp(before, rec.id) == 0;
  if (st_reg_db_commit_pull(p->s, &rec, pulled, tag, p->repo, top->digest,
                            err) < 0)
    return st_error_wrap(err, "pull %s", p->display);
  memcpy(out->id, rec.id, ST_DIGEST_LEN);
  memcpy(out->digest, top->digest, ST_DIGEST_LEN);
  if (tag)
    out->name = steal_pointer(&tag);
  else if (asprintf(&out->name, "%s@%s", p->repo, top->digest) < 0)
    out->name = NULL;
  return 0;
}

/* Puts the layers converted while they downloaded in place, under their
 * chain IDs; one that cannot be is converted again at its first use. */
static void commit_stages(pull *p, st_dl_layer *dl, size_t n) {
  cleanup_free char(*chain)[ST_DIGEST_LEN] = calloc(n ? n : 1, sizeof(*chain));
  cleanup_free st_layer_rec *recs = calloc(n ? n : 1, sizeof(*recs));
  if (chain == NULL || recs == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    memcpy(recs[i].diff_id, dl[i].diff_id, ST_DIGEST_LEN);
  st_chain_ids(recs, n, chain);
  for (size_t i = 0; i < n; i++) {
    if (dl[i].stage == NULL)
      continue;
    st_error *e = NULL;
    if (st_layer_stage_commit(p->s, chain[i], dl[i].stage, &e) < 0) {
      st_debug("pull: layer %.19s stays to be converted at first use: %s",
               dl[i].diff_id, e ? e->msg : "");
      st_layer_stage_drop(dl[i].stage);
    }
    st_error_free(e);
    free(dl[i].stage);
    dl[i].stage = NULL;
  }
}

static void drop_stages(st_dl_layer *dl, size_t n) {
  for (size_t i = 0; dl && i < n; i++) {
    st_layer_stage_drop(dl[i].stage);
    free(dl[i].stage);
    dl[i].stage = NULL;
  }
}

static void dl_freep(st_dl_layer **dl) {
  free(*dl);
}

static int run_pull(pull *p, st_pull_result *out, st_error **err) {
  __attribute__((cleanup(fetched_clearp))) st_fetched top = {0};
  __attribute__((cleanup(fetched_clearp))) st_fetched img = {0};
  __attribute__((cleanup(manifest_clearp))) st_manifest m = {0};
  if (resolve(p, &top, &img, &m, err) < 0 || check_layers(p, &m, err) < 0)
    return -1;
  cleanup_free char *cbuf = NULL;
  size_t clen = 0;
  if (get_config(p, &m.config, &cbuf, &clen, err) < 0)
    return -1;
  cleanup_json json_t *config = NULL;
  int64_t created = 0;
  if (parse_config(p, cbuf, clen, m.n_items, &config, &created, err) < 0)
    return -1;
  st_image existing = {0};
  st_error *ignored = NULL;
  bool exists = st_image_get(p->s, m.config.digest, &existing, &ignored) == 0;
  st_image_clear(&existing);
  st_error_free(ignored);
  size_t n = m.n_items ? m.n_items : 1;
  __attribute__((cleanup(dl_freep))) st_dl_layer *dl = calloc(n, sizeof(*dl));
  cleanup_free st_layer_rec *local = calloc(n, sizeof(*local));
  if (dl == NULL || local == NULL)
    return st_error_errno(err, ENOMEM, "pull");
  if (plan_layers(p, &m, dl, local, exists, err) < 0)
    return -1;
  if (!exists) {
    int r = st_download_layers(p->s, p->c, p->o, dl, m.n_items, err);
    if (r < 0 || check_diff_ids(p, dl, m.n_items, config, err) < 0) {
      drop_stages(dl, m.n_items);
      return r < 0 ? st_error_wrap(err, "pull %s", p->display) : -1;
    }
  }
  if (record(p, &top, &img, &m, dl, local, created, out, err) < 0) {
    drop_stages(dl, m.n_items);
    return -1;
  }
  commit_stages(p, dl, m.n_items);
  drop_stages(dl, m.n_items);
  for (size_t i = 0; i < m.n_items; i++)
    if (dl[i].fetch)
      st_reg_emit(p->o, ST_REG_LAYER_PULL_COMPLETE, m.items[i].digest, NULL,
                  p->ref.path, 0, 0);
  return 0;
}

/* How many registry-mirrors a pull from domain may use: 0 unless it is
 * docker.io. */
static int n_mirrors(const char *domain, st_error **err) {
  if (strcmp(domain, "docker.io") != 0)
    return 0;
  const st_reg_config *conf = NULL;
  if (st_reg_config_get(&conf, err) < 0)
    return -1;
  size_t n = st_reg_config_n_mirrors(conf);
  return n > 64 ? 64 : (int)n;
}

/* The pull from one endpoint (see st_reg_client_new_at). */
static int pull_from(pull *p, int endpoint, st_pull_result *out,
                     st_error **err) {
  cleanup_client st_reg_client *c = NULL;
  if (st_reg_client_new_at(p->ref.domain, p->ref.path, "pull", endpoint, p->o,
                           &c, err) < 0)
    return st_error_wrap(err, "pull %s", p->display);
  p->c = c;
  int rc = run_pull(p, out, err);
  p->c = NULL;
  return rc;
}

int st_registry_pull(st_store *s, const char *ref, const st_reg_opts *o,
                     st_pull_result *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  __attribute__((cleanup(ref_clearp))) st_ref r = {0};
  if (st_ref_parse(ref, &r, err) < 0)
    return -1;
  pull p = {.s = s, .o = o, .ref = r};
  cleanup_free char *repo = st_ref_repo(&r);
  cleanup_free char *full = st_ref_full(&r);
  cleanup_free char *display = full ? st_ref_familiar(full) : NULL;
  if (repo == NULL || display == NULL)
    return st_error_errno(err, ENOMEM, "pull");
  p.repo = repo;
  p.display = display;
  int last = n_mirrors(r.domain, err);
  if (last < 0)
    return st_error_wrap(err, "pull %s", display);
  st_reg_emit(o, ST_REG_PULLING_FROM, NULL, r.digest ? r.digest : r.tag, r.path,
              0, 0);
  /* Each mirror in turn, then docker.io itself (endpoint -1), as Docker
   * does: whatever fails on a mirror (refused connection, 5xx, an unknown
   * manifest, a broken layer) sends the pull to the next endpoint; only the
   * last endpoint's error is reported. */
  for (int e = 0;; e++) {
    int endpoint = e < last ? e : -1;
    st_error *e_err = NULL;
    int rc = pull_from(&p, endpoint, out, &e_err);
    if (rc == 0)
      return 0;
    st_pull_result_clear(out);
    if (endpoint < 0 || (e_err && e_err->code == ENOMEM)) {
      if (err && *err == NULL)
        *err = e_err;
      else
        st_error_free(e_err);
      return -1;
    }
    st_error_free(e_err);
  }
}
