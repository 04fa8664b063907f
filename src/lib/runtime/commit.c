/* `commit`: a container's changes as a new layer on top of its image.
 *
 * One pass: the change list is written as a tar stream (whiteouts as
 * ".wh.NAME", opaque directories with ".wh..wh..opq") on a thread of its
 * own while the layer import hashes and stores it
 * (st_layer_import_from). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fmt/units.h"
#include "image/image.h"
#include "layer/tar.h"
#include "layer/tarwrite.h"
#include "runtime/launch.h"
#include "runtime/manage_internal.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/safepath.h"

typedef struct layer_writer {
  const st_change *changes;
  const bool *opaque;
  size_t n;
  int upper; /* O_PATH fd of the upper dir */
  long long clamp_mtime;
} layer_writer;

/* Writes one change; parent is the entry's directory in the upper dir. */
static int write_change(st_tw *w, const layer_writer *lw, size_t i,
                        st_error **err) {
  const char *path = lw->changes[i].path + 1;
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  cleanup_free char *dir =
      slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
  if (dir == NULL)
    return st_error_errno(err, ENOMEM, "commit");
  if (lw->changes[i].kind == ST_CHANGE_DELETE) {
    cleanup_free char *wh = NULL;
    if (asprintf(&wh, "%s%s.wh.%s", slash ? dir : "", slash ? "/" : "", name) <
        0)
      return st_error_errno(err, ENOMEM, "commit");
    return st_tw_marker(w, wh, err);
  }
  cleanup_close int pfd =
      st_open_in_root(lw->upper, dir, O_PATH | O_DIRECTORY, 0, err);
  struct stat st;
  if (pfd < 0)
    return -1;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return st_error_errno(err, errno, "stat `%s` in the upper dir",
                          lw->changes[i].path);
  if (st_tw_entry(w, pfd, name, path, &st, err) < 0)
    return -1;
  if (lw->opaque[i]) {
    cleanup_free char *opq = NULL;
    if (asprintf(&opq, "%s/.wh..wh..opq", path) < 0)
      return st_error_errno(err, ENOMEM, "commit");
    return st_tw_marker(w, opq, err);
  }
  return 0;
}

static int produce(void *ctx, int fd, st_error **err) {
  layer_writer *lw = ctx;
  st_tw w;
  if (st_tw_open(&w, fd, err) < 0)
    return -1;
  w.xattrs = true;
  w.clamp_mtime = lw->clamp_mtime;
  int r = 0;
  for (size_t i = 0; i < lw->n && r == 0; i++)
    r = write_change(&w, lw, i, err);
  if (r == 0)
    return st_tw_close(&w, err);
  st_tw_free(&w);
  return -1;
}

/* Stores the changes of ct as a layer (mtimes clamped to clamp_mtime when
 * it is >= 0). */
static int store_layer(st_store *s, const st_ct *ct, long long clamp_mtime,
                       st_layer_rec *layer, st_error **err) {
  st_change *changes = NULL;
  bool *opaque = NULL;
  size_t n = 0;
  if (st_ct_changes(ct, &changes, &opaque, &n, err) < 0)
    return -1;
  layer_writer lw = {
      .changes = changes, .opaque = opaque, .n = n, .clamp_mtime = clamp_mtime};
  int r = -1;
  lw.upper = open(ct->spec.upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (lw.upper < 0)
    st_error_errno(err, errno, "open `%s`", ct->spec.upper);
  else
    r = st_layer_import_from(s, produce, &lw, "container changes", layer, err);
  if (lw.upper >= 0)
    close(lw.upper);
  st_changes_free(changes, n);
  free(opaque);
  return r;
}

static bool env_hidden(const char *e) {
  return strncmp(e, "HOSTNAME=", 9) == 0 || strncmp(e, "TERM=", 5) == 0;
}

/* The container's config: the image's, with the command, environment and
 * working directory the container ran with. */
static json_t *container_config(const st_ct *ct, json_t *image_cc) {
  json_t *cc = image_cc ? json_deep_copy(image_cc) : json_object();
  if (cc == NULL)
    return NULL;
  json_t *ep = json_object_get(cc, "Entrypoint");
  size_t n_ep = json_array_size(ep), n_args = 0;
  while (ct->spec.args[n_args])
    n_args++;
  bool ep_prefix = n_ep > 0 && n_ep <= n_args;
  for (size_t i = 0; ep_prefix && i < n_ep; i++) {
    const char *e = json_string_value(json_array_get(ep, i));
    ep_prefix = e && strcmp(e, ct->spec.args[i]) == 0;
  }
  if (!ep_prefix) {
    json_object_set_new(cc, "Entrypoint", json_null());
    n_ep = 0;
  }
  json_t *cmd = json_array(), *env = json_array();
  for (size_t i = n_ep; i < n_args; i++)
    json_array_append_new(cmd, json_string(ct->spec.args[i]));
  for (size_t i = 0; ct->spec.env[i]; i++)
    if (!env_hidden(ct->spec.env[i]))
      json_array_append_new(env, json_string(ct->spec.env[i]));
  json_object_set_new(cc, "Cmd", cmd);
  json_object_set_new(cc, "Env", env);
  if (strcmp(ct->spec.cwd, "/") != 0)
    json_object_set_new(cc, "WorkingDir", json_string(ct->spec.cwd));
  if (ct->spec.hostname)
    json_object_set_new(cc, "Hostname", json_string(ct->spec.hostname));
  return cc;
}

static char *now_rfc3339(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return st_format_rfc3339nano(now.tv_sec, (int32_t)now.tv_nsec);
}

static int build_config(st_store *s, const st_ct *ct, const st_commit_opts *o,
                        const st_layer_rec *layer, char **out, st_error **err) {
  cleanup_json json_t *config = NULL;
  if (st_config_load(s, ct->c.image, &config, err) < 0)
    return -1;
  json_t *cc = container_config(ct, json_object_get(config, "config"));
  if (cc == NULL)
    return st_error_errno(err, ENOMEM, "commit");
  json_object_set_new(config, "config", cc);
  for (size_t i = 0; i < o->n_changes; i++)
    if (st_config_apply_change(cc, o->changes[i], err) < 0)
      return st_error_wrap(err, "--change");
  cleanup_free char *created = now_rfc3339();
  if (created == NULL)
    return st_error_errno(err, ENOMEM, "commit");
  json_object_set_new(config, "created", json_string(created));
  json_object_set_new(config, "container", json_string(ct->c.id));
  json_object_del(config, "container_config");
  if (o->author)
    json_object_set_new(config, "author", json_string(o->author));
  else
    json_object_del(config, "author");
  if (o->message)
    json_object_set_new(config, "comment", json_string(o->message));
  else
    json_object_del(config, "comment");
  /* Docker's created_by for a commit: the command, words joined by spaces */
  cleanup_buf st_buf by = ST_BUF_INIT;
  for (size_t i = 0; ct->spec.args[i]; i++)
    st_buf_printf(&by, "%s%s", i ? " " : "", ct->spec.args[i]);
  json_t *h = json_pack("{s:s, s:s}", "created", created, "created_by",
                        by.data ? by.data : "");
  if (h && o->author)
    json_object_set_new(h, "author", json_string(o->author));
  if (h && o->message)
    json_object_set_new(h, "comment", json_string(o->message));
  json_t *hist = json_object_get(config, "history");
  if (!json_is_array(hist)) {
    hist = json_array();
    json_object_set_new(config, "history", hist);
  }
  json_t *rootfs = json_object_get(config, "rootfs");
  json_t *ids = json_object_get(rootfs, "diff_ids");
  if (h == NULL || hist == NULL || !json_is_array(ids))
    return st_error_set(err, EIO, "image %s: config without rootfs",
                        ct->c.image);
  json_array_append_new(hist, h);
  json_array_append_new(ids, json_string(layer->diff_id));
  *out = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
  return *out ? 0 : st_error_errno(err, ENOMEM, "commit");
}

/* Freezes the running container's processes while its layer is read, as
 * Docker's commit does by default. */
static int pause_ct(st_store *s, const st_ct *ct, char **frozen,
                    st_error **err) {
  pid_t *pids = NULL;
  size_t n = 0;
  if (st_container_pids(s, ct->c.id, &pids, &n, err) < 0)
    return st_error_wrap(err, "pause container %.12s", ct->c.id);
  int r = st_freezer_freeze(ct->c.id, pids, n, frozen, err);
  free(pids);
  return r < 0 ? st_error_wrap(err, "pause container %.12s", ct->c.id) : 0;
}

/* Opens container ref holding its lock (store/containers.h), which `rm`
 * and `container prune` take too: a container is not removed while its
 * changes are read (soak found `open .../upper` and `config.json` failing
 * when a prune won that race). One removed before the lock is taken is
 * "No such container". */
static int open_locked(st_store *s, const char *ref, st_ct *ct,
                       st_error **err) {
  st_container c;
  if (st_container_find(s, ref, &c, err) < 0)
    return -1;
  char id[ST_CONTAINER_ID_LEN];
  snprintf(id, sizeof(id), "%s", c.id);
  st_container_clear(&c);
  st_error *e = NULL;
  if (st_container_lock(s, id, true, &e) < 0) {
    if (e->code != ENOENT) {
      return st_error_give(err, e);
    }
    st_error_free(e);
    return st_error_set(err, ENOENT, "No such container: %s", ref);
  }
  st_error *oe = NULL;
  if (st_ct_open(s, id, ct, &oe) < 0) {
    st_container_unlock(s, id);
    if (oe->code != ENOENT) { /* ENOENT: its files went with a removal */
      return st_error_give(err, oe);
    }
    st_error_free(oe);
    return st_error_set(err, ENOENT, "No such container: %s", ref);
  }
  return 0;
}

int st_container_commit(st_store *s, const char *ref, const st_commit_opts *o,
                        const char *const *tags, size_t n_tags,
                        char id_out[ST_DIGEST_LEN], st_error **err) {
  st_ct ct;
  if (open_locked(s, ref, &ct, err) < 0)
    return -1;
  /* validate the changes before writing a layer */
  cleanup_json json_t *probe = json_object();
  int r = 0;
  for (size_t i = 0; r == 0 && i < o->n_changes; i++)
    if (st_config_apply_change(probe, o->changes[i], err) < 0)
      r = st_error_wrap(err, "--change");
  st_layer_rec *layers = NULL;
  size_t n = 0;
  st_layer_rec top = {0};
  cleanup_free char *config = NULL, *frozen = NULL;
  /* a container the user paused stays paused (nothing to thaw after) */
  if (r == 0 && o->pause && ct.c.state == ST_CT_RUNNING &&
      !st_freezer_frozen(ct.c.id, NULL))
    r = pause_ct(s, &ct, &frozen, err);
  if (r == 0 && (st_image_layers(s, ct.c.image, &layers, &n, err) < 0 ||
                 store_layer(s, &ct, -1, &top, err) < 0))
    r = -1;
  if (frozen && st_freezer_thaw(frozen, r == 0 ? err : NULL) < 0)
    r = -1;
  if (r == 0 && build_config(s, &ct, o, &top, &config, err) < 0)
    r = -1;
  st_layer_rec *all = r == 0 ? calloc(n + 1, sizeof(*all)) : NULL;
  if (r == 0 && all == NULL)
    r = st_error_errno(err, ENOMEM, "commit");
  if (r == 0) {
    memcpy(all, layers, n * sizeof(*all));
    all[n] = top;
    r = st_image_store(s, config, strlen(config), all, n + 1, ct.c.image, tags,
                       n_tags, id_out, err);
  }
  free(all);
  st_layers_free(layers, n);
  /* removed meanwhile by a command that did not wait for the lock: say so
   * rather than name the file that went missing */
  if (r < 0 && ct.dir && access(ct.dir, F_OK) != 0 && err && *err) {
    st_error_free(*err);
    *err = NULL;
    st_error_set(err, ENOENT, "No such container: %s", ref);
  }
  st_container_unlock(s, ct.c.id);
  st_ct_close(&ct);
  return r;
}

int st_container_layer(st_store *s, const char *ref, long long clamp_mtime,
                       st_layer_rec *out, st_error **err) {
  st_ct ct;
  if (st_ct_open(s, ref, &ct, err) < 0)
    return -1;
  int r = store_layer(s, &ct, clamp_mtime, out, err);
  st_ct_close(&ct);
  return r;
}
