/* A container's file system from the outside: export, cp in both
 * directions. The root is /proc/<pid>/root while the container runs (its
 * own mounts included), else its overlay mounted in a private mount
 * namespace. Every path inside is resolved with util/safepath.h against
 * that root. Tar streams are produced by a writer and consumed by a reader
 * in one pass: the caller's fd for export and copy-out; a pipe between a
 * writer thread and the layer extractor for copy-in. */
#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/tarwrite.h"
#include "runtime/manage_internal.h"
#include "store/layers.h"
#include "util/cleanup.h"
#include "util/safepath.h"
#include "util/thread.h"

/* Splits an absolute container path into its parent and last component,
 * "/" giving ("/", "."). */
static int split_path(const char *path, char **parent, char **name) {
  cleanup_free char *a = strdup(path), *b = strdup(path);
  if (a == NULL || b == NULL)
    return -1;
  size_t l = strlen(b);
  while (l > 1 && b[l - 1] == '/')
    b[--l] = '\0';
  const char *base = basename(b);
  *parent = strdup(dirname(a));
  *name = strdup(strcmp(base, "/") == 0 ? "." : base);
  return *parent && *name ? 0 : -1;
}

static int open_root(st_store *s, const char *ref, st_ct *ct, bool *running,
                     st_error **err) {
  if (st_ct_open(s, ref, ct, err) < 0)
    return -1;
  int fd = st_ct_root(ct, running, err);
  if (fd < 0)
    st_ct_close(ct);
  return fd;
}

int st_container_stat(st_store *s, const char *ref, const char *path,
                      bool *is_dir, st_error **err) {
  st_ct ct;
  bool running;
  cleanup_close int root = open_root(s, ref, &ct, &running, err);
  if (root < 0)
    return -1;
  cleanup_close int fd = st_open_in_root(root, path, O_PATH, 0, err);
  struct stat st;
  int r = fd < 0 ? -1 : fstat(fd, &st);
  if (fd >= 0 && r < 0)
    st_error_errno(err, errno, "stat %s", path);
  if (r == 0)
    *is_dir = S_ISDIR(st.st_mode);
  st_ct_close(&ct);
  return r;
}

/* Writes name in parent as a tar on fd. Export (whole_fs) keeps xattrs as
 * Docker's does and leaves out other mounts of a running container (mnt
 * other than 0); cp writes no xattrs. */
static int tar_of(int parent, const char *name, const char *tarname, int fd,
                  bool whole_fs, uint64_t mnt, st_error **err) {
  st_tw w;
  if (st_tw_open(&w, fd, err) < 0)
    return -1;
  w.only_mnt = mnt != 0;
  w.skip_mnt = mnt;
  w.xattrs = whole_fs;
  if (st_tw_tree(&w, parent, name, tarname, err) < 0) {
    st_tw_free(&w);
    return -1;
  }
  return st_tw_close(&w, err);
}

int st_container_copy_out(st_store *s, const char *ref, const char *path,
                          const char *name, int fd, st_error **err) {
  st_ct ct;
  bool running;
  cleanup_close int root = open_root(s, ref, &ct, &running, err);
  if (root < 0)
    return -1;
  cleanup_free char *dir = NULL, *base = NULL;
  int r = -1;
  if (split_path(path, &dir, &base) < 0) {
    st_error_errno(err, ENOMEM, "cp");
  } else {
    cleanup_close int pfd =
        st_open_in_root(root, dir, O_PATH | O_DIRECTORY, 0, err);
    struct stat st;
    if (pfd >= 0 && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
      st_error_errno(err, errno, "Could not find the file %s in container %s",
                     path, ct.c.name);
    else if (pfd >= 0)
      r = tar_of(pfd, base, name ? name : base, fd, false, 0, err);
  }
  st_ct_close(&ct);
  return r;
}

int st_container_copy_in(st_store *s, const char *ref, const char *path, int fd,
                         st_error **err) {
  st_ct ct;
  bool running;
  cleanup_close int root = open_root(s, ref, &ct, &running, err);
  if (root < 0)
    return -1;
  int r = -1;
  if (ct.spec.root_readonly) {
    st_error_set(err, EROFS, "container rootfs is marked read-only");
  } else {
    cleanup_close int dir =
        st_open_in_root(root, path, O_RDONLY | O_DIRECTORY, 0, err);
    if (dir >= 0)
      r = st_layer_unpack_fd(fd, dir, ST_UNPACK_PLAIN, err);
    else
      st_error_wrap(err, "copy into %s", path);
  }
  st_ct_close(&ct);
  return r;
}

int st_container_export(st_store *s, const char *ref, int fd, st_error **err) {
  st_ct ct;
  bool running;
  cleanup_close int root = open_root(s, ref, &ct, &running, err);
  if (root < 0)
    return -1;
  struct statx sx;
  uint64_t mnt = 0;
  if (statx(root, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0)
    mnt = sx.stx_mnt_id;
  int r = tar_of(root, ".", "", fd, true, running ? mnt : 0, err);
  st_ct_close(&ct);
  return r;
}

int st_host_tar(const char *path, const char *name, int fd, st_error **err) {
  cleanup_free char *dir = NULL, *base = NULL;
  if (split_path(path, &dir, &base) < 0)
    return st_error_errno(err, ENOMEM, "cp");
  cleanup_close int pfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0)
    return st_error_errno(err, errno, "open %s", dir);
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return st_error_errno(err, errno, "stat %s", path);
  return tar_of(pfd, base, name ? name : base, fd, false, 0, err);
}

/* ---- host <-> container through a pipe ------------------------------------
 */

typedef struct producer {
  st_store *s;
  const char *ref, *path, *name;
  bool from_container;
  int fd; /* write end, closed by the thread */
  st_error *err;
} producer;

static void *produce(void *arg) {
  producer *p = arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  if (p->from_container)
    st_container_copy_out(p->s, p->ref, p->path, p->name, p->fd, &p->err);
  else
    st_host_tar(p->path, p->name, p->fd, &p->err);
  close(p->fd);
  return NULL;
}

/* Runs p in a thread writing a tar to a pipe and consume(ctx, read end). */
static int through_pipe(producer *p, int (*consume)(void *, int, st_error **),
                        void *ctx, st_error **err) {
  int fds[2];
  (void)archive_version_number(); /* libarchive loaded before the thread */
  if (pipe2(fds, O_CLOEXEC) < 0)
    return st_error_errno(err, errno, "pipe");
  p->fd = fds[1];
  pthread_t th;
  if ((errno = st_thread_create(&th, produce, p)) != 0) {
    close(fds[0]);
    close(fds[1]);
    return st_error_errno(err, errno, "start the copy");
  }
  int r = consume(ctx, fds[0], err);
  close(fds[0]);
  pthread_join(th, NULL);
  if (p->err) {
    r = -1;
    if (err) {
      st_error_free(*err);
      *err = p->err;
    } else {
      st_error_free(p->err);
    }
  }
  return r;
}

static int unpack_to_host(void *ctx, int fd, st_error **err) {
  const char *dir = ctx;
  cleanup_close int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0)
    return st_error_errno(err, errno, "open %s", dir);
  return st_layer_unpack_fd(fd, d, ST_UNPACK_PLAIN, err);
}

int st_container_copy_to_host(st_store *s, const char *ref, const char *path,
                              const char *hostdir, const char *name,
                              st_error **err) {
  producer p = {
      .s = s, .ref = ref, .path = path, .name = name, .from_container = true};
  return through_pipe(&p, unpack_to_host, (void *)hostdir, err);
}

typedef struct into_ct {
  st_store *s;
  const char *ref, *dir;
} into_ct;

static int unpack_to_container(void *ctx, int fd, st_error **err) {
  into_ct *c = ctx;
  return st_container_copy_in(c->s, c->ref, c->dir, fd, err);
}

int st_container_copy_from_host(st_store *s, const char *ref,
                                const char *hostpath, const char *name,
                                const char *dir, st_error **err) {
  producer p = {.path = hostpath, .name = name};
  into_ct c = {s, ref, dir};
  return through_pipe(&p, unpack_to_container, &c, err);
}
