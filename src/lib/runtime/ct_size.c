/* Container sizes as `ps -s` and `system df` show them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"

typedef struct ino_set {
  ino_t *v;
  size_t n, cap;
} ino_set;

/* True when ino was seen before (a second name of a hard-linked file);
 * remembers it otherwise. Only files with several links are kept here. */
static bool seen_before(ino_set *set, ino_t ino) {
  for (size_t i = 0; i < set->n; i++)
    if (set->v[i] == ino)
      return true;
  if (set->n == set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 16;
    ino_t *v = realloc(set->v, cap * sizeof(*v));
    if (v == NULL)
      return false; /* counted twice, never lost */
    set->v = v;
    set->cap = cap;
  }
  set->v[set->n++] = ino;
  return false;
}

/* Docker's directory size (pkg/directory): the apparent size of every
 * entry but directories (symlinks count their target's length), each
 * hard-linked file once. Unreadable parts count as empty. */
static int64_t tree_size(int dfd, ino_set *seen, int depth) {
  cleanup_dir DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return 0;
  }
  int64_t total = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    struct stat sb;
    if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (S_ISDIR(sb.st_mode)) {
      int sub = depth < 4096
                    ? openat(dirfd(d), e->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    : -1;
      if (sub >= 0)
        total += tree_size(sub, seen, depth + 1);
      continue;
    }
    if (sb.st_size == 0 || (sb.st_nlink > 1 && seen_before(seen, sb.st_ino)))
      continue;
    total += sb.st_size;
  }
  return total;
}

int64_t st_container_size_rw(st_store *s, const char *id) {
  cleanup_free char *dir = st_container_dir(s, id);
  cleanup_free char *upper = NULL;
  if (dir == NULL || asprintf(&upper, "%s/upper", dir) < 0)
    return 0;
  int fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ino_set seen = {0};
  int64_t n = tree_size(fd, &seen, 0);
  free(seen.v);
  return n;
}

int64_t st_container_size_rootfs(st_store *s, const st_container *c,
                                 int64_t rw) {
  st_image img = {0};
  st_error *err = NULL;
  int64_t image = 0;
  if (st_image_get(s, c->image, &img, &err) == 0)
    image = img.size;
  st_image_clear(&img);
  st_error_free(err);
  return image + rw;
}
