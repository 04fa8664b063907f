#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

int st_mkdir_p(const char *path, mode_t mode, st_error **err) {
  cleanup_free char *p = strdup(path);
  if (p == NULL)
    return st_error_errno(err, ENOMEM, "mkdir `%s`", path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST)
      return st_error_errno(err, errno, "mkdir `%s`", p);
    *s = '/';
  }
  /* EEXIST is fine only for a directory (or a link to one); one that goes
   * between the mkdir and the stat (a store's tmp/, emptied by another
   * process opening the store alone) is made again */
  for (int tries = 0;; tries++) {
    if (mkdir(p, mode) == 0)
      return 0;
    int e = errno;
    struct stat st;
    if (e != EEXIST)
      return st_error_errno(err, e, "mkdir `%s`", p);
    if (stat(p, &st) == 0) {
      if (S_ISDIR(st.st_mode))
        return 0;
      return st_error_errno(err, e, "mkdir `%s`", p);
    }
    if (errno != ENOENT || tries == 100)
      return st_error_errno(err, e, "mkdir `%s`", p);
  }
}

int st_read_file(const char *path, char **buf, size_t *len, st_error **err) {
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "open `%s`", path);
  struct stat st;
  if (fstat(fd, &st) < 0)
    return st_error_errno(err, errno, "stat `%s`", path);
  size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
  cleanup_free char *b = malloc(cap);
  if (b == NULL)
    return st_error_errno(err, ENOMEM, "read `%s`", path);
  for (;;) {
    if (n + 1 >= cap) {
      char *nb = realloc(b, cap * 2);
      if (nb == NULL)
        return st_error_errno(err, ENOMEM, "read `%s`", path);
      b = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, b + n, cap - n - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return st_error_errno(err, errno, "read `%s`", path);
    if (r == 0)
      break;
    n += (size_t)r;
  }
  b[n] = '\0';
  *buf = steal_pointer(&b);
  if (len)
    *len = n;
  return 0;
}

int st_write_all(int fd, const void *buf, size_t len, const char *what,
                 st_error **err) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return st_error_errno(err, errno, "write `%s`", what);
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int st_fsync_dir(const char *path, st_error **err) {
  cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "open `%s`", path);
  if (fsync(fd) < 0)
    return st_error_errno(err, errno, "fsync `%s`", path);
  return 0;
}

int st_write_file_atomic(const char *path, const void *buf, size_t len,
                         st_error **err) {
  cleanup_free char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
    return st_error_errno(err, ENOMEM, "write `%s`", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return st_error_errno(err, errno, "create `%s`", tmp);
  if (st_write_all(fd, buf, len, tmp, err) < 0 || fsync(fd) < 0) {
    if (err && *err == NULL)
      st_error_errno(err, errno, "fsync `%s`", tmp);
    close(fd);
    unlink(tmp);
    return -1;
  }
  close(fd);
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return st_error_errno(err, e, "rename `%s`", path);
  }
  cleanup_free char *dir = strdup(path);
  if (dir == NULL)
    return st_error_errno(err, ENOMEM, "write `%s`", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    return st_fsync_dir(".", err);
  if (slash == dir)
    slash[1] = '\0';
  else
    *slash = '\0';
  return st_fsync_dir(dir, err);
}

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  int r = (flag == FTW_DP) ? rmdir(p) : unlink(p);
  if (r < 0 && errno != ENOENT)
    return -1;
  return 0;
}

int st_rm_rf(const char *path, st_error **err) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    if (errno == ENOENT)
      return 0;
    return st_error_errno(err, errno, "stat `%s`", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlink(path) < 0 && errno != ENOENT)
      return st_error_errno(err, errno, "remove `%s`", path);
    return 0;
  }
  if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
    return st_error_errno(err, errno, "remove `%s`", path);
  return 0;
}

static long long du_total;
static int du_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw) {
  (void)p;
  (void)ftw;
  if (flag == FTW_F && S_ISREG(sb->st_mode))
    du_total += sb->st_size;
  return 0;
}

long long st_du(const char *path) {
  du_total = 0;
  if (nftw(path, du_one, 32, FTW_PHYS) < 0)
    return -1;
  return du_total;
}

bool st_dir_is_empty(const char *path) {
  DIR *d = opendir(path);
  if (d == NULL)
    return false;
  struct dirent *e;
  bool empty = true;
  while (empty && (e = readdir(d)) != NULL)
    empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
  closedir(d);
  return empty;
}
