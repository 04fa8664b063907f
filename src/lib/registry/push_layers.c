/* Pushing an image's layers: what each is pushed as (compressed forms
 * remembered in the `compressed` table), a HEAD of the ones already known,
 * then compression and uploads of the rest, N at a time in worker
 * threads, each with its own copy of the registry client.
 *
 * Threads never touch the store's database (it is opened without SQLite's
 * mutex): lookups happen before they start, records after they end. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "registry/config.h"
#include "registry/db.h"
#include "registry/manifest.h"
#include "registry/push_internal.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/thread.h"

#define DEFAULT_UPLOADS 3

typedef struct pool pool;

typedef struct worker {
  pool *pl;
  st_reg_client *c; /* the caller's for worker 0, else a clone */
  pthread_t thread;
  bool started;
} worker;

struct pool {
  st_store *s;
  const st_reg_opts *o;
  const char *repo;
  const char *algo;
  const char *cmt; /* media type of what this push compresses */
  st_push_layer *layers;
  size_t *order; /* indexes of the layers to send, top first */
  size_t n_order;
  pthread_mutex_t lock; /* next, failed, and progress events */
  size_t next;
  bool failed;
};

static bool uncompressed(const char *mt) {
  return strcmp(mt, ST_MT_OCI_LAYER) == 0 ||
         strcmp(mt, ST_MT_DOCKER_LAYER) == 0;
}

static void emit(pool *pl, st_reg_event_kind kind, const st_push_layer *l,
                 const char *from) {
  pthread_mutex_lock(&pl->lock);
  st_reg_emit(pl->o, kind, l->diff_id, from, pl->repo, (uint64_t)l->size,
              (uint64_t)l->size);
  pthread_mutex_unlock(&pl->lock);
}

/* The blob each layer is pushed as when it is known without compressing,
 * and where to mount it from. Main thread (database). */
static int plan(st_store *s, st_reg_client *c, const char *repo,
                const char *algo, const char *cmt, st_push_layer *ls, size_t n,
                st_error **err) {
  for (size_t i = 0; i < n; i++) {
    st_push_layer *o = &ls[i];
    const st_layer_rec *l = o->l;
    o->diff_id = l->diff_id;
    o->foreign = st_layer_media_type_foreign(l->media_type);
    if (!uncompressed(l->media_type)) {
      memcpy(o->blob, l->blob, ST_DIGEST_LEN);
      o->size = l->blob_size;
      o->media_type = l->media_type;
      o->known = true;
    } else {
      cleanup_free char *mt = NULL;
      bool local = false;
      int r = st_reg_db_compressed_get(s, l->diff_id, algo, o->blob, &o->size,
                                       &mt, &local, err);
      if (r < 0)
        return st_error_wrap(err, "layer %.19s", l->diff_id);
      o->media_type = cmt;
      o->known = r > 0;
      o->remote = r > 0 && !local;
      o->compress = r == 0;
    }
    st_debug("push: layer %.19s: %s", l->diff_id,
             o->foreign  ? "foreign, not pushed"
             : o->remote ? "pulled as a blob the store did not keep: asking "
                           "the registry for it first"
             : o->known  ? "compressed form known: asking the registry first"
                         : "no compressed form yet: compressing it");
    if (o->known && !o->foreign) {
      cleanup_free char *full =
          st_reg_db_remote_find(s, c->domain, o->blob, repo);
      if (full && (o->from = strdup(full + strlen(c->domain) + 1)) == NULL)
        return st_error_errno(err, ENOMEM, "push");
    }
  }
  return 0;
}

/* One layer in a worker: compress when needed, HEAD a fresh blob, mount
 * or upload. */
static int send_one(pool *pl, st_reg_client *c, st_push_layer *o) {
  if (o->remote) {
    /* The registry lacks the blob the layer was pulled as, which the
     * store did not keep: another repository may lend it, else the tar is
     * compressed again (a new digest, as Docker's re-push of a pulled
     * layer it stored uncompressed). */
    if (o->from) {
      int r = st_push_blob_mount(c, o->blob, o->from, &o->err);
      if (r != 0)
        return r;
    }
    o->compress = true;
    o->media_type = pl->cmt;
    free(steal_pointer(&o->from));
  }
  if (o->compress) {
    if (st_push_compress(pl->s, o->l, pl->algo, o->blob, &o->size, &o->err) < 0)
      return -1;
    o->made = true;
    int r = st_push_blob_exists(c, o->blob, &o->err);
    if (r != 0)
      return r < 0 ? -1 : 1;
  }
  emit(pl, ST_REG_LAYER_PUSHING, o, NULL);
  return st_push_blob_send(pl->s, c, o->blob, o->size, o->from, &o->err);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  pool *pl = w->pl;
  for (;;) {
    pthread_mutex_lock(&pl->lock);
    bool stop = pl->failed || pl->next >= pl->n_order;
    size_t k = stop ? 0 : pl->order[pl->next++];
    pthread_mutex_unlock(&pl->lock);
    if (stop)
      return NULL;
    st_push_layer *o = &pl->layers[k];
    o->result = send_one(pl, w->c, o);
    if (o->result < 0) {
      pthread_mutex_lock(&pl->lock);
      pl->failed = true;
      pthread_mutex_unlock(&pl->lock);
      continue;
    }
    o->done = true;
    emit(pl,
         o->result == 1   ? ST_REG_LAYER_ALREADY_PUSHED
         : o->result == 2 ? ST_REG_LAYER_MOUNTED
                          : ST_REG_LAYER_PUSHED,
         o, o->result == 2 ? o->from : NULL);
  }
}

static int max_uploads(const st_reg_opts *o) {
  if (o && o->max_concurrent > 0)
    return o->max_concurrent;
  const st_reg_config *conf = NULL;
  st_error *ignored = NULL;
  int n = DEFAULT_UPLOADS;
  if (st_reg_config_get(&conf, &ignored) == 0 && conf->max_uploads > 0)
    n = conf->max_uploads;
  st_error_free(ignored);
  return n;
}

/* Runs the pool: the calling thread is worker 0, on c; up to n-1 more
 * threads on clones of c. A clone or thread that cannot be made only
 * means fewer workers. */
static void run_pool(pool *pl, st_reg_client *c, int n) {
  worker *ws = calloc((size_t)n, sizeof(*ws));
  if (ws == NULL)
    n = 0;
  for (int i = 1; i < n; i++) {
    ws[i].pl = pl;
    st_error *e = NULL;
    if (st_reg_client_clone(c, &ws[i].c, &e) < 0) {
      st_error_free(e);
      break;
    }
    ws[i].started = st_thread_create(&ws[i].thread, worker_main, &ws[i]) == 0;
    if (!ws[i].started)
      break;
  }
  worker self = {.pl = pl, .c = c};
  worker_main(&self);
  for (int i = 1; i < n; i++) {
    if (ws[i].started)
      pthread_join(ws[i].thread, NULL);
    st_reg_client_free(ws[i].c);
  }
  free(ws);
}

/* HEAD of the layers whose blob is known: those the registry has are
 * done ("Layer already exists") without starting any worker. */
static int head_known(pool *pl, st_reg_client *c, st_error **err) {
  size_t keep = 0;
  for (size_t j = 0; j < pl->n_order; j++) {
    st_push_layer *o = &pl->layers[pl->order[j]];
    int r = o->known ? st_push_blob_exists(c, o->blob, err) : 0;
    if (r < 0)
      return st_error_wrap(err, "layer %.19s", o->diff_id);
    if (r == 1) {
      o->done = true;
      o->result = 1;
      emit(pl, ST_REG_LAYER_ALREADY_PUSHED, o, NULL);
    } else {
      pl->order[keep++] = pl->order[j];
    }
  }
  pl->n_order = keep;
  return 0;
}

/* Records what the workers learnt (compressed forms, blobs the repository
 * now holds), also after a failure so that the compressing is not lost. */
static int record(pool *pl, size_t n, st_error **err) {
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    st_push_layer *o = &pl->layers[i];
    if (o->made && rc == 0 &&
        st_reg_db_compressed_put(pl->s, o->diff_id, pl->algo, o->blob, o->size,
                                 o->media_type, err) < 0)
      rc = -1;
    if (o->done && rc == 0 &&
        st_reg_db_remote_put(pl->s, pl->repo, o->blob, err) < 0)
      rc = -1;
  }
  return rc;
}

int st_push_layers(st_store *s, st_reg_client *c, const st_reg_opts *o,
                   const char *repo, const char *algo, const char *cmt,
                   st_push_layer *ls, size_t n, st_error **err) {
  if (plan(s, c, repo, algo, cmt, ls, n, err) < 0)
    return -1;
  cleanup_free size_t *order = calloc(n ? n : 1, sizeof(*order));
  if (order == NULL)
    return st_error_errno(err, ENOMEM, "push");
  pool pl = {.s = s,
             .o = o,
             .repo = repo,
             .algo = algo,
             .cmt = cmt,
             .layers = ls,
             .order = order};
  /* Top layer first, as Docker lists them; foreign layers are pulled from
   * their URLs, as Docker does, so not pushed. */
  for (size_t k = n; k-- > 0;)
    if (!ls[k].foreign)
      order[pl.n_order++] = k;
  pthread_mutex_init(&pl.lock, NULL);
  for (size_t j = 0; j < pl.n_order; j++)
    emit(&pl, ST_REG_LAYER_PREPARING, &ls[order[j]], NULL);
  int rc = head_known(&pl, c, err);
  int slots = max_uploads(o);
  if (rc == 0 && pl.n_order > 0) {
    for (size_t j = (size_t)slots; j < pl.n_order; j++)
      emit(&pl, ST_REG_LAYER_PUSH_WAITING, &ls[order[j]], NULL);
    run_pool(&pl, c, pl.n_order < (size_t)slots ? (int)pl.n_order : slots);
    for (size_t j = 0; j < pl.n_order; j++)
      if (ls[order[j]].result < 0)
        rc = -1;
  }
  /* The first failure in push order is the one reported. */
  for (size_t j = 0; j < pl.n_order && rc < 0 && err && *err == NULL; j++) {
    st_push_layer *f = &ls[order[j]];
    if (f->err) {
      *err = steal_pointer(&f->err);
      st_error_wrap(err, "layer %.19s", f->diff_id);
    }
  }
  if (rc < 0 && err && *err == NULL)
    st_error_set(err, EIO, "upload failed");
  pthread_mutex_destroy(&pl.lock);
  if (record(&pl, n, rc < 0 ? NULL : err) < 0 && rc == 0)
    rc = -1;
  return rc;
}

void st_push_layers_clear(st_push_layer *ls, size_t n) {
  for (size_t i = 0; ls && i < n; i++) {
    free(ls[i].from);
    st_error_free(ls[i].err);
  }
}
