/* A layer from a tar stream made on another thread (commit, build). */
#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "layer/tar.h"
#include "util/thread.h"

typedef struct producer {
  int (*produce)(void *ctx, int fd, st_error **err);
  void *ctx;
  int fd;
  st_error *err;
} producer;

static void *producer_main(void *arg) {
  producer *p = arg;
  p->produce(p->ctx, p->fd, &p->err);
  close(p->fd);
  return NULL;
}

int st_layer_import_from(st_store *s,
                         int (*produce)(void *ctx, int fd, st_error **err),
                         void *ctx, const char *what, st_layer_rec *out,
                         st_error **err) {
  producer p = {.produce = produce, .ctx = ctx, .fd = -1};
  int fds[2];
  /* libarchive is bound lazily; its loader is not made for two first
   * calls at once, so load it on this thread first. */
  (void)archive_version_number();
  if (pipe2(fds, O_CLOEXEC) < 0)
    return st_error_errno(err, errno, "pipe");
  p.fd = fds[1];
  /* A 1 MiB pipe (the default 64 KiB makes the two threads take turns
   * every 64 KiB); best effort, the size is capped by fs.pipe-max-size. */
  (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  pthread_t th;
  sigset_t all, old;
  sigfillset(&all); /* the writer takes no signal (EPIPE, not SIGPIPE) */
  pthread_sigmask(SIG_BLOCK, &all, &old);
  errno = st_thread_create(&th, producer_main, &p);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (errno != 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    return st_error_errno(err, e, "start the layer writer");
  }
  int r = st_layer_import(s, fds[0], what, out, err);
  close(fds[0]);
  pthread_join(th, NULL);
  if (p.err && r < 0 && p.err->code == EPIPE) {
    st_error_free(p.err);
  } else if (p.err) {
    r = -1;
    if (err) {
      st_error_free(*err);
      *err = p.err;
    } else {
      st_error_free(p.err);
    }
  }
  return r;
}
