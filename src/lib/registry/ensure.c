/* st_image_ensure: the image a container (or a build) starts from, pulled
 * when the --pull policy says so. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "registry/internal.h"
#include "util/cleanup.h"

int st_pull_policy_parse(const char *s, st_pull_policy *out, st_error **err) {
  if (s == NULL || *s == '\0' || strcmp(s, "missing") == 0)
    *out = ST_PULL_MISSING;
  else if (strcmp(s, "never") == 0)
    *out = ST_PULL_NEVER;
  else if (strcmp(s, "always") == 0)
    *out = ST_PULL_ALWAYS;
  else
    return st_error_set(err, EINVAL,
                        "invalid pull option: '%.100s': must be one of "
                        "\"always\", \"missing\" or \"never\"",
                        s);
  return 0;
}

/* Whether the store has an image under ref. Returns 1 when it has, 0 when
 * it has not, < 0 on other errors. */
static int have_image(st_store *s, const char *ref, st_error **err) {
  st_image img = {0};
  st_error *e = NULL;
  int r = st_image_resolve(s, ref, &img, &e);
  st_image_clear(&img);
  if (r == 0)
    return 1;
  if (e && e->code == ENOENT) {
    st_error_free(e);
    return 0;
  }
  if (err && *err == NULL)
    *err = e;
  else
    st_error_free(e);
  return -1;
}

/* "busybox:latest" for "busybox", as Docker names it in its notice. */
static char *familiar_with_tag(const char *ref) {
  st_ref r = {0};
  st_error *e = NULL;
  if (st_ref_parse(ref, &r, &e) < 0) {
    st_error_free(e);
    return strdup(ref);
  }
  cleanup_free char *full = st_ref_full(&r);
  st_ref_clear(&r);
  return full ? st_ref_familiar(full) : NULL;
}

int st_image_ensure(st_store *s, const char *ref, st_pull_policy policy,
                    const st_reg_opts *o, st_pull_result *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  if (policy != ST_PULL_ALWAYS) {
    int have = have_image(s, ref, err);
    if (have != 0)
      return have < 0 ? -1 : 0;
    cleanup_free char *fam = familiar_with_tag(ref);
    if (policy == ST_PULL_NEVER)
      return st_error_set(err, ENOENT, "No such image: %s", fam ? fam : ref);
    st_reg_emit(o, ST_REG_IMAGE_MISSING, NULL, fam ? fam : ref, NULL, 0, 0);
  }
  if (st_registry_pull(s, ref, o, out, err) < 0)
    return -1;
  return 1;
}
