/* `strata save`: Docker's archive format (see archive.h).
 *
 * A plan resolves every name and settles every entry and its size (an
 * entry's size goes into its tar header before its data, so a layer stored
 * compressed is decompressed once to measure it); then the JSON files are
 * made (archive_save_docs.c) and the tar is written (archive_save_tar.c).
 * Nothing is written before the plan is complete. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive_internal.h"
#include "image/image.h"
#include "layer/compress.h"
#include "ref/ref.h"
#include "util/cleanup.h"

static void plan_clear(sv_plan *p) {
  for (size_t i = 0; i < p->n_imgs; i++) {
    sv_image *m = &p->imgs[i];
    free(m->parent);
    st_strv_free(m->tags, m->n_tags);
    st_layers_free(m->layers, m->n_layers);
    free(m->tar_sizes);
    free(m->manifest_type);
  }
  free(p->imgs);
  for (size_t i = 0; i < p->n_blobs; i++)
    free(p->blobs[i].data);
  free(p->blobs);
}
#define cleanup_plan __attribute__((cleanup(plan_clear)))

/* ---- naming images ------------------------------------------------------- */

/* The image id of the plan, added (without layers yet) when new. */
static sv_image *plan_image(sv_plan *p, const char *id, st_error **err) {
  for (size_t i = 0; i < p->n_imgs; i++)
    if (strcmp(p->imgs[i].id, id) == 0)
      return &p->imgs[i];
  sv_image *v = realloc(p->imgs, (p->n_imgs + 1) * sizeof(*v));
  if (v == NULL) {
    st_error_errno(err, ENOMEM, "save");
    return NULL;
  }
  p->imgs = v;
  sv_image *m = &v[p->n_imgs++];
  memset(m, 0, sizeof(*m));
  memcpy(m->id, id, ST_DIGEST_LEN);
  return m;
}

/* Adds image id with tag (normalized, or NULL for none). */
static int plan_add(sv_plan *p, const char *id, const char *tag,
                    st_error **err) {
  sv_image *m = plan_image(p, id, err);
  if (m == NULL)
    return -1;
  if (tag == NULL)
    return 0;
  for (size_t i = 0; i < m->n_tags; i++)
    if (strcmp(m->tags[i], tag) == 0)
      return 0;
  char **v = realloc(m->tags, (m->n_tags + 2) * sizeof(*v));
  if (v == NULL)
    return st_error_errno(err, ENOMEM, "save");
  m->tags = v;
  if ((v[m->n_tags] = strdup(tag)) == NULL)
    return st_error_errno(err, ENOMEM, "save");
  v[++m->n_tags] = NULL;
  return 0;
}

/* "sha256:..." or 64 hex digits: an ID, never a name (Docker's rule). */
static bool id_form(const char *name) {
  if (strncmp(name, "sha256:", 7) == 0)
    return true;
  return strlen(name) == ST_DIGEST_HEX_LEN &&
         strspn(name, "0123456789abcdef") == ST_DIGEST_HEX_LEN;
}

/* True when the text names a tag: a ':' after the last '/'. */
static bool text_has_tag(const char *name) {
  const char *slash = strrchr(name, '/');
  return strchr(slash ? slash + 1 : name, ':') != NULL;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "repo" alone: every tag of repo (sorted), as Docker saves them. Returns
 * how many were added, or < 0 with *err set. */
static int add_repo_tags(st_store *s, sv_plan *p, const char *repo,
                         st_error **err) {
  st_image_row *rows = NULL;
  size_t n = 0;
  if (st_image_list(s, &rows, &n, err) < 0)
    return -1;
  /* Pairs of "name\0id" sorted by name. */
  cleanup_free char **pairs = calloc(n + 1, sizeof(*pairs));
  size_t count = 0;
  int ret = 0;
  for (size_t i = 0; pairs && i < n; i++) {
    cleanup_free char *r = NULL;
    cleanup_free char *t = NULL;
    if (rows[i].name == NULL || st_ref_split_tag(rows[i].name, &r, &t) < 0 ||
        strcmp(r, repo) != 0)
      continue;
    pairs[count++] = rows[i].name;
  }
  if (pairs == NULL)
    ret = st_error_errno(err, ENOMEM, "save");
  qsort(pairs, count, sizeof(*pairs), cmp_str);
  for (size_t i = 0; ret == 0 && i < count; i++)
    for (size_t j = 0; j < n; j++)
      if (rows[j].name == pairs[i]) {
        if (plan_add(p, rows[j].img.id, rows[j].name, err) < 0)
          ret = -1;
        break;
      }
  st_image_rows_free(rows, n);
  return ret < 0 ? -1 : (int)count;
}

static int add_resolved(st_store *s, sv_plan *p, const char *name,
                        const char *tag, st_error **err) {
  st_image img;
  if (st_image_resolve(s, name, &img, err) < 0)
    return -1;
  int r = plan_add(p, img.id, tag, err);
  st_image_clear(&img);
  return r;
}

static int add_name(st_store *s, sv_plan *p, const char *name, st_error **err) {
  if (id_form(name))
    return add_resolved(s, p, name, NULL, err);
  st_ref r = {0};
  if (st_ref_parse(name, &r, err) < 0)
    return -1;
  int ret = 0;
  if (r.digest) {
    ret = add_resolved(s, p, name, NULL, err);
  } else if (!text_has_tag(name)) {
    cleanup_free char *repo = st_ref_repo(&r);
    ret = repo ? add_repo_tags(s, p, repo, err)
               : st_error_errno(err, ENOMEM, "save");
    if (ret == 0) /* no such repository: maybe an ID prefix */
      ret = add_resolved(s, p, name, NULL, err);
  } else {
    cleanup_free char *full = st_ref_full(&r);
    ret = full ? add_resolved(s, p, name, full, err)
               : st_error_errno(err, ENOMEM, "save");
  }
  st_ref_clear(&r);
  return ret < 0 ? -1 : 0;
}

/* ---- settling entries ---------------------------------------------------- */

/* The entry for digest, added when new (kind SRC_MEM with no data yet). */
static sv_blob *plan_blob(sv_plan *p, const char *digest, bool *is_new,
                          st_error **err) {
  *is_new = false;
  for (size_t i = 0; i < p->n_blobs; i++)
    if (strcmp(p->blobs[i].digest, digest) == 0)
      return &p->blobs[i];
  sv_blob *v = realloc(p->blobs, (p->n_blobs + 1) * sizeof(*v));
  if (v == NULL) {
    st_error_errno(err, ENOMEM, "save");
    return NULL;
  }
  p->blobs = v;
  sv_blob *b = &v[p->n_blobs++];
  memset(b, 0, sizeof(*b));
  memcpy(b->digest, digest, ST_DIGEST_LEN);
  *is_new = true;
  return b;
}

/* Adds bytes the plan owns from now on (freed here on failure). */
static int plan_mem(sv_plan *p, const char *digest, char *data, size_t len,
                    st_error **err) {
  bool is_new;
  sv_blob *b = plan_blob(p, digest, &is_new, err);
  if (b == NULL || !is_new) {
    free(data);
    return b ? 0 : -1;
  }
  b->kind = SRC_MEM;
  b->data = data;
  b->size = len;
  return 0;
}

/* Decompresses a stored layer to measure its tar and check its diff ID. */
static int measure_layer(st_store *s, const st_layer_rec *l, uint64_t *size,
                         st_error **err) {
  cleanup_close int fd = st_blob_open(s, l->blob, err);
  if (fd < 0)
    return -1;
  cleanup_decomp st_decomp *d = NULL;
  if (st_decomp_open(fd, &d, err) < 0)
    return st_error_wrap(err, "layer %s", l->blob);
  cleanup_sha256 st_sha256 *h = st_sha256_new();
  if (h == NULL)
    return st_error_errno(err, ENOMEM, "save");
  uint64_t n = 0;
  for (;;) {
    const void *buf = NULL;
    size_t len = 0;
    int r = st_decomp_read(d, &buf, &len, err);
    if (r < 0)
      return st_error_wrap(err, "layer %s", l->blob);
    if (r == 0)
      break;
    st_sha256_update(h, buf, len);
    n += len;
  }
  char got[ST_DIGEST_LEN];
  st_sha256_final(steal_pointer(&h), got);
  if (strcmp(got, l->diff_id) != 0)
    return st_error_set(err, EIO,
                        "layer %s is corrupt: it decompresses to %s, not its "
                        "diff ID %s; run `strata system check`",
                        l->blob, got, l->diff_id);
  *size = n;
  return 0;
}

/* Settles layer i of m: its entry (named by diff ID) and tar size. */
static int plan_layer(st_store *s, sv_plan *p, sv_image *m, size_t i,
                      st_error **err) {
  const st_layer_rec *l = &m->layers[i];
  bool plain = strcmp(l->blob, l->diff_id) == 0;
  bool is_new;
  sv_blob *b = plan_blob(p, l->diff_id, &is_new, err);
  if (b == NULL)
    return -1;
  if (!is_new) {
    m->tar_sizes[i] = b->size;
    return 0;
  }
  b->kind = plain ? SRC_BLOB : SRC_DECOMP;
  memcpy(b->blob, l->blob, ST_DIGEST_LEN);
  if (plain) {
    cleanup_free char *path = st_blob_path(s, l->blob);
    struct stat st;
    if (path == NULL)
      return st_error_errno(err, ENOMEM, "save");
    if (stat(path, &st) < 0)
      return st_error_errno(err, errno, "layer `%s`", path);
    b->size = (uint64_t)st.st_size;
  } else if (measure_layer(s, l, &b->size, err) < 0) {
    return -1;
  }
  m->tar_sizes[i] = b->size;
  return 0;
}

/* True when a stored manifest lists exactly the layers as save writes them:
 * plain tars named by their diff IDs. */
static bool lists_plain_layers(const char *data, size_t len,
                               const sv_image *m) {
  json_auto_t *j = json_loadb(data, len, 0, NULL);
  const json_t *layers = json_object_get(j, "layers");
  if (!json_is_array(layers) || json_array_size(layers) != m->n_layers)
    return false;
  for (size_t i = 0; i < m->n_layers; i++) {
    const json_t *d = json_array_get(layers, i);
    const char *digest = json_string_value(json_object_get(d, "digest"));
    const json_t *size = json_object_get(d, "size");
    if (digest == NULL || strcmp(digest, m->layers[i].diff_id) != 0 ||
        !json_is_integer(size) ||
        json_integer_value(size) != (json_int_t)m->tar_sizes[i])
      return false;
  }
  return true;
}

/* The manifest: the stored one when it lists the layers as written (plain
 * tars), else one built for them (never a re-serialized stored one). */
static int plan_manifest(st_store *s, sv_plan *p, sv_image *m,
                         const st_image *img, uint64_t config_size,
                         st_error **err) {
  char *data = NULL;
  size_t len = 0;
  if (st_blob_get(s, img->manifest, &data, &len, err) < 0)
    return st_error_wrap(err, "image %s: manifest", m->id);
  if (lists_plain_layers(data, len, m)) {
    memcpy(m->manifest, img->manifest, ST_DIGEST_LEN);
    m->manifest_type =
        strdup(img->manifest_media_type ? img->manifest_media_type
                                        : ST_MT_OCI_MANIFEST);
  } else {
    free(data);
    data = NULL;
    cleanup_free st_layer_rec *recs = calloc(m->n_layers + 1, sizeof(*recs));
    if (recs == NULL)
      return st_error_errno(err, ENOMEM, "save");
    for (size_t i = 0; i < m->n_layers; i++) {
      memcpy(recs[i].blob, m->layers[i].diff_id, ST_DIGEST_LEN);
      memcpy(recs[i].diff_id, m->layers[i].diff_id, ST_DIGEST_LEN);
      recs[i].media_type = ST_MT_OCI_LAYER;
      recs[i].blob_size = (int64_t)m->tar_sizes[i];
    }
    if (st_manifest_build(m->id, config_size, recs, m->n_layers, &data, &len,
                          err) < 0)
      return -1;
    st_digest_of(data, len, m->manifest);
    m->manifest_type = strdup(ST_MT_OCI_MANIFEST);
  }
  m->manifest_size = len;
  if (m->manifest_type == NULL) {
    free(data);
    return st_error_errno(err, ENOMEM, "save");
  }
  return plan_mem(p, m->manifest, data, len, err);
}

static int plan_contents(st_store *s, sv_plan *p, sv_image *m, st_error **err) {
  st_image img;
  if (st_image_get(s, m->id, &img, err) < 0)
    return -1;
  int ret = -1;
  char *config = NULL;
  size_t config_len = 0;
  if (img.parent && (m->parent = strdup(img.parent)) == NULL) {
    st_error_errno(err, ENOMEM, "save");
    goto out;
  }
  if (st_blob_get(s, m->id, &config, &config_len, err) < 0) {
    st_error_wrap(err, "image %s: config", m->id);
    goto out;
  }
  if (plan_mem(p, m->id, config, config_len, err) < 0 ||
      st_image_layers(s, m->id, &m->layers, &m->n_layers, err) < 0)
    goto out;
  if ((m->tar_sizes = calloc(m->n_layers + 1, sizeof(uint64_t))) == NULL) {
    st_error_errno(err, ENOMEM, "save");
    goto out;
  }
  for (size_t i = 0; i < m->n_layers; i++)
    if (plan_layer(s, p, m, i, err) < 0)
      goto out;
  ret = plan_manifest(s, p, m, &img, config_len, err);
out:
  st_image_clear(&img);
  return ret;
}

int st_archive_save(st_store *s, const char *const *names, size_t n_names,
                    int fd, st_error **err) {
  if (n_names == 0)
    return st_error_set(err, EINVAL, "save: no image named");
  cleanup_plan sv_plan p = {0};
  for (size_t i = 0; i < n_names; i++)
    if (add_name(s, &p, names[i], err) < 0)
      return -1;
  for (size_t i = 0; i < p.n_imgs; i++)
    if (plan_contents(s, &p, &p.imgs[i], err) < 0)
      return -1;
  __attribute__((cleanup(st_sv_docs_clear))) sv_docs docs = {0};
  if (st_sv_docs(&p, &docs) < 0)
    return st_error_errno(err, ENOMEM, "save");
  return st_sv_write_tar(s, &p, &docs, fd, err);
}
