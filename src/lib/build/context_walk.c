/* What a COPY writes, as a sorted list of entries: the directories above
 * the destination, then each source placed by Docker's rules. Both the tar
 * writer and the cache checksum read this list, so they agree by
 * construction. */
#include "build/context_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/safepath.h"

void ctx_list_free(ctx_list *l) {
  free(l->v);
  st_buf_free(&l->names);
  l->v = NULL;
  l->n = l->cap = 0;
}

/* Adds a + "/" + b (just a when b is NULL, just b when a is "") to the
 * names; returns its offset, or (size_t)-1 when out of memory. */
static size_t add_name(ctx_list *l, const char *a, const char *b) {
  size_t off = l->names.len;
  bool slash = b && *a;
  if (st_buf_puts(&l->names, a) < 0 || (slash && st_buf_putc(&l->names, '/')) ||
      (b && st_buf_puts(&l->names, b) < 0) || st_buf_putc(&l->names, '\0')) {
    l->names.len = off;
    return (size_t)-1;
  }
  return off;
}

static ctx_entry *add_entry(ctx_list *l, const struct stat *st, size_t dst,
                            size_t src, unsigned flags) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    ctx_entry *v = realloc(l->v, cap * sizeof(*v));
    if (v == NULL)
      return NULL;
    l->v = v;
    l->cap = cap;
  }
  ctx_entry *e = &l->v[l->n];
  *e = (ctx_entry){
      .st = *st, .dst = dst, .src = src, .seq = l->n, .flags = flags};
  l->n++;
  return e;
}

/* ---- walking a directory source -------------------------------------- */

static int walk_dir(const st_ctx *c, ctx_list *l, const char *src,
                    const char *dst, st_error **err);

/* Reads the directory src (its real path in the root) and adds an entry
 * per child, excluded children left out (directories that an exception
 * may re-include come in as tentative). Returns the number added. */
static int read_children(const st_ctx *c, ctx_list *l, const char *src,
                         const char *dst, size_t *added, st_error **err) {
  int fd = st_open_in_root(c->rootfd, *src ? src : ".",
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, err);
  if (fd < 0)
    return st_error_wrap(err, "COPY");
  cleanup_dir DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return st_error_errno(err, errno, "read `%s` in build context", src);
  }
  struct dirent *de;
  while ((errno = 0, de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
      continue;
    struct stat st;
    if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return st_error_errno(err, errno, "stat `%s/%s` in build context", src,
                            name);
    if (S_ISSOCK(st.st_mode))
      continue; /* tar cannot hold sockets; Docker skips them too */
    size_t mark = l->names.len;
    size_t s = add_name(l, src, name), t = add_name(l, dst, name);
    if (s == (size_t)-1 || t == (size_t)-1)
      return st_error_errno(err, ENOMEM, "build context");
    unsigned flags = 0;
    bool dir = S_ISDIR(st.st_mode);
    const char *rel = ctx_str(l, t) + l->ex_base;
    if (l->ex && st_ignore_match(l->ex, rel)) {
      if (!dir || !st_ignore_may_reinclude(l->ex, rel)) {
        l->names.len = mark;
        continue;
      }
      flags = CTX_TENTATIVE;
    } else if (ctx_excluded(c, ctx_str(l, s), dir, false)) {
      if (!dir || !st_ignore_may_reinclude(c->ig, ctx_str(l, s))) {
        l->names.len = mark;
        continue;
      }
      flags = CTX_TENTATIVE;
    }
    if (add_entry(l, &st, t, s, flags) == NULL)
      return st_error_errno(err, ENOMEM, "build context");
    (*added)++;
  }
  if (errno)
    return st_error_errno(err, errno, "read `%s` in build context", src);
  return 0;
}

/* Adds what is under the directory src as dst/...; returns how many
 * entries it added that will be written, or < 0. */
static int walk_dir(const st_ctx *c, ctx_list *l, const char *src,
                    const char *dst, st_error **err) {
  size_t first = l->n, added = 0;
  if (read_children(c, l, src, dst, &added, err) < 0)
    return -1;
  int kept = 0;
  for (size_t i = first; i < first + added; i++) {
    if (!S_ISDIR(l->v[i].st.st_mode)) {
      kept++;
      continue;
    }
    /* The names move when the buffer grows: copy them out. */
    cleanup_free char *s = strdup(ctx_str(l, l->v[i].src));
    cleanup_free char *t = strdup(ctx_str(l, l->v[i].dst));
    if (s == NULL || t == NULL)
      return st_error_errno(err, ENOMEM, "build context");
    int below = walk_dir(c, l, s, t, err);
    if (below < 0)
      return -1;
    if ((l->v[i].flags & CTX_TENTATIVE) && below == 0)
      l->v[i].flags |= CTX_DROP;
    else
      kept += 1 + below;
  }
  return kept;
}

/* ---- placing sources ------------------------------------------------- */

/* dest's directories, each a made-up entry: root-owned 0755 (the
 * destination itself too when it is a directory). */
static int add_parents(ctx_list *l, const char *dest, bool dest_is_dir,
                       st_error **err) {
  struct stat st = {.st_mode = S_IFDIR | 0755, .st_nlink = 1};
  size_t len = strlen(dest);
  for (size_t i = 1; i <= len; i++) {
    if (dest[i] != '/' && !(dest[i] == '\0' && dest_is_dir))
      continue;
    size_t off = l->names.len;
    if (st_buf_append(&l->names, dest, i) < 0 ||
        st_buf_putc(&l->names, '\0') < 0 ||
        add_entry(l, &st, off, off, CTX_PARENT) == NULL)
      return st_error_errno(err, ENOMEM, "build context");
  }
  return 0;
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* One source (as st_ctx_match gave it) placed at dest (relative, no
 * trailing '/'). A directory's contents go into dest, which takes the
 * directory's own metadata (as BuildKit copies it); anything else becomes
 * dest/NAME or dest. A symlink named directly is followed. */
static int add_source(const st_ctx *c, ctx_list *l, const char *source,
                      const char *dest, bool dest_is_dir, st_error **err) {
  cleanup_free char *path = ctx_clean(source);
  if (path == NULL)
    return errno == EINVAL ? ctx_outside(source, err)
                           : st_error_errno(err, ENOMEM, "build context");
  struct stat st;
  cleanup_free char *real = NULL;
  int r = ctx_resolve(c, path, &st, &real, err);
  if (r != 0)
    return r < 0 ? -1 : ctx_not_found(*path ? path : ".", err);
  if (S_ISSOCK(st.st_mode))
    return 0;
  if (l->ex && !S_ISDIR(st.st_mode) && st_ignore_match(l->ex, base_name(path)))
    return 0; /* --exclude: a file source by its name */
  size_t src = add_name(l, path, NULL);
  size_t dst = S_ISDIR(st.st_mode) || !dest_is_dir
                   ? add_name(l, dest, NULL)
                   : add_name(l, dest, base_name(path));
  if (src == (size_t)-1 || dst == (size_t)-1)
    return st_error_errno(err, ENOMEM, "build context");
  /* The root itself is never an entry. */
  if (*ctx_str(l, dst) && add_entry(l, &st, dst, src, CTX_FOLLOW) == NULL)
    return st_error_errno(err, ENOMEM, "build context");
  if (!S_ISDIR(st.st_mode))
    return 0;
  cleanup_free char *to = strdup(dest);
  if (to == NULL)
    return st_error_errno(err, ENOMEM, "build context");
  return walk_dir(c, l, real, to, err) < 0 ? -1 : 0;
}

/* --parents: the source at dest/KEPT (KEPT: its path from the pivot on),
 * with the directories above it made; --exclude then matches below it. */
static int add_with_parents(const st_ctx *c, ctx_list *l, const char *source,
                            size_t pivot, const char *dest, st_error **err) {
  cleanup_free char *kept =
      ctx_clean(pivot <= strlen(source) ? source + pivot : source);
  if (kept == NULL)
    return errno == EINVAL ? ctx_outside(source, err)
                           : st_error_errno(err, ENOMEM, "build context");
  cleanup_free char *to = NULL;
  if (asprintf(&to, "%s%s%s", dest, *dest && *kept ? "/" : "", kept) < 0)
    return st_error_errno(err, ENOMEM, "build context");
  size_t base = l->ex_base;
  l->ex_base = *to ? strlen(to) + 1 : 0;
  int r = add_parents(l, to, false, err);
  if (r == 0)
    r = add_source(c, l, source, to, false, err);
  l->ex_base = base;
  return r;
}

/* ---- order, duplicates, hard links ----------------------------------- */

static int cmp_entries(const void *a, const void *b, void *arg) {
  const ctx_entry *x = a, *y = b;
  int r = strcmp(ctx_str(arg, x->dst), ctx_str(arg, y->dst));
  return r ? r : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sorts by name and keeps the last of equal names (a later source
 * overwrites an earlier one), refusing to put a directory and a
 * non-directory at the same place. */
static int sort_unique(ctx_list *l, st_error **err) {
  size_t k = 0;
  for (size_t i = 0; i < l->n; i++)
    if (!(l->v[i].flags & CTX_DROP))
      l->v[k++] = l->v[i];
  l->n = k;
  qsort_r(l->v, l->n, sizeof(*l->v), cmp_entries, l);
  k = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (k > 0 &&
        strcmp(ctx_str(l, l->v[k - 1].dst), ctx_str(l, l->v[i].dst)) == 0) {
      if (S_ISDIR(l->v[k - 1].st.st_mode) != S_ISDIR(l->v[i].st.st_mode))
        return st_error_set(err, EEXIST,
                            "COPY failed: cannot copy a directory and a "
                            "non-directory to /%s",
                            ctx_str(l, l->v[i].dst));
      l->v[k - 1] = l->v[i];
      continue;
    }
    l->v[k++] = l->v[i];
  }
  l->n = k;
  return 0;
}

static int cmp_inodes(const void *a, const void *b, void *arg) {
  const ctx_entry *v = arg;
  const struct stat *x = &v[*(const size_t *)a].st;
  const struct stat *y = &v[*(const size_t *)b].st;
  if (x->st_dev != y->st_dev)
    return x->st_dev < y->st_dev ? -1 : 1;
  if (x->st_ino != y->st_ino)
    return x->st_ino < y->st_ino ? -1 : 1;
  return (*(const size_t *)a > *(const size_t *)b) -
         (*(const size_t *)a < *(const size_t *)b);
}

/* Regular files seen more than once (same device and inode) become hard
 * links to the first of them in tar order. */
static int find_links(ctx_list *l, st_error **err) {
  size_t n = 0;
  for (size_t i = 0; i < l->n; i++)
    n += S_ISREG(l->v[i].st.st_mode) && l->v[i].st.st_nlink > 1;
  if (n < 2)
    return 0;
  cleanup_free size_t *idx = malloc(n * sizeof(*idx));
  if (idx == NULL)
    return st_error_errno(err, ENOMEM, "build context");
  n = 0;
  for (size_t i = 0; i < l->n; i++)
    if (S_ISREG(l->v[i].st.st_mode) && l->v[i].st.st_nlink > 1)
      idx[n++] = i;
  qsort_r(idx, n, sizeof(*idx), cmp_inodes, l->v);
  for (size_t i = 1; i < n; i++) {
    const ctx_entry *first = &l->v[idx[i - 1]];
    ctx_entry *e = &l->v[idx[i]];
    if (first->st.st_dev == e->st.st_dev && first->st.st_ino == e->st.st_ino)
      e->link = first->link ? first->link : idx[i - 1] + 1;
  }
  return 0;
}

int ctx_collect(const st_ctx *c, const st_copy_spec *spec, ctx_list *l,
                st_error **err) {
  const char *d = spec->dest ? spec->dest : "";
  while (*d == '/')
    d++;
  cleanup_free char *dest = strdup(d);
  if (dest == NULL)
    return st_error_errno(err, ENOMEM, "build context");
  size_t len = strlen(dest);
  while (len > 0 && dest[len - 1] == '/')
    dest[--len] = '\0';
  if (!spec->dest_is_dir && spec->pivots == NULL &&
      (len == 0 || spec->n_srcs != 1))
    return st_error_set(err, EINVAL,
                        "COPY failed: destination `%s` must be a directory",
                        spec->dest ? spec->dest : "");
  l->ex =
      spec->exclude && st_ignore_count(spec->exclude) ? spec->exclude : NULL;
  l->ex_base = len ? len + 1 : 0;
  int r = add_parents(l, dest, spec->dest_is_dir, err);
  for (size_t i = 0; i < spec->n_srcs && r == 0; i++)
    r = spec->pivots
            ? add_with_parents(c, l, spec->srcs[i], spec->pivots[i], dest, err)
            : add_source(c, l, spec->srcs[i], dest, spec->dest_is_dir, err);
  if (r == 0)
    r = sort_unique(l, err);
  if (r == 0)
    r = find_links(l, err);
  if (r < 0)
    ctx_list_free(l);
  return r;
}
