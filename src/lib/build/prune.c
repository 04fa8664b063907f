/* The build cache's share of the store: `system df` and `builder prune`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "build/build.h"
#include "store/cache.h"
#include "store/prune.h"
#include "util/cleanup.h"
#include "util/fs.h"

static char *mounts_dir(st_store *s) {
  char *d = NULL;
  return asprintf(&d, "%s/build-cache", st_store_root(s)) < 0 ? NULL : d;
}

int st_build_usage_get(st_store *s, st_build_usage *out, st_error **err) {
  cleanup_free char *dir = mounts_dir(s);
  if (dir == NULL)
    return st_error_errno(err, ENOMEM, "build cache");
  if (st_cache_count(s, &out->entries, err) < 0)
    return -1;
  long long du = st_du(dir);
  out->mount_bytes = du > 0 ? du : 0;
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
