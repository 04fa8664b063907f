/* Parallel, verified, resumable layer downloads (see download.h). */
#include "registry/download.h"
#include "util/thread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "digest/digest.h"
#include "layer/tar.h"
#include "registry/config.h"
#include "store/layers.h"
#include "util/cleanup.h"
#include "util/http.h"

#define ERROR_BODY_LIMIT (64u << 10)
#define PROGRESS_STEP (512u << 10)
/* curl hands the body over 16 KiB at a time (CURL_MAX_WRITE_SIZE): the
 * bytes for a layer's thread are gathered into pieces this big, so that
 * each costs one write and one wake-up instead of sixteen (8,600 writes
 * for a 140 MB image before) */
#define BATCH (128u << 10)

typedef enum job_state {
  JOB_QUEUED,  /* waiting for a transfer slot */
  JOB_ACTIVE,  /* transferring */
  JOB_BACKOFF, /* waiting to retry */
  JOB_FETCHED, /* in the store */
} job_state;

/* Computing a layer's diff ID and size: from a pipe fed with the bytes as
 * they download (fd >= 0), else by reading the committed blob back. With
 * keep_tar, the pipe's decompressed bytes are also stored as the layer's
 * tar blob. */
typedef struct inspect_task {
  st_store *s;
  int fd; /* the pipe's read end, owned by the thread; -1: read the blob */
  bool keep_tar;
  char digest[ST_DIGEST_LEN];
  char diff_id[ST_DIGEST_LEN];
  int64_t size;
  int64_t tar_size; /* keep_tar: bytes of the stored tar */
  char *stage;      /* keep_tar: the staged layer directory, or NULL */
  st_error *err;
  int rc;
  pthread_t thread;
  bool pending; /* started (in a thread or inline), not yet collected */
  bool started; /* in a thread */
} inspect_task;

typedef struct dl dl;

typedef struct job {
  st_store *s;
  dl *d;
  st_dl_layer *l;
  job_state state;
  st_reg_client *c; /* the worker's client while a transfer runs */
  bool critical;
  CURL *h;
  struct curl_slist *headers;
  st_http_resp resp; /* headers; body only for error answers */
  st_blob_writer *w; /* the compressed blob, unless keep_tar */
  st_sha256 *hash;   /* keep_tar: the compressed bytes' digest so far */
  uint64_t have;     /* keep_tar: compressed bytes received */
  bool status_checked;
  bool error_body; /* the answer is an error: collect it, do not store it */
  bool too_big;
  bool reauthed;
  st_error *err; /* a write failure inside the callback */
  int attempt;
  int64_t retry_at_ms;
  uint64_t reported;
  int pipe_w;  /* the inspector's pipe, fed with every stored byte; or -1 */
  char *batch; /* bytes for the pipe not written yet (BATCH of them) */
  size_t batch_len;
  inspect_task inspect;
} job;

/* The transfers run in a pool of worker threads, each with its own copy of
 * the registry client, a layer at a time: a worker blocked on its layer's
 * pipe (its decompression is the slow part, or its blob is being flushed)
 * holds up that layer's connection only. One thread serving every
 * connection (curl multi, before) stalled all the layers whenever one
 * pipe was full: the largest layer's decompression then waited for data
 * while both cores idled. */
struct dl {
  st_store *s;
  st_reg_client *c; /* the caller's (worker 0's) */
  const st_reg_opts *o;
  job *jobs;
  size_t n;
  size_t *queue; /* indexes of the jobs to fetch, in manifest order */
  size_t n_queue;
  pthread_mutex_t lock; /* next, failed, err and progress events */
  pthread_cond_t cv;    /* signalled at a failure (monotonic clock) */
  size_t next;
  int nice;      /* the caller's nice value */
  bool failed;   /* written under lock, read anywhere (atomic) */
  st_error *err; /* the first failure */
};

/* The largest layer is the critical path of a pull (its decompression
 * takes longest): the workers of the others, and the threads they start,
 * run this much nicer, so that on a machine with fewer cores than busy
 * threads the largest keeps a core. Measured on bench/pull_bench.sh's
 * image (2 cores): 0.64 s against 0.70 s without (7 interleaved runs). */
#define LESSER_NICE 10

/* Sets the calling thread's nice value (Linux: per thread); best effort. */
static void set_nice(int v) {
  if (v > 19)
    v = 19;
  (void)setpriority(PRIO_PROCESS, (id_t)gettid(), v);
}

static bool dl_failed(dl *d) {
  return __atomic_load_n(&d->failed, __ATOMIC_ACQUIRE);
}

/* Records a failure (the first one's error is kept) and wakes the workers
 * waiting out a backoff, so that they stop. */
static void dl_fail(dl *d, st_error *e) {
  pthread_mutex_lock(&d->lock);
  if (!d->failed) {
    if (e == NULL)
      st_error_set(&e, EIO, "download stopped");
    d->err = e;
    e = NULL;
    __atomic_store_n(&d->failed, true, __ATOMIC_RELEASE);
  }
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->lock);
  st_error_free(e);
}

/* Progress events come from every worker: one at a time. */
static void dl_emit(dl *d, st_reg_event_kind kind, const char *digest,
                    const char *text, uint64_t current, uint64_t total) {
  pthread_mutex_lock(&d->lock);
  st_reg_emit(d->o, kind, digest, text, d->c->repo, current, total);
  pthread_mutex_unlock(&d->lock);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- reading back: diff ID and size ---------------------------------------
 */

/* Reads fd to its end, so the writer never sees a closed pipe. */
static void drain(int fd) {
  char buf[65536];
  while (read(fd, buf, sizeof(buf)) > 0 || errno == EINTR)
    errno = 0;
}

/* Stores the tar, and (erofs) its index in a staged layer directory in the
 * same pass. */
static int keep_tar(inspect_task *t, st_layer_rec *rec) {
  st_layer_driver drv = st_store_layer_driver_recorded(t->s);
  if (drv != ST_LAYER_EROFS)
    return st_layer_import(t->s, t->fd, "layer", rec, &t->err);
  cleanup_free char *stage = NULL, *index = NULL;
  if (st_layer_stage_begin(t->s, &stage, &t->err) < 0)
    return -1;
  if (asprintf(&index, "%s/layer.erofs", stage) < 0) {
    index = NULL;
    st_layer_stage_drop(stage);
    return st_error_errno(&t->err, ENOMEM, "layer");
  }
  if (st_layer_import_indexed(t->s, t->fd, "layer", index, rec, &t->err) < 0) {
    st_layer_stage_drop(stage);
    return -1;
  }
  t->stage = steal_pointer(&stage);
  return 0;
}

static void *inspect_main(void *arg) {
  inspect_task *t = arg;
  if (t->fd >= 0 && t->keep_tar) {
    st_layer_rec rec;
    t->rc = keep_tar(t, &rec);
    if (t->rc == 0) {
      memcpy(t->diff_id, rec.diff_id, ST_DIGEST_LEN);
      t->size = rec.size;
      t->tar_size = rec.blob_size;
    }
    drain(t->fd);
    close(t->fd);
    t->fd = -1;
  } else if (t->fd >= 0) {
    t->rc = st_layer_inspect_fd(t->fd, "layer", t->diff_id, &t->size, &t->err);
    drain(t->fd);
    close(t->fd);
    t->fd = -1;
  } else {
    t->rc =
        st_layer_inspect_blob(t->s, t->digest, t->diff_id, &t->size, &t->err);
  }
  return NULL;
}

static void inspect_start(dl *d, job *j) {
  inspect_task *t = &j->inspect;
  t->s = d->s;
  t->fd = -1;
  memcpy(t->digest, j->l->d->digest, ST_DIGEST_LEN);
  t->pending = true;
  if (st_thread_create(&t->thread, inspect_main, t) == 0)
    t->started = true;
  else
    inspect_main(t);
}

/* Starts inspecting the layer while it downloads: a thread reads what
 * job_write stores from a pipe. Without a pipe or a thread the layer is
 * read back once committed instead. */
static void stream_start(dl *d, job *j) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0)
    return;
  /* A bigger pipe lets the network run ahead of decompression. */
  fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  inspect_task *t = &j->inspect;
  t->s = d->s;
  t->fd = fds[0];
  t->keep_tar = j->l->keep_tar;
  t->rc = 0;
  memcpy(t->digest, j->l->d->digest, ST_DIGEST_LEN);
  if (st_thread_create(&t->thread, inspect_main, t) != 0) {
    close(fds[0]);
    close(fds[1]);
    t->fd = -1;
    return;
  }
  t->pending = t->started = true;
  j->pipe_w = fds[1];
}

/* Ends the stream: the thread sees the end of the layer. */
static bool write_all(int fd, const char *p, size_t n);

/* Writes the gathered bytes to the pipe; false when the thread stopped
 * reading. */
static bool batch_flush(job *j) {
  size_t n = j->batch_len;
  j->batch_len = 0;
  return n == 0 || j->pipe_w < 0 || write_all(j->pipe_w, j->batch, n);
}

/* Hands p[0..n) to the layer's thread, gathered into BATCH pieces. */
static bool batch_add(job *j, const char *p, size_t n) {
  if (j->batch == NULL && (j->batch = malloc(BATCH)) == NULL)
    return write_all(j->pipe_w, p, n);
  if (j->batch_len + n > BATCH && !batch_flush(j))
    return false;
  if (n >= BATCH)
    return write_all(j->pipe_w, p, n);
  memcpy(j->batch + j->batch_len, p, n);
  j->batch_len += n;
  return true;
}

static void stream_close(job *j) {
  if (j->pipe_w >= 0 && !batch_flush(j))
    j->batch_len = 0; /* the thread failed: its error is reported */
  if (j->pipe_w >= 0) {
    close(j->pipe_w);
    j->pipe_w = -1;
  }
}

/* Drops a stream whose bytes will not be the blob (the download starts
 * over, or the pipe failed); its result is discarded. */
static void stream_cancel(job *j) {
  j->batch_len = 0; /* dropped with the stream */
  if (j->pipe_w < 0)
    return;
  stream_close(j);
  inspect_task *t = &j->inspect;
  pthread_join(t->thread, NULL);
  t->started = t->pending = false;
  st_error_free(t->err);
  t->err = NULL;
}

/* keep_tar: the tar thread stopped reading (it failed): ends the stream
 * and makes its error the transfer's. */
static void stream_cancel_keep(job *j) {
  j->batch_len = 0;
  stream_close(j);
  inspect_task *t = &j->inspect;
  if (t->started)
    pthread_join(t->thread, NULL);
  t->started = t->pending = false;
  if (t->err)
    j->err = steal_pointer(&t->err);
  else
    st_error_set(&j->err, EIO, "decompressing the layer stopped");
}

static bool write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static int inspect_finish(job *j, st_error **err) {
  inspect_task *t = &j->inspect;
  if (t->started) {
    pthread_join(t->thread, NULL);
    t->started = false;
  }
  t->pending = false;
  if (t->rc < 0) {
    if (err && *err == NULL)
      *err = steal_pointer(&t->err);
    return -1;
  }
  memcpy(j->l->diff_id, t->diff_id, ST_DIGEST_LEN);
  j->l->size = t->size;
  j->l->known = true;
  if (t->keep_tar) {
    j->l->kept_tar = true;
    j->l->tar_size = t->tar_size;
    j->l->stage = steal_pointer(&t->stage);
  }
  return 0;
}

/* ---- the compressed bytes: a blob, or (keep_tar) only their digest ---------
 */

static uint64_t job_have(const job *j) {
  if (j->l->keep_tar)
    return j->have;
  return j->w ? st_blob_size(j->w) : 0;
}

static int job_begin(job *j, st_error **err) {
  if (!j->l->keep_tar) {
    if (j->w)
      return 0;
    if (st_blob_begin(j->s, &j->w, err) < 0)
      return -1;
    st_blob_paced(j->w); /* the network feeds it */
    return 0;
  }
  if (j->hash)
    return 0;
  j->have = 0;
  if ((j->hash = st_sha256_new()) == NULL)
    return st_error_errno(err, ENOMEM, "download");
  return 0;
}

static void job_drop(job *j) {
  st_blob_abort(steal_pointer(&j->w));
  st_sha256_free(steal_pointer(&j->hash));
  j->have = 0;
}

static int job_store(job *j, const char *p, size_t len) {
  if (!j->l->keep_tar)
    return st_blob_write(j->w, p, len, &j->err);
  st_sha256_update(j->hash, p, len);
  j->have += len;
  return 0;
}

/* The complete compressed bytes, checked against the descriptor: committed
 * as a blob, or (keep_tar) only their digest compared. */
static int job_finish(job *j, st_error **err) {
  const char *want = j->l->d->digest;
  if (!j->l->keep_tar)
    return st_blob_commit(steal_pointer(&j->w), want, NULL, err);
  char got[ST_DIGEST_LEN];
  st_sha256_final(steal_pointer(&j->hash), got);
  if (strcmp(got, want) != 0)
    return st_error_set(err, EIO, "digest mismatch: expected %s, got %s", want,
                        got);
  return 0;
}

/* ---- transfers --------------------------------------------------------------
 */

static size_t job_write(char *p, size_t size, size_t n, void *ctx) {
  job *j = ctx;
  size_t len = size * n;
  if (dl_failed(j->d))
    return 0; /* another layer failed: stop */
  if (!j->status_checked) {
    j->status_checked = true;
    long st = 0;
    curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &st);
    j->error_body = st != 200 && st != 206;
    if (st == 200 && job_have(j) > 0) {
      /* The server ignored our Range: start the blob over. */
      job_drop(j);
      if (job_begin(j, &j->err) < 0)
        return 0;
      if (j->pipe_w >= 0) {
        stream_cancel(j);
        stream_start(j->d, j);
      }
    }
  }
  if (j->error_body) {
    if (j->resp.body.len + len <= ERROR_BODY_LIMIT)
      st_buf_append(&j->resp.body, p, len);
    return len;
  }
  if (job_have(j) + len > (uint64_t)j->l->d->size) {
    j->too_big = true;
    return 0;
  }
  if (job_store(j, p, len) < 0)
    return 0;
  if (j->pipe_w >= 0 && !batch_add(j, p, len)) {
    if (!j->l->keep_tar) {
      stream_cancel(j); /* read back once committed */
    } else {
      /* Only the tar thread can end the pipe: it stopped (its error is
       * the one to report). */
      stream_cancel_keep(j);
      return 0;
    }
  }
  uint64_t have = job_have(j);
  if (have - j->reported >= PROGRESS_STEP) {
    j->reported = have;
    dl_emit(j->d, ST_REG_LAYER_DOWNLOADING, j->l->d->digest, NULL, have,
            (uint64_t)j->l->d->size);
  }
  return len;
}

static void job_cleanup_transfer(job *j) {
  if (j->h) {
    curl_easy_cleanup(j->h);
    j->h = NULL;
  }
  curl_slist_free_all(j->headers);
  j->headers = NULL;
}

/* Sets up the next transfer of j on the worker's client c. */
static int job_start(dl *d, st_reg_client *c, job *j, st_error **err) {
  if (job_begin(j, err) < 0)
    return -1;
  set_nice(j->critical ? d->nice : d->nice + LESSER_NICE);
  if (!j->l->known && !j->inspect.pending && job_have(j) == 0)
    stream_start(d, j);
  if (j->l->keep_tar && j->pipe_w < 0)
    return st_error_errno(err, errno ? errno : EAGAIN,
                          "layer %.19s: start decompressing", j->l->d->digest);
  if ((j->h = curl_easy_init()) == NULL)
    return st_error_errno(err, ENOMEM, "download");
  j->c = c;
  st_http_resp_clear(&j->resp);
  st_http_resp_init(&j->resp, ERROR_BODY_LIMIT);
  if (st_reg_setup_easy(c, j->h, &j->resp, &j->headers, err) < 0)
    return -1;
  cleanup_free char *url = st_reg_url(c, "blobs", j->l->d->digest);
  if (url == NULL)
    return st_error_errno(err, ENOMEM, "download");
  st_http_set_url(j->h, url);
  curl_easy_setopt(j->h, CURLOPT_HTTPHEADER, j->headers);
  curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, job_write);
  curl_easy_setopt(j->h, CURLOPT_WRITEDATA, j);
  /* Fewer, bigger reads: each callback hashes and hands its bytes to the
   * layer's thread through a pipe; 16 KiB ones cost a wakeup each. */
  curl_easy_setopt(j->h, CURLOPT_BUFFERSIZE, 64L << 10);
  uint64_t have = job_have(j);
  if (have > 0)
    curl_easy_setopt(j->h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)have);
  j->status_checked = false;
  j->error_body = false;
  j->state = JOB_ACTIVE;
  dl_emit(d, ST_REG_LAYER_DOWNLOADING, j->l->d->digest, NULL, have,
          (uint64_t)j->l->d->size);
  return 0;
}

/* Short layer name for messages: the first 12 hex digits. */
static const char *short_id(const char *digest) {
  static __thread char buf[13];
  snprintf(buf, sizeof(buf), "%.12s", st_digest_hex(digest));
  return buf;
}

static int retry_or_fail(dl *d, job *j, const char *why, long status,
                         st_error **err) {
  j->attempt++;
  long wait = st_reg_backoff_ms(j->attempt, j->resp.retry_after);
  if (status > 0 && (j->attempt >= st_reg_max_attempts() || wait < 0)) {
    cleanup_buf st_buf hint = ST_BUF_INIT;
    st_reg_busy_hint(j->c, status, j->attempt, j->resp.retry_after, &hint);
    return st_error_set(err, status == 429 ? EAGAIN : EIO,
                        "layer %s: get blob %s: %s%s",
                        short_id(j->l->d->digest), j->l->d->digest, why,
                        hint.data ? hint.data : "");
  }
  if (j->attempt >= st_reg_max_attempts())
    return st_error_set(err, EIO,
                        "layer %s from %s: %s (gave up after %d attempts; "
                        "check the network and the registry, then pull "
                        "again)",
                        short_id(j->l->d->digest), j->c->domain, why,
                        j->attempt);
  j->state = JOB_BACKOFF;
  j->retry_at_ms = now_ms() + (wait < 0 ? 0 : wait);
  dl_emit(d, ST_REG_LAYER_RETRYING, j->l->d->digest, why, (uint64_t)j->attempt,
          0);
  return 0;
}

static bool retryable_status(long s) {
  return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

/* A transfer ended: committed (JOB_FETCHED), to retry (JOB_QUEUED at once,
 * JOB_BACKOFF later) or failed (< 0; *err stays NULL when the pull was
 * already failing for another layer). */
static int job_done(dl *d, job *j, CURLcode rc, st_error **err) {
  long status = 0;
  curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &status);
  char errbuf[256];
  snprintf(errbuf, sizeof(errbuf), "%s", curl_easy_strerror(rc));
  job_cleanup_transfer(j);
  const st_descriptor *desc = j->l->d;
  if (j->err) {
    *err = steal_pointer(&j->err);
    return st_error_wrap(err, "layer %s", short_id(desc->digest));
  }
  if (dl_failed(d))
    return -1;
  if (j->too_big)
    return st_error_set(err, EIO,
                        "layer %s: the registry sent more than the %lld bytes "
                        "the manifest gives",
                        short_id(desc->digest), (long long)desc->size);
  if (rc == CURLE_OK && (status == 200 || status == 206)) {
    if (job_have(j) < (uint64_t)desc->size)
      return retry_or_fail(d, j, "connection closed before the end", 0, err);
    dl_emit(d, ST_REG_LAYER_VERIFYING, desc->digest, NULL, 0, 0);
    if (job_finish(j, err) < 0)
      return st_error_wrap(err, "layer %s from %s/%s", short_id(desc->digest),
                           j->c->domain, j->c->repo);
    j->state = JOB_FETCHED;
    dl_emit(d, ST_REG_LAYER_DOWNLOADED, desc->digest, NULL,
            (uint64_t)desc->size, (uint64_t)desc->size);
    if (j->inspect.pending)
      stream_close(j);
    else if (!j->l->known)
      inspect_start(d, j);
    return 0;
  }
  if (rc == CURLE_OK && status == 401 && !j->reauthed) {
    j->reauthed = true;
    int r = st_reg_reauth(j->c, &j->resp, err);
    if (r < 0)
      return st_error_wrap(err, "layer %s", short_id(desc->digest));
    if (r > 0) {
      j->state = JOB_QUEUED;
      return 0;
    }
  }
  if (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR ||
      rc == CURLE_GOT_NOTHING)
    snprintf(errbuf, sizeof(errbuf),
             "connection closed before the end (%llu of %lld bytes)",
             (unsigned long long)job_have(j), (long long)desc->size);
  if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR)
    return retry_or_fail(d, j, errbuf, 0, err);
  if (retryable_status(status)) {
    char why[64];
    snprintf(why, sizeof(why), "HTTP status %ld", status);
    return retry_or_fail(d, j, why, status, err);
  }
  return st_reg_status_error(j->c, &j->resp, err, "layer %s: get blob %s",
                             short_id(desc->digest), desc->digest);
}

/* Waits until at_ms (monotonic); false when the pull fails meanwhile. */
static bool backoff_wait(dl *d, int64_t at_ms) {
  struct timespec ts = {.tv_sec = at_ms / 1000,
                        .tv_nsec = (long)(at_ms % 1000) * 1000000};
  pthread_mutex_lock(&d->lock);
  while (!d->failed && now_ms() < at_ms)
    if (pthread_cond_timedwait(&d->cv, &d->lock, &ts) == ETIMEDOUT)
      break;
  bool ok = !d->failed;
  pthread_mutex_unlock(&d->lock);
  return ok;
}

/* Fetches one layer on the worker's client c, retrying as job_done says. */
static int job_run(dl *d, st_reg_client *c, job *j, st_error **err) {
  for (;;) {
    if (job_start(d, c, j, err) < 0) {
      job_cleanup_transfer(j);
      return -1;
    }
    CURLcode rc = curl_easy_perform(j->h);
    if (job_done(d, j, rc, err) < 0)
      return -1;
    if (j->state == JOB_FETCHED)
      return 0;
    if (j->state == JOB_BACKOFF && !backoff_wait(d, j->retry_at_ms))
      return -1;
  }
}

typedef struct worker {
  dl *d;
  st_reg_client *c; /* the caller's for worker 0, else a clone */
  pthread_t thread;
  bool started;
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  dl *d = w->d;
  for (;;) {
    pthread_mutex_lock(&d->lock);
    bool stop = d->failed || d->next >= d->n_queue;
    job *j = stop ? NULL : &d->jobs[d->queue[d->next++]];
    pthread_mutex_unlock(&d->lock);
    if (j == NULL)
      return NULL;
    st_error *e = NULL;
    if (job_run(d, w->c, j, &e) < 0)
      dl_fail(d, e);
  }
}

/* Runs the pool: the calling thread is worker 0, on d->c; up to n-1 more
 * threads on clones of it. A clone or thread that cannot be had only
 * means fewer workers. */
static int run_transfers(dl *d, int n, st_error **err) {
  worker *ws = calloc((size_t)n, sizeof(*ws));
  if (ws == NULL)
    n = 1;
  for (int i = 1; i < n; i++) {
    ws[i].d = d;
    st_error *e = NULL;
    if (st_reg_client_clone(d->c, &ws[i].c, &e) < 0) {
      st_error_free(e);
      break;
    }
    ws[i].started = st_thread_create(&ws[i].thread, worker_main, &ws[i]) == 0;
    if (!ws[i].started)
      break;
  }
  worker self = {.d = d, .c = d->c};
  worker_main(&self);
  set_nice(d->nice);
  for (int i = 1; ws && i < n; i++) {
    if (ws[i].started)
      pthread_join(ws[i].thread, NULL);
    st_reg_client_free(ws[i].c);
  }
  free(ws);
  if (!d->failed)
    return 0;
  *err = steal_pointer(&d->err);
  return -1;
}

int st_download_layers(st_store *s, st_reg_client *c, const st_reg_opts *o,
                       st_dl_layer *layers, size_t n, st_error **err) {
  dl d = {.s = s, .c = c, .o = o, .n = n};
  errno = 0;
  d.nice = getpriority(PRIO_PROCESS, (id_t)gettid());
  if (d.nice == -1 && errno != 0)
    d.nice = 0;
  int workers = o && o->max_concurrent > 0 ? o->max_concurrent : 3;
  const st_reg_config *conf = NULL;
  st_error *ignored = NULL;
  if ((o == NULL || o->max_concurrent <= 0) &&
      st_reg_config_get(&conf, &ignored) == 0 && conf->max_downloads > 0)
    workers = conf->max_downloads;
  st_error_free(ignored);
  if (n == 0)
    return 0;
  if ((d.jobs = calloc(n, sizeof(*d.jobs))) == NULL ||
      (d.queue = calloc(n, sizeof(*d.queue))) == NULL) {
    free(d.jobs);
    return st_error_errno(err, ENOMEM, "download");
  }
  pthread_mutex_init(&d.lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&d.cv, &ca);
  pthread_condattr_destroy(&ca);
  for (size_t i = 0; i < n; i++) {
    job *j = &d.jobs[i];
    j->l = &layers[i];
    j->s = s;
    j->d = &d;
    j->c = c;
    j->pipe_w = -1;
    st_http_resp_init(&j->resp, ERROR_BODY_LIMIT);
    j->state = layers[i].fetch ? JOB_QUEUED : JOB_FETCHED;
    if (layers[i].fetch) {
      d.queue[d.n_queue++] = i;
      st_reg_emit(o, ST_REG_LAYER_WAITING, layers[i].d->digest, NULL, c->repo,
                  0, (uint64_t)layers[i].d->size);
    } else if (!layers[i].known) {
      inspect_start(&d, j);
    }
  }
  size_t big = 0;
  for (size_t k = 0; k < d.n_queue; k++)
    if (layers[d.queue[k]].d->size > layers[d.queue[big]].d->size)
      big = k;
  if (d.n_queue > 0)
    d.jobs[d.queue[big]].critical = true;
  if ((size_t)workers > d.n_queue)
    workers = (int)d.n_queue;
  int rc = d.n_queue > 0 ? run_transfers(&d, workers, err) : 0;
  for (size_t i = 0; i < n; i++) {
    job *j = &d.jobs[i];
    job_cleanup_transfer(j);
    job_drop(j);
    if (rc < 0)
      j->batch_len = 0;
    stream_close(j);
    free(j->batch);
    st_error_free(j->err);
    if (j->inspect.pending && inspect_finish(j, rc < 0 ? NULL : err) < 0 &&
        rc == 0)
      rc = st_error_wrap(err, "layer %s", short_id(j->l->d->digest));
    st_error_free(j->inspect.err);
    st_http_resp_clear(&j->resp);
  }
  st_error_free(d.err);
  pthread_cond_destroy(&d.cv);
  pthread_mutex_destroy(&d.lock);
  free(d.queue);
  free(d.jobs);
  return rc;
}
