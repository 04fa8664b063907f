/* `strata load`: extract, plan, verify, then store and record (see
 * archive.h). Each step is complete before the next starts, so a bad
 * archive is refused before the store is touched: extraction goes to a
 * private directory, and the plan and every check read only that. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt/units.h"
#include "image/archive_internal.h"
#include "image/image.h"
#include "layer/compress.h"
#include "layer/tar.h"
#include "ref/ref.h"
#include "util/cleanup.h"

void st_loaded_images_free(st_loaded_image *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) {
    st_strv_free(v[i].tags, v[i].n_tags);
    st_strv_free(v[i].replaced, v[i].n_tags);
  }
  free(v);
}

static void plan_clear(ld_plan *p) {
  for (size_t i = 0; i < p->n; i++) {
    ld_image *m = &p->v[i];
    free(m->label);
    free(m->config);
    for (size_t j = 0; j < m->n_layers; j++)
      free(m->layers[j].media_type);
    free(m->layers);
    st_strv_free(m->tags, m->n_tags);
    free(m->manifest_type);
    free(m->parent);
  }
  free(p->v);
}
#define cleanup_plan __attribute__((cleanup(plan_clear)))

/* ---- the plan ------------------------------------------------------------ */

ld_image *st_ld_image(ld_plan *p, const char *id, char *config, size_t len,
                      bool *is_new, st_error **err) {
  *is_new = false;
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->v[i].id, id) == 0) {
      free(config);
      return &p->v[i];
    }
  ld_image *v = realloc(p->v, (p->n + 1) * sizeof(*v));
  if (v == NULL) {
    free(config);
    st_error_errno(err, ENOMEM, "load");
    return NULL;
  }
  p->v = v;
  ld_image *m = &v[p->n++];
  memset(m, 0, sizeof(*m));
  memcpy(m->id, id, ST_DIGEST_LEN);
  m->config = config;
  m->config_len = len;
  *is_new = true;
  return m;
}

int st_ld_add_tag(ld_image *m, const char *tag, st_error **err) {
  for (size_t i = 0; i < m->n_tags; i++)
    if (strcmp(m->tags[i], tag) == 0)
      return 0;
  char **v = realloc(m->tags, (m->n_tags + 2) * sizeof(*v));
  if (v == NULL)
    return st_error_errno(err, ENOMEM, "load");
  m->tags = v;
  if ((v[m->n_tags] = strdup(tag)) == NULL)
    return st_error_errno(err, ENOMEM, "load");
  v[++m->n_tags] = NULL;
  return 0;
}

json_t *st_ld_config(const char *config, size_t len, const char *label,
                     const json_t **diff_ids, int64_t *created,
                     st_error **err) {
  json_error_t jerr;
  json_t *j = json_loadb(config, len, 0, &jerr);
  if (j == NULL || !json_is_object(j)) {
    json_decref(j);
    st_error_set(err, EINVAL, "config `%s` is not a JSON object%s%s", label,
                 j ? "" : ": ", j ? "" : jerr.text);
    return NULL;
  }
  const json_t *ids = json_object_get(json_object_get(j, "rootfs"), "diff_ids");
  bool ok = json_is_array(ids);
  for (size_t i = 0; ok && i < json_array_size(ids); i++)
    ok = st_digest_valid(json_string_value(json_array_get(ids, i)) ?: "");
  if (!ok) {
    json_decref(j);
    st_error_set(err, EINVAL,
                 "config `%s`: rootfs.diff_ids is not a list of sha256 "
                 "digests",
                 label);
    return NULL;
  }
  int64_t sec = 0;
  int32_t nsec = 0;
  const char *c = json_string_value(json_object_get(j, "created"));
  if (c == NULL || st_parse_rfc3339(c, &sec, &nsec) < 0)
    sec = 0;
  *diff_ids = ids;
  *created = sec;
  return j;
}

/* "busybox:latest" -> "docker.io/library/busybox:latest"; a RepoTags entry
 * must name a tag, as Docker requires. */
static char *repo_tag(const char *s, st_error **err) {
  st_ref r = {0};
  char *out = NULL;
  if (st_ref_parse(s, &r, err) < 0)
    return NULL;
  if (r.tag == NULL || r.digest) {
    st_error_set(err, EINVAL,
                 ST_ARCHIVE_MANIFEST_FILE ": invalid tag \"%.200s\"", s);
  } else {
    cleanup_free char *repo = st_ref_repo(&r);
    if (repo == NULL || asprintf(&out, "%s:%s", repo, r.tag) < 0) {
      out = NULL;
      st_error_errno(err, ENOMEM, "load");
    }
  }
  st_ref_clear(&r);
  return out;
}

static int docker_layers(st_xdir *x, ld_image *m, const st_docker_item *it,
                         const json_t *diff_ids, st_error **err) {
  if ((m->layers = calloc(it->n_layers + 1, sizeof(*m->layers))) == NULL)
    return st_error_errno(err, ENOMEM, "load");
  m->n_layers = it->n_layers;
  for (size_t i = 0; i < it->n_layers; i++) {
    ld_layer *l = &m->layers[i];
    if ((l->file = st_xdir_find(x, it->layers[i])) == NULL)
      return st_archive_missing(ST_ARCHIVE_MANIFEST_FILE, it->layers[i], err);
    snprintf(l->diff_id, sizeof(l->diff_id), "%s",
             json_string_value(json_array_get(diff_ids, i)));
  }
  return 0;
}

static int plan_docker_item(st_xdir *x, ld_plan *p, const st_docker_item *it,
                            size_t pos, st_error **err) {
  st_xfile *cf = st_xdir_find(x, it->config);
  if (cf == NULL)
    return st_archive_missing(ST_ARCHIVE_MANIFEST_FILE, it->config, err);
  char *config = NULL;
  size_t len = 0;
  if (st_xdir_read(x, cf, &config, &len, err) < 0)
    return -1;
  const json_t *diff_ids = NULL;
  int64_t created = 0;
  json_auto_t *cj =
      st_ld_config(config, len, it->config, &diff_ids, &created, err);
  if (cj == NULL || json_array_size(diff_ids) != it->n_layers) {
    free(config);
    if (cj == NULL)
      return -1;
    return st_error_set(err, EINVAL,
                        ST_ARCHIVE_MANIFEST_FILE
                        ": image %zu lists %zu layers but its config has %zu "
                        "diff IDs",
                        pos + 1, it->n_layers, json_array_size(diff_ids));
  }
  bool is_new = false;
  ld_image *m = st_ld_image(p, cf->digest, config, len, &is_new, err);
  if (m == NULL)
    return -1;
  for (size_t i = 0; i < it->n_repo_tags; i++) {
    cleanup_free char *tag = repo_tag(it->repo_tags[i], err);
    if (tag == NULL || st_ld_add_tag(m, tag, err) < 0)
      return -1;
  }
  if (!is_new)
    return 0;
  m->created = created;
  if (it->n_repo_tags) {
    m->label = strdup(it->repo_tags[0]); /* parsed: a valid reference */
  } else {
    st_buf b = ST_BUF_INIT;
    st_archive_quote(&b, it->config);
    m->label = b.data;
  }
  if (m->label == NULL ||
      (it->parent && (m->parent = strdup(it->parent)) == NULL))
    return st_error_errno(err, ENOMEM, "load");
  return docker_layers(x, m, it, diff_ids, err);
}

/* A parent is kept only when the archive holds it too (Docker's rule). */
static void keep_loaded_parents(ld_plan *p) {
  for (size_t i = 0; i < p->n; i++) {
    bool found = false;
    for (size_t j = 0; p->v[i].parent && j < p->n; j++)
      found = found || (j != i && strcmp(p->v[j].id, p->v[i].parent) == 0);
    if (!found) {
      free(p->v[i].parent);
      p->v[i].parent = NULL;
    }
  }
}

/* A message naming the images on the cycle through start (up[] gives each
 * image's parent in the plan). */
static int cycle_error(const ld_plan *p, const size_t *up, size_t start,
                       st_error **err) {
  cleanup_buf st_buf b = ST_BUF_INIT;
  size_t k = start;
  do {
    st_buf_printf(&b, "%s -> ", p->v[k].label);
    k = up[k];
  } while (k != start);
  st_buf_puts(&b, p->v[start].label);
  return st_error_set(err, EINVAL,
                      ST_ARCHIVE_MANIFEST_FILE
                      ": images name each other as parent (a cycle): %s",
                      b.data ? b.data : "");
}

/* Refuses images that are their own ancestors: in the store, an image on
 * such a cycle always has a child, so nothing could remove it. */
static int refuse_parent_cycles(const ld_plan *p, st_error **err) {
  cleanup_free size_t *up = calloc(p->n + 1, sizeof(*up));
  if (up == NULL)
    return st_error_errno(err, ENOMEM, "load");
  for (size_t i = 0; i < p->n; i++) {
    up[i] = p->n;
    for (size_t j = 0; p->v[i].parent && j < p->n; j++)
      if (strcmp(p->v[j].id, p->v[i].parent) == 0)
        up[i] = j;
  }
  for (size_t i = 0; i < p->n; i++) {
    size_t j = up[i];
    for (size_t steps = 0; j < p->n && j != i && steps < p->n; steps++)
      j = up[j];
    if (j == i)
      return cycle_error(p, up, i, err);
  }
  return 0;
}

static int plan_docker(st_xdir *x, st_xfile *mf, ld_plan *p, st_error **err) {
  cleanup_free char *buf = NULL;
  size_t len = 0;
  if (st_xdir_read(x, mf, &buf, &len, err) < 0)
    return -1;
  st_docker_item *items = NULL;
  size_t n = 0;
  if (st_docker_manifest_parse(buf, len, &items, &n, err) < 0)
    return -1;
  int ret = 0;
  for (size_t i = 0; ret == 0 && i < n; i++)
    ret = plan_docker_item(x, p, &items[i], i, err);
  st_docker_items_free(items, n);
  keep_loaded_parents(p);
  if (ret == 0)
    ret = refuse_parent_cycles(p, err);
  return ret;
}

/* ---- checks -------------------------------------------------------------- */

/* Every blobs/sha256/<hex> holds the bytes its name says. */
static int check_blob_names(const st_xdir *x, st_error **err) {
  static const char prefix[] = "blobs/sha256/";
  for (size_t i = 0; i < x->n; i++) {
    const st_xfile *f = &x->files[i];
    if (f->is_link || strncmp(f->name, prefix, sizeof(prefix) - 1) != 0)
      continue;
    char named[ST_DIGEST_LEN + 8];
    if (snprintf(named, sizeof(named), "sha256:%s",
                 f->name + sizeof(prefix) - 1) >= (int)sizeof(named) ||
        !st_digest_valid(named))
      continue;
    if (strcmp(named, f->digest) != 0)
      return st_error_set(err, EIO,
                          "blob `%s` is corrupt: its content has digest %s",
                          f->name, f->digest);
  }
  return 0;
}

/* Hashes a layer's decompressed content (once per file). */
static int layer_diff_id(st_xdir *x, st_xfile *f, st_error **err) {
  if (f->diff_id[0])
    return 0;
  cleanup_close int fd = st_xdir_open(x, f, err);
  if (fd < 0)
    return -1;
  cleanup_decomp st_decomp *d = NULL;
  if (st_decomp_open(fd, &d, err) < 0)
    return -1;
  snprintf(f->compression, sizeof(f->compression), "%s", st_decomp_format(d));
  if (strcmp(f->compression, "none") == 0) {
    memcpy(f->diff_id, f->digest, ST_DIGEST_LEN);
    return 0;
  }
  cleanup_sha256 st_sha256 *h = st_sha256_new();
  if (h == NULL)
    return st_error_errno(err, ENOMEM, "load");
  for (;;) {
    const void *buf = NULL;
    size_t len = 0;
    int r = st_decomp_read(d, &buf, &len, err);
    if (r < 0)
      return -1;
    if (r == 0)
      break;
    st_sha256_update(h, buf, len);
  }
  st_sha256_final(steal_pointer(&h), f->diff_id);
  return 0;
}

static int check_layers(st_xdir *x, ld_plan *p, st_error **err) {
  for (size_t i = 0; i < p->n; i++) {
    ld_image *m = &p->v[i];
    for (size_t j = 0; j < m->n_layers; j++) {
      ld_layer *l = &m->layers[j];
      if (layer_diff_id(x, l->file, err) < 0)
        return st_error_wrap(err, "image %s: layer %zu `%s`", m->label, j + 1,
                             l->file->name);
      if (strcmp(l->file->diff_id, l->diff_id) != 0)
        return st_error_set(err, EIO,
                            "image %s: layer %zu: diff ID mismatch: config "
                            "says %s, archive has %s",
                            m->label, j + 1, l->diff_id, l->file->diff_id);
    }
  }
  return 0;
}

/* The media type a docker-archive layer keeps, or NULL when it is stored
 * decompressed (xz, bzip2: no OCI type). */
static const char *content_media_type(const char *compression) {
  if (strcmp(compression, "none") == 0)
    return ST_MT_OCI_LAYER;
  if (strcmp(compression, "gzip") == 0)
    return ST_MT_OCI_LAYER_GZIP;
  if (strcmp(compression, "zstd") == 0)
    return ST_MT_OCI_LAYER_ZSTD;
  return NULL;
}

/* A docker-archive from Docker 25+ also has OCI manifests: keep the one of
 * each image instead of building one, when its layers are kept as they are
 * (not xz or bzip2, which are stored decompressed). */
static void keep_docker_manifests(st_xdir *x, ld_plan *p) {
  for (size_t i = 0; i < p->n; i++) {
    ld_image *m = &p->v[i];
    bool as_is = true;
    for (size_t j = 0; j < m->n_layers; j++)
      as_is = as_is && content_media_type(m->layers[j].file->compression);
    if (as_is)
      m->manifest = st_ld_find_manifest(x, m->id, m->layers, m->n_layers,
                                        &m->manifest_type);
  }
}

/* ---- storing ------------------------------------------------------------- */

/* Puts a layer file into the store once: by rename, then inspected (size,
 * entry names); or decompressed by st_layer_import. */
static int store_layer_file(st_store *s, st_xdir *x, st_xfile *f,
                            bool decompress, st_error **err) {
  if (f->stored)
    return 0;
  char diff[ST_DIGEST_LEN];
  if (decompress) {
    cleanup_close int fd = st_xdir_open(x, f, err);
    st_layer_rec rec;
    if (fd < 0 || st_layer_import(s, fd, f->name, &rec, err) < 0)
      return -1;
    memcpy(f->stored_blob, rec.blob, ST_DIGEST_LEN);
    memcpy(diff, rec.diff_id, ST_DIGEST_LEN);
    f->stored_size = rec.blob_size;
    f->content_size = rec.size;
    f->imported = true;
  } else {
    if (st_xdir_adopt(s, x, f, err) < 0 ||
        st_layer_inspect_blob(s, f->digest, diff, &f->content_size, err) < 0)
      return -1;
    memcpy(f->stored_blob, f->digest, ST_DIGEST_LEN);
    f->stored_size = (int64_t)f->size;
  }
  if (strcmp(diff, f->diff_id) != 0)
    return st_error_set(err, EIO, "layer changed while loading: %s, then %s",
                        f->diff_id, diff);
  f->stored = true;
  return 0;
}

static int store_layers(st_store *s, st_xdir *x, ld_image *m,
                        st_layer_rec *recs, st_error **err) {
  for (size_t j = 0; j < m->n_layers; j++) {
    ld_layer *l = &m->layers[j];
    st_xfile *f = l->file;
    const char *mt =
        l->media_type ? l->media_type : content_media_type(f->compression);
    /* A kept manifest names the blob as it is: never decompress it. */
    bool decompress = mt == NULL && m->manifest == NULL;
    if (mt == NULL && !decompress)
      mt = ST_MT_OCI_LAYER;
    if (store_layer_file(s, x, f, decompress, err) < 0)
      return st_error_wrap(err, "image %s: layer %zu", m->label, j + 1);
    st_layer_rec *r = &recs[j];
    memcpy(r->blob, f->stored_blob, ST_DIGEST_LEN);
    memcpy(r->diff_id, l->diff_id, ST_DIGEST_LEN);
    r->media_type = f->imported ? ST_LAYER_MEDIA_TYPE_TAR : mt;
    r->blob_size = f->stored_size;
    r->size = f->content_size;
  }
  return 0;
}

/* The recorded layers of every image, in plan order. */
typedef struct ld_recs {
  st_layer_rec **v;
  size_t n;
} ld_recs;

static void recs_clear(ld_recs *r) {
  for (size_t i = 0; i < r->n; i++)
    free(r->v[i]);
  free(r->v);
}

static int store_blobs(st_store *s, st_xdir *x, ld_plan *p, ld_recs *recs,
                       st_error **err) {
  if ((recs->v = calloc(p->n + 1, sizeof(*recs->v))) == NULL)
    return st_error_errno(err, ENOMEM, "load");
  for (size_t i = 0; i < p->n; i++) {
    ld_image *m = &p->v[i];
    recs->n = i + 1;
    if ((recs->v[i] = calloc(m->n_layers + 1, sizeof(st_layer_rec))) == NULL)
      return st_error_errno(err, ENOMEM, "load");
    /* An image the store has keeps its manifest and blobs (as Docker keeps
     * layers it has): its content is the same, by its ID. */
    st_image old;
    st_error *none = NULL;
    m->existed = st_image_get(s, m->id, &old, &none) == 0;
    if (m->existed)
      st_image_clear(&old);
    st_error_free(none);
    if (m->existed)
      continue;
    if (store_layers(s, x, m, recs->v[i], err) < 0)
      return -1;
    if (m->manifest && st_xdir_adopt(s, x, m->manifest, err) < 0)
      return -1;
  }
  return 0;
}

/* ---- recording ----------------------------------------------------------- */

/* Fills out's tags and, per tag, the other image it points at now. */
static int note_tags(st_store *s, const ld_image *m, st_loaded_image *out,
                     st_error **err) {
  memcpy(out->id, m->id, ST_DIGEST_LEN);
  out->tags = calloc(m->n_tags + 1, sizeof(char *));
  out->replaced = calloc(m->n_tags + 1, sizeof(char *));
  if (out->tags == NULL || out->replaced == NULL)
    return st_error_errno(err, ENOMEM, "load");
  for (size_t i = 0; i < m->n_tags; i++) {
    out->n_tags = i + 1;
    if ((out->tags[i] = strdup(m->tags[i])) == NULL)
      return st_error_errno(err, ENOMEM, "load");
    st_image old;
    st_error *none = NULL;
    if (st_image_resolve(s, m->tags[i], &old, &none) == 0) {
      if (strcmp(old.id, m->id) != 0 &&
          (out->replaced[i] = strdup(old.id)) == NULL) {
        st_image_clear(&old);
        return st_error_errno(err, ENOMEM, "load");
      }
      st_image_clear(&old);
    }
    st_error_free(none);
  }
  return 0;
}

/* Points the tags of an image the store had at it. */
static int record_tags(st_store *s, const ld_image *m, st_error **err) {
  st_image now;
  if (st_image_get(s, m->id, &now, err) < 0)
    return st_error_set(err, EAGAIN,
                        "removed by another command while loading; load "
                        "again");
  st_image_clear(&now);
  for (size_t i = 0; i < m->n_tags; i++)
    if (st_tag_set(s, m->tags[i], m->id, err) < 0)
      return -1;
  return 0;
}

static int record_image(st_store *s, const ld_image *m,
                        const st_layer_rec *recs, st_error **err) {
  const char *const *tags = (const char *const *)m->tags;
  if (m->existed)
    return record_tags(s, m, err);
  if (m->manifest == NULL) {
    char id[ST_DIGEST_LEN];
    if (st_image_store(s, m->config, m->config_len, recs, m->n_layers,
                       m->parent, tags, m->n_tags, id, err) < 0)
      return -1;
    if (strcmp(id, m->id) != 0)
      return st_error_set(err, EIO, "config stored as %s, expected %s", id,
                          m->id);
    return 0;
  }
  char id[ST_DIGEST_LEN];
  if (st_blob_put(s, m->config, m->config_len, id, err) < 0)
    return -1;
  st_image_rec rec = {.manifest_media_type = m->manifest_type,
                      .created = m->created,
                      .parent = m->parent,
                      .n_layers = m->n_layers,
                      .layers = recs};
  memcpy(rec.id, m->id, ST_DIGEST_LEN);
  memcpy(rec.manifest, m->manifest->digest, ST_DIGEST_LEN);
  return st_image_commit(s, &rec, tags, m->n_tags, err);
}

static int record_all(st_store *s, const ld_plan *p, const ld_recs *recs,
                      st_loaded_image *out, st_error **err) {
  if (st_tx_begin(s, err) < 0)
    return -1;
  for (size_t i = 0; i < p->n; i++) {
    if (note_tags(s, &p->v[i], &out[i], err) < 0 ||
        record_image(s, &p->v[i], recs->v[i], err) < 0) {
      st_tx_rollback(s);
      return st_error_wrap(err, "image %s", p->v[i].label);
    }
  }
  return st_tx_commit(s, err);
}

static int load(st_store *s, int fd, const char *what, st_loaded_image **out,
                size_t *n, st_error **err) {
  cleanup_xdir st_xdir *x = NULL;
  if (st_xdir_extract(s, fd, &x, err) < 0)
    return st_error_wrap(err, "%s", what);
  if (check_blob_names(x, err) < 0)
    return -1;
  cleanup_plan ld_plan p = {0};
  st_xfile *mf = st_xdir_find(x, ST_ARCHIVE_MANIFEST_FILE);
  if (mf) {
    if (plan_docker(x, mf, &p, err) < 0)
      return -1;
  } else if (st_xdir_find(x, ST_ARCHIVE_INDEX_FILE)) {
    if (st_ld_plan_oci(x, &p, err) < 0)
      return -1;
  } else {
    return st_error_set(
        err, EINVAL,
        "invalid archive: it has neither " ST_ARCHIVE_MANIFEST_FILE
        " (docker-archive) nor " ST_ARCHIVE_INDEX_FILE " (OCI archive)");
  }
  if (check_layers(x, &p, err) < 0)
    return -1;
  if (mf)
    keep_docker_manifests(x, &p);
  __attribute__((cleanup(recs_clear))) ld_recs recs = {0};
  if (store_blobs(s, x, &p, &recs, err) < 0)
    return -1;
  st_loaded_image *v = calloc(p.n + 1, sizeof(*v));
  if (v == NULL)
    return st_error_errno(err, ENOMEM, "load");
  if (record_all(s, &p, &recs, v, err) < 0) {
    st_loaded_images_free(v, p.n);
    return -1;
  }
  *out = v;
  *n = p.n;
  return 0;
}

int st_archive_load(st_store *s, int fd, const char *what,
                    st_loaded_image **out, size_t *n, st_error **err) {
  if (load(s, fd, what, out, n, err) == 0)
    return 0;
  /* Blobs stored before the failure (layers, configs) are garbage now:
   * give the space back, which matters when the disk is full. Runs after
   * load() removed its extraction directory from tmp/. When another
   * process has the store open, the next gc does it. */
  st_error *gc_err = NULL;
  st_store_gc(s, &gc_err);
  st_error_free(gc_err);
  return -1;
}
