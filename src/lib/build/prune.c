/* The build cache's share of the store: `system df` and `builder prune`. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build/build.h"
#include "store/cache.h"
#include "store/prune.h"
#include "util/cleanup.h"
#include "util/fs.h"

static char *mounts_dir(st_store *s) {
  char *d = NULL;
  return asprintf(&d, "%s/build-cache", st_store_root(s)) < 0 ? NULL : d;
}

void st_build_usage_clear(st_build_usage *u) {
  free(u->records);
  memset(u, 0, sizeof(*u));
}

static int64_t mtime_ns(const struct stat *st) {
  return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Appends a record per cache mount directory (<root>/build-cache/<id>). */
static int add_mounts(st_build_usage *u, const char *dir, st_error **err) {
  cleanup_dir DIR *d = opendir(dir);
  if (d == NULL)
    return errno == ENOENT ? 0 : st_error_errno(err, errno, "open `%s`", dir);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(u->records->id))
      continue;
    cleanup_free char *path = NULL;
    struct stat st;
    if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
      return st_error_errno(err, ENOMEM, "build cache");
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
      continue;
    st_build_record *nv =
        realloc(u->records, (size_t)(u->entries + 1) * sizeof(*nv));
    if (nv == NULL)
      return st_error_errno(err, ENOMEM, "build cache");
    u->records = nv;
    st_build_record *r = &u->records[u->entries++];
    memset(r, 0, sizeof(*r));
    memcpy(r->id, e->d_name, strlen(e->d_name) + 1);
    r->type = "exec.cachemount";
    r->description = "cached mount";
    long long du = st_du(path);
    r->size = du > 0 ? du : 0;
    r->created = r->used = mtime_ns(&st);
    r->usage = 1;
    u->mount_bytes += r->size;
    u->size += r->size;
    u->reclaimable += r->size;
  }
  return 0;
}

int st_build_usage_get(st_store *s, st_build_usage *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  cleanup_free char *dir = mounts_dir(s);
  if (dir == NULL)
    return st_error_errno(err, ENOMEM, "build cache");
  cleanup_free st_cache_record *rows = NULL;
  size_t n = 0;
  if (st_cache_records(s, &rows, &n, err) < 0)
    return -1;
  if (n > 0 && (out->records = calloc(n, sizeof(*out->records))) == NULL)
    return st_error_errno(err, ENOMEM, "build cache");
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    /* a step that only changed the config holds no bytes: like BuildKit,
     * which keeps records of snapshots only, it is not listed */
    if (!rows[i].layer)
      continue;
    st_build_record *r = &out->records[k++];
    snprintf(r->id, sizeof(r->id), "%s", st_digest_hex(rows[i].key));
    r->type = "regular";
    r->description = "build step";
    r->size = rows[i].size;
    r->created = rows[i].created;
    r->used = rows[i].used;
    r->shared = rows[i].shared;
    r->usage = rows[i].usage;
    /* as Docker counts it: all but what a running build uses (none
     * here: a build holds no record a prune could take) */
    out->size += r->size;
    out->reclaimable += r->size;
  }
  out->entries = (int64_t)k;
  if (add_mounts(out, dir, err) < 0) {
    st_build_usage_clear(out);
    return -1;
  }
  return 0;
}

int st_build_prune(st_store *s, bool all, int64_t until, int64_t *entries,
                   int64_t *reclaimed, st_error **err) {
  *reclaimed = 0;
  cleanup_free char(*images)[ST_DIGEST_LEN] = NULL;
  size_t n_images = 0;
  *entries = st_cache_prune(s, until, &images, &n_images, err);
  if (*entries < 0)
    return -1;
  if (st_filehashes_clear(s, err) < 0)
    return -1;
  /* The step images those rows kept: the untagged ones that no image,
   * container or remaining row still needs go now, with their layers. */
  if (n_images > 0) {
    st_prune_opts po = {.only = (const char(*)[ST_DIGEST_LEN])images,
                        .n_only = n_images};
    st_prune_report r;
    if (st_image_prune(s, &po, &r, err) < 0)
      return -1;
    *reclaimed += r.reclaimed;
    st_prune_report_clear(&r);
  }
  if (!all)
    return 0;
  cleanup_free char *dir = mounts_dir(s);
  if (dir == NULL)
    return st_error_errno(err, ENOMEM, "build cache");
  long long du = st_du(dir);
  if (du > 0 && st_rm_rf(dir, err) < 0)
    return -1;
  *reclaimed += du > 0 ? du : 0;
  return 0;
}
