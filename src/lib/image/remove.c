/* `rmi`: untag and delete images with Docker's rules. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "ref/ref.h"
#include "store/layers.h"
#include "store/usage.h"
#include "util/cleanup.h"
#include "util/log.h"

void st_rmi_result_clear(st_rmi_result *r) {
  st_strv_free(r->untagged, r->n_untagged);
  free(r->layers);
  memset(r, 0, sizeof(*r));
}

static int add_untagged(st_rmi_result *r, const char *name, st_error **err) {
  char **v = realloc(r->untagged, (r->n_untagged + 1) * sizeof(*v));
  if (v == NULL || (v[r->n_untagged] = strdup(name)) == NULL) {
    if (v)
      r->untagged = v;
    return st_error_errno(err, ENOMEM, "rmi");
  }
  r->untagged = v;
  r->n_untagged++;
  return 0;
}

/* The normalized tag `ref` names when it is an existing tag of img; NULL
 * when ref named the image some other way (ID, digest). */
static char *named_tag(const char *ref, char **tags, size_t n) {
  st_ref r = {0};
  st_error *ignored = NULL;
  if (st_ref_parse(ref, &r, &ignored) < 0) {
    st_error_free(ignored);
    return NULL;
  }
  char *full = r.digest ? NULL : st_ref_full(&r);
  st_ref_clear(&r);
  for (size_t i = 0; full && i < n; i++)
    if (strcmp(tags[i], full) == 0)
      return full;
  free(full);
  return NULL;
}

static int short_id_conflict(const char *id, const char *why, st_error **err) {
  return st_error_set(err, EBUSY, "conflict: unable to delete %.12s %s",
                      st_digest_hex(id), why);
}

/* Docker's refusal when container `user` holds the image: by name unless
 * forced; by ID unless forced when it is stopped, always when it runs.
 * 0 when the removal may go on (forced: the image is only untagged). */
static int used_conflict(const char *ref, bool by_name, bool force,
                         const char *id, const char *user, bool running,
                         st_error **err) {
  if (by_name && !force)
    return st_error_set(err, EBUSY,
                        "conflict: unable to remove repository reference "
                        "\"%s\" (must force) - container %.12s is using its "
                        "referenced image %.12s",
                        ref, user, st_digest_hex(id));
  if (!by_name && (running || !force))
    return st_error_set(err, EBUSY,
                        "conflict: unable to delete %.12s (%s) - image is "
                        "being used by %s container %.12s",
                        st_digest_hex(id),
                        running ? "cannot be forced" : "must be forced",
                        running ? "running" : "stopped", user);
  return 0;
}

/* Deletes image id and records in out the chain IDs of the layers no
 * other image uses (top first), as Docker's `Deleted:` lines name them. */
static int delete_with_layers(st_store *s, const char *id, st_rmi_result *out,
                              st_error **err) {
  st_layer_rec *layers = NULL;
  size_t n = 0;
  if (st_image_layers(s, id, &layers, &n, err) < 0)
    return -1;
  char(*chain)[ST_DIGEST_LEN] = calloc(n ? n : 1, ST_DIGEST_LEN);
  out->layers = calloc(n ? n : 1, ST_DIGEST_LEN);
  int r = chain && out->layers ? 0 : st_error_errno(err, ENOMEM, "rmi");
  if (r == 0) {
    st_chain_ids(layers, n, chain);
    r = st_image_delete(s, id, true, err);
  }
  for (size_t i = n; r == 0 && i-- > 0;) {
    bool dup = false; /* the same blob twice in one image: freed once */
    for (size_t j = i + 1; j < n && !dup; j++)
      dup = strcmp(layers[j].blob, layers[i].blob) == 0;
    int kept = dup ? 1 : st_layer_recorded(s, layers[i].blob, err);
    if (kept < 0)
      r = -1;
    else if (kept == 0)
      memcpy(out->layers[out->n_layers++], chain[i], ST_DIGEST_LEN);
  }
  free(chain);
  st_layers_free(layers, n);
  return r;
}

static int remove_in_tx(st_store *s, const char *ref, bool force,
                        st_rmi_result *out, st_error **err) {
  st_image img = {0};
  if (st_image_resolve(s, ref, &img, err) < 0)
    return -1;
  char id[ST_DIGEST_LEN];
  memcpy(id, img.id, sizeof(id));
  st_image_clear(&img);
  char **tags = NULL;
  size_t n = 0;
  if (st_image_tags(s, id, &tags, &n, err) < 0)
    return -1;
  cleanup_free char *tag = named_tag(ref, tags, n);
  int r = 0;
  if (tag && n > 1) { /* one of several tags: untag only */
    r = st_tag_remove(s, tag, err);
    if (r == 0)
      r = add_untagged(out, tag, err);
    st_strv_free(tags, n);
    return r;
  }
  bool children = st_image_has_children(s, id);
  if (tag && children) { /* Docker: untag, keep the parent of other images */
    r = st_tag_remove(s, tag, err);
    if (r == 0)
      r = add_untagged(out, tag, err);
    st_strv_free(tags, n);
    return r;
  }
  if (!tag && n > 1 && !force)
    r = short_id_conflict(id,
                          "(must be forced) - image is referenced in "
                          "multiple repositories",
                          err);
  else if (children)
    r = short_id_conflict(id,
                          "(cannot be forced) - image has dependent "
                          "child images",
                          err);
  char user[ST_CT_ID_LEN];
  bool running = false;
  bool used = r == 0 && st_image_user(s, id, user, &running) > 0;
  if (used)
    r = used_conflict(ref, tag != NULL, force, id, user, running, err);
  for (size_t i = 0; r == 0 && i < n; i++) {
    r = add_untagged(out, tags[i], err);
    if (r == 0 && used && running) /* forced: untag, keep the image */
      r = st_tag_remove(s, tags[i], err);
  }
  st_strv_free(tags, n);
  if (r < 0 || (used && running))
    return r;
  /* Deleting it removes its repo digests too, each an `Untagged:` line. */
  if (st_image_digests(s, id, &tags, &n, err) < 0)
    return -1;
  for (size_t i = 0; r == 0 && i < n; i++)
    r = add_untagged(out, tags[i], err);
  st_strv_free(tags, n);
  if (r < 0)
    return r;
  /* Forced past stopped containers: Docker deletes the image record and
   * the containers keep its layers; the row stays hidden for them. */
  if (used)
    st_debug("rmi: %s is used by stopped container %.12s: deleted for the "
             "user, its layers kept for the container",
             id, user);
  r = used ? st_image_hide(s, id, err) : delete_with_layers(s, id, out, err);
  if (r == 0)
    memcpy(out->deleted, id, ST_DIGEST_LEN);
  return r;
}

int st_image_remove(st_store *s, const char *ref, bool force,
                    st_rmi_result *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  if (st_tx_begin(s, err) < 0)
    return -1;
  if (remove_in_tx(s, ref, force, out, err) < 0) {
    st_tx_rollback(s);
    st_rmi_result_clear(out);
    return -1;
  }
  if (st_tx_commit(s, err) < 0) {
    st_rmi_result_clear(out);
    return -1;
  }
  if (out->deleted[0]) {
    st_error *purge_err = NULL; /* a hidden parent this freed */
    if (st_images_purge_removed(s, &purge_err) < 0)
      st_error_free(purge_err);
    st_error *gc_err = NULL; /* garbage left now is collected later */
    st_store_gc(s, &gc_err);
    st_error_free(gc_err);
  }
  return 0;
}
