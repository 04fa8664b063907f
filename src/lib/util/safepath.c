/* Paths resolved inside a root: openat2(RESOLVE_IN_ROOT) or a walk. */
#include "util/safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

#define MAX_SYMLINKS 40

static bool forced_fallback;
static bool no_openat2;

void st_safepath_fallback(bool force) {
  forced_fallback = force;
}

bool st_safepath_has_openat2(void) {
  return !forced_fallback && !no_openat2;
}

static const char *skip_slashes(const char *p) {
  while (*p == '/')
    p++;
  return p;
}

static int open_with_openat2(int rootfd, const char *path, int flags,
                             mode_t mode) {
  struct open_how how = {
      .flags = (unsigned long long)(flags | O_CLOEXEC),
      .mode = (flags & O_CREAT) ? mode : 0,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  const char *rel = skip_slashes(path);
  return (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
}

/* ---- the fallback walk --------------------------------------------------
 * A stack of directory fds from the root down; ".." pops (never past the
 * root); a symlink's target is spliced in front of what is left. */

typedef struct walk {
  int rootfd;
  int *fds; /* fds[0] is rootfd (not owned) */
  size_t n, cap;
  char *rest; /* path still to resolve, heap */
  int links;
} walk;

static void walk_free(walk *w) {
  for (size_t i = 1; i < w->n; i++)
    close(w->fds[i]);
  free(w->fds);
  free(w->rest);
}

static int walk_cur(const walk *w) {
  return w->fds[w->n - 1];
}

static int walk_push(walk *w, int fd) {
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 16;
    int *n = realloc(w->fds, cap * sizeof(*n));
    if (n == NULL) {
      close(fd);
      errno = ENOMEM;
      return -1;
    }
    w->fds = n;
    w->cap = cap;
  }
  w->fds[w->n++] = fd;
  return 0;
}

static void walk_pop(walk *w, size_t keep) {
  while (w->n > keep)
    close(w->fds[--w->n]);
}

/* Takes the next component of w->rest into comp (NUL-terminated in place);
 * returns false at the end. *last tells whether nothing follows it. */
static bool next_component(char **cursor, char **comp, bool *last) {
  char *p = (char *)skip_slashes(*cursor);
  if (*p == '\0')
    return false;
  char *end = strchr(p, '/');
  if (end) {
    *end = '\0';
    *cursor = end + 1;
  } else {
    *cursor = p + strlen(p);
  }
  *comp = p;
  *last = *skip_slashes(*cursor) == '\0';
  return true;
}

/* Replaces the walk's remaining path by target + "/" + after. */
static int splice_symlink(walk *w, int fd, const char *after) {
  if (++w->links > MAX_SYMLINKS) {
    errno = ELOOP;
    return -1;
  }
  char target[4096];
  ssize_t len = readlinkat(fd, "", target, sizeof(target) - 1);
  if (len < 0)
    return -1;
  target[len] = '\0';
  if (target[0] == '/')
    walk_pop(w, 1);
  char *rest = NULL;
  if (asprintf(&rest, "%s/%s", target, after) < 0) {
    errno = ENOMEM;
    return -1;
  }
  free(w->rest);
  w->rest = rest;
  return 0;
}

static int open_last(walk *w, const char *comp, int flags, mode_t mode) {
  return openat(walk_cur(w), comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

/* One step; returns 1 when done (*out set), 0 to go on, -1 on error. */
static int walk_step(walk *w, char **cursor, int flags, mode_t mode, int *out) {
  char *comp;
  bool last;
  if (!next_component(cursor, &comp, &last)) {
    *out = openat(walk_cur(w), ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
    return *out < 0 ? -1 : 1;
  }
  if (strcmp(comp, ".") == 0)
    return 0;
  if (strcmp(comp, "..") == 0) {
    if (w->n > 1)
      walk_pop(w, w->n - 1);
    return 0;
  }
  int fd = openat(walk_cur(w), comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && last && (flags & O_CREAT)) {
      *out = open_last(w, comp, flags, mode);
      return *out < 0 ? -1 : 1;
    }
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    close(fd);
    return -1;
  }
  if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
    cleanup_free char *after = strdup(*cursor);
    int r = after ? splice_symlink(w, fd, after) : -1;
    close(fd);
    *cursor = w->rest;
    return r;
  }
  if (last) {
    close(fd);
    *out = open_last(w, comp, flags, mode);
    return *out < 0 ? -1 : 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    close(fd);
    errno = ENOTDIR;
    return -1;
  }
  return walk_push(w, fd);
}

static int open_with_walk(int rootfd, const char *path, int flags,
                          mode_t mode) {
  walk w = {.rootfd = rootfd};
  int out = -1, r = 0;
  if (walk_push(&w, rootfd) < 0 || (w.rest = strdup(path)) == NULL) {
    free(w.fds);
    errno = ENOMEM;
    return -1;
  }
  char *cursor = w.rest;
  while ((r = walk_step(&w, &cursor, flags, mode, &out)) == 0)
    ;
  int saved = errno;
  walk_free(&w);
  errno = saved;
  return r < 0 ? -1 : out;
}

int st_open_in_root(int rootfd, const char *path, int flags, mode_t mode,
                    st_error **err) {
  int fd = -1;
  if (st_safepath_has_openat2()) {
    fd = open_with_openat2(rootfd, path, flags, mode);
    if (fd < 0 && errno == ENOSYS)
      no_openat2 = true;
  }
  if (!st_safepath_has_openat2())
    fd = open_with_walk(rootfd, path, flags, mode);
  if (fd < 0)
    return st_error_errno(err, errno, "open `%s` in root", path);
  return fd;
}

/* Hands e to the caller's err (when it wants one and has none yet). */
static void pass_error(st_error **err, st_error *e) {
  if (err && *err == NULL)
    *err = e;
  else
    st_error_free(e);
}

static int mkdir_in_root(int rootfd, const char *path, mode_t mode, int depth,
                         st_error **err);

/* name under parent (the directory path dir) exists but does not open as a
 * directory: when it is a symlink, makes its target inside the root. */
static int mkdir_symlink_target(int rootfd, int parent, const char *dir,
                                const char *name, mode_t mode, int depth,
                                st_error **err) {
  char target[4096];
  ssize_t len = readlinkat(parent, name, target, sizeof(target) - 1);
  if (len < 0 || depth >= MAX_SYMLINKS)
    return st_error_errno(err, len < 0 ? ENOTDIR : ELOOP,
                          "mkdir `%s/%s` in root", dir, name);
  target[len] = '\0';
  cleanup_free char *full = NULL;
  if (asprintf(&full, "%s/%s", target[0] == '/' ? "" : dir, target) < 0)
    return st_error_errno(err, ENOMEM, "mkdir in root");
  return mkdir_in_root(rootfd, full, mode, depth + 1, err);
}

static int mkdir_in_root(int rootfd, const char *path, mode_t mode, int depth,
                         st_error **err) {
  const int dflags = O_RDONLY | O_DIRECTORY;
  st_error *e = NULL;
  int fd = st_open_in_root(rootfd, path, dflags, 0, &e);
  if (fd >= 0)
    return fd;
  if (e->code != ENOENT) {
    pass_error(err, e);
    return -1;
  }
  st_error_free(e);
  cleanup_free char *dup = strdup(path);
  if (dup == NULL)
    return st_error_errno(err, ENOMEM, "mkdir `%s` in root", path);
  char *end = dup + strlen(dup);
  while (end > dup && end[-1] == '/')
    *--end = '\0';
  char *slash = strrchr(dup, '/');
  const char *name = slash ? slash + 1 : dup;
  cleanup_close int parent = -1;
  if (slash) {
    *slash = '\0';
    parent = mkdir_in_root(rootfd, dup, mode, depth, err);
  } else {
    parent = st_open_in_root(rootfd, ".", dflags, 0, err);
  }
  if (parent < 0)
    return -1;
  if (strcmp(name, "..") == 0 || strcmp(name, ".") == 0 || *name == '\0')
    return st_open_in_root(rootfd, path, dflags, 0, err);
  if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
    return st_error_errno(err, errno, "mkdir `%s` in root", path);
  fd = openat(parent, name, dflags | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) &&
      fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISLNK(st.st_mode))
    return mkdir_symlink_target(rootfd, parent, slash ? dup : "", name, mode,
                                depth, err);
  if (fd < 0)
    return st_error_errno(err, errno, "mkdir `%s` in root", path);
  return fd;
}

int st_mkdir_in_root(int rootfd, const char *path, mode_t mode,
                     st_error **err) {
  return mkdir_in_root(rootfd, path, mode, 0, err);
}
