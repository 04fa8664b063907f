/* The changes of a container's read-write layer (`diff`): its upper dir
 * walked and compared with the image's layers. Overlay whiteouts (0:0
 * character devices) are deletions; an entry that exists in a lower layer
 * (and is not hidden by an opaque directory above it) is a modification;
 * the rest are additions. What strata itself puts in the upper dir for the
 * container's mounts (/proc, /dev, /sys, /etc/hosts ... mount points when
 * the image lacks them) is left out, and so is a directory that is only
 * there because of them (copied up, same mode and owner). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/backend.h"
#include "runtime/manage_internal.h"
#include "util/cleanup.h"
#include "util/safepath.h"

int st_ct_open(st_store *s, const char *ref, st_ct *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  if (st_container_find(s, ref, &out->c, err) < 0)
    return -1;
  st_container_refresh(s, &out->c);
  out->dir = st_container_dir(s, out->c.id);
  if (out->dir == NULL) {
    st_container_clear(&out->c);
    return st_error_errno(err, ENOMEM, "container %s", ref);
  }
  if (st_spec_load(out->dir, &out->spec, err) < 0) {
    free(out->dir);
    st_container_clear(&out->c);
    return -1;
  }
  return 0;
}

void st_ct_close(st_ct *ct) {
  st_container_clear(&ct->c);
  free(ct->dir);
  st_spec_clear(&ct->spec);
  memset(ct, 0, sizeof(*ct));
}

int st_ct_root(const st_ct *ct, bool *running, st_error **err) {
  *running = ct->c.state == ST_CT_RUNNING;
  if (*running) {
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/root", (int)ct->c.pid);
    int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 && st_pid_alive(ct->c.pid, ct->c.pid_start))
      return fd;
    if (fd >= 0)
      close(fd);
    return st_error_set(err, EINVAL, "container %.12s stopped meanwhile",
                        ct->c.id);
  }
  if (ct->spec.lower == NULL || ct->spec.lower[0] == NULL)
    return st_error_set(err, EINVAL, "container %.12s has no overlay",
                        ct->c.id);
  static bool unshared;
  if (!unshared) {
    if (unshare(CLONE_NEWNS) < 0)
      return st_error_errno(err, errno, "private mount namespace");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
      return st_error_errno(err, errno, "make mounts private");
    unshared = true;
  }
  if (st_overlay_mount(ct->spec.lower, ct->spec.upper, ct->spec.work, false,
                       ct->spec.rootfs, err) < 0)
    return -1;
  int fd = open(ct->spec.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "open `%s`", ct->spec.rootfs);
  return fd;
}

char st_change_letter(st_change_kind k) {
  switch (k) {
  case ST_CHANGE_MODIFY:
    return 'C';
  case ST_CHANGE_ADD:
    return 'A';
  case ST_CHANGE_DELETE:
    return 'D';
  default:
    return '?';
  }
}

void st_changes_free(st_change *c, size_t n) {
  for (size_t i = 0; c && i < n; i++)
    free(c[i].path);
  free(c);
}

typedef struct walker {
  int *lower; /* O_PATH fds of the lower dirs, top first */
  size_t n_lower;
  char **skip; /* mount destinations */
  size_t n_skip;
  st_change *v;
  bool *opaque;
  struct stat *st; /* of each entry in the upper dir */
  size_t n, cap;
} walker;

static bool is_whiteout(const struct stat *st) {
  return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool dir_opaque(int dirfd, const char *name) {
  char p[64], v[2] = "";
  cleanup_close int fd =
      openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return false;
  snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
  ssize_t n = lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v));
  return n == 1 && v[0] == 'y';
}

/* Whether path exists in the lower layers (as something else than a
 * whiteout); *below gets its stat. */
static bool in_lower(const walker *w, const char *path, struct stat *below) {
  for (size_t i = 0; i < w->n_lower; i++) {
    st_error *e = NULL;
    int fd = st_open_in_root(w->lower[i], path, O_PATH | O_NOFOLLOW, 0, &e);
    if (fd < 0) {
      st_error_free(e);
      continue;
    }
    int r = fstat(fd, below);
    close(fd);
    if (r == 0)
      return !is_whiteout(below);
  }
  return false;
}

static int add_change(walker *w, const char *path, st_change_kind kind,
                      bool opaque, const struct stat *st) {
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    st_change *v = realloc(w->v, cap * sizeof(*v));
    bool *o = v ? realloc(w->opaque, cap * sizeof(*o)) : NULL;
    struct stat *s = o ? realloc(w->st, cap * sizeof(*s)) : NULL;
    if (v)
      w->v = v;
    if (o)
      w->opaque = o;
    if (s == NULL)
      return -1;
    w->st = s;
    w->cap = cap;
  }
  char *p = strdup(path);
  if (p == NULL)
    return -1;
  w->v[w->n] = (st_change){p, kind};
  w->opaque[w->n] = opaque;
  w->st[w->n] = *st;
  w->n++;
  return 0;
}

static bool skipped(const walker *w, const char *path) {
  for (size_t i = 0; i < w->n_skip; i++) {
    size_t l = strlen(w->skip[i]);
    if (strncmp(path, w->skip[i], l) == 0 &&
        (path[l] == '\0' || path[l] == '/'))
      return true;
  }
  return false;
}

static int walk(walker *w, int parent, const char *dirpath, bool hidden,
                st_error **err) {
  cleanup_close int fd =
      openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL)
    return st_error_errno(err, errno, "read upper dir `%s`", dirpath);
  fd = -1;
  int r = 0;
  struct dirent *de;
  while (r == 0 && (de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    cleanup_free char *path = NULL;
    struct stat st, below;
    if (asprintf(&path, "%s/%s", dirpath, de->d_name) < 0)
      r = st_error_errno(err, ENOMEM, "diff");
    else if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      r = st_error_errno(err, errno, "stat `%s` in the upper dir", path);
    if (r < 0 || skipped(w, path))
      continue;
    bool whiteout = is_whiteout(&st);
    bool exists = !hidden && in_lower(w, path, &below);
    bool opaque = S_ISDIR(st.st_mode) && dir_opaque(dirfd(d), de->d_name);
    if (whiteout && !exists)
      continue; /* deleted what this layer itself had added */
    st_change_kind k = whiteout ? ST_CHANGE_DELETE
                       : exists ? ST_CHANGE_MODIFY
                                : ST_CHANGE_ADD;
    if (add_change(w, path, k, opaque, &st) < 0)
      r = st_error_errno(err, ENOMEM, "diff");
    else if (S_ISDIR(st.st_mode)) {
      cleanup_close int sub =
          openat(dirfd(d), de->d_name,
                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        r = st_error_errno(err, errno, "open `%s` in the upper dir", path);
      else
        r = walk(w, sub, path, hidden || opaque, err);
    }
  }
  closedir(d);
  return r;
}

static int cmp_index(const void *a, const void *b, void *ctx) {
  const st_change *v = ctx;
  return strcmp(v[*(const size_t *)a].path, v[*(const size_t *)b].path);
}

/* Sorts the changes by path, keeping opaque[] and st[] in step. */
static int sort_changes(walker *w) {
  cleanup_free size_t *idx = malloc(w->n * sizeof(*idx));
  st_change *v = malloc(w->n * sizeof(*v));
  bool *o = malloc(w->n * sizeof(*o));
  struct stat *s = malloc(w->n * sizeof(*s));
  if (!idx || !v || !o || !s) {
    free(v);
    free(o);
    free(s);
    return -1;
  }
  for (size_t i = 0; i < w->n; i++)
    idx[i] = i;
  qsort_r(idx, w->n, sizeof(*idx), cmp_index, w->v);
  for (size_t i = 0; i < w->n; i++) {
    v[i] = w->v[idx[i]];
    o[i] = w->opaque[idx[i]];
    s[i] = w->st[idx[i]];
  }
  free(w->v);
  free(w->opaque);
  free(w->st);
  w->v = v;
  w->opaque = o;
  w->st = s;
  return 0;
}

/* A directory that only holds what was left out: copied up for a mount
 * point, not changed itself. */
static bool only_for_mounts(const walker *w, const st_ct *ct, size_t i) {
  if (w->v[i].kind != ST_CHANGE_MODIFY || !S_ISDIR(w->st[i].st_mode) ||
      w->opaque[i])
    return false;
  size_t l = strlen(w->v[i].path);
  if (i + 1 < w->n && strncmp(w->v[i + 1].path, w->v[i].path, l) == 0 &&
      w->v[i + 1].path[l] == '/')
    return false; /* has a reported change under it */
  struct stat below;
  if (!in_lower(w, w->v[i].path, &below))
    return false;
  (void)ct;
  return below.st_mode == w->st[i].st_mode && below.st_uid == w->st[i].st_uid &&
         below.st_gid == w->st[i].st_gid;
}

static void walker_clear(walker *w) {
  for (size_t i = 0; i < w->n_lower; i++)
    if (w->lower[i] >= 0)
      close(w->lower[i]);
  free(w->lower);
  free(w->skip);
  free(w->st);
}

static int walker_init(walker *w, const st_ct *ct, st_error **err) {
  memset(w, 0, sizeof(*w));
  size_t n = 0;
  while (ct->spec.lower && ct->spec.lower[n])
    n++;
  w->lower = calloc(n + 1, sizeof(int));
  w->skip = calloc(ct->spec.n_mounts + 1, sizeof(char *));
  if (w->lower == NULL || w->skip == NULL)
    return st_error_errno(err, ENOMEM, "diff");
  if (st_layers_attach(ct->spec.lower, n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++, w->n_lower++)
    if ((w->lower[i] =
             open(ct->spec.lower[i], O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
      return st_error_errno(err, errno, "open layer `%s`", ct->spec.lower[i]);
  for (size_t i = 0; i < ct->spec.n_mounts; i++)
    w->skip[w->n_skip++] = ct->spec.mounts[i].dest;
  return 0;
}

int st_ct_changes(const st_ct *ct, st_change **out, bool **opaque, size_t *n,
                  st_error **err) {
  if (ct->spec.upper == NULL)
    return st_error_set(err, EINVAL, "container %.12s has no read-write layer",
                        ct->c.id);
  walker w;
  int r = walker_init(&w, ct, err);
  cleanup_close int up =
      r < 0 ? -1 : open(ct->spec.upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (r == 0 && up < 0)
    r = st_error_errno(err, errno, "open `%s`", ct->spec.upper);
  if (r == 0)
    r = walk(&w, up, "", false, err);
  if (r == 0 && w.n && sort_changes(&w) < 0)
    r = st_error_errno(err, ENOMEM, "diff");
  /* drop directories kept only for mount points (deepest first) */
  for (size_t i = w.n; r == 0 && i-- > 0;)
    if (only_for_mounts(&w, ct, i)) {
      free(w.v[i].path);
      memmove(&w.v[i], &w.v[i + 1], (w.n - i - 1) * sizeof(*w.v));
      memmove(&w.opaque[i], &w.opaque[i + 1], (w.n - i - 1) * sizeof(bool));
      memmove(&w.st[i], &w.st[i + 1], (w.n - i - 1) * sizeof(*w.st));
      w.n--;
    }
  if (r < 0) {
    st_changes_free(w.v, w.n);
    free(w.opaque);
  } else {
    *out = w.v;
    *n = w.n;
    if (opaque)
      *opaque = w.opaque;
    else
      free(w.opaque);
  }
  walker_clear(&w);
  return r;
}

int st_container_changes(st_store *s, const char *ref, st_change **out,
                         size_t *n, st_error **err) {
  st_ct ct;
  if (st_ct_open(s, ref, &ct, err) < 0)
    return -1;
  int r = st_ct_changes(&ct, out, NULL, n, err);
  st_ct_close(&ct);
  return r;
}
